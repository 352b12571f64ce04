import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  freePort,
  LocalPrometheus,
  repoRoot,
  ServiceProcess,
  stack,
  waitFor,
  type PrometheusAlert,
  type RuleGroupDefinition,
} from '@keelson/testing';
import { parse } from 'yaml';

// The alerting path end to end, on the real stack: an orders process scraped by the stack's
// Prometheus, Kafka stopped so an order's event waits in the outbox, and the real
// OutboxBacklogAging expression going pending, then firing, then resolving once Kafka is back
// and the relay has drained the backlog. Only the threshold (60 s → 5 s) and `for` (2m → 10s)
// are shortened, and the expression is scoped to this test's target.

const ALERT = 'OutboxBacklogAging';
const JOB = 'outbox-alert-e2e';
const TEST_THRESHOLD_SECONDS = 5;
const TEST_FOR_MS = 10_000;

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** OutboxBacklogAging from prometheus/alerts.rules.yml, with a test threshold and `for`. */
function testRuleGroup(): RuleGroupDefinition {
  const file = parse(readFileSync(path.join(repoRoot, 'prometheus/alerts.rules.yml'), 'utf8')) as { groups: { rules: Rule[] }[] };
  const rule = file.groups.flatMap((g) => g.rules).find((r) => r.alert === ALERT);
  if (!rule) throw new Error(`${ALERT} is not in prometheus/alerts.rules.yml`);
  const real = rule.expr.trim();
  const expr = real
    .replace('outbox_oldest_unpublished_age_seconds)', `outbox_oldest_unpublished_age_seconds{job="${JOB}"})`)
    .replace(/> 60$/, `> ${TEST_THRESHOLD_SECONDS}`);
  if (!expr.includes(`{job="${JOB}"}`) || !expr.endsWith(`> ${TEST_THRESHOLD_SECONDS}`))
    throw new Error(`${ALERT}'s expression changed shape (${real}); update how this test shortens it`);
  return {
    name: JOB,
    interval: '1s',
    rules: [{ ...rule, expr, for: `${TEST_FOR_MS / 1_000}s`, labels: { ...rule.labels, e2e: JOB } }],
  };
}

describe('the outbox backlog alert, with Kafka stopped', () => {
  const prometheus = new LocalPrometheus();
  const ours = { alertname: ALERT, e2e: JOB };
  let orders: ServiceProcess;

  /** POSTs to the orders API; answers the status and the created resource's id. */
  async function create(route: string, body: unknown): Promise<{ status: number; id: string }> {
    const response = await fetch(`${orders.url}/api/v1${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, id: ((await response.json()) as { id: string }).id };
  }

  beforeAll(async () => {
    await stack('up', 'prometheus');
    const migrate = ServiceProcess.start('apps/orders/src/main', {}, await freePort(), ['migrate']);
    expect((await migrate.exited).code).toBe(0);
    orders = ServiceProcess.start('apps/orders/src/main', { OUTBOX_POLL_INTERVAL_MS: '200' }, await freePort());
    await orders.ready();
    await prometheus.registerTargets(JOB, [`127.0.0.1:${orders.port}`], { job: JOB });
    await prometheus.loadRules(JOB, [testRuleGroup()]);
  }, 120_000);

  afterAll(async () => {
    await stack('up', 'kafka'); // whatever a failed test left stopped
    await orders.stop();
    await prometheus.cleanup();
  });

  it('loads every rule file of prometheus/ without evaluation errors', async () => {
    const groups = await prometheus.rules();
    const files = new Set(groups.map((g) => path.relative(repoRoot, g.file)));
    expect([...files]).toEqual(expect.arrayContaining(['prometheus/alerts.rules.yml', 'prometheus/recording.rules.yml']));
    // Every group is evaluated within its interval (5 s locally); a broken expression reports here.
    await waitFor('every rule to be evaluated', async () => {
      const rules = (await prometheus.rules()).flatMap((g) => g.rules);
      return rules.every((r) => r.health !== 'unknown') ? rules : undefined;
    });
    const failing = (await prometheus.rules()).flatMap((g) =>
      g.rules.filter((r) => r.health === 'err').map((r) => `${r.name}: ${r.lastError ?? ''}`),
    );
    expect(failing).toEqual([]);
  });

  it('goes pending, then firing while events wait in the outbox, and resolves once Kafka is back', async () => {
    // A backlog left by another suite would make the alert active already; wait for a clean start.
    await prometheus.waitForAlert(ours, 'absent', 60_000);
    const run = randomUUID().slice(0, 8);
    const customer = await create('/customers', { email: `alert-${run}@e2e.example.com`, name: 'Alert Test' });
    const product = await create('/products', {
      sku: `ALERT-${run}`,
      name: 'Pager',
      priceMinor: 100,
      currency: 'EUR',
    });
    expect([customer.status, product.status]).toEqual([201, 201]);

    await stack('down', 'kafka');
    let pending: PrometheusAlert[];
    let firing: PrometheusAlert[];
    let firingSeenAt: number;
    try {
      const order = await create('/orders', {
        customerId: customer.id,
        currency: 'EUR',
        lines: [{ productId: product.id, quantity: 1 }],
      });
      expect(order.status).toBe(201);
      pending = await prometheus.waitForAlert(ours, 'pending', 60_000);
      firing = await prometheus.waitForAlert(ours, 'firing', 60_000);
      firingSeenAt = Date.now();
    } finally {
      await stack('up', 'kafka');
    }

    expect(pending).toHaveLength(1);
    expect(firing).toHaveLength(1);
    const [alert] = firing;
    expect(alert?.labels).toMatchObject({ severity: 'page', service: 'orders' });
    expect(alert?.annotations.summary).toBe('orders has outbox events waiting for more than a minute to reach Kafka.');
    expect(alert?.annotations.description).toMatch(
      /^The oldest unpublished outbox event of orders is \S+( \S+)* old \([^)]+ events waiting\)\./,
    );
    expect(alert?.annotations.runbook_url).toBe(`https://github.com/keelson/keelson/blob/main/docs/runbooks/${ALERT}.md`);
    // The same activation went from pending to firing, no sooner than `for` allows.
    expect(alert?.activeAt).toBe(pending[0]?.activeAt);
    expect(firingSeenAt - Date.parse(alert?.activeAt ?? '')).toBeGreaterThanOrEqual(TEST_FOR_MS);
    expect(Number(alert?.value)).toBeGreaterThan(TEST_THRESHOLD_SECONDS);

    // Kafka is back: the relay publishes the backlog, the age drops to 0 and the alert resolves.
    await prometheus.waitForAlert(ours, 'absent', 150_000);
    const [age] = await prometheus.query(`outbox_oldest_unpublished_age_seconds{job="${JOB}"}`);
    expect(Number(age?.value[1])).toBeLessThanOrEqual(TEST_THRESHOLD_SECONDS);
  }, 480_000);
});
