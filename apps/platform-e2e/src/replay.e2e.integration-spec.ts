import { randomUUID } from 'node:crypto';
import { freePort, localStack, ServiceProcess, waitFor } from '@keelson/testing';
import Redis from 'ioredis';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Client } from 'pg';

// The replay service with the services whose data it replays, each a real process from
// dist/ on the local stack: orders (API and outbox relay), the cache-invalidator (the
// platform consumer that opts into replays) and replay (allowed to write into domain topics).
// Black box: what the test sees is HTTP, Kafka offsets, PostgreSQL rows and the eviction
// broadcast on `cache:invalidations`.

interface Job {
  id: string;
  status: string;
  replayed: number;
}

/** An order as the reducer beside the orders contract models it (the orders API's order view, less allowedActions). */
interface OrderSnapshot {
  id: string;
  customerId: string;
  status: string;
  currency: string;
  totalMinor: number;
  lines: { productId: string; quantity: number; unitPriceMinor: number }[];
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface Answer<T> {
  status: number;
  body: T;
}

const ORDER_TOPICS = ['orders.events.v1', 'customers.events.v1', 'payments.events.v1', 'invoices.events.v1'];

describe('replay on the platform', () => {
  const run = randomUUID().slice(0, 8);
  const invalidatorGroup = `e2e-replay-invalidator-${run}`;
  const subscriber = new Redis({ host: localStack.redis.host, port: localStack.redis.port, lazyConnect: true });
  const pg = new Client({ ...localStack.postgres, application_name: 'replay-e2e' });
  const kafka = new Kafka({ clientId: 'replay-e2e', brokers: [...localStack.kafka.brokers], logLevel: logLevel.NOTHING });
  let admin: Admin;
  let orders: ServiceProcess;
  let invalidator: ServiceProcess;
  let replay: ServiceProcess;
  /** Evictions broadcast on `cache:invalidations`, by the id evicted. */
  const evictions = new Map<string, number>();

  async function call<T = Record<string, unknown>>(base: string, path: string, body?: unknown): Promise<Answer<T>> {
    const response = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** The orders API; any answer but 2xx fails the test. */
  async function ordersApi(path: string, body?: unknown): Promise<{ id: string }> {
    const answer = await call<{ id: string }>(orders.url, `/api/v1${path}`, body);
    expect(answer.status).toBeLessThan(300);
    return answer.body;
  }

  /** A new customer's order of 2 × a new product at 12.50 EUR. */
  async function placeOrder(): Promise<{ id: string }> {
    const customer = await ordersApi('/customers', { email: `${randomUUID()}@replay-e2e.example.com`, name: 'Replay' });
    const product = await ordersApi('/products', {
      sku: `RE2E-${randomUUID().slice(0, 8)}`,
      name: 'Lamp',
      priceMinor: 1250,
      currency: 'EUR',
    });
    return ordersApi('/orders', { customerId: customer.id, currency: 'EUR', lines: [{ productId: product.id, quantity: 2 }] });
  }

  /** Starts a replay and waits for its end; it must finish `done`. */
  async function replayed(request: Record<string, unknown>): Promise<Job> {
    const started = await call<Job>(replay.url, '/api/v1/event-replay/replay', request);
    expect(started.status).toBe(202);
    const job = await waitFor(
      `replay ${started.body.id}`,
      async () => {
        const current = (await call<Job>(replay.url, `/api/v1/event-replay/replay/${started.body.id}`)).body;
        return current.status === 'running' ? undefined : current;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(job.status).toBe('done');
    return job;
  }

  /** The ids of the order's events in the order the outbox holds them, once the relay has published all of them. */
  async function publishedOrderEvents(orderId: string): Promise<string[]> {
    return waitFor(
      `the outbox relay to publish order ${orderId}'s events`,
      async () => {
        const { rows } = await pg.query<{ id: string; published: boolean }>(
          `SELECT id, published_at IS NOT NULL AS published FROM orders.outbox
            WHERE aggregatetype = 'order' AND aggregateid = $1 ORDER BY position`,
          [orderId],
        );
        return rows.every((r) => r.published) ? rows.map((r) => r.id) : undefined;
      },
      { timeoutMs: 30_000 },
    );
  }

  /** Waits until a group has committed past every record `topic` holds now. */
  async function consumedToEnd(groupId: string, topic: string): Promise<void> {
    const ends = await admin.fetchTopicOffsets(topic);
    await waitFor(
      `${groupId} to consume ${topic} to its end`,
      async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const at = new Map(committed?.partitions.map((p) => [p.partition, BigInt(p.offset)]));
        return ends.every((e) => (at.get(e.partition) ?? -1n) >= BigInt(e.high)) ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }

  /** Commits offsets at the log end, as a group that has been running would have them. */
  async function groupAtLogEnd(groupId: string, topics: readonly string[]): Promise<void> {
    for (const topic of topics) {
      // Explicit end offsets: kafkajs' resetOffsets(latest) commits -1, which a consumer reads as "no offset".
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({ groupId, topic, partitions: ends.map(({ partition, high }) => ({ partition, offset: high })) });
    }
  }

  async function metric(base: string, pattern: RegExp): Promise<number> {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Number(pattern.exec(text)?.[1] ?? 0);
  }
  const duplicates = () => metric(invalidator.url, /^cache_invalidator_events_total\{[^}]*result="duplicate"[^}]*\} (\S+)$/m);

  const startInvalidator = async () =>
    ServiceProcess.start(
      'apps/cache-invalidator/src/main',
      {
        INVALIDATOR_GROUP_ID: invalidatorGroup,
        // Kafka is its only trigger here (no row-change notifications, no re-warming): its evictions come from events.
        CHANGE_NOTIFICATIONS_ENABLED: 'false',
        CACHE_WARM_URLS: '',
        STALE_CHECK_SAMPLE_RATE: '0',
      },
      await freePort(),
    );

  beforeAll(async () => {
    for (const service of ['orders', 'cache-invalidator', 'replay']) {
      const migrate = ServiceProcess.start(`apps/${service}/src/main`, {}, await freePort(), ['migrate']);
      if ((await migrate.exited).code !== 0) throw new Error(`${service} migrate failed: ${migrate.stderr}`);
    }
    admin = kafka.admin();
    await Promise.all([admin.connect(), pg.connect(), subscriber.connect()]);
    await subscriber.subscribe('cache:invalidations');
    subscriber.on('message', (_channel: string, payload: string) => {
      for (const id of (JSON.parse(payload) as { ids?: string[] }).ids ?? []) evictions.set(id, (evictions.get(id) ?? 0) + 1);
    });
    await groupAtLogEnd(invalidatorGroup, ORDER_TOPICS);
    orders = ServiceProcess.start('apps/orders/src/main', {}, await freePort());
    invalidator = await startInvalidator();
    replay = ServiceProcess.start('apps/replay/src/main', { REPLAY_ALLOW_DOMAIN_TARGETS: 'true' }, await freePort());
    await Promise.all([orders.ready(60_000), invalidator.ready(60_000), replay.ready(60_000)]);
  });

  afterAll(async () => {
    await Promise.all([orders.stop(), invalidator.stop(), replay.stop()]);
    // What this run created on the shared broker: the side topic and the two groups (empty once stopped).
    if ((await admin.listTopics()).includes(`e2e.${run}.orders-incident`))
      await admin.deleteTopics({ topics: [`e2e.${run}.orders-incident`] });
    await admin.deleteGroups([invalidatorGroup, `e2e-replay-plain-${run}`]).catch(() => undefined);
    await Promise.all([admin.disconnect(), pg.end()]);
    subscriber.disconnect();
  });

  it("replaying the same range twice has the effect of once on the platform's consumers", async () => {
    // A platform consumer that does not opt into replays: the messaging library's EventConsumer with its defaults.
    const plainGroup = `e2e-replay-plain-${run}`;
    await groupAtLogEnd(plainGroup, ['orders.events.v1']);
    const plain = ServiceProcess.start(
      'libs/messaging/src/fixtures/plain-consumer',
      { GROUP_ID: plainGroup, TOPIC: 'orders.events.v1' },
      await freePort(),
    );
    const skipped = () =>
      metric(plain.url, new RegExp(`^messaging_replayed_records_skipped_total\\{group="${plainGroup}"\\} (\\S+)$`, 'm'));
    try {
      await plain.ready();
      // Real order events (created, confirmed, paid) through the API and the outbox relay.
      const from = new Date(Date.now() - 1_000);
      const order = await placeOrder();
      await ordersApi(`/orders/${order.id}/confirm`, {});
      await ordersApi('/payments', { orderId: order.id, kind: 'capture', amountMinor: 2500, currency: 'EUR' });
      const events = await publishedOrderEvents(order.id);
      expect(events).toHaveLength(3);
      const to = new Date(Date.now() + 1);

      // The first delivery has its effect: the order's entry was evicted, the plain consumer handled each event once.
      await consumedToEnd(invalidatorGroup, 'orders.events.v1');
      await consumedToEnd(plainGroup, 'orders.events.v1');
      const evicted = evictions.get(order.id) ?? 0;
      expect(evicted).toBeGreaterThan(0);
      const handledOnce = Object.fromEntries(events.map((id) => [id, 1]));
      expect((await call(plain.url, `/handled?subject=${order.id}`)).body).toEqual(handledOnce);
      const [duplicatesBefore, skippedBefore] = [await duplicates(), await skipped()];

      // A replay cannot write into the topic it reads: the order's events are kept in a side topic first
      // (as an operator would before re-driving them), then re-driven into orders.events.v1 twice.
      const archivedFrom = new Date(Date.now() - 1);
      const kept = await replayed({
        topic: 'orders.events.v1',
        from: from.toISOString(),
        to: to.toISOString(),
        key: order.id,
        target: { topic: `e2e.${run}.orders-incident` },
      });
      expect(kept.replayed).toBe(3);
      const range = {
        topic: `e2e.${run}.orders-incident`,
        from: archivedFrom.toISOString(),
        to: new Date(Date.now() + 1).toISOString(),
        target: { topic: 'orders.events.v1' },
      };
      expect([(await replayed(range)).replayed, (await replayed(range)).replayed]).toEqual([3, 3]);

      await consumedToEnd(invalidatorGroup, 'orders.events.v1');
      await consumedToEnd(plainGroup, 'orders.events.v1');
      // The invalidator took all six replayed records and recognised each as applied already: nothing evicted again.
      expect((await duplicates()) - duplicatesBefore).toBeGreaterThanOrEqual(6);
      expect(evictions.get(order.id)).toBe(evicted);
      // The consumer that does not opt in was offered the six and skipped them: its handler ran once per event.
      expect((await skipped()) - skippedBefore).toBeGreaterThanOrEqual(6);
      expect((await call(plain.url, `/handled?subject=${order.id}`)).body).toEqual(handledOnce);

      // The same range once more, by moving the invalidator's group back to its start (refused while it has members).
      await invalidator.stop();
      await waitFor('the invalidator group to be moved back', async () => {
        const moved = await call(replay.url, '/api/v1/event-replay/replay', {
          topic: 'orders.events.v1',
          from: from.toISOString(),
          to: to.toISOString(),
          target: { consumerGroup: invalidatorGroup },
        });
        return moved.status === 202 ? true : undefined;
      });
      invalidator = await startInvalidator();
      await invalidator.ready(60_000);
      await consumedToEnd(invalidatorGroup, 'orders.events.v1');
      // It read the three originals and the six replayed copies again, all known: still no eviction.
      expect(await duplicates()).toBeGreaterThanOrEqual(9);
      expect(evictions.get(order.id)).toBe(evicted);
    } finally {
      await plain.stop();
    }
  });

  it('reconstructed order state equals what PostgreSQL held at that moment', async () => {
    /** The order as PostgreSQL holds it now (committed), in the shape of the orders API's order view. */
    async function snapshot(orderId: string): Promise<{ at: Date; order: OrderSnapshot }> {
      const { rows } = await pg.query<{
        id: string;
        customer_id: string;
        status: string;
        currency: string;
        total_minor: string;
        version: number;
        created_at: Date;
        updated_at: Date;
        lines: { productId: string; quantity: number; unitPriceMinor: number }[];
      }>(
        `SELECT o.id, o.customer_id, o.status, o.currency, o.total_minor, o.version, o.created_at, o.updated_at,
                json_agg(json_build_object('productId', l.product_id, 'quantity', l.quantity, 'unitPriceMinor', l.unit_price_minor)
                         ORDER BY l.position) AS lines
           FROM orders.orders o JOIN orders.order_lines l ON l.order_id = o.id
          WHERE o.id = $1 GROUP BY o.id`,
        [orderId],
      );
      const at = new Date();
      const row = rows[0];
      if (!row) throw new Error(`order ${orderId} is not in PostgreSQL`);
      // Clocks (one machine, so PostgreSQL's and ours agree): an event is stamped with its change's time as
      // the row records it, the start of the transaction that commits it; this snapshot is read after that
      // commit, so every event so far is stamped at or before `at`. The next step starts after `at` but may
      // fall in the same millisecond, and reconstruction takes events stamped at or before `at`: let the
      // clock move on first. (While a transaction is open, reconstruction already shows its change;
      // PostgreSQL's readers see it from the commit.)
      await waitFor('the clock to pass the snapshot', () => Promise.resolve(Date.now() > at.getTime() ? true : undefined), {
        intervalMs: 1,
      });
      return {
        at,
        order: {
          id: row.id,
          customerId: row.customer_id,
          status: row.status,
          currency: row.currency,
          totalMinor: Number(row.total_minor),
          lines: row.lines,
          version: row.version,
          createdAt: row.created_at.toISOString(),
          updatedAt: row.updated_at.toISOString(),
        },
      };
    }

    const since = new Date(Date.now() - 1_000);
    const order = await placeOrder();
    const snapshots = [await snapshot(order.id)];
    await ordersApi(`/orders/${order.id}/confirm`, {});
    snapshots.push(await snapshot(order.id));
    await ordersApi('/payments', { orderId: order.id, kind: 'capture', amountMinor: 2500, currency: 'EUR' });
    snapshots.push(await snapshot(order.id));
    await ordersApi(`/orders/${order.id}/fulfil`, {});
    snapshots.push(await snapshot(order.id));
    expect(snapshots.map((s) => [s.order.status, s.order.version])).toEqual([
      ['pending', 1],
      ['confirmed', 2],
      ['paid', 3],
      ['fulfilled', 4],
    ]);
    // The snapshots have the orders API's shape: the API shows the last one (plus the actions it allows).
    expect((await call(orders.url, `/api/v1/orders/${order.id}`)).body).toEqual({ ...snapshots[3]?.order, allowedActions: [] });
    const events = await publishedOrderEvents(order.id);
    expect(events).toHaveLength(4);

    for (const [i, { at, order: held }] of snapshots.entries()) {
      const answer = await call<{ state: Record<string, unknown>; lastEventId: string }>(
        replay.url,
        '/api/v1/event-replay/reconstruct-state',
        {
          aggregateType: 'order',
          id: order.id,
          at: at.toISOString(),
          since: since.toISOString(),
        },
      );
      expect(answer.status).toBe(200);
      // Every field the reducer models, exactly; the last event folded is the one this step wrote.
      expect(answer.body.state).toEqual({ ...held, lastEventId: events[i] });
    }
    // Before the order existed there is nothing to reconstruct.
    const before = await call(replay.url, '/api/v1/event-replay/reconstruct-state', {
      aggregateType: 'order',
      id: order.id,
      at: new Date(Date.parse(snapshots[0]?.order.createdAt ?? '') - 1).toISOString(),
      since: since.toISOString(),
    });
    expect(before.status).toBe(404);
  });
});
