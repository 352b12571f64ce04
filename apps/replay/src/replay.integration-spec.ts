import { randomUUID } from 'node:crypto';
import { createKafka, headersToStrings } from '@keelson/messaging';
import { freePort, localStack, ServiceProcess, waitFor } from '@keelson/testing';
import type { Admin, Kafka, Producer } from 'kafkajs';

// The replay service as a real process against the real broker: records with hand-set
// CreateTime (some out of order) in a fresh topic, replayed, browsed and planned over HTTP.

interface Job {
  id: string;
  status: string;
  replayed: number;
  read: number;
  requestedBy: string;
  plan: { records: number; partitions: { partition: number; start: string; end: string }[] };
}

interface Answer<T> {
  status: number;
  body: T;
  type: string | null;
}

describe('replay service', () => {
  let sut: ServiceProcess;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const run = randomUUID().slice(0, 8);
  const source = `it.${run}.history.v1`;
  // Record times some hours back, on the hour: far older ones would fall to the broker's
  // retention (7 days) while a test runs.
  const hoursAgo = (hours: number) => (Math.floor(Date.now() / 3_600_000) - hours) * 3_600_000;
  const base = hoursAgo(6);
  const at = (seconds: number) => new Date(base + seconds * 1_000).toISOString();

  async function api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const response = await fetch(`${sut.url}/api/v1/event-replay${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as T, type: response.headers.get('content-type') };
  }

  async function readTopic(topic: string, count: number) {
    const consumer = kafka.consumer({ groupId: `replay-it-read-${randomUUID()}` });
    const records: { key: string | undefined; value: string; headers: Record<string, string> }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        records.push({ key: message.key?.toString(), value: message.value?.toString() ?? '', headers: headersToStrings(message.headers) });
        return Promise.resolve();
      },
    });
    try {
      return await waitFor(`${count} records on ${topic}`, () => Promise.resolve(records.length >= count ? records : undefined));
    } finally {
      await consumer.disconnect();
    }
  }

  const finished = (id: string) =>
    waitFor(`replay ${id} to finish`, async () => {
      const job = (await api<Job>('GET', `/replay/${id}`)).body;
      return job.status === 'running' ? undefined : job;
    });

  beforeAll(async () => {
    expect((await ServiceProcess.start('apps/replay/src/main', {}, await freePort(), ['migrate']).exited).code).toBe(0);
    kafka = createKafka({ clientId: 'replay-it', brokers: [...localStack.kafka.brokers] });
    admin = kafka.admin();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), producer.connect()]);
    await admin.createTopics({ topics: [{ topic: source, numPartitions: 1 }], waitForLeaders: true });
    // CreateTime out of order on purpose: c (5 s) after b (10 s), e (15 s) after d (30 s).
    const records: [string, number][] = [
      ['a', 0],
      ['b', 10],
      ['c', 5],
      ['d', 30],
      ['e', 15],
      ['f', 70],
    ];
    await producer.send({
      topic: source,
      messages: records.map(([name, seconds]) => ({
        key: `key-${name === 'e' ? 'b' : name}`,
        value: JSON.stringify({ id: name, type: name === 'c' ? 'it.other.v1' : 'it.history.v1' }),
        timestamp: String(base + seconds * 1_000),
      })),
    });
    // The broker's smallest session timeout, so one test can outlast it with a paced replay.
    sut = ServiceProcess.start('apps/replay/src/main', { REPLAY_READER_SESSION_TIMEOUT_MS: '6000' }, await freePort());
    await sut.ready();
  });

  afterAll(async () => {
    await sut.stop();
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('plans a range by timestamp and replays exactly the records stamped inside it, out-of-order ones at both edges included', async () => {
    const range = { topic: source, from: at(5), to: at(20) };
    const plan = await api<{ dryRun: boolean; plan: Job['plan'] }>('POST', '/replay', {
      ...range,
      target: { topic: `it.${run}.copy` },
      dryRun: true,
    });
    expect(plan.status).toBe(202);
    // From b (the first stamped at or after 5 s) to the log end: no record is stamped 60 s (the skew) past the range.
    expect(plan.body.plan.partitions).toEqual([{ partition: 0, start: '1', end: '6', records: 5 }]);

    const target = `it.${run}.copy`;
    const started = await api<Job>('POST', '/replay', { ...range, target: { topic: target } }, { 'x-client-id': 'on-call-1' });
    expect([started.status, started.body.requestedBy]).toEqual([202, 'on-call-1']);
    const job = await finished(started.body.id);
    expect([job.status, job.replayed]).toEqual(['done', 3]);

    const copied = await readTopic(target, 3);
    expect(copied.map((r) => JSON.parse(r.value) as { id: string }).map((v) => v.id)).toEqual(['b', 'c', 'e']);
    expect(copied.map((r) => r.key)).toEqual(['key-b', 'key-c', 'key-b']);
    expect(copied[0]?.headers).toMatchObject({
      'x-replay-id': job.id,
      'x-original-topic': source,
      'x-original-offset': '1',
      'x-original-timestamp': String(base + 10_000),
    });
  });

  it('copies a range that takes several fetches exactly once, in order', async () => {
    const topic = `it.${run}.large-source`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    // ~10 MB in one partition: more than a reader's fetch returns per partition, so the read spans several batches.
    const count = 10_000;
    const start = hoursAgo(4);
    const padding = 'x'.repeat(1_000);
    // Its own producer: the topic is deleted at the end, and a kafkajs producer that wrote to a deleted topic fails every later send.
    const seeder = kafka.producer({ allowAutoTopicCreation: false });
    await seeder.connect();
    for (let from = 0; from < count; from += 500) {
      await seeder.send({
        topic,
        messages: Array.from({ length: 500 }, (_, i) => ({
          key: `k${(from + i) % 7}`,
          value: JSON.stringify({ n: from + i, padding }),
          timestamp: String(start + from + i),
        })),
      });
    }
    await seeder.disconnect();
    const target = `it.${run}.large-copy`;
    const started = await api<Job>('POST', '/replay', {
      topic,
      from: new Date(start).toISOString(),
      to: new Date(start + count).toISOString(),
      target: { topic: target },
    });
    const job = await waitFor(
      'the large replay to finish',
      async () => {
        const current = (await api<Job>('GET', `/replay/${started.body.id}`)).body;
        return current.status === 'running' ? undefined : current;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect([job.status, job.read, job.replayed]).toEqual(['done', count, count]);
    const copied = await readTopic(target, count);
    expect(copied).toHaveLength(count);
    const offsets = copied.map((r) => Number(r.headers['x-original-offset']));
    expect(new Set(offsets).size).toBe(count);
    // One key's records stay in order (they share a target partition).
    const k3 = copied.filter((r) => r.key === 'k3').map((r) => (JSON.parse(r.value) as { n: number }).n);
    expect(k3).toEqual([...k3].sort((a, b) => a - b));
    expect(k3).toHaveLength(Math.ceil((count - 3) / 7));
    // ~20 MB the shared broker need not keep; the service's later replays must not mind (each job has its own producer).
    await admin.deleteTopics({ topics: [topic, target] });
  });

  it('replays nothing for a range that starts after the last record', async () => {
    const range = { topic: source, from: at(3_600), to: at(7_200) };
    const plan = await api<{ plan: Job['plan'] }>('POST', '/replay', { ...range, target: { topic: `it.${run}.empty` }, dryRun: true });
    expect(plan.body.plan.records).toBe(0);
    const job = await finished((await api<Job>('POST', '/replay', { ...range, target: { topic: `it.${run}.empty` } })).body.id);
    expect([job.status, job.read, job.replayed]).toEqual(['done', 0, 0]);
  });

  it('filters by key and event type', async () => {
    const target = `it.${run}.filtered`;
    const started = await api<Job>('POST', '/replay', {
      topic: source,
      from: at(0),
      to: at(60),
      key: 'key-b',
      types: ['it.history.v1'],
      target: { topic: target },
    });
    const job = await finished(started.body.id);
    expect(job.replayed).toBe(2);
    expect((await readTopic(target, 2)).map((r) => (JSON.parse(r.value) as { id: string }).id)).toEqual(['b', 'e']);
  });

  it('refuses a domain topic as the target, a time without a zone, and a reversed range, with problem documents', async () => {
    const domain = await api<{ detail: string }>('POST', '/replay', {
      topic: source,
      from: at(0),
      to: at(60),
      target: { topic: 'orders.events.v1' },
    });
    expect([domain.status, domain.body.detail]).toEqual([422, 'orders.events.v1 is a domain topic; replays into it are not allowed here']);
    const noZone = await api<{ errors: { message: string }[] }>('POST', '/replay', {
      topic: source,
      from: '2026-11-20T14:00:00',
      to: at(60),
      target: { topic: 'x' },
    });
    expect(noZone.status).toBe(400);
    expect(JSON.stringify(noZone.body)).toContain('must be an RFC 3339 time with a zone');
    expect(noZone.type).toContain('application/problem+json');
    expect((await api('POST', '/replay', { topic: source, from: at(60), to: at(0), target: { topic: 'x' } })).status).toBe(400);
  });

  it('browses a timeline oldest or newest first, optionally for one key', async () => {
    const oldest = await api<{ items: { event: { id: string } }[]; total: number }>(
      'GET',
      `/timeline?topic=${source}&from=${at(0)}&to=${at(60)}`,
    );
    expect(oldest.body.items.map((i) => i.event.id)).toEqual(['a', 'c', 'b', 'e', 'd']);
    const newest = await api<{ items: { event: { id: string } }[]; next: number | null }>(
      'GET',
      `/timeline?topic=${source}&from=${at(0)}&to=${at(60)}&order=newest&limit=2`,
    );
    expect([newest.body.items.map((i) => i.event.id), newest.body.next]).toEqual([['d', 'e'], 2]);
    const oneKey = await api<{ items: { event: { id: string } }[] }>(
      'GET',
      `/timeline?topic=${source}&from=${at(0)}&to=${at(60)}&key=key-b`,
    );
    expect(oneKey.body.items.map((i) => i.event.id)).toEqual(['b', 'e']);
  });

  it('reports earliest, latest and at-a-time offsets per partition', async () => {
    const offsets = await api<{ partitions: { partition: number; earliest: string; latest: string; atTime: string }[] }>(
      'GET',
      `/offsets/${source}?at=${at(12)}`,
    );
    expect(offsets.body.partitions).toEqual([{ partition: 0, earliest: '0', latest: '6', atTime: '3' }]);
    expect((await api('GET', `/offsets/it.${run}.missing`)).status).toBe(404);
  });

  it('moves an idle consumer group to the range start and refuses while the group has members', async () => {
    const groupId = `replay-it-group-${run}`;
    const moved = await api<Job>('POST', '/replay', { topic: source, from: at(10), to: at(60), target: { consumerGroup: groupId } });
    expect([moved.status, moved.body.status]).toEqual([202, 'done']);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [source] });
    expect(committed?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '1' })]);

    const member = kafka.consumer({ groupId });
    await member.connect();
    await member.subscribe({ topic: source, fromBeginning: true });
    await member.run({ eachMessage: () => Promise.resolve() });
    try {
      await waitFor('the member to join', async () => {
        const { groups } = await admin.describeGroups([groupId]);
        return groups[0]?.state === 'Stable' ? true : undefined;
      });
      const refused = await api<{ detail: string }>('POST', '/replay', {
        topic: source,
        from: at(10),
        to: at(60),
        target: { consumerGroup: groupId },
      });
      expect([refused.status, refused.body.detail]).toEqual([409, expect.stringMatching(/is Stable with 1 member/)]);
    } finally {
      await member.disconnect();
    }
  });

  it('reconstructs an order as of a moment from its events, and says when there is nothing to fold', async () => {
    const orderId = randomUUID();
    const since = new Date(Date.now() - 60_000).toISOString();
    const t = (offsetMs: number) => new Date(Date.now() - 30_000 + offsetMs);
    const envelope = (type: string, version: number, time: Date, data: Record<string, unknown>) => ({
      specversion: '1.0',
      id: randomUUID(),
      type,
      source: 'replay-it',
      subject: orderId,
      time: time.toISOString(),
      datacontenttype: 'application/json',
      aggregatetype: 'order',
      aggregateversion: version,
      correlationid: randomUUID(),
      data,
    });
    const customerId = randomUUID();
    const events = [
      envelope('orders.order.created.v1', 1, t(0), {
        orderId,
        customerId,
        status: 'pending',
        lines: [{ productId: randomUUID(), quantity: 2, unitPrice: { amountMinor: 500, currency: 'EUR' } }],
        total: { amountMinor: 1000, currency: 'EUR' },
      }),
      envelope('orders.order.status-changed.v1', 2, t(1_000), { orderId, customerId, from: 'pending', to: 'confirmed' }),
      envelope('orders.order.status-changed.v1', 3, t(2_000), { orderId, customerId, from: 'confirmed', to: 'paid' }),
    ];
    await producer.send({ topic: 'orders.events.v1', messages: events.map((e) => ({ key: orderId, value: JSON.stringify(e) })) });

    const asOf = await api<{ state: { status: string; version: number; totalMinor: number }; lastEventId: string; events: unknown[] }>(
      'POST',
      '/reconstruct-state',
      { aggregateType: 'order', id: orderId, at: t(1_500).toISOString(), since },
    );
    expect(asOf.status).toBe(200);
    expect(asOf.body.state).toMatchObject({ status: 'confirmed', version: 2, totalMinor: 1000 });
    expect([asOf.body.lastEventId, asOf.body.events.length]).toEqual([events[1]?.id, 2]);

    const before = await api('POST', '/reconstruct-state', { aggregateType: 'order', id: orderId, at: t(-1_000).toISOString(), since });
    expect(before.status).toBe(404);
  });

  it('saves and restores a group’s offsets: refused while the group is Stable, clamped to the log start', async () => {
    const topic = `it.${run}.snapshots`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    const groupId = `replay-it-snap-${run}`;
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] });

    const saved = await api<{ id: string; offsets: unknown }>('POST', '/snapshot', { consumerGroup: groupId, topics: [topic] });
    expect([saved.status, saved.body.offsets]).toEqual([201, [{ topic, partitions: [{ partition: 0, offset: '2' }] }]]);

    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '9' }] }); // the group moved on
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '5' }] }); // retention removed offsets 0–4

    const member = kafka.consumer({ groupId });
    await member.connect();
    await member.subscribe({ topic });
    await member.run({ eachMessage: () => Promise.resolve() });
    try {
      await waitFor('the member to join', async () =>
        (await admin.describeGroups([groupId])).groups[0]?.state === 'Stable' ? true : undefined,
      );
      expect((await api('POST', '/restore', { snapshotId: saved.body.id })).status).toBe(409);
    } finally {
      await member.disconnect();
    }

    const restored = await api<{ clamped: unknown[] }>('POST', '/restore', { snapshotId: saved.body.id });
    expect([restored.status, restored.body.clamped]).toEqual([200, [{ topic, partition: 0, saved: '2', restored: '5' }]]);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '5' })]);
  });

  it('paces a replay in real time for longer than the reader’s session timeout without losing its partition', async () => {
    const topic = `it.${run}.paced-source`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const start = hoursAgo(5);
    // Three records 8 s apart: at real speed the reader waits longer than the 6 s session timeout between them.
    await producer.send({
      topic,
      messages: [0, 8, 16].map((s) => ({ key: `p${s}`, value: JSON.stringify({ id: `p${s}` }), timestamp: String(start + s * 1_000) })),
    });
    const target = `it.${run}.paced-copy`;
    const begun = Date.now();
    const started = await api<Job>('POST', '/replay', {
      topic,
      from: new Date(start).toISOString(),
      to: new Date(start + 20_000).toISOString(),
      speed: 'realtime',
      target: { topic: target },
    });
    const job = await waitFor(
      'the paced replay to finish',
      async () => {
        const current = (await api<Job>('GET', `/replay/${started.body.id}`)).body;
        return current.status === 'running' ? undefined : current;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(Date.now() - begun).toBeGreaterThanOrEqual(16_000);
    expect([job.status, job.replayed]).toEqual(['done', 3]);
    // A rebalance would have restarted the reader at the log end and dropped the later records.
    expect((await readTopic(target, 3)).map((r) => r.key)).toEqual(['p0', 'p8', 'p16']);
  });

  it('cancels a paced replay', async () => {
    const started = await api<Job>('POST', '/replay', {
      topic: source,
      from: at(0),
      to: at(80),
      speed: 'realtime',
      target: { topic: `it.${run}.paced` },
    });
    const cancelled = await api<Job>('POST', `/replay/${started.body.id}/cancel`);
    expect([cancelled.status, cancelled.body.status]).toEqual([200, 'cancelled']);
    expect((await api('POST', `/replay/${started.body.id}/cancel`)).status).toBe(409);
  });
});
