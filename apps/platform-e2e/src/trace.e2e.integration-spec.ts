import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { freePort, localStack, ServiceProcess, waitFor } from '@keelson/testing';
import { Kafka, logLevel } from 'kafkajs';

// One order through the traced platform: auth, orders, cache-invalidator and gateway export
// their spans over OTLP/HTTP (JSON) to a receiver in this process, and the test follows the
// order's trace from the gateway to the invalidator's consumer, checks that no personal data
// reached a span or a log line, that the access log carries the trace id, and that /metrics
// links the request's latency to the trace with an exemplar.

const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;

type AttributeValue = string | number | boolean | undefined;

interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  attributes: Record<string, AttributeValue>;
  links: { traceId: string; spanId: string }[];
  /** Everything exported for the span, for the personal-data check. */
  text: string;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: OtlpValue }[];
  links?: { traceId: string; spanId: string }[];
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

const valueOf = (value: OtlpValue): AttributeValue => value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue;

/** A minimal OTLP/HTTP trace receiver: the installed exporter posts JSON to /v1/traces. */
async function otlpReceiver(): Promise<{ server: Server; url: string; spans: ExportedSpan[] }> {
  const spans: ExportedSpan[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = JSON.parse((request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')) as OtlpRequest;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const serviceName = resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value;
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              service: String(serviceName ? valueOf(serviceName) : ''),
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              kind: span.kind,
              attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, valueOf(a.value)])),
              links: span.links ?? [],
              text: JSON.stringify(span),
            });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

/** The statement of a database span, under the old or the stable semantic conventions. */
const statementOf = (span: ExportedSpan): string => String(span.attributes['db.statement'] ?? span.attributes['db.query.text'] ?? '');
const systemOf = (span: ExportedSpan): string => String(span.attributes['db.system'] ?? span.attributes['db.system.name'] ?? '');

describe('traces, logs and exemplars across the platform', () => {
  const entry = (name: string) => `apps/${name}/src/main`;
  const group = `trace-e2e-${randomUUID().slice(0, 8)}`;
  const email = `trace-${randomUUID().slice(0, 8)}@e2e.example.com`;
  const customerName = `Ada Tracewell ${randomUUID().slice(0, 6)}`;
  const requestId = `trace-e2e-${randomUUID()}`;
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  const running: ServiceProcess[] = [];
  let gateway: ServiceProcess;
  let orders: ServiceProcess;
  let invalidator: ServiceProcess;
  let admin: { clientId: string; clientSecret: string };
  /** Values no span attribute or log line may contain (also as they appear in a URL). */
  const secrets: string[] = [email, encodeURIComponent(email), customerName, encodeURIComponent(customerName)];
  let orderTraceId: string;

  async function call<T>(method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  beforeAll(async () => {
    receiver = await otlpReceiver();
    for (const name of ['auth', 'orders', 'cache-invalidator']) {
      expect((await ServiceProcess.start(entry(name), {}, await freePort(), ['migrate']).exited).code).toBe(0);
    }
    const seed = ServiceProcess.start(entry('auth'), {}, await freePort(), ['seed']);
    expect((await seed.exited).code).toBe(0);
    admin = (JSON.parse(seed.stdout.trim().split('\n').at(-1) ?? '{}') as { client: typeof admin }).client;
    secrets.push(admin.clientSecret);

    // A fresh invalidator group that starts at the log end (not the retained history).
    const kafkaAdmin = new Kafka({ clientId: 'trace-e2e', brokers: [...localStack.kafka.brokers], logLevel: logLevel.WARN }).admin();
    await kafkaAdmin.connect();
    for (const topic of ['orders.events.v1', 'customers.events.v1', 'payments.events.v1', 'invoices.events.v1']) {
      const ends = await kafkaAdmin.fetchTopicOffsets(topic);
      await kafkaAdmin.setOffsets({ groupId: group, topic, partitions: ends.map(({ partition, high }) => ({ partition, offset: high })) });
    }
    await kafkaAdmin.disconnect();

    const traced = {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      LOG_LEVEL: 'info',
    };
    const auth = ServiceProcess.start(entry('auth'), traced, await freePort());
    orders = ServiceProcess.start(entry('orders'), traced, await freePort());
    invalidator = ServiceProcess.start(
      entry('cache-invalidator'),
      { ...traced, INVALIDATOR_GROUP_ID: group, CACHE_WARM_URLS: '' },
      await freePort(),
    );
    gateway = ServiceProcess.start(
      entry('gateway'),
      {
        ...traced,
        AUTH_URL: auth.url,
        ORDERS_URL: orders.url,
        REPLAY_URL: `http://127.0.0.1:${await freePort()}`,
        CACHE_INVALIDATOR_URL: invalidator.url,
        BENCHMARK_URL: `http://127.0.0.1:${await freePort()}`,
        RATE_LIMIT_PREFIX: group,
      },
      await freePort(),
    );
    running.push(auth, orders, invalidator, gateway);
    await Promise.all(running.map((s) => s.ready(60_000)));
  });

  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop()));
    receiver.server.close();
  });

  it('follows one order from the gateway through orders, the outbox relay and Kafka to the invalidator, with no personal data in any span', async () => {
    const tokenResponse = await fetch(`${gateway.url}/api/v1/auth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${admin.clientId}:${admin.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'orders:read orders:write' }).toString(),
    });
    const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
    secrets.push(token);
    const customer = await call<{ id: string }>('POST', '/api/v1/customers', token, { email, name: customerName });
    // Personal data in a query string and in cached values (Redis) must stay out of spans too.
    await call('GET', `/api/v1/customers?email=${encodeURIComponent(email)}`, token);
    await call('GET', `/api/v1/customers/${customer.id}`, token);
    await call('GET', `/api/v1/customers/${customer.id}`, token);
    const product = await call<{ id: string }>('POST', '/api/v1/products', token, {
      sku: `TRACE-${randomUUID().slice(0, 8)}`,
      name: 'Lantern',
      priceMinor: 1500,
      currency: 'EUR',
    });
    const order = await call<{ id: string }>(
      'POST',
      '/api/v1/orders',
      token,
      { customerId: customer.id, currency: 'EUR', lines: [{ productId: product.id, quantity: 1 }] },
      { 'x-request-id': requestId },
    );

    const inTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
    const gatewayServer = await waitFor('the gateway’s server span of the order', () =>
      Promise.resolve(
        receiver.spans.find((s) => s.service === 'gateway' && s.kind === SERVER && s.attributes['http.route'] === '/api/v1/orders'),
      ),
    );
    orderTraceId = gatewayServer.traceId;
    expect(gatewayServer.name).toBe('POST /api/v1/orders');

    const found = await waitFor(
      'the whole trace, up to the invalidator’s consumer span',
      () => {
        const spans = inTrace(orderTraceId);
        const ordersServer = spans.find((s) => s.service === 'orders' && s.kind === SERVER && s.parentSpanId === gatewayServer.spanId);
        const producer = spans.find((s) => s.service === 'orders' && s.kind === PRODUCER && s.name === 'orders.events.v1 publish');
        const consumer =
          producer &&
          receiver.spans.find(
            (s) =>
              s.service === 'cache-invalidator' &&
              s.kind === CONSUMER &&
              ((s.traceId === orderTraceId && s.parentSpanId === producer.spanId) ||
                s.links.some((l) => l.traceId === orderTraceId && l.spanId === producer.spanId)),
          );
        return Promise.resolve(ordersServer && producer && consumer ? { spans, ordersServer, producer, consumer } : undefined);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((error: unknown) => {
      const summary = receiver.spans.map((s) => `${s.service} ${s.kind} ${s.name} ${s.traceId}/${s.spanId}<-${s.parentSpanId ?? '-'}`);
      throw new Error(`${(error as Error).message}\nspans:\n${summary.slice(-80).join('\n')}`);
    });
    const { ordersServer, producer, consumer } = found;
    expect(ordersServer.name).toBe('POST /api/v1/orders');

    /** True when `span` sits (at any depth) under `ancestor` in the order's trace. */
    const byId = new Map(inTrace(orderTraceId).map((s) => [s.spanId, s]));
    const under = (span: ExportedSpan, ancestor: ExportedSpan): boolean => {
      for (let parent = span.parentSpanId; parent !== undefined; parent = byId.get(parent)?.parentSpanId) {
        if (parent === ancestor.spanId) return true;
      }
      return false;
    };
    const ordersDb = inTrace(orderTraceId).filter((s) => s.service === 'orders' && systemOf(s) === 'postgresql');
    expect(ordersDb.length).toBeGreaterThan(0);
    for (const span of ordersDb) expect(under(span, ordersServer)).toBe(true);
    // The order, its lines and its outbox row are written by one statement under the request.
    expect(ordersDb.some((s) => /insert into "?orders"?\.outbox/i.test(statementOf(s)))).toBe(true);
    // The relay published under the trace the outbox row stored, from the request that wrote it.
    expect(under(producer, ordersServer)).toBe(true);
    expect(producer.attributes['messaging.destination.name']).toBe('orders.events.v1');
    // The invalidator's Redis work nests under its consumer span.
    const invalidatorRedis = await waitFor('the invalidator’s Redis spans', () =>
      Promise.resolve(
        receiver.spans.find((s) => s.service === 'cache-invalidator' && systemOf(s) === 'redis' && s.parentSpanId === consumer.spanId),
      ),
    );
    expect(statementOf(invalidatorRedis)).toMatch(/^[A-Z]+( [\w.:-]+:\*)?$/);
    expect(order.id).toMatch(/^[0-9a-f-]{36}$/);

    // No e-mail, name, client secret or token in any span any service exported.
    const leaks = receiver.spans.filter((s) => secrets.some((secret) => s.text.includes(secret)));
    expect(leaks.map((s) => `${s.service}: ${s.text}`)).toEqual([]);
    const queried = receiver.spans.find((s) => s.service === 'orders' && s.attributes['url.query'] !== undefined);
    expect(queried?.attributes['url.query']).toBe('email=REDACTED');
  });

  it('writes the access-log line of a traced request with that request’s trace id, and no personal data in any log line', async () => {
    const accessLine = (service: ServiceProcess) =>
      service.stdout
        .split('\n')
        .filter((line) => line.includes(requestId))
        .map((line) => JSON.parse(line) as { msg: string; req: { id: string; url: string }; trace_id?: string; span_id?: string })
        .find((line) => line.msg === 'request completed' && line.req.id === requestId);
    const [atGateway, atOrders] = await waitFor('both access-log lines (flushed every 250 ms)', () =>
      Promise.resolve(accessLine(gateway) && accessLine(orders) ? [accessLine(gateway), accessLine(orders)] : undefined),
    );
    expect(atGateway?.trace_id).toBe(orderTraceId);
    expect(atOrders?.trace_id).toBe(orderTraceId);
    expect(atOrders?.span_id).toMatch(/^[0-9a-f]{16}$/);

    const logs = running.map((s) => s.stdout + s.stderr).join('\n');
    expect(logs).toContain('/api/v1/customers?email=REDACTED');
    for (const secret of secrets) expect(logs).not.toContain(secret);
  });

  it('links the request’s latency to its trace with an OpenMetrics exemplar, and serves the classic format without', async () => {
    const scrape = async (service: ServiceProcess, accept?: string) => {
      const response = await fetch(`${service.url}/metrics`, accept ? { headers: { accept } } : {});
      return { type: response.headers.get('content-type'), body: await response.text() };
    };
    const open = await scrape(gateway, 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5');
    expect(open.type).toMatch(/^application\/openmetrics-text/);
    expect(open.body).toMatch(
      new RegExp(
        `^http_server_request_duration_seconds_bucket\\{[^}]*method="POST",route="/api/v1/orders"[^}]*\\} 1 # \\{trace_id="${orderTraceId}"\\} `,
        'm',
      ),
    );
    const fromOrders = await scrape(orders, 'application/openmetrics-text');
    expect(fromOrders.body).toMatch(new RegExp(`route="/api/v1/orders"[^}]*\\} 1 # \\{trace_id="${orderTraceId}"\\}`));
    expect(fromOrders.body).toMatch(/^outbox_relay_batch_duration_seconds_bucket\{[^}]*\} \d+ # \{trace_id="[0-9a-f]{32}"\}/m);
    const fromInvalidator = await scrape(invalidator, 'application/openmetrics-text');
    expect(fromInvalidator.body).toMatch(/^kafka_consumer_batch_duration_seconds_bucket\{[^}]*\} \d+ # \{trace_id="[0-9a-f]{32}"\}/m);

    const classic = await scrape(gateway);
    expect(classic.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(classic.body).not.toContain('# {trace_id=');
    // Counter names keep their `_total` after an OpenMetrics scrape (prom-client renames them in place otherwise).
    expect(classic.body).toMatch(/^process_cpu_seconds_total\{service="gateway"\} /m);
  });
});
