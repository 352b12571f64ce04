import { createPrivateKey, randomUUID, sign, type JsonWebKey } from 'node:crypto';
import { AUTH_SCHEMA, authEntities, type IssuedClient } from '@keelson/auth';
import { AccessTokenVerifier, denyListKey, InvalidTokenError } from '@keelson/auth-client';
import { createRedis } from '@keelson/cache';
import { DataSource, dataSourceOptions } from '@keelson/database';
import { freePort, localPostgresConfig, localStack, ServiceProcess, waitFor } from '@keelson/testing';
import { base64url, decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type KeyLike } from 'jose';

// Tokens from the real auth service, checked by the verifier the gateway uses, with the
// deny-list in the real Redis.

/** A well-formed access token signed by someone else's key (or a shared secret). */
function signedBy(key: KeyLike | Uint8Array, alg: string, kid: string, scope: string): Promise<string> {
  return new SignJWT({ client_id: 'x', scope })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .setIssuer('https://keelson.test')
    .setAudience('keelson-api')
    .setSubject('x')
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti('j')
    .sign(key);
}

describe('access-token verification and revocation', () => {
  let sut: ServiceProcess;
  let client: IssuedClient;
  const issuer = 'https://keelson.test';
  const redis = createRedis({ REDIS_HOST: localStack.redis.host, REDIS_PORT: localStack.redis.port, REDIS_PASSWORD: undefined }, 'auth-it');
  const dataSource = new DataSource(
    dataSourceOptions({ schema: AUTH_SCHEMA, config: localPostgresConfig(2), entities: authEntities, applicationName: 'auth-it' }),
  );
  let verifier: AccessTokenVerifier;

  const form = (values: Record<string, string>) => ({
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams(values).toString(),
  });
  async function issue(scope = 'orders:read'): Promise<string> {
    const response = await fetch(`${sut.url}/api/v1/auth/token`, form({ grant_type: 'client_credentials', scope }));
    return ((await response.json()) as { access_token: string }).access_token;
  }

  /**
   * Signs with the service's own active private key, by hand (no library guard rails), so
   * every claim and header a forger controls can be set, including ones jose would refuse.
   */
  async function forge(header: Record<string, unknown>, claims: JWTPayload): Promise<string> {
    const [row] = await dataSource.query<{ kid: string; private_jwk: JWK }[]>(
      `SELECT kid, private_jwk FROM "${AUTH_SCHEMA}".signing_keys WHERE activates_at <= now() ORDER BY activates_at DESC LIMIT 1`,
    );
    if (!row) throw new Error('no key');
    const now = Math.floor(Date.now() / 1000);
    const fullHeader = { alg: 'ES256', kid: row.kid, typ: 'at+jwt', ...header };
    const payload = {
      iss: issuer,
      aud: 'keelson-api',
      sub: client.clientId,
      iat: now,
      exp: now + 600,
      jti: randomUUID(),
      client_id: client.clientId,
      scope: 'orders:read',
      ...claims,
    };
    const input = `${base64url.encode(JSON.stringify(fullHeader))}.${base64url.encode(JSON.stringify(payload))}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: createPrivateKey({ key: row.private_jwk as JsonWebKey, format: 'jwk' }),
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${base64url.encode(signature)}`;
  }

  it('signs forged probes validly: the same forger with honest claims is accepted', async () => {
    expect((await verifier.verify(await forge({}, {}))).client_id).toBe(client.clientId);
  });

  beforeAll(async () => {
    expect((await ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['migrate']).exited).code).toBe(0);
    const seed = ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['seed']);
    expect((await seed.exited).code).toBe(0);
    client = (JSON.parse(seed.stdout.trim().split('\n').at(-1) ?? '{}') as { client: IssuedClient }).client;
    sut = ServiceProcess.start('apps/auth/src/main', { AUTH_ISSUER: issuer }, await freePort());
    await sut.ready();
    await dataSource.initialize();
    verifier = new AccessTokenVerifier({ keys: new URL(`${sut.url}/.well-known/jwks.json`), issuer, audience: 'keelson-api', redis });
  });

  afterAll(async () => {
    await sut.stop();
    await dataSource.destroy();
    redis.disconnect();
  });

  it('accepts a fresh token and exposes its claims', async () => {
    const claims = await verifier.verify(await issue('orders:read orders:write'));
    expect(claims).toMatchObject({ sub: client.clientId, client_id: client.clientId, scope: 'orders:read orders:write', iss: issuer });
  });

  it('refuses a revoked token within a second in another process, even one it had already verified and cached', async () => {
    const token = await issue();
    await verifier.verify(token); // now cached
    const revoked = await fetch(`${sut.url}/api/v1/auth/revoke`, form({ token }));
    const revokedAt = Date.now();
    expect(revoked.status).toBe(200);
    const refusal = await waitFor(
      'the verifier to refuse the revoked token',
      () =>
        verifier.verify(token).then(
          () => undefined,
          (error: unknown) => error,
        ),
      { timeoutMs: 1_000, intervalMs: 10 },
    );
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
    expect(refusal).toEqual(new InvalidTokenError('token has been revoked'));

    const { jti, exp } = decodeJwt(token);
    const ttl = await redis.pttl(denyListKey(String(jti)));
    expect(ttl).toBeGreaterThan((exp ?? 0) * 1000 - Date.now() - 5_000); // kept until the token would expire
    const [event] = await dataSource.query<{ payload: { data: { jti: string } } }[]>(
      `SELECT payload FROM "${AUTH_SCHEMA}".outbox WHERE type = 'auth.token.revoked.v1' AND aggregateid = $1`,
      [jti],
    );
    expect(event?.payload.data.jti).toBe(jti);
  });

  it('answers 200 for garbage and refuses to revoke another client’s token', async () => {
    expect((await fetch(`${sut.url}/api/v1/auth/revoke`, form({ token: 'not-a-token' }))).status).toBe(200);
    const foreign = await forge({}, { client_id: 'kc_someone_else' });
    const response = await fetch(`${sut.url}/api/v1/auth/revoke`, form({ token: foreign }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('unauthorized_client');
  });

  it.each<[string, () => Promise<string>]>([
    [
      'alg none',
      () =>
        Promise.resolve(
          `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${base64url.encode(JSON.stringify({ iss: issuer, aud: 'keelson-api', sub: 'x', exp: 9_999_999_999, iat: 1, jti: 'j', client_id: 'x' }))}.`,
        ),
    ],
    ['a plain JWT typ', () => forge({ typ: 'JWT' }, {})],
    ['another audience', () => forge({}, { aud: 'somebody-else' })],
    ['another issuer', () => forge({}, { iss: 'https://evil.example' })],
    ['an expired token', () => forge({}, { exp: Math.floor(Date.now() / 1000) - 3_600 })],
    ['a token not yet valid', () => forge({}, { nbf: Math.floor(Date.now() / 1000) + 3_600 })],
    ['a missing jti', () => forge({}, { jti: undefined })],
    ['an unknown critical header', () => forge({ crit: ['x-keelson-unknown'], 'x-keelson-unknown': 1 }, {})],
    [
      'a key the JWKS does not hold',
      async () => {
        const { privateKey, publicKey } = await generateKeyPair('ES256');
        const kid = String((await exportJWK(publicKey)).x);
        return signedBy(privateKey, 'ES256', kid, '');
      },
    ],
    [
      'HS256 signed with the public key (key confusion)',
      async () => {
        const jwks = (await (await fetch(`${sut.url}/.well-known/jwks.json`)).json()) as { keys: (JWK & { kid: string })[] };
        const publicJwk = jwks.keys[0];
        if (!publicJwk) throw new Error('no key');
        const secret = new TextEncoder().encode(` ${JSON.stringify(publicJwk)}`);
        return signedBy(secret, 'HS256', publicJwk.kid, 'orders:write');
      },
    ],
  ])('rejects %s', async (_case, make) => {
    await expect(verifier.verify(await make())).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('accepts tokens when the deny-list is unreachable, and counts it', async () => {
    const offline = createRedis({ REDIS_HOST: '127.0.0.1', REDIS_PORT: await freePort(), REDIS_PASSWORD: undefined }, 'auth-it-offline');
    const failOpen = new AccessTokenVerifier({
      keys: new URL(`${sut.url}/.well-known/jwks.json`),
      issuer,
      audience: 'keelson-api',
      redis: offline,
    });
    try {
      expect((await failOpen.verify(await issue())).client_id).toBe(client.clientId);
    } finally {
      offline.disconnect();
    }
  });

  it('introspects valid, expired, revoked and foreign tokens (RFC 7662)', async () => {
    const introspect = async (token: string) =>
      (await (await fetch(`${sut.url}/api/v1/auth/introspect`, form({ token }))).json()) as Record<string, unknown>;
    const token = await issue('orders:read');
    expect(await introspect(token)).toMatchObject({
      active: true,
      token_type: 'Bearer',
      client_id: client.clientId,
      scope: 'orders:read',
      iss: issuer,
    });
    expect(await introspect(await forge({}, { exp: Math.floor(Date.now() / 1000) - 10 }))).toEqual({ active: false });
    expect(await introspect('garbage')).toEqual({ active: false });
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await signedBy(privateKey, 'ES256', 'foreign', '');
    expect(await introspect(foreign)).toEqual({ active: false });
    await fetch(`${sut.url}/api/v1/auth/revoke`, form({ token }));
    expect(await introspect(token)).toEqual({ active: false });

    const anonymous = await fetch(`${sut.url}/api/v1/auth/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
    });
    expect(anonymous.status).toBe(401);
  });

  describe('client administration behind the guard', () => {
    const createClient = (headers: Record<string, string>) =>
      fetch(`${sut.url}/api/v1/auth/clients`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'reporting', scopes: ['orders:read'], grantTypes: ['client_credentials'] }),
      });

    it('answers 401 with a Bearer challenge without a token, and for a revoked one', async () => {
      const none = await createClient({});
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="keelson"');
      expect(none.headers.get('content-type')).toMatch(/^application\/problem\+json/);

      const token = await issue('auth:admin');
      await fetch(`${sut.url}/api/v1/auth/revoke`, form({ token }));
      const revoked = await createClient({ authorization: `Bearer ${token}` });
      expect(revoked.status).toBe(401);
      expect(revoked.headers.get('www-authenticate')).toContain('error="invalid_token"');
    });

    it('answers 403 insufficient_scope without auth:admin', async () => {
      const response = await createClient({ authorization: `Bearer ${await issue('orders:read')}` });
      expect(response.status).toBe(403);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="keelson", error="insufficient_scope", scope="auth:admin"');
    });

    it('creates a client that can then get tokens', async () => {
      const response = await createClient({ authorization: `Bearer ${await issue('auth:admin')}` });
      expect(response.status).toBe(201);
      const created = (await response.json()) as IssuedClient;
      expect(created).toMatchObject({ name: 'reporting', scopes: ['orders:read'] });
      const tokenResponse = await fetch(`${sut.url}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: created.clientId,
          client_secret: created.clientSecret,
        }).toString(),
      });
      expect(((await tokenResponse.json()) as { scope: string }).scope).toBe('orders:read');
    });

    it('rejects a scope that does not exist', async () => {
      const response = await fetch(`${sut.url}/api/v1/auth/clients`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await issue('auth:admin')}` },
        body: JSON.stringify({ name: 'x', scopes: ['root'], grantTypes: ['client_credentials'] }),
      });
      expect(response.status).toBe(400);
    });
  });
});
