import { randomUUID } from 'node:crypto';
import { Cache, CacheInvalidations, createRedis } from '@keelson/cache';
import { createEvent, createKafka, DLQ_HEADERS, headersToStrings, type EventEnvelope } from '@keelson/messaging';
import { freePort, localStack, ServiceProcess, waitFor } from '@keelson/testing';
import type { Kafka, Producer } from 'kafkajs';
import { Client } from 'pg';

// The cache-invalidator as a real process on the real stack: events go to Kafka, entries live
// in Redis through the cache library, row changes come from the orders database.

describe('cache-invalidator', () => {
  const group = `invalidator-it-${randomUUID().slice(0, 8)}`;
  const redis = createRedis(
    { REDIS_HOST: localStack.redis.host, REDIS_PORT: localStack.redis.port, REDIS_PASSWORD: undefined },
    'invalidator-it',
  );
  const orderCache = new Cache(redis, { name: 'orders:order', ttlSeconds: 300 });
  const pg = new Client({ ...localStack.postgres, application_name: 'invalidator-it' });
  let kafka: Kafka;
  let producer: Producer;
  let invalidator: ServiceProcess;
  let orders: ServiceProcess;

  const startInvalidator = async () =>
    ServiceProcess.start(
      'apps/cache-invalidator/src/main',
      {
        INVALIDATOR_GROUP_ID: group,
        CACHE_WARM_URLS: `orders:order=${orders.url}/api/v1/orders/{id}`,
        CACHE_WARM_MIN_READS: '2',
        STALE_CHECK_SAMPLE_RATE: '1',
        STALE_CHECK_DELAY_MS: '500',
      },
      await freePort(),
    );
  /** What the cache holds for an order, without filling it. */
  const cached = (id: string) => orderCache.getOrLoad<{ v: number }>(id, () => Promise.resolve(undefined));
  const fill = (id: string, v = 1) => orderCache.getOrLoad(id, () => Promise.resolve({ v }));

  const statusChanged = (orderId: string): EventEnvelope =>
    createEvent({
      type: 'orders.order.status-changed.v1',
      source: 'invalidator-it',
      subject: orderId,
      aggregatetype: 'order',
      aggregateversion: 2,
      data: { orderId, customerId: randomUUID(), from: 'pending', to: 'confirmed' },
    });
  const publish = (topic: string, events: EventEnvelope[]) =>
    producer.send({ topic, messages: events.map((e) => ({ key: e.subject, value: JSON.stringify(e) })) });

  async function metric(service: ServiceProcess, pattern: RegExp): Promise<number> {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    return Number(pattern.exec(text)?.[1] ?? 0);
  }

  /** The group joins at the log end: until a probe is evicted, events could land before its start position. */
  async function untilConsuming(): Promise<void> {
    const probe = randomUUID();
    await fill(probe);
    await waitFor(
      'the invalidator to consume',
      async () => {
        await publish('orders.events.v1', [statusChanged(probe)]);
        return (await cached(probe)) === undefined ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }

  /** The orders service's API: GET without a body, POST with one; any answer but 2xx fails the test. */
  async function ordersApi<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${orders.url}/api/v1${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    expect(response.status).toBeLessThan(300);
    return (await response.json()) as T;
  }

  /** A new customer's order for one new product at `priceMinor` EUR. */
  async function placeOrder(priceMinor: number): Promise<{ id: string }> {
    const customer = await ordersApi<{ id: string }>('/customers', { email: `${randomUUID()}@inv.example.com`, name: 'Buyer' });
    const product = await ordersApi<{ id: string }>('/products', {
      sku: `INV-${randomUUID().slice(0, 8)}`,
      name: 'Kettle',
      priceMinor,
      currency: 'EUR',
    });
    return ordersApi<{ id: string }>('/orders', {
      customerId: customer.id,
      currency: 'EUR',
      lines: [{ productId: product.id, quantity: 1 }],
    });
  }

  beforeAll(async () => {
    for (const service of ['orders', 'cache-invalidator']) {
      expect((await ServiceProcess.start(`apps/${service}/src/main`, {}, await freePort(), ['migrate']).exited).code).toBe(0);
    }
    kafka = createKafka({ clientId: 'invalidator-it', brokers: [...localStack.kafka.brokers] });
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await Promise.all([producer.connect(), pg.connect()]);
    // A group that has been running: its offsets sit at the log end (a new group would replay the history first).
    const admin = kafka.admin();
    await admin.connect();
    for (const topic of ['orders.events.v1', 'customers.events.v1', 'payments.events.v1', 'invoices.events.v1']) {
      // Explicit end offsets: kafkajs' resetOffsets(latest) commits -1, which a consumer reads as "no offset".
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({ groupId: group, topic, partitions: ends.map(({ partition, high }) => ({ partition, offset: high })) });
    }
    await admin.disconnect();
    orders = ServiceProcess.start('apps/orders/src/main', { CACHE_HOT_KEY_SAMPLE_RATE: '1' }, await freePort());
    invalidator = await startInvalidator();
    await Promise.all([orders.ready(), invalidator.ready()]);
    await untilConsuming();
  });

  afterAll(async () => {
    await Promise.all([orders.stop(), invalidator.stop()]);
    await Promise.all([producer.disconnect(), pg.end()]);
    await orderCache.onApplicationShutdown();
    redis.disconnect();
  });

  it('evicts an order when its event arrives, and applies a duplicate event once', async () => {
    const id = randomUUID();
    await fill(id, 1);
    expect(await cached(id)).toEqual({ v: 1 });
    const duplicates = () => metric(invalidator, /^cache_invalidator_events_total\{[^}]*result="duplicate"[^}]*\} (\S+)$/m);
    const duplicatesBefore = await duplicates();

    const event = statusChanged(id);
    await publish('orders.events.v1', [event]);
    await waitFor('the eviction', async () => ((await cached(id)) === undefined ? true : undefined), { intervalMs: 20 });
    await fill(id, 2);
    await publish('orders.events.v1', [event]); // the same event again, e.g. republished by a relay after a crash
    await waitFor('the duplicate to be seen', async () => ((await duplicates()) > duplicatesBefore ? true : undefined));
    // Counted once as a duplicate (no other test publishes one), and it evicted nothing.
    expect(await duplicates()).toBe(duplicatesBefore + 1);
    expect(await cached(id)).toEqual({ v: 2 });
  });

  it('applies every change committed while it was stopped', async () => {
    await invalidator.stop();
    const ids = Array.from({ length: 25 }, () => randomUUID());
    for (const id of ids) await fill(id);
    await publish('orders.events.v1', ids.map(statusChanged));
    invalidator = await startInvalidator();
    await invalidator.ready();
    await waitFor(
      'every entry evicted',
      async () => ((await Promise.all(ids.map(cached))).every((v) => v === undefined) ? true : undefined),
      { timeoutMs: 60_000 },
    ).catch((error: unknown) => {
      throw new Error(
        `${(error as Error).message}\ninvalidator output:\n${invalidator.stdout.slice(-3_000)}\n${invalidator.stderr.slice(-3_000)}`,
      );
    });
  });

  it('dead-letters a malformed event with the reason', async () => {
    const key = `garbage-${randomUUID()}`;
    await producer.send({ topic: 'customers.events.v1', messages: [{ key, value: '{"not": "an event"' }] });
    const consumer = kafka.consumer({ groupId: `invalidator-it-dlq-${randomUUID()}` });
    const letters: Record<string, string>[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'customers.events.v1.dlq', fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        if (message.key?.toString() === key) letters.push(headersToStrings(message.headers));
        return Promise.resolve();
      },
    });
    try {
      const [headers] = await waitFor('the dead letter', () => Promise.resolve(letters.length > 0 ? letters : undefined), {
        timeoutMs: 60_000,
      });
      expect(headers?.[DLQ_HEADERS.code]).toBe('invalid-json');
      expect(headers?.[DLQ_HEADERS.group]).toBe(group);
      expect(headers?.[DLQ_HEADERS.reason]).toBeTruthy();
    } finally {
      await consumer.disconnect();
    }
  });

  it('evicts on a row change notification from the orders database', async () => {
    const customer = await (
      await fetch(`${orders.url}/api/v1/customers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `${randomUUID()}@inv.example.com`, name: 'Row' }),
      })
    ).json();
    const customerId = (customer as { id: string }).id;
    const customerCache = new Cache(redis, { name: 'orders:customer', ttlSeconds: 300 });
    try {
      await customerCache.getOrLoad(customerId, () => Promise.resolve({ stale: true }));
      const notified = () => metric(invalidator, /^cache_invalidation_lag_seconds_count\{[^}]*source="notify"[^}]*\} (\S+)$/m);
      const before = await notified();
      // A change made in the database directly: no event is published, only the trigger's notification.
      await pg.query(`UPDATE orders.customers SET name = 'Row changed' WHERE id = $1`, [customerId]);
      await waitFor('the notification eviction', async () => ((await notified()) > before ? true : undefined), { intervalMs: 20 });
      expect(await customerCache.getOrLoad<{ stale: boolean }>(customerId, () => Promise.resolve(undefined))).toBeUndefined();
    } finally {
      await customerCache.onApplicationShutdown();
    }
  });

  it('never serves the unpaid order after the payment event was consumed (end to end through orders)', async () => {
    const order = await placeOrder(3000);
    await ordersApi(`/orders/${order.id}/confirm`, {});
    const read = async () => ((await (await fetch(`${orders.url}/api/v1/orders/${order.id}`)).json()) as { status: string }).status;
    expect(await read()).toBe('confirmed'); // now cached

    await ordersApi('/payments', { orderId: order.id, kind: 'capture', amountMinor: 3000, currency: 'EUR' });
    const [payment] = (
      await pg.query<{ id: string }>(
        `SELECT payload->>'id' AS id FROM orders.outbox WHERE type = 'payments.payment.captured.v1' AND payload->'data'->>'orderId' = $1`,
        [order.id],
      )
    ).rows;
    expect(payment?.id).toBeTruthy();
    await waitFor(
      'the payment event to be consumed',
      async () => ((await redis.exists(`${group}:seen:${payment?.id ?? ''}`)) === 1 ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    const cachedView = await orderCache.getOrLoad<{ status: string }>(order.id, () => Promise.resolve(undefined));
    expect(cachedView === undefined || cachedView.status === 'paid').toBe(true);
    for (let i = 0; i < 5; i += 1) expect(await read()).toBe('paid');
  });

  it('re-warms a hot order after evicting it, so the next read is a hit on the new state', async () => {
    const order = await placeOrder(900);
    for (let i = 0; i < 3; i += 1) await ordersApi(`/orders/${order.id}`); // hot: every read is counted here
    const ranking = new CacheInvalidations(redis);
    await waitFor('the reads to be ranked hot', async () =>
      (await ranking.hotIds('orders:order', [order.id])).length === 1 ? true : undefined,
    );
    const warmedOk = () => metric(invalidator, /^cache_keys_warmed_total\{[^}]*result="ok"[^}]*\} (\S+)$/m);
    const before = await warmedOk();

    await ordersApi(`/orders/${order.id}/confirm`, {}); // orders evicts; its event reaches the invalidator, which evicts and re-warms
    const [changed] = (
      await pg.query<{ id: string }>(
        `SELECT payload->>'id' AS id FROM orders.outbox WHERE type = 'orders.order.status-changed.v1' AND aggregateid = $1`,
        [order.id],
      )
    ).rows;
    // Events of one order arrive in order, so once this one is applied no later eviction can empty the entry again.
    await waitFor(
      'the status change to be applied',
      async () => ((await redis.exists(`${group}:seen:${changed?.id ?? ''}`)) === 1 ? true : undefined),
      {
        timeoutMs: 30_000,
      },
    );
    const view = await waitFor('the re-warmed entry', async () => {
      const cachedView = await orderCache.getOrLoad<{ status: string }>(order.id, () => Promise.resolve(undefined));
      return cachedView?.status === 'confirmed' ? cachedView : undefined;
    });
    expect(view.status).toBe('confirmed'); // filled by the re-warm: nobody read the order since it changed
    expect(await warmedOk()).toBeGreaterThan(before);
  });

  it('counts an entry re-filled with a version older than an applied event as a detected stale read', async () => {
    const stale = () => metric(invalidator, /^cache_stale_reads_detected_total\{[^}]*cache="orders:order"[^}]*\} (\S+)$/m);
    const before = await stale();
    const [older, current] = [randomUUID(), randomUUID()];
    const events = [older, current].map((id) => ({ ...statusChanged(id), aggregateversion: 5 }));
    await publish('orders.events.v1', events);
    const seen = async () => (await Promise.all(events.map((e) => redis.exists(`${group}:seen:${e.id}`)))).every((n) => n === 1);
    await waitFor('both evictions', async () => ((await seen()) ? true : undefined), { intervalMs: 10 });
    // Re-filled inside the check's delay: one as a buggy writer would (version 3), one correctly (version 5).
    await orderCache.getOrLoad(older, () => Promise.resolve({ version: 3 }));
    await orderCache.getOrLoad(current, () => Promise.resolve({ version: 5 }));
    await waitFor('the stale entry to be detected', async () => ((await stale()) > before ? true : undefined), { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await stale()).toBe(before + 1);
  });

  it('invalidates by id, tag or whole cache on request, and refuses an ambiguous request with a problem document', async () => {
    const id = randomUUID();
    await fill(id);
    const call = (body: unknown) =>
      fetch(`${invalidator.url}/api/v1/cache/invalidate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await call({ cache: 'orders:order', ids: [id] })).status).toBe(200);
    expect(await cached(id)).toBeUndefined();

    const tagged = randomUUID();
    await orderCache.getOrLoad(tagged, () => Promise.resolve({ v: 1 }), { tags: [`customer:${id}`] });
    expect((await call({ cache: 'orders:order', tag: `customer:${id}` })).status).toBe(200);
    expect(await cached(tagged)).toBeUndefined();

    const ambiguous = await call({ cache: 'orders:order', ids: [id], all: true });
    expect([ambiguous.status, ambiguous.headers.get('content-type')]).toEqual([400, 'application/problem+json; charset=utf-8']);
    const stats = (await (await fetch(`${invalidator.url}/api/v1/cache/stats`)).json()) as {
      rules: unknown[];
      changeNotifications: { listening: boolean };
    };
    expect(stats.rules.length).toBeGreaterThanOrEqual(4);
    expect(stats.changeNotifications.listening).toBe(true);
  });
});
