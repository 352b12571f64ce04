// Every query of every committed dashboard, evaluated by a real Prometheus scraping the six
// services (started here from dist/) after real traffic: a query must parse, and return series
// unless query-expectations.ts says why it cannot on a healthy local stack.
//
// Prometheus: the stack's (`tools/stack/stack.sh up prometheus`, 127.0.0.1:9090, file_sd targets
// from $KEELSON_STACK_DIR/prometheus/targets) or any other scraping that folder every few
// seconds, named by KEELSON_PROMETHEUS_URL. The services get a `namespace` target label of
// their own, and `$namespace` is set to it, so only this run's series answer.
import { randomUUID } from 'node:crypto';
import {
  BUILTIN_VARIABLES,
  freePort,
  labelValuesQuery,
  metricNames,
  LocalPrometheus,
  panelQueries,
  readDashboards,
  ServiceProcess,
  SERVICES,
  substituteVariables,
  waitFor,
  localStack,
  type PanelQuery,
  type ServiceName,
} from '@keelson/testing';
import { Kafka, logLevel } from 'kafkajs';
import { CLUSTER_ONLY_METRIC, isRecordingRule, NO_DATA_UNTIL_IT_HAPPENS, PENDING_METRICS, PROMETHEUS_SERIES } from './query-expectations';

const run = randomUUID().slice(0, 8);
const namespace = `dashboards-it-${run}`;
const invalidatorGroup = `dashboards-it-${run}`;
const replayTarget = `dashboards-it.${run}.copy`;
/** Every variable at "All", the namespace at this run's. */
const values = { ...BUILTIN_VARIABLES, namespace, service: '.*', upstream: '.*', deployment: '.*', slo: '.*' };

const prometheus = new LocalPrometheus();
const dashboards = readDashboards();
const queries: PanelQuery[] = [
  ...dashboards.flatMap(({ dashboard }) => panelQueries(dashboard)),
  // Variable queries, as the PromQL Prometheus answers for label_values().
  ...dashboards.flatMap(({ dashboard }) =>
    (dashboard.templating?.list ?? [])
      .filter((v) => v.type === 'query')
      .map((v) => ({
        dashboard: dashboard.uid ?? '?',
        panel: `$${v.name}`,
        refId: 'variable',
        expr: labelValuesQuery(String(v.query)) ?? String(v.query),
      })),
  ),
];

/** What Prometheus knows once it scraped this run's services. */
interface Known {
  declared: Set<string>;
  recorded: Set<string>;
}

/** A metric as declared in `# TYPE` lines: counters may drop `_total` (OpenMetrics), histograms their series suffix. */
const isDeclared = (name: string, declared: Set<string>) =>
  declared.has(name) || declared.has(name.replace(/_(bucket|count|sum|total|created)$/, ''));

/** Why a query cannot return series here, or undefined when it must. */
function noDataBecause(q: PanelQuery, { declared, recorded }: Known): string | undefined {
  const names = metricNames(q.expr);
  for (const name of names) {
    if (CLUSTER_ONLY_METRIC.test(name)) return `${name} comes from kube-state-metrics (cluster only)`;
    if (PROMETHEUS_SERIES[name] === 'while-alerting') return `${name} has series only while an alert is pending or firing`;
    if (isRecordingRule(name) && !recorded.has(name)) return `no rule file loaded in this Prometheus records ${name}`;
    const pending = Object.keys(PENDING_METRICS).find((p) => name === p || name.replace(/_(bucket|count|sum)$/, '') === p);
    if (pending && !isDeclared(name, declared)) return `${name} is pending (${PENDING_METRICS[pending] ?? '?'})`;
  }
  return NO_DATA_UNTIL_IT_HAPPENS.find((e) => e.dashboard === q.dashboard && e.panel === q.panel && e.refId === q.refId)?.reason;
}

describe('dashboard queries against Prometheus', () => {
  const running = new Map<ServiceName, ServiceProcess>();
  /** Queries excused from returning series in this run, and why (printed at the end). */
  const excused: string[] = [];
  let known: Known;
  const kafka = new Kafka({ clientId: `dashboards-it-${run}`, brokers: [...localStack.kafka.brokers], logLevel: logLevel.NOTHING });

  const service = (name: ServiceName): ServiceProcess => {
    const found = running.get(name);
    if (!found) throw new Error(`${name} is not running`);
    return found;
  };

  async function gateway(
    method: string,
    path: string,
    { token, json, form, basic }: { token?: string; json?: unknown; form?: Record<string, string>; basic?: string } = {},
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (basic) headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    if (json !== undefined) headers['content-type'] = 'application/json';
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const body = json !== undefined ? JSON.stringify(json) : form ? new URLSearchParams(form).toString() : undefined;
    const response = await fetch(`${service('gateway').url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
  }

  async function expectStatus(answer: Promise<{ status: number; body: unknown }>, status: number): Promise<unknown> {
    const { status: actual, body } = await answer;
    if (actual !== status) throw new Error(`expected ${status}, got ${actual}: ${JSON.stringify(body)}`);
    return body;
  }

  /** Token, refusals, a customer's order confirmed, read twice (cached), paid, and replayed. */
  async function traffic(admin: { clientId: string; clientSecret: string }): Promise<void> {
    const startedAt = Date.now();
    const basic = `${admin.clientId}:${admin.clientSecret}`;
    const scope = 'orders:read orders:write replay:admin';
    const { access_token: token } = (await expectStatus(
      gateway('POST', '/api/v1/auth/token', { basic, form: { grant_type: 'client_credentials', scope } }),
      200,
    )) as { access_token: string };
    await expectStatus(
      gateway('POST', '/api/v1/auth/token', { basic: `${admin.clientId}:wrong`, form: { grant_type: 'client_credentials' } }),
      401,
    );
    // A failed login: a client allowed the password grant, a user that does not exist.
    const { access_token: adminToken } = (await expectStatus(
      gateway('POST', '/api/v1/auth/token', { basic, form: { grant_type: 'client_credentials', scope: 'auth:admin' } }),
      200,
    )) as { access_token: string };
    const app = (await expectStatus(
      gateway('POST', '/api/v1/auth/clients', {
        token: adminToken,
        json: { name: `dashboards ${run}`, scopes: ['orders:read'], grantTypes: ['password'] },
      }),
      201,
    )) as { clientId: string; clientSecret: string };
    await expectStatus(
      gateway('POST', '/api/v1/auth/token', {
        basic: `${app.clientId}:${app.clientSecret}`,
        form: { grant_type: 'password', username: `nobody-${run}`, password: 'not the password' },
      }),
      400,
    );
    await expectStatus(gateway('GET', `/api/v1/orders/${randomUUID()}`), 401);
    await expectStatus(gateway('GET', `/api/v1/orders/${randomUUID()}`, { token }), 404);

    type Created = { id: string };
    const customer = (await expectStatus(
      gateway('POST', '/api/v1/customers', { token, json: { email: `${randomUUID()}@dashboards.example.com`, name: 'Dash' } }),
      201,
    )) as Created;
    const product = (await expectStatus(
      gateway('POST', '/api/v1/products', {
        token,
        json: { sku: `DASH-${randomUUID().slice(0, 8)}`, name: 'Gauge', priceMinor: 1200, currency: 'EUR' },
      }),
      201,
    )) as Created;
    const order = (await expectStatus(
      gateway('POST', '/api/v1/orders', {
        token,
        json: { customerId: customer.id, currency: 'EUR', lines: [{ productId: product.id, quantity: 1 }] },
      }),
      201,
    )) as Created;
    await expectStatus(gateway('POST', `/api/v1/orders/${order.id}/confirm`, { token }), 200);
    // Two reads each: a miss that fills the cache, then a hit; sampled as hot for re-warming.
    for (let i = 0; i < 2; i += 1) {
      await expectStatus(gateway('GET', `/api/v1/orders/${order.id}`, { token }), 200);
      await expectStatus(gateway('GET', `/api/v1/customers/${customer.id}`, { token }), 200);
    }
    // The reads are ranked hot once orders has sent its counts (every 250 ms).
    await waitFor('the order to be ranked hot', async () => {
      const stats = (await (await fetch(`${service('cache-invalidator').url}/api/v1/cache/stats`)).json()) as {
        hotKeys: Record<string, { id: string }[]>;
      };
      return stats.hotKeys['orders:order']?.some((entry) => entry.id === order.id) ? true : undefined;
    });
    // Paying changes the order: its event evicts the (hot) cached order, which is re-warmed.
    await expectStatus(
      gateway('POST', '/api/v1/payments', { token, json: { orderId: order.id, kind: 'capture', amountMinor: 1200, currency: 'EUR' } }),
      201,
    );

    // Replay this order's events into a scratch topic, once the relay has published them.
    const job = await waitFor(
      'the order’s events to be replayable',
      async () => {
        const answer = await gateway('POST', '/api/v1/event-replay/replay', {
          token,
          json: {
            topic: 'orders.events.v1',
            from: new Date(startedAt - 60_000).toISOString(),
            to: new Date().toISOString(),
            key: order.id,
            target: { topic: replayTarget },
          },
        });
        return answer.status === 202 ? (answer.body as Created) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    await waitFor('the replay job to finish', async () => {
      const { body } = await gateway('GET', `/api/v1/event-replay/replay/${job.id}`, { token });
      return (body as { status: string }).status === 'done' ? true : undefined;
    });
  }

  beforeAll(async () => {
    if (!(await prometheus.ready()))
      throw new Error(
        `no Prometheus at ${prometheus.url}: run tools/stack/stack.sh up prometheus, or set KEELSON_PROMETHEUS_URL to one that reads file_sd targets from ${prometheus.dir}/targets`,
      );
    for (const { name } of SERVICES) {
      const migrate = ServiceProcess.start(`apps/${name}/src/main`, {}, await freePort(), ['migrate']);
      if ((await migrate.exited).code !== 0) throw new Error(`${name} migrate failed: ${migrate.stderr}`);
    }
    const seed = ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['seed']);
    if ((await seed.exited).code !== 0) throw new Error(`auth seed failed: ${seed.stderr}`);
    const { client: admin } = JSON.parse(seed.stdout.trim().split('\n').at(-1) ?? '{}') as {
      client: { clientId: string; clientSecret: string };
    };

    // A new invalidator group would read the topics' whole history first: start it at their ends.
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    try {
      for (const topic of ['orders.events.v1', 'customers.events.v1', 'payments.events.v1', 'invoices.events.v1']) {
        const ends = await kafkaAdmin.fetchTopicOffsets(topic);
        await kafkaAdmin.setOffsets({
          groupId: invalidatorGroup,
          topic,
          partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
        });
      }
    } finally {
      await kafkaAdmin.disconnect();
    }

    const ports = Object.fromEntries(await Promise.all(SERVICES.map(async ({ name }) => [name, await freePort()] as const))) as Record<
      ServiceName,
      number
    >;
    const url = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
    const env: Record<ServiceName, Record<string, string>> = {
      gateway: {
        AUTH_URL: url('auth'),
        ORDERS_URL: url('orders'),
        REPLAY_URL: url('replay'),
        CACHE_INVALIDATOR_URL: url('cache-invalidator'),
        BENCHMARK_URL: url('benchmark'),
        RATE_LIMIT_PREFIX: `dashboards-it:${run}`,
      },
      auth: {},
      orders: { CACHE_HOT_KEY_SAMPLE_RATE: '1' },
      replay: {},
      'cache-invalidator': {
        INVALIDATOR_GROUP_ID: invalidatorGroup,
        CACHE_WARM_URLS: `orders:order=${url('orders')}/api/v1/orders/{id}`,
        CACHE_WARM_MIN_READS: '1',
      },
      benchmark: {},
    };
    for (const { name } of SERVICES) running.set(name, ServiceProcess.start(`apps/${name}/src/main`, env[name], ports[name]));
    await Promise.all([...running.values()].map((s) => s.ready(60_000)));

    await prometheus.registerTargets(
      namespace,
      SERVICES.map(({ name }) => `127.0.0.1:${ports[name]}`),
      { job: 'dashboards-it', namespace },
      90_000,
    );

    await traffic(admin);
    known = {
      declared: await prometheus.declaredMetrics(`{namespace="${namespace}"}`),
      recorded: new Set((await prometheus.rules()).flatMap((g) => g.rules.filter((r) => r.type === 'recording').map((r) => r.name))),
    };
  }, 300_000);

  afterAll(async () => {
    if (excused.length > 0) console.info(`${excused.length} queries were only checked to parse:\n${excused.join('\n')}`);
    await prometheus.cleanup();
    await Promise.all([...running.values()].map((s) => s.stop()));
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [replayTarget] }).catch(() => undefined);
      await admin.deleteGroups([invalidatorGroup]).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  });

  it('has queries to check', () => {
    expect(queries.length).toBeGreaterThan(50);
  });

  it.each(queries.map((q) => [`${q.dashboard} / ${q.panel} / ${q.refId}`, q] as const))('%s', async (_, q) => {
    const expr = substituteVariables(q.expr, values);
    // Parses and evaluates, or throws Prometheus's error.
    await prometheus.query(expr).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${expr}`);
    });

    // Every service metric it reads is one the services declare (samples or not): a typo fails here.
    const undeclared = metricNames(q.expr).filter(
      (name) =>
        !(name in PROMETHEUS_SERIES) &&
        !CLUSTER_ONLY_METRIC.test(name) &&
        !isRecordingRule(name) &&
        !(name in PENDING_METRICS) &&
        !Object.keys(PENDING_METRICS).some((p) => name.replace(/_(bucket|count|sum)$/, '') === p) &&
        !isDeclared(name, known.declared),
    );
    expect(undeclared).toEqual([]);

    const reason = noDataBecause(q, known);
    if (reason !== undefined) {
      excused.push(`${q.dashboard} / ${q.panel} / ${q.refId}: ${reason}`);
      return;
    }
    // Rates need two scrapes after the traffic: wait for them rather than sleep.
    const series = await waitFor(
      `series for ${expr}`,
      async () => {
        const series = await prometheus.query(expr);
        return series.length > 0 ? series : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 1_000 },
    );
    expect(series.length).toBeGreaterThan(0);
  });
});
