import { randomUUID } from 'node:crypto';
import { createKafka, headersToStrings } from '@keelson/messaging';
import { freePort, localStack, ServiceProcess, stack, waitFor } from '@keelson/testing';
import type { Kafka } from 'kafkajs';

// Black-box tests of the orders service: a real process on the real stack, driven over HTTP,
// with its events read back from Kafka.

interface Response<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

describe('orders service API', () => {
  let sut: ServiceProcess;
  let kafka: Kafka;
  const startOffsets = new Map<string, { partition: number; offset: string }[]>();
  const run = randomUUID().slice(0, 8);

  async function api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response<T>> {
    const response = await fetch(`${sut.url}/api/v1${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as T };
  }

  const email = (name: string) => `${name}-${randomUUID().slice(0, 8)}@${run}.example.com`;
  const newCustomer = async () => (await api<{ id: string }>('POST', '/customers', { email: email('c'), name: 'Test Customer' })).body.id;
  const newProduct = async (priceMinor = 1250, currency = 'EUR') =>
    (await api<{ id: string }>('POST', '/products', { sku: `SKU-${randomUUID().slice(0, 12)}`, name: 'Widget', priceMinor, currency })).body
      .id;
  const newOrder = async (customerId: string, productId: string, quantity = 2) =>
    api<{ id: string; status: string; version: number; totalMinor: number }>('POST', '/orders', {
      customerId,
      currency: 'EUR',
      lines: [{ productId, quantity }],
    });

  /** Reads a topic from the beginning with a fresh group until `predicate` holds for what was collected. */
  async function readEvents(
    topic: string,
    predicate: (
      events: { type: string; subject: string; id: string; aggregateversion: number; data: Record<string, unknown> }[],
    ) => boolean,
    timeoutMs = 30_000,
  ) {
    const consumer = kafka.consumer({ groupId: `orders-it-${randomUUID()}` });
    const events: {
      type: string;
      subject: string;
      id: string;
      aggregateversion: number;
      data: Record<string, unknown>;
      traceparent?: string;
    }[] = [];
    // Positioned once the group has joined: right after run() the consumer may still be
    // restarting (after the broker restart below), and kafkajs refuses seeks then.
    let positioned = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (positioned) return;
      positioned = true;
      for (const { partition, offset } of startOffsets.get(topic) ?? []) consumer.seek({ topic, partition, offset });
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        let parsed: (typeof events)[number];
        try {
          parsed = JSON.parse(message.value?.toString() ?? '{}') as (typeof events)[number];
        } catch {
          return Promise.resolve(); // the topic is shared: other suites write malformed records on purpose
        }
        events.push({ ...parsed, traceparent: headersToStrings(message.headers).traceparent });
        return Promise.resolve();
      },
    });
    try {
      return await waitFor(`events on ${topic}`, () => Promise.resolve(predicate(events) ? events : undefined), { timeoutMs });
    } finally {
      await consumer.disconnect();
    }
  }

  beforeAll(async () => {
    const migrate = ServiceProcess.start('apps/orders/src/main', {}, await freePort(), ['migrate']);
    expect((await migrate.exited).code).toBe(0);
    sut = ServiceProcess.start('apps/orders/src/main', { OUTBOX_POLL_INTERVAL_MS: '200' }, await freePort());
    await sut.ready();
    kafka = createKafka({ clientId: 'orders-it', brokers: [...localStack.kafka.brokers] });
    // Where each topic ended before these tests: reading starts there, not at the start of a shared log.
    const admin = kafka.admin();
    await admin.connect();
    for (const topic of ['orders.events.v1', 'customers.events.v1', 'payments.events.v1', 'invoices.events.v1']) {
      startOffsets.set(
        topic,
        (await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => ({ partition, offset: high })),
      );
    }
    await admin.disconnect();
  });

  afterAll(async () => {
    await stack('up', 'kafka');
    await sut.stop();
  });

  it('runs an order from creation through confirmation to cancellation, with its events on Kafka in order', async () => {
    const customerId = await newCustomer();
    const productId = await newProduct(1999);
    const created = await newOrder(customerId, productId, 3);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'pending', totalMinor: 5997, currency: 'EUR', version: 1 });
    expect(created.headers.get('location')).toBe(`/api/v1/orders/${created.body.id}`);
    const orderId = created.body.id;

    expect((await api('POST', `/orders/${orderId}/confirm`)).body).toMatchObject({
      status: 'confirmed',
      version: 2,
      allowedActions: ['cancel'],
    });
    expect((await api('POST', `/orders/${orderId}/cancel`)).body).toMatchObject({ status: 'cancelled', version: 3, allowedActions: [] });
    const illegal = await api('POST', `/orders/${orderId}/confirm`);
    expect(illegal.status).toBe(409);
    expect(illegal.body.detail).toBe('cannot confirm an order that is cancelled; it is final');

    const events = (await readEvents('orders.events.v1', (all) => all.filter((e) => e.subject === orderId).length >= 3)).filter(
      (e) => e.subject === orderId,
    );
    expect(events.map((e) => [e.type, e.aggregateversion])).toEqual([
      ['orders.order.created.v1', 1],
      ['orders.order.status-changed.v1', 2],
      ['orders.order.status-changed.v1', 3],
    ]);
    expect(events[2]?.data).toMatchObject({ from: 'confirmed', to: 'cancelled', customerId });
    const customerEvents = await readEvents('customers.events.v1', (all) => all.some((e) => e.subject === customerId));
    expect(customerEvents.find((e) => e.subject === customerId)?.type).toBe('customers.customer.created.v1');
  });

  it('takes an order through payment, invoice and fulfilment', async () => {
    const customerId = await newCustomer();
    const created = await newOrder(customerId, await newProduct(2500), 2);
    const orderId = created.body.id;
    await api('POST', `/orders/${orderId}/confirm`);

    const partial = await api<{ balance: { owedMinor: number }; invoiceId?: string }>('POST', '/payments', {
      orderId,
      kind: 'capture',
      amountMinor: 2000,
      currency: 'EUR',
    });
    expect(partial.status).toBe(201);
    expect(partial.body.balance.owedMinor).toBe(3000);
    expect(partial.body.invoiceId).toBeUndefined();
    expect((await api('GET', `/orders/${orderId}`)).body).toMatchObject({ status: 'confirmed' });

    const tooMuch = await api('POST', '/payments', { orderId, kind: 'capture', amountMinor: 3001, currency: 'EUR' });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.detail).toBe(`capture of 3001 exceeds the 3000 still owed on order ${orderId}`);

    const rest = await api<{ balance: { owedMinor: number; refundableMinor: number }; invoiceId: string }>('POST', '/payments', {
      orderId,
      kind: 'capture',
      amountMinor: 3000,
      currency: 'EUR',
    });
    expect(rest.body.balance).toEqual({ owedMinor: 0, refundableMinor: 5000 });
    expect((await api('GET', `/orders/${orderId}`)).body).toMatchObject({ status: 'paid', version: 3, allowedActions: ['fulfil'] });
    const invoice = await api<{ number: string; totalMinor: number; orderId: string }>('GET', `/invoices/${rest.body.invoiceId}`);
    expect(invoice.body).toMatchObject({ orderId, totalMinor: 5000, currency: 'EUR' });
    expect(invoice.body.number).toMatch(new RegExp(`^${new Date().getUTCFullYear()}-\\d{6}$`));

    expect((await api('POST', `/orders/${orderId}/fulfil`)).body).toMatchObject({ status: 'fulfilled', version: 4 });
    const refund = await api<{ balance: { refundableMinor: number } }>('POST', '/payments', {
      orderId,
      kind: 'refund',
      amountMinor: 1500,
      currency: 'EUR',
    });
    expect(refund.body.balance.refundableMinor).toBe(3500);
    expect((await api('POST', '/payments', { orderId, kind: 'refund', amountMinor: 3501, currency: 'EUR' })).status).toBe(422);

    const orderEvents = (await readEvents('orders.events.v1', (all) => all.filter((e) => e.subject === orderId).length >= 4)).filter(
      (e) => e.subject === orderId,
    );
    expect(orderEvents.map((e) => [e.data.from ?? null, e.data.to ?? e.data.status])).toEqual([
      [null, 'pending'],
      ['pending', 'confirmed'],
      ['confirmed', 'paid'],
      ['paid', 'fulfilled'],
    ]);
    const paymentEvents = await readEvents('payments.events.v1', (all) => all.filter((e) => e.data.orderId === orderId).length >= 3);
    // Each payment is its own aggregate (own key, maybe another partition): compare as a set.
    expect(
      paymentEvents
        .filter((e) => e.data.orderId === orderId)
        .map((e) => e.type)
        .sort(),
    ).toEqual(['payments.payment.captured.v1', 'payments.payment.captured.v1', 'payments.payment.refunded.v1']);
    const invoiceEvents = await readEvents('invoices.events.v1', (all) => all.some((e) => e.data.orderId === orderId));
    expect(invoiceEvents.find((e) => e.data.orderId === orderId)?.data).toMatchObject({ number: invoice.body.number });
  });

  it('refuses to take payment before confirmation or in another currency', async () => {
    const orderId = (await newOrder(await newCustomer(), await newProduct())).body.id;
    const early = await api('POST', '/payments', { orderId, kind: 'capture', amountMinor: 100, currency: 'EUR' });
    expect(early.status).toBe(409);
    expect(early.body.detail).toMatch(/only confirmed orders take payment/);
    await api('POST', `/orders/${orderId}/confirm`);
    expect((await api('POST', '/payments', { orderId, kind: 'capture', amountMinor: 100, currency: 'USD' })).status).toBe(422);
    expect((await api('POST', '/payments', { orderId, kind: 'capture', amountMinor: 0, currency: 'EUR' })).status).toBe(400);
    expect((await api('POST', '/payments', { orderId: randomUUID(), kind: 'capture', amountMinor: 10, currency: 'EUR' })).status).toBe(404);
  });

  it('numbers invoices without gaps when many orders are paid at once', async () => {
    const customerId = await newCustomer();
    const productId = await newProduct(700);
    const orderIds: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      const id = (await newOrder(customerId, productId, 1)).body.id;
      await api('POST', `/orders/${id}/confirm`);
      orderIds.push(id);
    }
    // One payment fails on purpose (over-capture) in the middle of the race: it must not burn a number.
    const paid = await Promise.all([
      ...orderIds.map((orderId) =>
        api<{ invoiceId: string }>('POST', '/payments', { orderId, kind: 'capture', amountMinor: 700, currency: 'EUR' }),
      ),
      api('POST', '/payments', { orderId: orderIds[0], kind: 'capture', amountMinor: 701, currency: 'EUR' }),
    ]);
    expect(paid.filter((p) => p.status === 201)).toHaveLength(12);
    const numbers = await Promise.all(
      paid
        .filter((p) => p.status === 201)
        .map(async (p) => (await api<{ number: string }>('GET', `/invoices/${String(p.body.invoiceId)}`)).body.number),
    );
    const sequences = numbers.map((n) => Number(n.split('-')[1])).sort((a, b) => a - b);
    const first = sequences[0] ?? 0;
    expect(sequences).toEqual(Array.from({ length: 12 }, (_, i) => first + i));
  });

  it('answers a retried POST with the same Idempotency-Key with the first response, and a different body with 422', async () => {
    const key = randomUUID();
    const body = { email: email('idem'), name: 'Once Only' };
    const first = await api<{ id: string }>('POST', '/customers', body, { 'idempotency-key': key });
    const retry = await api<{ id: string }>('POST', '/customers', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('location')).toBe(first.headers.get('location'));

    const reused = await api('POST', '/customers', { ...body, name: 'Someone Else' }, { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    expect(reused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('creates exactly one order when the same request races with itself', async () => {
    const customerId = await newCustomer();
    const productId = await newProduct();
    const key = randomUUID();
    const body = { customerId, currency: 'EUR', lines: [{ productId, quantity: 1 }] };
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => api<{ id: string }>('POST', '/orders', body, { 'idempotency-key': key })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 201));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    const listed = await api<{ items: unknown[] }>('GET', `/orders?customerId=${customerId}`);
    expect(listed.body.items).toHaveLength(1);
  });

  it('lets exactly one of two concurrent updates win', async () => {
    const customerId = await newCustomer();
    const read = await api('GET', `/customers/${customerId}`);
    const etag = read.headers.get('etag') ?? '';
    const [a, b] = await Promise.all([
      api('PATCH', `/customers/${customerId}`, { name: 'Writer A' }, { 'if-match': etag }),
      api('PATCH', `/customers/${customerId}`, { name: 'Writer B' }, { 'if-match': etag }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 412]);
    const winner = a.status === 200 ? 'Writer A' : 'Writer B';
    expect((await api('GET', `/customers/${customerId}`)).body).toMatchObject({ name: winner, version: 2 });
    expect((await api('PATCH', `/customers/${customerId}`, { name: 'No etag' })).status).toBe(428);

    const orderId = (await newOrder(customerId, await newProduct())).body.id;
    const transitions = await Promise.all([api('POST', `/orders/${orderId}/confirm`), api('POST', `/orders/${orderId}/confirm`)]);
    expect(transitions.map((t) => t.status).sort()).toEqual([200, 409]);
  });

  it.each<[string, string, unknown, string]>([
    ['unknown field', '/customers', { email: 'x@example.com', name: 'X', isAdmin: true }, 'isAdmin'],
    ['malformed e-mail', '/customers', { email: 'not-an-email', name: 'X' }, 'email'],
    ['negative price', '/products', { sku: 'NEG-1', name: 'X', priceMinor: -1, currency: 'EUR' }, 'priceMinor'],
    ['overflowing price', '/products', { sku: 'BIG-1', name: 'X', priceMinor: 1e16, currency: 'EUR' }, 'priceMinor'],
    ['fractional price', '/products', { sku: 'FRAC-1', name: 'X', priceMinor: 10.5, currency: 'EUR' }, 'priceMinor'],
    ['unknown currency', '/products', { sku: 'CUR-1', name: 'X', priceMinor: 100, currency: 'EURO' }, 'currency'],
    ['malformed id', '/orders', { customerId: '42', currency: 'EUR', lines: [{ productId: randomUUID(), quantity: 1 }] }, 'customerId'],
    ['empty order', '/orders', { customerId: randomUUID(), currency: 'EUR', lines: [] }, 'lines'],
    [
      'zero quantity',
      '/orders',
      { customerId: randomUUID(), currency: 'EUR', lines: [{ productId: randomUUID(), quantity: 0 }] },
      'lines.0.quantity',
    ],
  ])('rejects %s with 400 naming the field', async (_case, path, body, field) => {
    const response = await api<{ errors: { field: string; message: string }[] }>('POST', path, body);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body.errors.map((e) => e.field)).toContain(field);
  });

  it('updates a product price with If-Match; orders keep the price they were created with', async () => {
    const customerId = await newCustomer();
    const productId = await newProduct(1000);
    const before = await newOrder(customerId, productId, 1);
    const read = await api('GET', `/products/${productId}`);
    const changed = await api('PATCH', `/products/${productId}`, { priceMinor: 1200 }, { 'if-match': read.headers.get('etag') ?? '' });
    expect(changed.body).toMatchObject({ priceMinor: 1200, version: 2 });
    expect((await api('PATCH', `/products/${productId}`, { priceMinor: 1300 }, { 'if-match': '"1"' })).status).toBe(412);
    expect((await api('GET', `/orders/${before.body.id}`)).body).toMatchObject({ totalMinor: 1000 });
    expect((await newOrder(customerId, productId, 1)).body.totalMinor).toBe(1200);
    await api('PATCH', `/products/${productId}`, { active: false }, { 'if-match': '"2"' });
    expect((await newOrder(customerId, productId, 1)).status).toBe(422);
  });

  it('answers unknown ids with 404, malformed ids with 400, and a currency mismatch with 422', async () => {
    expect((await api('GET', `/orders/${randomUUID()}`)).status).toBe(404);
    expect((await api('GET', `/customers/${randomUUID()}`)).status).toBe(404);
    expect((await api('GET', '/customers/not-a-uuid')).status).toBe(400);
    const customerId = await newCustomer();
    const usd = await newProduct(500, 'USD');
    const mismatch = await api('POST', '/orders', { customerId, currency: 'EUR', lines: [{ productId: usd, quantity: 1 }] });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.detail).toMatch(/priced in USD, the order is in EUR/);
    const missing = await api('POST', '/orders', { customerId: randomUUID(), currency: 'EUR', lines: [{ productId: usd, quantity: 1 }] });
    expect(missing.status).toBe(404);
  });

  it('answers each of many concurrent orders on its own: invalid ones fail alone, valid ones commit with one event each', async () => {
    const customerId = await newCustomer();
    const eur = await newProduct(700);
    const usd = await newProduct(700, 'USD');
    const bodies = Array.from({ length: 60 }, (_, i) => {
      if (i % 10 === 3) return { customerId, currency: 'EUR', lines: [{ productId: usd, quantity: 1 }] };
      if (i % 10 === 7) return { customerId: randomUUID(), currency: 'EUR', lines: [{ productId: eur, quantity: 1 }] };
      return { customerId, currency: 'EUR', lines: [{ productId: eur, quantity: (i % 5) + 1 }] };
    });
    const responses = await Promise.all(
      bodies.map((body) => api<{ id: string; totalMinor: number; detail?: string }>('POST', '/orders', body)),
    );

    responses.forEach((response, i) => {
      if (i % 10 === 3) expect([response.status, response.body.detail]).toEqual([422, expect.stringMatching(/priced in USD/)]);
      else if (i % 10 === 7) expect(response.status).toBe(404);
      else expect([response.status, response.body.totalMinor]).toEqual([201, 700 * ((i % 5) + 1)]);
    });
    const created = responses.filter((r) => r.status === 201).map((r) => r.body.id);
    expect(created).toHaveLength(48);
    for (const id of created.slice(0, 5)) expect((await api('GET', `/orders/${id}`)).status).toBe(200);
    const events = await readEvents('orders.events.v1', (seen) => created.every((id) => seen.some((e) => e.subject === id)));
    for (const id of created) {
      expect(events.filter((e) => e.subject === id && e.type === 'orders.order.created.v1')).toHaveLength(1);
    }
  });

  it('pages through a customer’s orders with a cursor, newest first, without gaps or repeats', async () => {
    const customerId = await newCustomer();
    const productId = await newProduct();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await newOrder(customerId, productId)).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Response<{ items: { id: string }[]; nextCursor: string | null }> = await api(
        'GET',
        `/orders?customerId=${customerId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((o) => o.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect((await api('GET', '/orders?cursor=garbage')).status).toBe(400);
  });

  it('serves a cached order and never the state before a transition', async () => {
    const orderId = (await newOrder(await newCustomer(), await newProduct())).body.id;
    expect((await api('GET', `/orders/${orderId}`)).body).toMatchObject({ status: 'pending' });
    expect((await api('GET', `/orders/${orderId}`)).body).toMatchObject({ status: 'pending' }); // from the in-process copy
    await api('POST', `/orders/${orderId}/confirm`);
    const after = await api('GET', `/orders/${orderId}`);
    expect(after.body).toMatchObject({ status: 'confirmed', version: 2 });
    expect(after.headers.get('etag')).toBe('"2"');
    const metrics = await (await fetch(`${sut.url}/metrics`)).text();
    expect(metrics).toMatch(/cache_lookups_total\{cache="orders:order",result="l1_hit",service="orders"\} [1-9]/);
  });

  it('never serves an order from another replica’s in-process copy after a transition committed here', async () => {
    const other = ServiceProcess.start('apps/orders/src/main', { OUTBOX_RELAY_ENABLED: 'false' }, await freePort());
    try {
      await other.ready();
      const orderId = (await newOrder(await newCustomer(), await newProduct())).body.id;
      const read = async () => (await (await fetch(`${other.url}/api/v1/orders/${orderId}`)).json()) as { status: string; version: number };
      expect(await read()).toMatchObject({ status: 'pending', version: 1 });
      expect(await read()).toMatchObject({ status: 'pending', version: 1 }); // the other replica's L1 holds it now

      for (const [action, status, version] of [
        ['confirm', 'confirmed', 2],
        ['cancel', 'cancelled', 3],
      ] as const) {
        expect((await api('POST', `/orders/${orderId}/${action}`)).status).toBe(200);
        expect(await read()).toMatchObject({ status, version });
      }
      const metrics = await (await fetch(`${other.url}/metrics`)).text();
      expect(metrics).toMatch(/cache_lookups_total\{cache="orders:order",result="l1_hit",service="orders"\} [1-9]/);
    } finally {
      await other.stop();
    }
  });

  it('accepts orders while Kafka is down and publishes every event once it is back', async () => {
    const customerId = await newCustomer();
    const productId = await newProduct();
    await stack('down', 'kafka');
    const ids: string[] = [];
    try {
      for (let i = 0; i < 20; i += 1) {
        const created = await newOrder(customerId, productId);
        expect(created.status).toBe(201);
        ids.push(created.body.id);
      }
    } finally {
      await stack('up', 'kafka');
    }
    const events = await readEvents('orders.events.v1', (all) => ids.every((id) => all.some((e) => e.subject === id)), 90_000);
    const ours = events.filter((e) => ids.includes(e.subject));
    expect(new Set(ours.map((e) => e.subject))).toEqual(new Set(ids));
  });
});
