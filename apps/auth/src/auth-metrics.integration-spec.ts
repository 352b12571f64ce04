import { randomUUID } from 'node:crypto';
import type { IssuedClient } from '@keelson/auth';
import { freePort, ServiceProcess } from '@keelson/testing';

// The auth service's business counters, read from /metrics of a fresh process after the
// requests that move them.

describe('auth business metrics', () => {
  let sut: ServiceProcess;
  let admin: IssuedClient;
  let app: IssuedClient;
  const username = `metrics-${randomUUID().slice(0, 8)}`;
  const password = 'correct horse battery staple';

  async function token(
    client: IssuedClient,
    form: Record<string, string>,
    path = 'token',
  ): Promise<{ status: number; body: Record<string, string> }> {
    const response = await fetch(`${sut.url}/api/v1/auth/${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams(form).toString(),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, string> };
  }

  async function adminPost<T>(path: string, body: unknown): Promise<T> {
    const { body: issued } = await token(admin, { grant_type: 'client_credentials', scope: 'auth:admin' });
    const response = await fetch(`${sut.url}/api/v1/auth/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${String(issued.access_token)}` },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  async function metric(name: string, labels = ''): Promise<number> {
    const text = await (await fetch(`${sut.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return Number(line?.split(' ').at(-1) ?? 0);
  }

  beforeAll(async () => {
    expect((await ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['migrate']).exited).code).toBe(0);
    const seed = ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['seed']);
    expect((await seed.exited).code).toBe(0);
    admin = (JSON.parse(seed.stdout.trim().split('\n').at(-1) ?? '{}') as { client: IssuedClient }).client;
    sut = ServiceProcess.start('apps/auth/src/main', { REFRESH_REUSE_GRACE_SECONDS: '0' }, await freePort());
    await sut.ready();
    app = await adminPost<IssuedClient>('clients', {
      name: 'metrics app',
      scopes: ['orders:read'],
      grantTypes: ['password', 'refresh_token', 'client_credentials'],
    });
    await adminPost('users', { username, password, scopes: ['orders:read'] });
  });

  afterAll(async () => {
    await sut.stop();
  });

  it('counts tokens by grant type, failed logins by reason, refresh-token reuse and revocations', async () => {
    const issuedBefore = await metric('auth_tokens_issued_total', 'grant_type="client_credentials"'); // the admin's tokens
    const login = await token(app, { grant_type: 'password', username, password });
    expect(login.status).toBe(200);
    const refreshed = await token(app, { grant_type: 'refresh_token', refresh_token: login.body.refresh_token ?? '' });
    expect(refreshed.status).toBe(200);
    // The first refresh token again, after the (zero) grace period: reuse, the family of two is revoked.
    expect((await token(app, { grant_type: 'refresh_token', refresh_token: login.body.refresh_token ?? '' })).status).toBe(400);
    expect((await token(app, { grant_type: 'password', username, password: 'wrong' })).status).toBe(400);
    const { body } = await token(app, { grant_type: 'client_credentials' });
    expect((await token(app, { token: body.access_token ?? '' }, 'revoke')).status).toBe(200);

    expect(await metric('auth_tokens_issued_total', 'grant_type="password"')).toBe(1);
    expect(await metric('auth_tokens_issued_total', 'grant_type="refresh_token"')).toBe(1);
    expect(await metric('auth_tokens_issued_total', 'grant_type="client_credentials"')).toBe(issuedBefore + 1);
    expect(await metric('auth_logins_failed_total', 'reason="bad_credentials"')).toBe(1);
    expect(await metric('auth_refresh_token_reuse_detected_total')).toBe(1);
    expect(await metric('auth_tokens_revoked_total', 'token_type="refresh_token"')).toBe(2);
    expect(await metric('auth_tokens_revoked_total', 'token_type="access_token"')).toBe(1);
  });
});
