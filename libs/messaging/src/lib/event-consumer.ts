import { Logger } from '@nestjs/common';
import { metricsRegistry } from '@keelson/observability';
import { Counter } from 'prom-client';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { ContractViolation, type ContractRegistry } from './contract';
import type { EventEnvelope } from './envelope';
import type { EventPublisher } from './event-publisher';
import { DLQ_HEADERS, headersToStrings } from './headers';

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

const replaysSkipped = new Counter({
  name: 'messaging_replayed_records_skipped_total',
  help: 'Records carrying x-replay-id that a consumer group skipped because it does not accept replays.',
  labelNames: ['group'] as const,
  registers: [metricsRegistry],
});

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
}

/**
 * Consumes contract-checked events with `eachBatch`, heartbeating after every record.
 * A record that fails its contract, or whose handler still fails after the retries, is
 * written to `<topic>.dlq` with the reason in headers, and its offset is committed.
 */
export class EventConsumer {
  private readonly logger = new Logger(EventConsumer.name);
  private readonly consumer: Consumer;
  private readonly retryPolicy: RetryPolicy;

  constructor(
    kafka: Kafka,
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
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.fromBeginning ?? false });
    await this.consumer.run({ eachBatchAutoResolve: false, eachBatch: (payload) => this.eachBatch(payload) });
  }

  /** Stops fetching, lets the record in hand finish, commits what was processed, leaves the group. */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const deadLettered = new Set<string>();
    if (this.options.batchHandler && batch.messages.length > 1 && (await this.wholeBatch(payload, deadLettered))) return;
    let done: string | undefined;
    for (const message of batch.messages) {
      if (deadLettered.has(message.offset)) {
        payload.resolveOffset(message.offset);
        done = message.offset;
        continue;
      }
      if (!payload.isRunning() || payload.isStale()) break;
      await this.process(batch.topic, batch.partition, message, () => payload.heartbeat());
      payload.resolveOffset(message.offset);
      done = message.offset;
      await payload.heartbeat();
    }
    await this.commit(payload, done);
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

  /** Batch mode: contract violations are dead-lettered, the rest go to `batchHandler` at once. False: fall back to records. */
  private async wholeBatch(payload: EachBatchPayload, deadLettered: Set<string>): Promise<boolean> {
    const { batch } = payload;
    const batchHandler = this.options.batchHandler;
    if (!batchHandler) return false;
    const decoded: DecodedEvent[] = [];
    for (const message of batch.messages) {
      const headers = headersToStrings(message.headers);
      if (this.skipsReplay(headers)) continue;
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
        deadLettered.add(message.offset);
      }
    }
    const span = trace.getTracer('keelson-messaging').startSpan(`${batch.topic} process batch`, {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': batch.topic,
        'messaging.batch.message_count': decoded.length,
      },
      links: decoded.slice(0, 128).flatMap(({ meta }) => {
        const linked = trace.getSpanContext(meta.traceContext);
        return linked ? [{ context: linked }] : [];
      }),
    });
    try {
      await this.retryPolicy.execute(async ({ attempt }) => {
        if (attempt > 0) await payload.heartbeat();
        if (decoded.length > 0) await batchHandler(decoded);
      });
    } catch (error) {
      span.recordException(error as Error);
      this.logger.warn(
        `batch of ${decoded.length} from ${batch.topic}/${batch.partition} failed, handling it record by record: ${(error as Error).message}`,
      );
      return false;
    } finally {
      span.end();
    }
    const last = batch.messages.at(-1);
    if (last) payload.resolveOffset(last.offset);
    await payload.heartbeat();
    await this.commit(payload, last?.offset);
    return true;
  }

  private skipsReplay(headers: Record<string, string>): boolean {
    if (this.options.acceptReplays || headers[REPLAY_HEADER] === undefined) return false;
    replaysSkipped.inc({ group: this.options.groupId });
    return true;
  }

  private async process(topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<void> {
    const headers = headersToStrings(message.headers);
    if (this.skipsReplay(headers)) return;
    const parent = propagation.extract(context.active(), headers);
    const span = trace.getTracer('keelson-messaging').startSpan(
      `${topic} process`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.kafka.offset': message.offset },
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
    try {
      await context.with(trace.setSpan(parent, span), async () => {
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
        } catch (error) {
          span.recordException(error as Error);
          await this.deadLetter(meta, message, 'handler-failed', (error as Error).message);
        }
      });
    } finally {
      span.end();
    }
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
  }
}
