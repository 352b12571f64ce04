import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { dataSourceOptions, runMigrations } from '@keelson/database';
import {
  ContractRegistry,
  createEvent,
  createKafka,
  defineTopic,
  EventPublisher,
  headersToStrings,
  TopicAdmin,
  topicSpecs,
  type OutgoingEvent,
  type TopicContract,
} from '@keelson/messaging';
import { startTracing, type TracingHandle } from '@keelson/observability';
import { localPostgresConfig, localStack, stack, waitFor } from '@keelson/testing';
import type { Kafka } from 'kafkajs';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { z } from 'zod';
import { createOutboxTable, dropOutboxTable } from './outbox-migration';
import { OutboxRelay } from './outbox-relay';
import { OutboxWriter } from './outbox-writer';

const schema = `it_outbox_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
const config = localPostgresConfig(10);

class CreateOutbox1700000000000 implements MigrationInterface {
  name = 'CreateOutbox1700000000000';
  up(runner: QueryRunner) {
    return createOutboxTable(runner);
  }
  down(runner: QueryRunner) {
    return dropOutboxTable(runner);
  }
}

const tickEvents = { 'it.counter.ticked.v1': z.object({ counterId: z.string(), n: z.number().int() }) };

/** Record as seen on Kafka, in partition order. */
interface Seen {
  id: string;
  subject: string;
  version: number;
  partition: number;
  traceparent: string | undefined;
}

/** A publisher that dies right after Kafka acknowledged, before the relay can mark the rows. */
class CrashAfterAck extends EventPublisher {
  override async publishBatch(items: readonly OutgoingEvent[]): Promise<void> {
    await super.publishBatch(items);
    throw new Error('process died after the ack');
  }
}

describe('transactional outbox against PostgreSQL and Kafka', () => {
  const dataSource = new DataSource(dataSourceOptions({ schema, config, applicationName: 'outbox-it' }));
  let kafka: Kafka;
  let admin: TopicAdmin;
  let tracing: TracingHandle;
  let topic: TopicContract<typeof tickEvents>;
  let registry: ContractRegistry;
  let writer: OutboxWriter;
  const publishers: EventPublisher[] = [];
  const relays: OutboxRelay[] = [];

  const publisher = (kind: typeof EventPublisher = EventPublisher) => {
    const p = new kind(kafka, registry);
    publishers.push(p);
    return p;
  };
  const relay = (options: { publisher?: EventPublisher; pollIntervalMs?: number; batchSize?: number } = {}) => {
    const r = new OutboxRelay(dataSource, {
      schema,
      routes: { counter: topic },
      publisher: options.publisher ?? publisher(),
      pollIntervalMs: options.pollIntervalMs ?? 200,
      maxBackoffMs: 500,
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    });
    relays.push(r);
    return r;
  };
  const tick = (counterId: string, n: number) =>
    createEvent({
      type: 'it.counter.ticked.v1',
      source: 'outbox-it',
      subject: counterId,
      aggregatetype: 'counter',
      aggregateversion: n,
      data: { counterId, n },
    });
  const write = (...events: ReturnType<typeof tick>[]) => dataSource.transaction((m) => writer.append(m, events));
  const unpublished = async () =>
    (await relays[0]?.backlog())?.count ??
    Number((await dataSource.query<{ c: string }[]>(`SELECT count(*) c FROM "${schema}".outbox WHERE published_at IS NULL`))[0]?.c);

  /** Reads the topic from the beginning until `count` records arrived. */
  async function readTopic(count: number, timeoutMs = 30_000): Promise<Seen[]> {
    const consumer = kafka.consumer({ groupId: `outbox-it-${randomUUID()}` });
    const seen: Seen[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topic.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message, partition }) => {
        const value = JSON.parse(message.value?.toString() ?? '{}') as { id: string; subject: string; aggregateversion: number };
        seen.push({
          id: value.id,
          subject: value.subject,
          version: value.aggregateversion,
          partition,
          traceparent: headersToStrings(message.headers).traceparent,
        });
        return Promise.resolve();
      },
    });
    try {
      return await waitFor(`${count} records on ${topic.topic}`, () => Promise.resolve(seen.length >= count ? seen : undefined), {
        timeoutMs,
      });
    } finally {
      await consumer.disconnect();
    }
  }

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'outbox-it', exporter: 'none' });
    await runMigrations({ schema, config, migrations: [CreateOutbox1700000000000], applicationName: 'outbox-it' });
    await dataSource.initialize();
    kafka = createKafka({ clientId: 'outbox-it', brokers: [...localStack.kafka.brokers] });
    admin = new TopicAdmin(kafka);
  });

  beforeEach(async () => {
    topic = defineTopic(`it.${randomUUID().slice(0, 8)}.counters.v1`, tickEvents);
    await admin.ensureTopics(topicSpecs([topic], 3));
    registry = new ContractRegistry([topic]);
    writer = new OutboxWriter(schema, { counter: topic }, registry);
    await dataSource.query(`DELETE FROM "${schema}".outbox`);
  });

  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await Promise.all(publishers.splice(0).map((p) => p.disconnect()));
  });

  afterAll(async () => {
    await stack('up', 'kafka');
    await admin.disconnect();
    await dataSource.query(`DROP SCHEMA "${schema}" CASCADE`);
    await dataSource.destroy();
    await tracing.shutdown();
  });

  it('publishes what committed and nothing of what rolled back', async () => {
    const kept = tick(randomUUID(), 1);
    await expect(
      dataSource.transaction(async (m) => {
        await writer.append(m, [tick(randomUUID(), 1)]);
        throw new Error('business rule failed after the outbox write');
      }),
    ).rejects.toThrow('business rule failed');
    await write(kept);

    expect(await relay().relayOnce()).toBe(1);
    const seen = await readTopic(1);
    expect(seen.map((s) => s.id)).toEqual([kept.id]);
    expect(await unpublished()).toBe(0);
  });

  it('never skips a row whose transaction commits after a later one', async () => {
    const early = tick(randomUUID(), 1);
    const late = tick(randomUUID(), 1);
    const slow = dataSource.createQueryRunner();
    await slow.startTransaction();
    await writer.append(slow.manager, [early]); // gets the lower position, commits last
    await write(late);
    const sut = relay();

    expect(await sut.relayOnce()).toBe(1);
    await slow.commitTransaction();
    await slow.release();
    expect(await sut.relayOnce()).toBe(1);

    const seen = await readTopic(2);
    expect(seen.map((s) => s.id).sort()).toEqual([early.id, late.id].sort());
  });

  it('republishes, with the same event id, when the relay dies between the ack and the commit', async () => {
    const event = tick(randomUUID(), 1);
    await write(event);

    await expect(relay({ publisher: publisher(CrashAfterAck) }).relayOnce()).rejects.toThrow('process died after the ack');
    expect(await unpublished()).toBe(1);
    expect(await relay().relayOnce()).toBe(1);

    const seen = await readTopic(2);
    expect(seen.map((s) => s.id)).toEqual([event.id, event.id]); // the duplicate consumers dedupe on
    expect(await unpublished()).toBe(0);
  });

  it('keeps each aggregate’s events in order with two relays running', async () => {
    const counters = Array.from({ length: 12 }, () => randomUUID());
    const versions = 8;
    for (let n = 1; n <= versions; n += 1) {
      // Interleaved aggregates, one transaction per event, as concurrent requests would write them.
      await Promise.all(counters.map((id) => write(tick(id, n))));
    }
    const [a, b] = [relay({ batchSize: 7 }), relay({ batchSize: 5 })];
    a.start();
    b.start();
    await waitFor('the outbox to drain', async () => ((await unpublished()) === 0 ? true : undefined), { timeoutMs: 30_000 });

    const seen = await readTopic(counters.length * versions);
    for (const id of counters) {
      expect(seen.filter((s) => s.subject === id).map((s) => s.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
  });

  it('accepts writes while Kafka is down and delivers every event once it is back', async () => {
    const sut = relay();
    sut.start();
    await stack('down', 'kafka');
    const events = Array.from({ length: 30 }, (_, i) => tick(randomUUID(), i + 1));
    try {
      for (const event of events) await write(event); // the business writes succeed regardless
      expect(await unpublished()).toBe(30);
    } finally {
      await stack('up', 'kafka');
    }
    await waitFor('the outbox to drain after Kafka returned', async () => ((await unpublished()) === 0 ? true : undefined), {
      timeoutMs: 90_000,
    });
    const seen = await readTopic(30);
    expect(new Set(seen.map((s) => s.id))).toEqual(new Set(events.map((e) => e.id)));
  });

  it('is woken by NOTIFY (no waiting for the poll) and carries the writer’s trace to Kafka', async () => {
    const sut = relay({ pollIntervalMs: 60_000 });
    sut.start();
    await waitFor('the relay to catch up', async () => ((await unpublished()) === 0 ? true : undefined));
    const event = tick(randomUUID(), 1);
    const traceId = await trace.getTracer('it').startActiveSpan('create counter', async (span) => {
      await write(event);
      span.end();
      return span.spanContext().traceId;
    });

    const [seen] = await readTopic(1, 10_000);
    expect(seen?.id).toBe(event.id);
    expect(seen?.traceparent).toMatch(new RegExp(`^00-${traceId}-`));
  });
});
