import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { createKafka } from '@keelson/messaging';
import { localStack } from '@keelson/testing';
import { CompressionTypes, Partitioners, type Admin, type IHeaders, type Kafka, type KafkaMessage } from 'kafkajs';
import { copyAtMaxSpeed, type FastCopyOptions } from './fast-copy';
import { planRange } from './range';
import { WireConnection } from './wire';

// The speed-max copy path against the real broker: what it writes, read back with kafkajs.
describe('copyAtMaxSpeed', () => {
  let kafka: Kafka;
  let admin: Admin;
  const topics: string[] = [];

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'fast-copy-it', brokers: [...localStack.kafka.brokers] });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  async function topicPair(partitions: number): Promise<{ source: string; target: string }> {
    const name = `it.${randomUUID().slice(0, 8)}.fast-copy`;
    const pair = { source: `${name}.source`, target: `${name}.target` };
    topics.push(pair.source, pair.target);
    await admin.createTopics({
      topics: [pair.source, pair.target].map((topic) => ({ topic, numPartitions: partitions })),
      waitForLeaders: true,
    });
    return pair;
  }

  /** Copies everything in the source stamped from `fromMs` on (or `extra.plan`); collects the progress reported. */
  async function copy(source: string, target: string, fromMs: number, extra: Partial<FastCopyOptions> = {}, onWritten = () => {}) {
    const plan = await planRange(admin, source, fromMs, Date.now() + 1_000, 0);
    const handled = new Map<number, string>();
    let written = 0;
    await copyAtMaxSpeed({
      kafka,
      clientId: 'fast-copy-it',
      plan,
      target,
      replayId: 'replay-1',
      signal: new AbortController().signal,
      written: (count) => {
        written += count;
        onWritten();
      },
      handled: (partition, next) => handled.set(partition, next),
      ...extra,
    });
    return { plan, handled, written };
  }

  /** Every record of a topic, read with a new group (bounded in time). */
  async function readAll(topic: string, count: number): Promise<(KafkaMessage & { partition: number })[]> {
    const consumer = kafka.consumer({ groupId: `it-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: (KafkaMessage & { partition: number })[] = [];
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        seen.push({ ...message, partition });
        if (seen.length >= count) done();
        return Promise.resolve();
      },
    });
    const timeout = setTimeout(done, 20_000);
    await all;
    clearTimeout(timeout);
    await consumer.disconnect();
    return seen;
  }

  const text = (headers: IHeaders | undefined) =>
    Object.fromEntries(
      Object.entries(headers ?? {}).map(([name, value]) => [name, Array.isArray(value) ? value.map(String) : String(value)]),
    );

  it('keeps keys, values, tombstones and headers, replaces replay headers a record already has, and partitions by key as kafkajs does', async () => {
    const { source, target } = await topicPair(3);
    const from = Date.now() - 60_000;
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: source,
      messages: [
        { key: 'order-1', value: '{"type":"a"}', timestamp: String(from + 1), headers: { 'ce-type': 'a', traceparent: 't'.repeat(55) } },
        { key: null, value: 'no key', timestamp: String(from + 2) },
        { key: 'order-2', value: null, timestamp: String(from + 3), headers: { twice: ['1', '2'] } },
        // Replayed before: its replay headers give way to this replay's.
        {
          key: 'order-3',
          value: 'again',
          timestamp: String(from + 4),
          headers: { 'x-replay-id': 'an-earlier-replay', 'x-original-offset': '99', 'x-keep': 'kept' },
        },
      ],
    });
    await producer.disconnect();

    const { handled, written } = await copy(source, target, from);
    expect(written).toBe(4);
    const copies = await readAll(target, 4);
    const originals = await readAll(source, 4);
    const partitionOf = Partitioners.DefaultPartitioner();
    const metadata = (await admin.fetchTopicMetadata({ topics: [target] })).topics[0]!.partitions;
    const byValue = new Map(copies.map((c) => [c.value?.toString() ?? 'null', c]));
    expect(copies).toHaveLength(4);
    for (const original of originals) {
      const copied = byValue.get(original.value?.toString() ?? 'null')!;
      expect(copied.key?.toString()).toBe(original.key?.toString());
      expect(copied.value).toEqual(original.value);
      const headers = text(copied.headers);
      expect(headers).toMatchObject({
        'x-replay-id': 'replay-1',
        'x-original-topic': source,
        'x-original-partition': String(original.partition),
        'x-original-offset': original.offset,
        'x-original-timestamp': original.timestamp,
      });
      const kept = Object.entries(text(original.headers)).filter(
        ([name]) => !name.startsWith('x-replay') && !name.startsWith('x-original'),
      );
      expect(headers).toMatchObject(Object.fromEntries(kept));
      if (original.key !== null) {
        expect(copied.partition).toBe(
          partitionOf({ topic: target, partitionMetadata: metadata, message: { key: original.key, value: null } }),
        );
      }
    }
    expect(text(byValue.get('again')!.headers)).toEqual({
      'x-keep': 'kept',
      'x-replay-id': 'replay-1',
      'x-original-topic': source,
      'x-original-partition': String(originals.find((o) => o.value?.toString() === 'again')!.partition),
      'x-original-offset': originals.find((o) => o.value?.toString() === 'again')!.offset,
      'x-original-timestamp': String(from + 4),
    });
    expect(text(byValue.get('null')!.headers).twice).toEqual(['1', '2']);
    // Every partition is reported handled up to its log end.
    const ends = await admin.fetchTopicOffsets(source);
    for (const { partition, high } of ends) if (high !== '0') expect(handled.get(partition)).toBe(high);
  });

  it('reads gzip-compressed batches and copies only what committed transactions wrote', async () => {
    const { source, target } = await topicPair(1);
    const from = Date.now() - 60_000;
    const plain = kafka.producer({ allowAutoTopicCreation: false });
    await plain.connect();
    await plain.send({
      topic: source,
      compression: CompressionTypes.GZIP,
      messages: Array.from({ length: 50 }, (_, i) => ({ key: `z${i}`, value: `zipped-${i}`, timestamp: String(from + i) })),
    });
    await plain.disconnect();
    const transactional = kafka.producer({ transactionalId: `it-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
    await transactional.connect();
    const aborted = await transactional.transaction();
    await aborted.send({ topic: source, messages: [{ key: 'gone', value: 'aborted', timestamp: String(from + 100) }] });
    await aborted.abort();
    const committed = await transactional.transaction();
    await committed.send({ topic: source, messages: [{ key: 'kept', value: 'committed', timestamp: String(from + 101) }] });
    await committed.commit();
    await transactional.disconnect();
    // A commit returns before the coordinator has written its marker into the partition; until
    // then read_committed readers (and the plan, which takes the last stable offset as the log
    // end) stop before the transaction. Offsets: 50 zipped, the aborted record and its marker,
    // the committed record and its marker: the plan can see the commit once the end is 54.
    const deadline = Date.now() + 30_000;
    while ((await admin.fetchTopicOffsets(source))[0]!.high !== '54' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const { written, handled } = await copy(source, target, from);
    const copies = await readAll(target, 51);
    expect(written).toBe(51);
    expect(copies.map((c) => c.value?.toString()).sort()).toEqual(
      [...Array.from({ length: 50 }, (_, i) => `zipped-${i}`), 'committed'].sort(),
    );
    // Past the last commit marker: the control records' offsets count as handled too.
    expect(handled.get(0)).toBe((await admin.fetchTopicOffsets(source))[0]!.high);
  });

  it('goes on after its broker connections drop mid-copy: every record arrives, at most the unacknowledged ones twice', async () => {
    const { source, target } = await topicPair(4);
    const from = Date.now() - 60_000;
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    // ~24 MB: more than one fetch (at most 2 MiB per partition each), so the copy is mid-way when its connections drop.
    const total = 12_000;
    for (let start = 0; start < total; start += 1_000) {
      await producer.send({
        topic: source,
        messages: Array.from({ length: 1_000 }, (_, i) => ({
          key: `k${(start + i) % 700}`,
          value: `${start + i}`.padEnd(2_000, '.'),
          timestamp: String(from + 1),
        })),
      });
    }
    await producer.disconnect();

    // Every wire connection the copy opens, so the test can cut them.
    const sockets: Socket[] = [];
    const open = WireConnection.open.bind(WireConnection);
    const spy = jest.spyOn(WireConnection, 'open').mockImplementation(async (...args) => {
      const connection = await open(...args);
      sockets.push((connection as unknown as { socket: Socket }).socket);
      return connection;
    });
    let cut = 0;
    let opened = 0;
    try {
      const { written } = await copy(source, target, from, {}, () => {
        // After the first acknowledged round, drop every connection (broker restarts look like this).
        if (cut === 0) for (const socket of sockets) socket.destroy();
        cut += 1;
      });
      expect(written).toBeGreaterThanOrEqual(total);
    } finally {
      opened = spy.mock.calls.length;
      spy.mockRestore();
    }
    expect(cut).toBeGreaterThan(1); // rounds were acknowledged after the drop
    expect(opened).toBeGreaterThan(1); // it reconnected
    const copied = (await admin.fetchTopicOffsets(target)).reduce((sum, p) => sum + Number(p.high), 0);
    const copies = await readAll(target, copied);
    const values = new Set(copies.map((c) => c.value?.toString()));
    expect(values.size).toBe(total);
    expect(copied).toBeGreaterThanOrEqual(total);
  });

  it('goes on at the earliest record left when retention deleted the start of its plan, and says what it skipped', async () => {
    const { source, target } = await topicPair(1);
    const from = Date.now() - 60_000;
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: source,
      messages: Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, timestamp: String(from + i) })),
    });
    await producer.disconnect();
    const plan = await planRange(admin, source, from, Date.now() + 1_000, 0);
    await admin.fetchTopicMetadata({ topics: [source] });
    await admin.deleteTopicRecords({ topic: source, partitions: [{ partition: 0, offset: '3' }] });
    const skipped: [number, string, string][] = [];
    const { written } = await copy(source, target, from, {
      plan, // made before the deletion
      skipped: (partition, first, end) => skipped.push([partition, first, end]),
    });
    expect(skipped).toEqual([[0, '0', '3']]);
    expect(written).toBe(3);
    expect((await readAll(target, 3)).map((c) => c.value?.toString())).toEqual(['v3', 'v4', 'v5']);
  });

  it('writes nothing once its job is cancelled', async () => {
    const { source, target } = await topicPair(1);
    const from = Date.now() - 60_000;
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: source, messages: [{ key: 'k', value: 'v', timestamp: String(from + 1) }] });
    await producer.disconnect();
    const cancelled = new AbortController();
    cancelled.abort();
    const { written } = await copy(source, target, from, { signal: cancelled.signal });
    expect(written).toBe(0);
    expect((await admin.fetchTopicOffsets(target))[0]!.high).toBe('0');
  });
});
