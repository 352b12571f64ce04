import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { createResponseValidator, GATEWAY_ROUTES, type OpenApiDocument } from '@keelson/gateway';
import { freePort, ServiceProcess, stack, waitFor } from '@keelson/testing';

// The gateway as clients meet it: real auth and orders processes on the real stack behind a
// real gateway process, driven over HTTP. A tiny node:http server plays a slow upstream.

/** What the auth service's seed command and admin API return for a client. */
interface IssuedClient {
  clientId: string;
  clientSecret: string;
}

interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  ms: number;
}

describe('gateway', () => {
  let auth: ServiceProcess;
  let shortAuth: ServiceProcess;
  let orders: ServiceProcess;
  let gateway: ServiceProcess;
  let tight: ServiceProcess;
  let slow: Server;
  const streamOpen: ServerResponse[] = [];
  let ordersPort: number;
  let admin: IssuedClient;
  const prefix = `gw-it-${randomUUID().slice(0, 8)}`;
  /** Successful answers the gateway gave, checked against its OpenAPI document at the end. */
  const answered: { method: string; path: string; status: number; contentType: string | undefined; body: unknown }[] = [];

  async function call<T = Record<string, unknown>>(
    base: ServiceProcess,
    method: string,
    path: string,
    { body, headers = {} }: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const started = performance.now();
    const response = await fetch(`${base.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    const ms = performance.now() - started;
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (base === gateway && response.ok) {
      answered.push({
        method,
        path,
        status: response.status,
        contentType: response.headers.get('content-type') ?? undefined,
        body: parsed,
      });
    }
    return { status: response.status, headers: response.headers, body: parsed as T, ms };
  }

  const json = (token: string, value: unknown) => ({
    body: JSON.stringify(value),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  async function tokenFor(client: IssuedClient, scope: string, via: ServiceProcess = gateway): Promise<string> {
    const answer = await call<{ access_token: string }>(via, 'POST', '/api/v1/auth/token', {
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      },
    });
    if (answer.status !== 200) throw new Error(`token: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.access_token;
  }

  async function newClient(scopes: string[]): Promise<IssuedClient> {
    const adminToken = await tokenFor(admin, 'auth:admin');
    const answer = await call<IssuedClient>(
      gateway,
      'POST',
      '/api/v1/auth/clients',
      json(adminToken, { name: 'gateway test', scopes, grantTypes: ['client_credentials'] }),
    );
    if (answer.status !== 201) throw new Error(`client: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  /** The gateway's merged document once auth and orders are in it (it is rebuilt every second here). */
  const mergedDocument = () =>
    waitFor('auth and orders in the merged document', async () => {
      const answer = await call<OpenApiDocument & { paths: Record<string, Record<string, { security?: unknown }>> }>(
        gateway,
        'GET',
        '/openapi.json',
      );
      return answer.body.paths['/api/v1/orders/{id}'] && answer.body.paths['/api/v1/auth/token'] ? answer.body : undefined;
    });

  beforeAll(async () => {
    slow = createServer((request, response) => {
      if (request.url?.startsWith('/api/v1/benchmarks/stream')) {
        // An event stream: one event now, the next only when the test releases it.
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        response.write('data: first\n\n');
        streamOpen.push(response);
        return;
      }
      const ms = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('ms') ?? '0');
      const body = JSON.stringify({ slow: true, clientId: request.headers['x-client-id'] ?? null });
      setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end(body), ms);
    });
    slow.listen(0, '127.0.0.1');
    await once(slow, 'listening');

    for (const service of ['auth', 'orders']) {
      expect((await ServiceProcess.start(`apps/${service}/src/main`, {}, await freePort(), ['migrate']).exited).code).toBe(0);
    }
    const seed = ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['seed']);
    expect((await seed.exited).code).toBe(0);
    admin = (JSON.parse(seed.stdout.trim().split('\n').at(-1) ?? '{}') as { client: IssuedClient }).client;

    auth = ServiceProcess.start('apps/auth/src/main', {}, await freePort());
    shortAuth = ServiceProcess.start('apps/auth/src/main', { ACCESS_TOKEN_TTL_SECONDS: '1' }, await freePort());
    ordersPort = await freePort();
    orders = ServiceProcess.start('apps/orders/src/main', {}, ordersPort);
    const upstreams = {
      AUTH_URL: auth.url,
      ORDERS_URL: orders.url,
      REPLAY_URL: `http://127.0.0.1:${await freePort()}`, // nothing listens
      CACHE_INVALIDATOR_URL: `http://127.0.0.1:${await freePort()}`,
      BENCHMARK_URL: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`,
    };
    gateway = ServiceProcess.start(
      'apps/gateway/src/main',
      {
        ...upstreams,
        AUTH_CLOCK_SKEW_SECONDS: '0',
        BREAKER_CONSECUTIVE_FAILURES: '3',
        BREAKER_HALF_OPEN_AFTER_MS: '1000',
        UPSTREAM_TIMEOUT_MS: '500',
        UPSTREAM_MAX_CONCURRENT: '8',
        RATE_LIMIT_PREFIX: `${prefix}:main`,
        OPENAPI_REFRESH_SECONDS: '1',
        BODY_LIMIT_BYTES: '4096',
      },
      await freePort(),
    );
    tight = ServiceProcess.start(
      'apps/gateway/src/main',
      { ...upstreams, RATE_LIMIT_PREFIX: `${prefix}:tight`, RATE_LIMIT_PER_CLIENT: '5', RATE_LIMIT_PER_IP: '1000' },
      await freePort(),
    );
    await Promise.all([auth.ready(), shortAuth.ready(), orders.ready(), gateway.ready(), tight.ready()]);
  });

  afterAll(async () => {
    await stack('up', 'redis'); // in case a test stopped it
    await Promise.all([auth.stop(), shortAuth.stop(), orders.stop(), gateway.stop(), tight.stop()]);
    slow.close();
  });

  it('runs token → customer → order → confirm → pay → invoice through the gateway, every answer as documented', async () => {
    const token = await tokenFor(admin, 'orders:read orders:write');
    const customer = await call<{ id: string }>(
      gateway,
      'POST',
      '/api/v1/customers',
      json(token, { email: `${randomUUID()}@gw.example.com`, name: 'Gateway' }),
    );
    expect(customer.status).toBe(201);
    const product = await call<{ id: string }>(
      gateway,
      'POST',
      '/api/v1/products',
      json(token, { sku: `GW-${randomUUID().slice(0, 10)}`, name: 'Lamp', priceMinor: 4200, currency: 'EUR' }),
    );
    expect(product.status).toBe(201);
    const order = await call<{ id: string; totalMinor: number }>(
      gateway,
      'POST',
      '/api/v1/orders',
      json(token, { customerId: customer.body.id, currency: 'EUR', lines: [{ productId: product.body.id, quantity: 2 }] }),
    );
    expect([order.status, order.body.totalMinor]).toEqual([201, 8400]);
    expect(order.headers.get('location')).toBe(`/api/v1/orders/${order.body.id}`);
    expect((await call(gateway, 'POST', `/api/v1/orders/${order.body.id}/confirm`, bearer(token))).status).toBe(200);
    const payment = await call<{ invoiceId: string }>(
      gateway,
      'POST',
      '/api/v1/payments',
      json(token, { orderId: order.body.id, kind: 'capture', amountMinor: 8400, currency: 'EUR' }),
    );
    expect(payment.status).toBe(201);
    const invoice = await call<{ orderId: string; totalMinor: number }>(
      gateway,
      'GET',
      `/api/v1/invoices/${payment.body.invoiceId}`,
      bearer(token),
    );
    expect(invoice.body).toMatchObject({ orderId: order.body.id, totalMinor: 8400 });
    const read = await call<{ status: string }>(gateway, 'GET', `/api/v1/orders/${order.body.id}`, bearer(token));
    expect(read.body.status).toBe('paid');
    expect(read.headers.get('x-request-id')).toMatch(/[\w-]{8,}/);
    expect(read.headers.get('x-content-type-options')).toBe('nosniff');
    expect(read.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(read.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect(read.headers.get('x-powered-by')).toBeNull();

    // Every answer of this flow matches the gateway's published OpenAPI document.
    const document = await mergedDocument();
    const validate = createResponseValidator(document);
    const checked = answered.filter((a) => a.path.startsWith('/api/v1/'));
    expect(checked.length).toBeGreaterThanOrEqual(6); // this flow's answers
    for (const a of checked)
      expect([a.method, a.path, validate(a.method, a.path, a.status, a.contentType, a.body)]).toEqual([a.method, a.path, []]);
  });

  it('serves one OpenAPI 3.1 document for the routed API, with security per route, and Swagger UI', async () => {
    const document = await waitFor('auth and orders in the merged document', async () => {
      const answer = await call<OpenApiDocument & { paths: Record<string, Record<string, { security?: unknown }>> }>(
        gateway,
        'GET',
        '/openapi.json',
      );
      return answer.body.paths['/api/v1/orders/{id}'] && answer.body.paths['/api/v1/auth/token'] ? answer.body : undefined;
    });
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths).filter((p) => !p.startsWith('/api/v1/') && !p.startsWith('/.well-known/'))).toEqual([]);
    expect(document.paths['/api/v1/orders/{id}']?.get?.security).toEqual([{ bearer: ['orders:read'] }]);
    expect(document.paths['/api/v1/orders']?.post?.security).toEqual([{ bearer: ['orders:write'] }]);
    expect(document.paths['/api/v1/auth/token']?.post?.security).toEqual([]);
    expect(document.info['x-unavailable-services']).toEqual(expect.arrayContaining(['replay', 'cache-invalidator', 'benchmark']));

    // Redocly's recommended rules (a public API without a license field is deliberate).
    const lintConfig = await createConfig({ extends: ['recommended'], rules: { 'info-license': 'off' } });
    const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: 'openapi.json', config: lintConfig });
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`)).toEqual([]);

    const docs = await fetch(`${gateway.url}/api/docs`);
    expect([docs.status, docs.headers.get('content-type')]).toEqual([200, expect.stringContaining('text/html')]);
  });

  it('answers 401 or 403 on every protected route for a missing, expired, revoked or under-scoped token, and passes the right scope', async () => {
    const allScopes = 'orders:read orders:write replay:admin cache:admin bench:run auth:admin';
    const expired = await tokenFor(admin, allScopes, shortAuth);
    const revoked = await tokenFor(admin, allScopes);
    const revocation = await call(gateway, 'POST', '/api/v1/auth/revoke', {
      body: new URLSearchParams({ token: revoked }).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${admin.clientId}:${admin.clientSecret}`).toString('base64')}`,
      },
    });
    expect(revocation.status).toBe(200);
    const wrongScope = await tokenFor(admin, 'bench:run');
    const benchOnlyWrong = await tokenFor(admin, 'orders:read');
    const right = await tokenFor(admin, allScopes);
    await delay(2_100); // the short-lived token is now past exp (the gateway runs with no clock leeway here)

    const protectedRoutes = GATEWAY_ROUTES.filter((route) => !route.read.public);
    expect(protectedRoutes.length).toBeGreaterThanOrEqual(10);
    for (const route of protectedRoutes) {
      const path = `${route.prefix}/${randomUUID()}`;
      const wrong = route.read.public !== true && route.read.scopes.includes('bench:run') ? benchOnlyWrong : wrongScope;
      const cases: [string, Record<string, string>, number][] = [
        ['no token', {}, 401],
        ['expired', { authorization: `Bearer ${expired}` }, 401],
        ['revoked', { authorization: `Bearer ${revoked}` }, 401],
        ['wrong scope', { authorization: `Bearer ${wrong}` }, 403],
      ];
      for (const [name, headers, status] of cases) {
        const answer = await call<{ detail: string }>(gateway, 'GET', path, { headers });
        expect([route.prefix, name, answer.status, answer.headers.get('content-type')]).toEqual([
          route.prefix,
          name,
          status,
          'application/problem+json; charset=utf-8',
        ]);
        expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="keelson"/);
      }
      const allowed = await call(gateway, 'GET', path, bearer(right));
      expect([route.prefix, allowed.status === 401 || allowed.status === 403]).toEqual([route.prefix, false]);
    }
  });

  it('limits a client with 429, Retry-After and RateLimit headers, and keeps limiting locally while Redis is down', async () => {
    const client = await newClient(['orders:read']);
    const token = await tokenFor(client, 'orders:read', tight);
    const statuses: number[] = [];
    let last: Answer | undefined;
    for (let i = 0; i < 6; i += 1) {
      last = await call(tight, 'GET', `/api/v1/orders/${randomUUID()}`, bearer(token));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429]);
    expect(last?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(last?.headers.get('ratelimit-limit')).toBe('5');
    expect(last?.headers.get('ratelimit-remaining')).toBe('0');
    expect(last?.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');

    const other = await newClient(['orders:read']);
    const otherToken = await tokenFor(other, 'orders:read', tight);
    await stack('down', 'redis');
    try {
      const offline: number[] = [];
      for (let i = 0; i < 6; i += 1) offline.push((await call(tight, 'GET', `/api/v1/orders/${randomUUID()}`, bearer(otherToken))).status);
      expect(offline).toEqual([404, 404, 404, 404, 404, 429]);
    } finally {
      await stack('up', 'redis');
    }
  });

  it('rejects malformed JSON, a wrong content type and an oversized body with problem documents', async () => {
    const token = await tokenFor(admin, 'orders:write');
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const malformed = await call<{ detail: string }>(gateway, 'POST', '/api/v1/customers', { body: '{"email":', headers });
    expect([malformed.status, malformed.body.detail]).toEqual([400, expect.stringMatching(/not valid JSON/)]);
    const wrongType = await call(gateway, 'POST', '/api/v1/customers', {
      body: 'email=x',
      headers: { ...headers, 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
    const oversized = await call(gateway, 'POST', '/api/v1/customers', { body: JSON.stringify({ name: 'x'.repeat(5_000) }), headers });
    expect(oversized.status).toBe(413);
    for (const answer of [malformed, wrongType, oversized]) {
      expect(answer.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    }
  });

  it('times out a slow upstream and refuses what exceeds its concurrency limit instead of piling up', async () => {
    const token = await tokenFor(admin, 'bench:run');
    const timedOut = await call<{ detail: string }>(gateway, 'GET', '/api/v1/benchmarks/run?ms=3000', bearer(token));
    expect([timedOut.status, timedOut.body.detail]).toEqual([504, 'benchmark did not answer in time']);
    expect(timedOut.ms).toBeLessThan(2_000); // 500 ms budget, 2 attempts inside it
    await delay(1_100); // let the breaker close again if the timeouts opened it

    const burst = await Promise.all(Array.from({ length: 20 }, () => call(gateway, 'GET', '/api/v1/benchmarks/run?ms=300', bearer(token))));
    const statuses = burst.map((a) => a.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(8);
    const refused = burst.filter((a) => a.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(12);
    for (const answer of refused) expect(answer.headers.get('retry-after')).toBe('1');
  });

  it('tells the service which client calls, as verified, never as the client claims', async () => {
    const token = await tokenFor(admin, 'bench:run');
    const answer = await call<{ clientId: string }>(gateway, 'GET', '/api/v1/benchmarks/run?ms=1', {
      headers: { authorization: `Bearer ${token}`, 'x-client-id': 'someone-else' },
    });
    expect([answer.status, answer.body.clientId]).toEqual([200, admin.clientId]);
  });

  it('passes a server-sent event stream through unbuffered, and closes it upstream when the client leaves', async () => {
    const token = await tokenFor(admin, 'bench:run');
    const leave = new AbortController();
    const response = await fetch(`${gateway.url}/api/v1/benchmarks/stream`, { ...bearer(token), signal: leave.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();

    // The first event arrives while the upstream still holds the stream open.
    expect(decoder.decode((await reader.read()).value)).toBe('data: first\n\n');
    const upstream = streamOpen.at(-1);
    expect(upstream?.writableEnded).toBe(false);
    upstream?.write('data: second\n\n');
    expect(decoder.decode((await reader.read()).value)).toBe('data: second\n\n');

    const closed = new Promise((resolve) => upstream?.once('close', resolve));
    leave.abort();
    await closed; // the gateway let go of the upstream stream
    expect(upstream?.writableEnded).toBe(false);
  });

  it('does not count clients that hang up as upstream failures', async () => {
    const token = await tokenFor(admin, 'bench:run');
    // More abandoned calls than the breaker's threshold (3 here) in a row.
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const abandon = new AbortController();
        const pending = fetch(`${gateway.url}/api/v1/benchmarks/run?ms=300`, {
          headers: { authorization: `Bearer ${token}` },
          signal: abandon.signal,
        });
        setTimeout(() => {
          abandon.abort();
        }, 50);
        await pending.catch(() => undefined);
      }),
    );
    await delay(400); // the abandoned upstream calls have ended
    expect((await call(gateway, 'GET', '/api/v1/benchmarks/run?ms=1', bearer(token))).status).toBe(200);
  });

  it('opens the breaker when an upstream stops (503 in under 5 ms) and recovers within 30 s of it returning', async () => {
    const token = await tokenFor(admin, 'orders:read');
    const probe = () => call(gateway, 'GET', `/api/v1/orders/${randomUUID()}`, bearer(token));
    expect((await probe()).status).toBe(404);
    await orders.stop();
    const failing: number[] = [];
    for (let i = 0; i < 3; i += 1) failing.push((await probe()).status);
    expect(failing.every((s) => s === 502 || s === 503)).toBe(true);

    const open = await probe();
    expect(open.status).toBe(503);
    expect(open.headers.get('retry-after')).toMatch(/^\d+$/);
    const timings: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const started = performance.now();
      const answer = await fetch(`${gateway.url}/api/v1/orders/${randomUUID()}`, { headers: { authorization: `Bearer ${token}` } });
      await answer.arrayBuffer();
      timings.push(performance.now() - started);
    }
    timings.sort((a, b) => a - b);
    expect(timings[Math.floor(timings.length / 2)]).toBeLessThan(5); // median of the fast refusals, measured at the client

    orders = ServiceProcess.start('apps/orders/src/main', {}, ordersPort);
    await orders.ready();
    const back = Date.now();
    await waitFor('traffic through the gateway to recover', async () => ((await probe()).status === 404 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    expect(Date.now() - back).toBeLessThan(30_000);
  });
});
