import { AUTH_SCHEMA, authEntities, ClientsService, PasswordHasher, type IssuedClient } from '@keelson/auth';
import { DataSource, dataSourceOptions } from '@keelson/database';
import { freePort, localPostgresConfig, ServiceProcess } from '@keelson/testing';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

// Black-box tests of the auth service's token endpoint and discovery documents.

interface TokenResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

describe('auth service API', () => {
  let sut: ServiceProcess;
  let seeded: IssuedClient;
  const dataSource = new DataSource(
    dataSourceOptions({ schema: AUTH_SCHEMA, config: localPostgresConfig(2), entities: authEntities, applicationName: 'auth-it' }),
  );
  const clients = () => new ClientsService(dataSource, new PasswordHasher());

  async function token(form: Record<string, string>, client?: { id: string; secret: string }, extraForm = ''): Promise<TokenResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (client)
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
    const response = await fetch(`${sut.url}/api/v1/auth/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams(form).toString() + extraForm,
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  }

  const basic = () => ({ id: seeded.clientId, secret: seeded.clientSecret });

  beforeAll(async () => {
    const migrate = ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['migrate']);
    expect((await migrate.exited).code).toBe(0);
    const seed = ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['seed']);
    expect((await seed.exited).code).toBe(0);
    seeded = (JSON.parse(seed.stdout.trim().split('\n').at(-1) ?? '{}') as { client: IssuedClient }).client;
    sut = ServiceProcess.start('apps/auth/src/main', { AUTH_ISSUER: 'https://keelson.test' }, await freePort());
    await sut.ready();
    await dataSource.initialize();
  });

  afterAll(async () => {
    await sut.stop();
    await dataSource.destroy();
  });

  it('issues an RFC 9068 access token for client_credentials that verifies against the published JWKS', async () => {
    const response = await token({ grant_type: 'client_credentials', scope: 'orders:read orders:write' }, basic());
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'orders:read orders:write' });
    const accessToken = String(response.body.access_token);

    const jwks = createRemoteJWKSet(new URL(`${sut.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, {
      issuer: 'https://keelson.test',
      audience: 'keelson-api',
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    expect(protectedHeader.kid).toEqual(expect.any(String));
    expect(payload).toMatchObject({ sub: seeded.clientId, client_id: seeded.clientId, scope: 'orders:read orders:write' });
    expect(payload.exp).toBe((payload.iat ?? 0) + 900);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('grants every allowed scope when none is asked for, and accepts client_secret_post', async () => {
    const response = await token({ grant_type: 'client_credentials', client_id: seeded.clientId, client_secret: seeded.clientSecret });
    expect(response.status).toBe(200);
    expect(String(response.body.scope).split(' ').sort()).toEqual([...seeded.scopes].sort());
    expect(decodeProtectedHeader(String(response.body.access_token)).typ).toBe('at+jwt');
  });

  it.each<[string, () => Promise<TokenResponse>, number, string]>([
    ['a wrong secret', () => token({ grant_type: 'client_credentials' }, { id: seeded.clientId, secret: 'wrong' }), 401, 'invalid_client'],
    [
      'an unknown client',
      () => token({ grant_type: 'client_credentials' }, { id: 'kc_unknown', secret: 'whatever' }),
      401,
      'invalid_client',
    ],
    ['no client authentication', () => token({ grant_type: 'client_credentials' }), 401, 'invalid_client'],
    [
      'two authentication methods',
      () => token({ grant_type: 'client_credentials', client_secret: seeded.clientSecret }, basic()),
      400,
      'invalid_request',
    ],
    ['no grant_type', () => token({}, basic()), 400, 'invalid_request'],
    [
      'a repeated parameter',
      () => token({ grant_type: 'client_credentials' }, basic(), '&grant_type=client_credentials'),
      400,
      'invalid_request',
    ],
    ['an unknown grant', () => token({ grant_type: 'urn:example:magic' }, basic()), 400, 'unsupported_grant_type'],
    [
      'a scope the client lacks',
      () => token({ grant_type: 'client_credentials', scope: 'orders:read admin:everything' }, basic()),
      400,
      'invalid_scope',
    ],
  ])('answers %s with the RFC 6749 error', async (_case, call, status, error) => {
    const response = await call();
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ error, error_description: expect.any(String) as unknown });
    if (status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="keelson"/);
  });

  it('refuses a grant the client is not registered for, and a disabled client', async () => {
    const passwordOnly = await clients().create({ name: 'password-only', scopes: ['orders:read'], grantTypes: ['password'] });
    const refused = await token({ grant_type: 'client_credentials' }, { id: passwordOnly.clientId, secret: passwordOnly.clientSecret });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('unauthorized_client');

    const disabled = await clients().create({ name: 'soon disabled', scopes: ['orders:read'], grantTypes: ['client_credentials'] });
    await dataSource.query(`UPDATE "${AUTH_SCHEMA}".clients SET disabled = true WHERE client_id = $1`, [disabled.clientId]);
    expect((await token({ grant_type: 'client_credentials' }, { id: disabled.clientId, secret: disabled.clientSecret })).status).toBe(401);
  });

  it('stores client secrets only as argon2id hashes', async () => {
    const [row] = await dataSource.query<{ secret_hash: string }[]>(
      `SELECT secret_hash FROM "${AUTH_SCHEMA}".clients WHERE client_id = $1`,
      [seeded.clientId],
    );
    expect(row?.secret_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row?.secret_hash).not.toContain(seeded.clientSecret);
  });

  it('publishes RFC 8414 metadata and a cacheable JWKS', async () => {
    const metadata = (await (await fetch(`${sut.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: 'https://keelson.test',
      token_endpoint: 'https://keelson.test/api/v1/auth/token',
      jwks_uri: 'https://keelson.test/.well-known/jwks.json',
      grant_types_supported: expect.arrayContaining(['client_credentials']) as unknown,
    });
    const jwks = await fetch(`${sut.url}/.well-known/jwks.json`);
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300');
    const { keys } = (await jwks.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key).not.toHaveProperty('d');
    }
  });
});
