import { Logger } from '@nestjs/common';
import { metricsRegistry, observeWithExemplar } from '@keelson/observability';
import { Counter } from 'prom-client';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import type { Admin, Batch, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { ContractViolation, type ContractRegistry } from './contract';
import type { EventEnvelope } from './envelope';
import type { EventPublisher } from './event-publisher';
import { DLQ_HEADERS, headersToStrings } from './headers';
import { consumerBatchDuration, consumerLag, messagesConsumed, type ConsumeOutcome } from './kafka-metrics';

export interface EventMetadata {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  /** The trace context this record was produced in (the consumer span is its child). */
  traceContext: Context;
}

export type EventHandler = (event: EventEnvelope, meta: EventMetadata) => Promise<void>;

export interface DecodedEvent {
  event: EventEnvelope;
  meta: EventMetadata;
}

/** A handler error that retrying will not fix: the record goes straight to the dead-letter topic. */
export class NonRetriableEventError extends Error {
  override readonly name = 'NonRetriableEventError';
}

/** Set by the replay service on every record it re-drives. */
export const REPLAY_HEADER = 'x-replay-id';

/** Kept for the rules that use it; `kafka_messages_consumed_total{outcome="skipped_replay"}` says the same by topic. */
const replaysSkipped = new Counter({
  name: 'messaging_replayed_records_skipped_total',
  help: 'Records carrying x-replay-id that a consumer group skipped because it does not accept replays.',
  labelNames: ['group'] as const,
  registers: [metricsRegistry],
});

const DEFAULT_LAG_REFRESH_MS = 30_000;

export interface ConsumerOptions {
  groupId: string;
  topics: readonly string[];
  handler: EventHandler;
  fromBeginning?: boolean;
  /**
   * Handles every valid event of a fetched batch in one call (throughput: one round trip
   * per batch instead of per event). If it still fails after the retries, the batch is
   * handled again record by record with `handler`, so only what fails there is dead-lettered.
   */
  batchHandler?: (events: readonly DecodedEvent[]) => Promise<void>;
  /**
   * Handle records re-driven by the replay service (`x-replay-id` header). Off by default:
   * a replay into a consumed topic must not repeat side effects unless the consumer opts in.
   */
  acceptReplays?: boolean;
  /** Attempts per record before it is dead-lettered (default 5). */
  maxAttempts?: number;
  sessionTimeoutMs?: number;
  /** How often the lag of assigned partitions is re-read from committed offsets, for partitions with no batches (default 30 s). */
  lagRefreshMs?: number;
}

/**
 * Consumes contract-checked events with `eachBatch`, heartbeating after every record.
 * A record that fails its contract, or whose handler still fails after the retries, is
 * written to `<topic>.dlq` with the reason in headers, and its offset is committed.
 *
 * Each record is handled inside a consumer span that is a child of the span that produced it
 * (a batch handler's span links to them all), so the handler's database and Redis work joins
 * the producer's trace. Metrics: records by outcome, batch duration (with a trace exemplar)
 * and the lag of every partition assigned to this member.
 */
export class EventConsumer {
  private readonly logger = new Logger(EventConsumer.name);
  private readonly consumer: Consumer;
  private readonly retryPolicy: RetryPolicy;
  /** Partitions this member holds, by topic (from the last group join). */
  private assigned = new Map<string, readonly number[]>();
  private lagTimer: NodeJS.Timeout | undefined;
  private admin: Promise<Admin> | undefined;
  private refreshingLag = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly registry: ContractRegistry,
    private readonly deadLetters: EventPublisher,
    private readonly options: ConsumerOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      allowAutoTopicCreation: false,
    });
    this.retryPolicy = retry(
      handleWhen((error) => !(error instanceof NonRetriableEventError)),
      {
        maxAttempts: Math.max(0, (options.maxAttempts ?? 5) - 1),
        backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5_000 }),
      },
    );
  }

  async start(): Promise<void> {
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.onAssignment(payload.memberAssignment);
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.fromBeginning ?? false });
    await this.consumer.run({ eachBatchAutoResolve: false, eachBatch: (payload) => this.eachBatch(payload) });
    this.lagTimer = setInterval(() => void this.refreshLag(), this.options.lagRefreshMs ?? DEFAULT_LAG_REFRESH_MS);
    this.lagTimer.unref();
  }

  /** Stops fetching, lets the record in hand finish, commits what was processed, leaves the group. */
  async stop(): Promise<void> {
    clearInterval(this.lagTimer);
    await this.consumer.disconnect();
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
    this.onAssignment({});
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const started = performance.now();
    const { batch } = payload;
    // Offsets the batch handler's pass already settled (dead-lettered, or skipped as replays).
    const settled = new Set<string>();
    let done: string | undefined;
    let traced: Context | undefined;
    const batchContext = this.options.batchHandler && batch.messages.length > 1 ? await this.wholeBatch(payload, settled) : undefined;
    if (batchContext) {
      done = batch.messages.at(-1)?.offset;
      traced = batchContext;
    } else {
      for (const message of batch.messages) {
        if (settled.has(message.offset)) {
          payload.resolveOffset(message.offset);
          done = message.offset;
          continue;
        }
        if (!payload.isRunning() || payload.isStale()) break;
        traced = (await this.process(batch.topic, batch.partition, message, () => payload.heartbeat())) ?? traced;
        payload.resolveOffset(message.offset);
        done = message.offset;
        await payload.heartbeat();
      }
      await this.commit(payload, done);
    }
    this.setLag(batch, done);
    if (batch.messages.length > 0) {
      observeWithExemplar(
        consumerBatchDuration,
        { topic: batch.topic, group: this.options.groupId },
        (performance.now() - started) / 1_000,
        traced,
      );
    }
  }

  /** Lag after a batch: the high watermark minus the next offset to process. */
  private setLag(batch: Batch, lastDone: string | undefined): void {
    const next = lastDone !== undefined ? BigInt(lastDone) + 1n : BigInt(batch.messages[0]?.offset ?? batch.highWatermark);
    const lag = BigInt(batch.highWatermark) - next;
    consumerLag.set({ group: this.options.groupId, topic: batch.topic, partition: String(batch.partition) }, Number(lag > 0n ? lag : 0n));
  }

  /** A new assignment: partitions this member no longer holds stop reporting lag (another member reports them). */
  private onAssignment(assignment: Readonly<Record<string, readonly number[]>>): void {
    for (const [topic, partitions] of this.assigned) {
      for (const partition of partitions) {
        if (!assignment[topic]?.includes(partition))
          consumerLag.remove({ group: this.options.groupId, topic, partition: String(partition) });
      }
    }
    this.assigned = new Map(Object.entries(assignment));
  }

  /**
   * Re-reads the lag of the assigned partitions from the group's committed offsets, so a
   * partition that receives nothing (or a consumer that is stuck) still reports a current value.
   */
  private async refreshLag(): Promise<void> {
    if (this.refreshingLag || this.assigned.size === 0) return;
    this.refreshingLag = true;
    try {
      this.admin ??= (async () => {
        const admin = this.kafka.admin();
        await admin.connect();
        return admin;
      })();
      const admin = await this.admin;
      for (const [topic, partitions] of this.assigned) {
        const [ends, committed] = await Promise.all([
          admin.fetchTopicOffsets(topic),
          admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] }),
        ]);
        for (const partition of partitions) {
          const end = ends.find((e) => e.partition === partition);
          if (!end || !this.assigned.get(topic)?.includes(partition)) continue;
          const offset = committed[0]?.partitions.find((p) => p.partition === partition)?.offset;
          const next = BigInt(offset === undefined || offset === '-1' ? end.low : offset);
          const lag = BigInt(end.high) - next;
          consumerLag.set({ group: this.options.groupId, topic, partition: String(partition) }, Number(lag > 0n ? lag : 0n));
        }
      }
    } catch (error) {
      this.admin = undefined;
      this.logger.debug(`lag refresh for ${this.options.groupId} failed: ${(error as Error).message}`);
    } finally {
      this.refreshingLag = false;
    }
  }

  /**
   * Commits what a batch finished, at once: kafkajs would otherwise wait for its commit
   * interval, and a consumer stopped before its group's first commit would rejoin at the log
   * end and skip what was published meanwhile.
   */
  private async commit(payload: EachBatchPayload, lastDone: string | undefined): Promise<void> {
    if (lastDone === undefined) return;
    const { topic, partition } = payload.batch;
    await payload.commitOffsetsIfNecessary({
      topics: [{ topic, partitions: [{ partition, offset: (BigInt(lastDone) + 1n).toString() }] }],
    });
  }

  /**
   * Batch mode: contract violations are dead-lettered, the rest go to `batchHandler` at once,
   * inside a batch span. Returns that span's context, or undefined to fall back to records.
   */
  private async wholeBatch(payload: EachBatchPayload, settled: Set<string>): Promise<Context | undefined> {
    const { batch } = payload;
    const batchHandler = this.options.batchHandler;
    if (!batchHandler) return undefined;
    const decoded: DecodedEvent[] = [];
    for (const message of batch.messages) {
      const headers = headersToStrings(message.headers);
      if (this.skipsReplay(batch.topic, headers)) {
        settled.add(message.offset);
        continue;
      }
      const meta: EventMetadata = {
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        headers,
        traceContext: propagation.extract(context.active(), headers),
      };
      try {
        decoded.push({ event: this.registry.decode(batch.topic, message.value), meta });
      } catch (error) {
        if (!(error instanceof ContractViolation)) throw error;
        await this.deadLetter(meta, message, error.code, error.reason);
        settled.add(message.offset);
      }
    }
    const span = trace.getTracer('keelson-messaging').startSpan(`${batch.topic} process batch`, {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': batch.topic,
        'messaging.destination.partition.id': String(batch.partition),
        'messaging.consumer.group.name': this.options.groupId,
        'messaging.batch.message_count': decoded.length,
      },
      links: decoded.slice(0, 128).flatMap(({ meta }) => {
        const linked = trace.getSpanContext(meta.traceContext);
        return linked ? [{ context: linked }] : [];
      }),
    });
    const spanContext = trace.setSpan(context.active(), span);
    try {
      // The handler's database and Redis calls become children of the batch span.
      await context.with(spanContext, () =>
        this.retryPolicy.execute(async ({ attempt }) => {
          if (attempt > 0) await payload.heartbeat();
          if (decoded.length > 0) await batchHandler(decoded);
        }),
      );
    } catch (error) {
      span.recordException(error as Error);
      this.logger.warn(
        `batch of ${decoded.length} from ${batch.topic}/${batch.partition} failed, handling it record by record: ${(error as Error).message}`,
      );
      return undefined;
    } finally {
      span.end();
    }
    this.count(batch.topic, 'processed', decoded.length);
    const last = batch.messages.at(-1);
    if (last) payload.resolveOffset(last.offset);
    await payload.heartbeat();
    await this.commit(payload, last?.offset);
    return spanContext;
  }

  private count(topic: string, outcome: ConsumeOutcome, records = 1): void {
    if (records > 0) messagesConsumed.inc({ topic, group: this.options.groupId, outcome }, records);
  }

  private skipsReplay(topic: string, headers: Record<string, string>): boolean {
    if (this.options.acceptReplays || headers[REPLAY_HEADER] === undefined) return false;
    replaysSkipped.inc({ group: this.options.groupId });
    this.count(topic, 'skipped_replay');
    return true;
  }

  /** Handles one record inside its consumer span; returns the span's context (undefined when skipped). */
  private async process(
    topic: string,
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<Context | undefined> {
    const headers = headersToStrings(message.headers);
    if (this.skipsReplay(topic, headers)) return undefined;
    const parent = propagation.extract(context.active(), headers);
    const span = trace.getTracer('keelson-messaging').startSpan(
      `${topic} process`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.destination.name': topic,
          'messaging.destination.partition.id': String(partition),
          'messaging.consumer.group.name': this.options.groupId,
          'messaging.kafka.offset': message.offset,
        },
      },
      parent,
    );
    const meta: EventMetadata = {
      topic,
      partition,
      offset: message.offset,
      key: message.key?.toString() ?? null,
      headers,
      traceContext: parent,
    };
    const spanContext = trace.setSpan(parent, span);
    try {
      await context.with(spanContext, async () => {
        let event: EventEnvelope;
        try {
          event = this.registry.decode(topic, message.value);
        } catch (error) {
          if (error instanceof ContractViolation) return this.deadLetter(meta, message, error.code, error.reason);
          throw error;
        }
        try {
          await this.retryPolicy.execute(async ({ attempt }) => {
            if (attempt > 0) await heartbeat();
            await this.options.handler(event, meta);
          });
          this.count(topic, 'processed');
        } catch (error) {
          span.recordException(error as Error);
          await this.deadLetter(meta, message, 'handler-failed', (error as Error).message);
        }
      });
    } finally {
      span.end();
    }
    return spanContext;
  }

  private async deadLetter(meta: EventMetadata, message: KafkaMessage, code: string, reason: string): Promise<void> {
    const contract = this.registry.contract(meta.topic);
    this.logger.warn(`dead-lettering ${meta.topic}/${meta.partition}@${meta.offset} to ${contract.deadLetterTopic}: ${code}: ${reason}`);
    trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: `${code}: ${reason}` });
    await this.deadLetters.publishRaw(contract.deadLetterTopic, {
      key: message.key,
      value: message.value,
      headers: {
        ...meta.headers,
        [DLQ_HEADERS.reason]: reason.slice(0, 1_000),
        [DLQ_HEADERS.code]: code,
        [DLQ_HEADERS.topic]: meta.topic,
        [DLQ_HEADERS.partition]: String(meta.partition),
        [DLQ_HEADERS.offset]: meta.offset,
        [DLQ_HEADERS.group]: this.options.groupId,
        [DLQ_HEADERS.failedAt]: new Date().toISOString(),
      },
    });
    this.count(meta.topic, 'dead_lettered');
  }
}
