import { randomUUID } from 'node:crypto';
import { AUTH_SCHEMA, authEntities, type IssuedClient } from '@keelson/auth';
import { DataSource, dataSourceOptions } from '@keelson/database';
import { freePort, localPostgresConfig, ServiceProcess, stack, waitFor } from '@keelson/testing';
import { decodeJwt } from 'jose';

// The password and refresh_token grants, end to end against real auth processes.

interface TokenBody {
  access_token?: string;
  refresh_token?: string;
  scope?: string;
  error?: string;
}

describe('password and refresh_token grants', () => {
  let graceful: ServiceProcess; // default 30 s reuse grace
  let strict: ServiceProcess; // no reuse grace
  let admin: IssuedClient;
  let app: IssuedClient;
  const username = `ada-${randomUUID().slice(0, 8)}`;
  const password = 'correct horse battery staple';
  let userId: string;
  const dataSource = new DataSource(
    dataSourceOptions({ schema: AUTH_SCHEMA, config: localPostgresConfig(2), entities: authEntities, applicationName: 'auth-it' }),
  );

  /** Every credential and token these tests send or receive; none may appear in the service's logs. */
  const secrets = new Set<string>([password]);

  async function token(
    service: ServiceProcess,
    client: IssuedClient,
    form: Record<string, string>,
  ): Promise<{ status: number; body: TokenBody }> {
    const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
    const response = await fetch(`${service.url}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: new URLSearchParams(form).toString(),
    });
    const body = (await response.json()) as TokenBody;
    for (const value of [basic, client.clientSecret, form.password, form.refresh_token, body.access_token, body.refresh_token]) {
      if (typeof value === 'string' && value.length > 0) secrets.add(value);
    }
    return { status: response.status, body };
  }

  async function adminPost<T>(path: string, body: unknown): Promise<T> {
    const { body: issued } = await token(graceful, admin, { grant_type: 'client_credentials', scope: 'auth:admin' });
    const response = await fetch(`${graceful.url}/api/v1/auth/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${String(issued.access_token)}` },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  const login = (service = graceful, extra: Record<string, string> = {}) =>
    token(service, app, { grant_type: 'password', username, password, ...extra });

  beforeAll(async () => {
    expect((await ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['migrate']).exited).code).toBe(0);
    const seed = ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['seed']);
    expect((await seed.exited).code).toBe(0);
    admin = (JSON.parse(seed.stdout.trim().split('\n').at(-1) ?? '{}') as { client: IssuedClient }).client;
    graceful = ServiceProcess.start('apps/auth/src/main', { LOG_LEVEL: 'debug' }, await freePort());
    strict = ServiceProcess.start('apps/auth/src/main', { REFRESH_REUSE_GRACE_SECONDS: '0' }, await freePort());
    await Promise.all([graceful.ready(), strict.ready()]);
    await dataSource.initialize();
    app = await adminPost<IssuedClient>('clients', {
      name: 'web app',
      scopes: ['orders:read', 'orders:write'],
      grantTypes: ['password', 'refresh_token'],
    });
    userId = (await adminPost<{ id: string }>('users', { username, password, scopes: ['orders:read', 'replay:admin'] })).id;
  });

  afterAll(async () => {
    await Promise.all([graceful.stop(), strict.stop()]);
    await dataSource.destroy();
  });

  it('signs a user in with scopes both the user and the client hold, and a refresh token', async () => {
    const { status, body } = await login();
    expect(status).toBe(200);
    expect(body.scope).toBe('orders:read'); // replay:admin is the user's, orders:write the client's
    expect(decodeJwt(String(body.access_token))).toMatchObject({ sub: userId, client_id: app.clientId });
    expect(body.refresh_token).toMatch(/^[\w-]{43}$/);
    expect((await login(graceful, { scope: 'orders:write' })).body.error).toBe('invalid_scope');
  });

  it('refuses a wrong password with invalid_grant and records an audit event without credentials', async () => {
    const before = Number(
      (await dataSource.query<{ n: string }[]>(`SELECT count(*) n FROM "${AUTH_SCHEMA}".outbox WHERE type = 'auth.login.failed.v1'`))[0]?.n,
    );
    const { status, body } = await token(graceful, app, { grant_type: 'password', username, password: 'not the password' });
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
    const events = await dataSource.query<{ payload: unknown }[]>(
      `SELECT payload FROM "${AUTH_SCHEMA}".outbox WHERE type = 'auth.login.failed.v1' ORDER BY position DESC`,
    );
    expect(events.length).toBe(before + 1);
    expect(events[0]?.payload).toMatchObject({ data: { clientId: app.clientId, reason: 'bad-credentials' } });
    expect(JSON.stringify(events[0]?.payload)).not.toContain(username);
    expect(JSON.stringify(events[0]?.payload)).not.toContain('not the password');
    expect((await token(graceful, app, { grant_type: 'password', username })).body.error).toBe('invalid_request');
    expect((await token(graceful, admin, { grant_type: 'password', username, password })).body.error).toBe('unauthorized_client');
  });

  it('rotates refresh tokens and accepts a concurrent reuse within the grace period', async () => {
    const first = String((await login()).body.refresh_token);
    const [a, b] = await Promise.all([
      token(graceful, app, { grant_type: 'refresh_token', refresh_token: first }),
      token(graceful, app, { grant_type: 'refresh_token', refresh_token: first }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.refresh_token).not.toBe(first);
    expect(a.body.refresh_token).not.toBe(b.body.refresh_token);
    expect((await token(graceful, app, { grant_type: 'refresh_token', refresh_token: String(a.body.refresh_token) })).status).toBe(200);
  });

  it('revokes the whole family when a consumed refresh token comes back after the grace period', async () => {
    const first = String((await login(strict)).body.refresh_token);
    const second = await token(strict, app, { grant_type: 'refresh_token', refresh_token: first });
    expect(second.status).toBe(200);
    const replay = await token(strict, app, { grant_type: 'refresh_token', refresh_token: first });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    // The legitimate holder's newer token dies with the family.
    expect((await token(strict, app, { grant_type: 'refresh_token', refresh_token: String(second.body.refresh_token) })).body.error).toBe(
      'invalid_grant',
    );
  });

  it('stops a disabled user, including through refresh', async () => {
    const refresh = String((await login()).body.refresh_token);
    await dataSource.query(`UPDATE "${AUTH_SCHEMA}".users SET disabled = true WHERE id = $1`, [userId]);
    try {
      expect((await login()).body.error).toBe('invalid_grant');
      expect((await token(graceful, app, { grant_type: 'refresh_token', refresh_token: refresh })).body.error).toBe('invalid_grant');
    } finally {
      await dataSource.query(`UPDATE "${AUTH_SCHEMA}".users SET disabled = false WHERE id = $1`, [userId]);
    }
  });

  describe('login protection', () => {
    let limited: ServiceProcess;

    beforeAll(async () => {
      limited = ServiceProcess.start(
        'apps/auth/src/main',
        { LOGIN_FAILURES_PER_USER_AND_IP: '3', LOGIN_ATTEMPTS_PER_IP_PER_MINUTE: '30' },
        await freePort(),
      );
      await limited.ready();
    });

    afterAll(async () => {
      await stack('up', 'redis');
      await limited.stop();
    });

    const attempt = (user: string, pass: string) => token(limited, app, { grant_type: 'password', username: user, password: pass });

    it('blocks a username from an IP after repeated failures, with Retry-After, even with the right password', async () => {
      // A user of its own: failure counts live in Redis, shared by every auth replica.
      const bob = `bob-${randomUUID().slice(0, 8)}`;
      await adminPost('users', { username: bob, password, scopes: ['orders:read'] });
      for (let i = 0; i < 3; i += 1) expect((await attempt(bob, 'wrong guess')).status).toBe(400);
      const response = await fetch(`${limited.url}/api/v1/auth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'password', username: bob, password }).toString(),
      });
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const [event] = await dataSource.query<{ payload: unknown }[]>(
        `SELECT payload FROM "${AUTH_SCHEMA}".outbox WHERE type = 'auth.login.failed.v1' ORDER BY position DESC LIMIT 1`,
      );
      expect(event?.payload).toMatchObject({ data: { reason: 'rate-limited' } });
    });

    it('keeps limiting on its own while Redis is down', async () => {
      const other = `nobody-${randomUUID().slice(0, 8)}`;
      await stack('down', 'redis');
      try {
        for (let i = 0; i < 3; i += 1) expect((await attempt(other, 'wrong guess')).status).toBe(400);
        expect((await attempt(other, 'wrong guess')).status).toBe(429);
      } finally {
        await stack('up', 'redis');
      }
    });
  });

  it('writes no password, client secret or token to its logs', async () => {
    await token(graceful, app, { grant_type: 'password', username, password });
    // Log lines are buffered briefly and written in order: once a later request's line is out, so is everything before it.
    const marker = randomUUID();
    expect((await fetch(`${graceful.url}/api/v1/auth/after-${marker}`)).status).toBe(404);
    await waitFor('the access log to reach stdout', () => Promise.resolve(graceful.stdout.includes(marker) || undefined), {
      timeoutMs: 5_000,
    });
    const logs = graceful.stdout + graceful.stderr;
    expect(logs).toContain('"request completed"');
    expect(secrets.size).toBeGreaterThan(5);
    for (const secret of secrets) expect(logs).not.toContain(secret);
  });
});
