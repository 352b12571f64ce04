// What the dashboards' queries may read, and which of them may come back empty on the local
// stack and why. The unit specs check these lists against the dashboards and the source; the
// integration spec (dashboards.integration-spec.ts) evaluates every query against Prometheus
// and wants series from every one not excused here. Reasons are in docs/adr/0013.

/**
 * Metrics a dashboard already shows that another branch is adding. Until a service exports
 * one, its queries only have to parse. Remove the entry when the metric lands: the unit spec
 * fails while a pending metric is defined in the source.
 */
export const PENDING_METRICS: Readonly<Record<string, string>> = {};

/** kube-state-metrics runs in the cluster only: these series never exist on the local stack. */
export const CLUSTER_ONLY_METRIC = /^kube_/;

/**
 * Series Prometheus makes itself. `up` always exists for a scraped target; ALERTS only while an
 * alert is pending or firing, which a healthy stack never has.
 */
export const PROMETHEUS_SERIES: Readonly<Record<string, 'always' | 'while-alerting'>> = {
  up: 'always',
  ALERTS: 'while-alerting',
};

/**
 * Recording-rule outputs from prometheus/*.rules.yml: names with a colon (level:metric:operations,
 * Sloth's slo:*), and Sloth's one series without a colon.
 */
export const isRecordingRule = (name: string): boolean => name.includes(':') || name === 'sloth_slo_info';

export interface QueryWithoutData {
  dashboard: string;
  panel: string;
  refId: string;
  /** Why this query has no series on a healthy stack with ordinary traffic. */
  reason: string;
}

/**
 * Queries over counters that only get a series once something rare happens: a failure, a limit
 * reached, a race. They must still parse, and their metrics must be declared by the services.
 */
export const NO_DATA_UNTIL_IT_HAPPENS: readonly QueryWithoutData[] = [
  {
    dashboard: 'keelson-gateway',
    panel: 'Refused at the edge',
    refId: 'A',
    reason: 'gateway_rate_limited_total counts 429s; a client must exhaust its limit',
  },
  { dashboard: 'keelson-gateway', panel: 'Rejected without calling', refId: 'A', reason: 'a breaker must open or a bulkhead fill' },
  { dashboard: 'keelson-gateway', panel: 'Retries', refId: 'A', reason: 'an idempotent upstream call must fail and be retried' },
  { dashboard: 'keelson-gateway', panel: 'Timeouts', refId: 'A', reason: 'an upstream must exceed the timeout budget' },
  { dashboard: 'keelson-auth', panel: 'Rate-limited logins', refId: 'A', reason: 'the login throttle must refuse an attempt with 429' },
  { dashboard: 'keelson-kafka', panel: 'Dead-lettered by group', refId: 'A', reason: 'a consumer must dead-letter a record' },
  { dashboard: 'keelson-kafka', panel: 'Dead-letter topics written', refId: 'A', reason: 'a record must be written to a <topic>.dlq' },
  {
    dashboard: 'keelson-kafka',
    panel: 'Replayed records skipped',
    refId: 'A',
    reason: 'a replay must target a topic a group that refuses replays reads',
  },
  {
    dashboard: 'keelson-cache',
    panel: 'Stale fills refused',
    refId: 'A',
    reason: 'an invalidation must land while an entry is being loaded',
  },
  { dashboard: 'keelson-cache', panel: 'Early refreshes', refId: 'A', reason: 'XFetch refreshes only near expiry (TTL 300 s by default)' },
  {
    dashboard: 'keelson-cache',
    panel: 'Stale reads detected',
    refId: 'A',
    reason: 'a stale read is a bug: the counter must stay without series',
  },
];
