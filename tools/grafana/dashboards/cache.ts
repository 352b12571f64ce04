import {
  alertStates,
  IN_SCOPE,
  keelsonDashboard,
  notes,
  query,
  quantiles,
  redFrom,
  rate,
  ratio,
  stat,
  timeSeries,
  variables,
  type DashboardModel,
} from '../conventions';

const LOOKUPS = `cache_lookups_total{${IN_SCOPE}}`;

/** Cache-aside reads and the Kafka- and NOTIFY-driven invalidation that keeps them fresh. */
export function cacheDashboard(): DashboardModel {
  return keelsonDashboard({
    uid: 'keelson-cache',
    title: 'Keelson / Cache and invalidation',
    description: 'Hit ratio by cache, invalidation lag, evictions, re-warming, refused stale fills and stale reads detected.',
    tags: ['cache'],
    variables: [variables.namespace(), variables.service()],
    rows: [
      {
        title: 'Reads',
        panels: [
          timeSeries({
            title: 'Hit ratio by cache',
            description: 'Share of lookups answered from the cache (in-process L1 or Redis) rather than loaded.',
            unit: 'percentunit',
            queries: [query(ratio(`cache_lookups_total{${IN_SCOPE}, result=~"hit|l1_hit"}`, LOOKUPS, ['cache']), '{{cache}}')],
            min: 0,
            max: 1,
          }),
          timeSeries({
            title: 'Lookups by result',
            description:
              'Lookups per second by cache and result: l1_hit (in-process), hit (Redis), miss, error (Redis failed; read through).',
            unit: 'ops',
            stacked: true,
            queries: [query(`sum by (cache, result) (${rate(LOOKUPS)})`, '{{cache}} {{result}}')],
          }),
          timeSeries({
            title: 'Stale fills refused',
            description:
              'Fills dropped because the entry, its tags or its generation were invalidated while loading: stale writes prevented.',
            unit: 'ops',
            width: 8,
            queries: [query(`sum by (cache) (${rate(`cache_fill_rejected_total{${IN_SCOPE}}`)})`, '{{cache}}')],
            noValue: '0',
          }),
          timeSeries({
            title: 'Early refreshes',
            description: 'Entries recomputed before expiry by XFetch (probabilistic early refresh), by cache.',
            unit: 'ops',
            width: 8,
            queries: [query(`sum by (cache) (${rate(`cache_early_refreshes_total{${IN_SCOPE}}`)})`, '{{cache}}')],
            noValue: '0',
          }),
          stat({
            title: 'Stale reads detected',
            description:
              'Sampled entries found older than an event already applied to them, over the time range. Must stay 0: anything else is a missed invalidation.',
            unit: 'none',
            width: 8,
            height: 8,
            queries: [query(`sum(increase(cache_stale_reads_detected_total{${IN_SCOPE}}[$__range]))`, 'stale reads', true)],
            thresholds: redFrom(1),
            noValue: '0',
          }),
        ],
      },
      {
        title: 'Invalidation',
        panels: [
          timeSeries({
            title: 'Invalidation lag',
            description:
              'From the change (event time, or the database trigger’s clock) to the eviction in Redis, by source. The freshness SLO wants 99 % of Kafka events within 1 s (dashed).',
            unit: 's',
            queries: quantiles(`cache_invalidation_lag_seconds_bucket{${IN_SCOPE}}`, ['source'], '{{source}}'),
            thresholds: redFrom(1),
            runbooks: ['EventFreshnessBudgetBurn'],
          }),
          timeSeries({
            title: 'Events consumed by the invalidator',
            description: 'Events per second by result: applied, duplicate (already seen) or ignored (no rule for the type).',
            unit: 'ops',
            queries: [query(`sum by (result) (${rate(`cache_invalidator_events_total{${IN_SCOPE}}`)})`, '{{result}}')],
          }),
          timeSeries({
            title: 'Invalidations issued',
            description: 'Invalidations the invalidator issued per second, by kind (key, tag) and source (kafka, notify, admin).',
            unit: 'ops',
            width: 8,
            queries: [
              query(`sum by (kind, source) (${rate(`cache_invalidator_invalidations_total{${IN_SCOPE}}`)})`, '{{kind}} from {{source}}'),
            ],
          }),
          timeSeries({
            title: 'Evictions applied in Redis',
            description: 'Invalidations applied in Redis per second, by service and kind (key, tag, prefix).',
            unit: 'ops',
            width: 8,
            queries: [query(`sum by (service, kind) (${rate(`cache_invalidations_total{${IN_SCOPE}}`)})`, '{{service}} {{kind}}')],
          }),
          timeSeries({
            title: 'Hot entries re-warmed',
            description: 'Hot entries re-read through their service after an eviction, by cache and result (ok, failed, skipped).',
            unit: 'ops',
            width: 8,
            queries: [query(`sum by (cache, result) (${rate(`cache_keys_warmed_total{${IN_SCOPE}}`)})`, '{{cache}} {{result}}')],
          }),
        ],
      },
      {
        title: 'Alerts',
        panels: [
          alertStates({ alerts: ['EventFreshnessBudgetBurn', 'KafkaConsumerLagGrowing'], by: ['group'] }),
          notes({
            markdown:
              'Freshness of cached reads depends on the whole event path: outbox, Kafka, the invalidator’s consumer group (Kafka dashboard).',
            runbooks: ['EventFreshnessBudgetBurn', 'KafkaConsumerLagGrowing'],
          }),
        ],
      },
    ],
  });
}
