import { metricsRegistry } from '@keelson/observability';
import { Counter, Gauge, Histogram } from 'prom-client';

export const outboxPublished = new Counter({
  name: 'outbox_events_published_total',
  help: 'Events the outbox relay published to Kafka (acknowledged), by topic.',
  labelNames: ['topic'] as const,
  registers: [metricsRegistry],
});

export const outboxPublishFailures = new Counter({
  name: 'outbox_publish_failures_total',
  help: 'Relay batches that failed to publish and were left for a retry.',
  registers: [metricsRegistry],
});

export const outboxBatchDuration = new Histogram({
  name: 'outbox_relay_batch_duration_seconds',
  help: 'Time to claim, publish and mark one relay batch (exemplar: the trace that wrote its first event).',
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  enableExemplars: true,
  registers: [metricsRegistry],
});

/** Reads the backlog at scrape time; set by the relay that owns the outbox in this process. */
export interface BacklogSource {
  backlog(): Promise<{ count: number; oldestAgeSeconds: number }>;
}

let source: BacklogSource | undefined;
let latest: Promise<{ count: number; oldestAgeSeconds: number }> | undefined;

/** One query per scrape serves both gauges. */
function readBacklog(): Promise<{ count: number; oldestAgeSeconds: number }> {
  latest ??= (source?.backlog() ?? Promise.resolve({ count: 0, oldestAgeSeconds: 0 })).finally(() => {
    latest = undefined;
  });
  return latest;
}

export function observeBacklog(backlogSource: BacklogSource | undefined): void {
  source = backlogSource;
}

new Gauge({
  name: 'outbox_backlog_events',
  help: 'Events written to the outbox and not yet published.',
  registers: [metricsRegistry],
  async collect() {
    this.set((await readBacklog().catch(() => ({ count: Number.NaN, oldestAgeSeconds: Number.NaN }))).count);
  },
});

new Gauge({
  name: 'outbox_oldest_unpublished_age_seconds',
  help: 'Age of the oldest unpublished outbox event (0 when the backlog is empty).',
  registers: [metricsRegistry],
  async collect() {
    this.set((await readBacklog().catch(() => ({ count: Number.NaN, oldestAgeSeconds: Number.NaN }))).oldestAgeSeconds);
  },
});
