import { randomUUID } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import { metricsRegistry, renderMetrics, startTracing, type TracingHandle } from '@keelson/observability';
import { localStack, waitFor } from '@keelson/testing';
import type { Kafka } from 'kafkajs';
import { z } from 'zod';
import { ContractRegistry, ContractViolation, defineTopic, type TopicContract } from './contract';
import { createEvent, type EventEnvelope } from './envelope';
import { EventConsumer, NonRetriableEventError, REPLAY_HEADER, type EventMetadata } from './event-consumer';
import { EventPublisher } from './event-publisher';
import { DLQ_HEADERS, headersToStrings } from './headers';
import { createKafka } from './kafka-connection';
import { TopicAdmin, topicSpecs } from './topic-admin';

// Each test gets fresh topics, so no other run's records can satisfy an assertion.
const probeEvents = { 'it.probe.pinged.v1': z.object({ probeId: z.uuid(), attempt: z.number().int().positive() }) };
const freshTopic = () => defineTopic(`it.${randomUUID().slice(0, 8)}.probes.v1`, probeEvents);

function ping(probeId = randomUUID()): EventEnvelope {
  return createEvent({
    type: 'it.probe.pinged.v1',
    source: 'messaging-it',
    subject: probeId,
    aggregatetype: 'probe',
    aggregateversion: 1,
    data: { probeId, attempt: 1 },
  });
}

interface Received {
  event: EventEnvelope;
  meta: EventMetadata;
  traceId: string | undefined;
}

describe('messaging against a real Kafka broker', () => {
  let kafka: Kafka;
  let tracing: TracingHandle;
  let admin: TopicAdmin;
  let probes: TopicContract<typeof probeEvents>;
  let registry: ContractRegistry;
  let publisher: EventPublisher;
  const consumers: EventConsumer[] = [];

  beforeAll(() => {
    tracing = startTracing({ serviceName: 'messaging-it', exporter: 'none' });
    kafka = createKafka({ clientId: 'messaging-it', brokers: [...localStack.kafka.brokers] });
    admin = new TopicAdmin(kafka);
  });

  beforeEach(async () => {
    probes = freshTopic();
    await admin.ensureTopics(topicSpecs([probes], 1));
    registry = new ContractRegistry([probes]);
    publisher = new EventPublisher(kafka, registry);
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await publisher.disconnect();
  });

  afterAll(async () => {
    await admin.disconnect();
    await tracing.shutdown();
  });

  /** Starts a consumer group that records what it handles, or throws `fail` from the handler. */
  async function consume(topic: string, options: { fail?: (event: EventEnvelope) => Error; maxAttempts?: number; groupId?: string } = {}) {
    const received: Received[] = [];
    let attempts = 0;
    const sut = new EventConsumer(kafka, registry, publisher, {
      groupId: options.groupId ?? `messaging-it-${randomUUID()}`,
      topics: [topic],
      fromBeginning: true,
      maxAttempts: options.maxAttempts ?? 3,
      handler: (event, meta) => {
        attempts += 1;
        if (options.fail) return Promise.reject(options.fail(event));
        received.push({ event, meta, traceId: trace.getSpanContext(context.active())?.traceId });
        return Promise.resolve();
      },
    });
    consumers.push(sut);
    await sut.start();
    return { received, attempts: () => attempts };
  }

  /** Reads the dead-letter topic from the beginning with a plain kafkajs consumer. */
  async function readDeadLetters(count: number) {
    const consumer = kafka.consumer({ groupId: `messaging-it-dlq-${randomUUID()}` });
    const records: { value: string; headers: Record<string, string>; key: string | undefined }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: probes.deadLetterTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        records.push({ value: message.value?.toString() ?? '', headers: headersToStrings(message.headers), key: message.key?.toString() });
        return Promise.resolve();
      },
    });
    try {
      return await waitFor(`${count} dead letters`, () => Promise.resolve(records.length >= count ? records : undefined), {
        timeoutMs: 30_000,
      });
    } finally {
      await consumer.disconnect();
    }
  }

  it('delivers an event to a consumer with the producer’s trace id, key and headers', async () => {
    const consumer = await consume(probes.topic);
    const event = ping();
    const producerTraceId = await trace.getTracer('it').startActiveSpan('checkout', async (span) => {
      await publisher.publish(probes.topic, [event]);
      span.end();
      return span.spanContext().traceId;
    });

    const [got] = await waitFor('the event to be consumed', () =>
      Promise.resolve(consumer.received.length > 0 ? consumer.received : undefined),
    );
    expect(got?.event).toEqual({ ...event, traceparent: expect.stringContaining(producerTraceId) as unknown });
    expect(got?.traceId).toBe(producerTraceId);
    expect(got?.meta.key).toBe(event.subject);
    expect(got?.meta.headers.traceparent).toMatch(new RegExp(`^00-${producerTraceId}-[0-9a-f]{16}-01$`));
  });

  it('refuses to publish an event that breaks its contract, and writes nothing', async () => {
    const bad = { ...ping(), data: { probeId: 'nope', attempt: 0 } };
    await expect(publisher.publish(probes.topic, [bad])).rejects.toBeInstanceOf(ContractViolation);
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    const offsets = await kafkaAdmin.fetchTopicOffsets(probes.topic);
    await kafkaAdmin.disconnect();
    expect(offsets.map((o) => o.high)).toEqual(['0']);
  });

  it('dead-letters invalid records and persistently failing ones with the reason, and moves on', async () => {
    const consumer = await consume(probes.topic, { fail: () => new Error('downstream unavailable'), maxAttempts: 3 });
    const failing = ping();
    await publisher.publishRaw(probes.topic, { key: 'k-json', value: '{not json', headers: {} });
    await publisher.publishRaw(probes.topic, {
      key: 'k-data',
      value: JSON.stringify({ ...ping(), data: { probeId: 'x', attempt: 1 } }),
      headers: {},
    });
    await publisher.publish(probes.topic, [failing]);

    const letters = await readDeadLetters(3);
    const byKey = new Map(letters.map((l) => [l.key, l]));
    expect(byKey.get('k-json')?.headers[DLQ_HEADERS.code]).toBe('invalid-json');
    expect(byKey.get('k-json')?.value).toBe('{not json');
    expect(byKey.get('k-data')?.headers[DLQ_HEADERS.code]).toBe('invalid-data');
    expect(byKey.get('k-data')?.headers[DLQ_HEADERS.reason]).toContain('probeId');
    const failed = byKey.get(failing.subject);
    expect(failed?.headers[DLQ_HEADERS.code]).toBe('handler-failed');
    expect(failed?.headers[DLQ_HEADERS.reason]).toBe('downstream unavailable');
    expect(failed?.headers[DLQ_HEADERS.topic]).toBe(probes.topic);
    expect(failed?.headers[DLQ_HEADERS.offset]).toBe('2');
    expect(failed?.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-/);
    // Only the valid event reached the handler, and it was tried exactly maxAttempts times.
    expect(consumer.attempts()).toBe(3);
  });

  it('hands a batch to the batch handler at once, and isolates a poison event record by record when the batch fails', async () => {
    const poison = ping();
    const good = Array.from({ length: 20 }, () => ping());
    // Published before the consumer starts, so the first fetch holds them all.
    await publisher.publishRaw(probes.topic, { key: 'k-json', value: '{not json', headers: {} });
    await publisher.publish(probes.topic, [...good.slice(0, 10), poison, ...good.slice(10)]);
    const batches: number[] = [];
    const batchSpans: (string | undefined)[] = [];
    const perRecord: string[] = [];
    const sut = new EventConsumer(kafka, registry, publisher, {
      groupId: `messaging-it-${randomUUID()}`,
      topics: [probes.topic],
      fromBeginning: true,
      maxAttempts: 2,
      batchHandler: (events) => {
        batches.push(events.length);
        batchSpans.push(trace.getActiveSpan()?.spanContext().spanId);
        return events.some((e) => e.event.id === poison.id) ? Promise.reject(new Error('poison in batch')) : Promise.resolve();
      },
      handler: (event) => {
        if (event.id === poison.id) return Promise.reject(new NonRetriableEventError('poison'));
        perRecord.push(event.subject);
        return Promise.resolve();
      },
    });
    consumers.push(sut);
    await sut.start();

    const letters = await readDeadLetters(2);
    expect(letters.map((l) => l.key).sort()).toEqual(['k-json', poison.subject].sort());
    await waitFor('every good event handled', () => Promise.resolve(perRecord.length >= 20 ? true : undefined));
    expect(new Set(perRecord)).toEqual(new Set(good.map((g) => g.subject)));
    expect(batches[0]).toBe(21); // the 21 valid events in one call (the invalid JSON never reached it), tried twice
    expect(batches.slice(0, 2)).toEqual([21, 21]);
    // The batch handler runs inside the batch span, so its database and Redis calls nest under it.
    expect(batchSpans[0]).toMatch(/^[0-9a-f]{16}$/);
  });

  /** A metric's samples whose labels include `labels`. */
  async function samples(name: string, labels: Record<string, string>): Promise<number[]> {
    const metric = await metricsRegistry.getSingleMetric(name)?.get();
    return (metric?.values ?? [])
      .filter((v) => Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value))
      .map((v) => v.value);
  }
  const sample = async (name: string, labels: Record<string, string>) => (await samples(name, labels)).reduce((a, b) => a + b, 0);

  it('counts records produced and consumed by outcome, and reports the lag of a stuck partition and of a drained one', async () => {
    const groupId = `messaging-it-${randomUUID()}`;
    await publisher.publishRaw(probes.topic, { key: 'k-json', value: '{not json', headers: {} });
    await publisher.publish(probes.topic, [ping(), ping(), ping()]);
    await publisher.publishRaw(probes.topic, {
      key: 'k-replay',
      value: JSON.stringify(ping()),
      headers: { [REPLAY_HEADER]: randomUUID() },
    });
    expect(await sample('kafka_messages_produced_total', { topic: probes.topic })).toBe(5);

    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sut = new EventConsumer(kafka, registry, publisher, {
      groupId,
      topics: [probes.topic],
      fromBeginning: true,
      lagRefreshMs: 200,
      handler: () => gate,
    });
    consumers.push(sut);
    await sut.start();
    const lag = { group: groupId, topic: probes.topic, partition: '0' };
    // Blocked in the first batch: only the periodic refresh (from committed offsets) can report it.
    await waitFor('the lag of the stuck partition', async () =>
      (await samples('kafka_consumer_lag_records', lag))[0] === 5 ? true : undefined,
    );
    release();
    await waitFor('the drained partition', async () => ((await samples('kafka_consumer_lag_records', lag))[0] === 0 ? true : undefined));

    const consumed = (outcome: string) => sample('kafka_messages_consumed_total', { topic: probes.topic, group: groupId, outcome });
    expect(await consumed('processed')).toBe(3);
    expect(await consumed('dead_lettered')).toBe(1);
    expect(await consumed('skipped_replay')).toBe(1);
    expect(await sample('kafka_messages_produced_total', { topic: probes.deadLetterTopic })).toBe(1);
    const { body } = await renderMetrics('application/openmetrics-text');
    expect(body).toMatch(
      new RegExp(
        `kafka_consumer_batch_duration_seconds_bucket\\{[^}]*topic="${probes.topic}"[^}]*\\} \\d+ # \\{trace_id="[0-9a-f]{32}"\\}`,
      ),
    );

    await sut.stop();
    expect(await samples('kafka_consumer_lag_records', lag)).toEqual([]); // a stopped member reports nothing
  });

  it('skips records re-driven by a replay unless the consumer accepts replays', async () => {
    const original = ping();
    const replayed = ping();
    await publisher.publish(probes.topic, [original]);
    await publisher.publishRaw(probes.topic, {
      key: replayed.subject,
      value: JSON.stringify(replayed),
      headers: { [REPLAY_HEADER]: randomUUID() },
    });
    const marker = ping();
    await publisher.publish(probes.topic, [marker]);

    const plain = await consume(probes.topic);
    await waitFor('the marker', () => Promise.resolve(plain.received.some((r) => r.event.id === marker.id) ? true : undefined));
    expect(plain.received.map((r) => r.event.id)).toEqual([original.id, marker.id]);

    const seen: string[] = [];
    const accepting = new EventConsumer(kafka, registry, publisher, {
      groupId: `messaging-it-${randomUUID()}`,
      topics: [probes.topic],
      fromBeginning: true,
      acceptReplays: true,
      handler: (event) => {
        seen.push(event.id);
        return Promise.resolve();
      },
    });
    consumers.push(accepting);
    await accepting.start();
    await waitFor('the marker again', () => Promise.resolve(seen.includes(marker.id) ? true : undefined));
    expect(seen).toEqual([original.id, replayed.id, marker.id]);
  });

  it('dead-letters a non-retriable failure after one attempt', async () => {
    const consumer = await consume(probes.topic, { fail: (event) => new NonRetriableEventError(`probe ${event.subject} is unknown`) });
    const event = ping();
    await publisher.publish(probes.topic, [event]);
    const [letter] = await readDeadLetters(1);
    expect(letter?.headers[DLQ_HEADERS.reason]).toBe(`probe ${event.subject} is unknown`);
    expect(consumer.attempts()).toBe(1);
  });

  it('finishes the record in hand and commits it when stopped mid-handler', async () => {
    const groupId = `messaging-it-${randomUUID()}`;
    let started = 0;
    let finished = 0;
    const slow = new EventConsumer(kafka, registry, publisher, {
      groupId,
      topics: [probes.topic],
      fromBeginning: true,
      handler: async () => {
        started += 1;
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        finished += 1;
      },
    });
    await slow.start();
    await publisher.publish(probes.topic, [ping()]);
    await waitFor('the handler to start', () => Promise.resolve(started === 1 ? true : undefined), { timeoutMs: 30_000 });
    await slow.stop(); // what SIGTERM does through Messaging.close()
    expect(finished).toBe(1);

    // The same group, restarted, must not see the record again: its offset was committed.
    const again = await consume(probes.topic, { groupId });
    const sentinel = ping();
    await publisher.publish(probes.topic, [sentinel]);
    await waitFor('the next record', () => Promise.resolve(again.received.length > 0 ? true : undefined));
    expect(again.received.map((r) => r.event.id)).toEqual([sentinel.id]);
  });
});
