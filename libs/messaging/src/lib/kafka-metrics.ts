import { metricsRegistry } from '@keelson/observability';
import { Counter, Gauge, Histogram } from 'prom-client';

/** Every record Kafka acknowledged from this process (outbox relay, dead letters, replays), by topic. */
export const messagesProduced = new Counter({
  name: 'kafka_messages_produced_total',
  help: 'Records acknowledged by Kafka, by topic (outbox relay, dead letters and replays alike).',
  labelNames: ['topic'] as const,
  registers: [metricsRegistry],
});

export type ConsumeOutcome = 'processed' | 'dead_lettered' | 'skipped_replay';

export const messagesConsumed = new Counter({
  name: 'kafka_messages_consumed_total',
  help: 'Records a consumer group is done with, by topic, group and outcome (processed, dead_lettered, skipped_replay).',
  labelNames: ['topic', 'group', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const consumerLag = new Gauge({
  name: 'kafka_consumer_lag_records',
  help: 'Records not yet processed per partition assigned to this consumer: the high watermark minus the next offset to process (after every batch, and from committed offsets every 30 s).',
  labelNames: ['group', 'topic', 'partition'] as const,
  registers: [metricsRegistry],
});

export const consumerBatchDuration = new Histogram({
  name: 'kafka_consumer_batch_duration_seconds',
  help: 'Time to handle one fetched batch (handler calls, retries, dead letters, commit), by topic and group.',
  labelNames: ['topic', 'group'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  enableExemplars: true,
  registers: [metricsRegistry],
});
