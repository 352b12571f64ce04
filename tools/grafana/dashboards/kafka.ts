import {
  alertStates,
  IN_SCOPE,
  keelsonDashboard,
  notes,
  query,
  quantiles,
  redFrom,
  rate,
  timeSeries,
  variables,
  type DashboardModel,
} from '../conventions';

const DLQ = 'topic=~".+[.]dlq"';
const ALERTS = ['OutboxBacklogAging', 'KafkaConsumerLagGrowing', 'EventFreshnessBudgetBurn'] as const;
/** One value per partition first (every replica may report every partition), then the sum. */
const lagPerPartition = `max by (group, topic, partition) (kafka_consumer_lag_records{${IN_SCOPE}})`;

/** Events from the outbox to Kafka and from Kafka to each consumer group, and what went to dead letters. */
export function kafkaDashboard(): DashboardModel {
  return keelsonDashboard({
    uid: 'keelson-kafka',
    title: 'Keelson / Kafka and outbox',
    description: 'Outbox relay, produce and consume throughput by topic, consumer lag per group and partition, dead letters.',
    tags: ['kafka'],
    variables: [variables.namespace(), variables.service()],
    rows: [
      {
        title: 'Outbox and produce',
        panels: [
          timeSeries({
            title: 'Records produced by topic',
            description: 'Records Kafka acknowledged per second, by topic: outbox relay, dead letters and replays alike.',
            unit: 'ops',
            queries: [query(`sum by (topic) (${rate(`kafka_messages_produced_total{${IN_SCOPE}}`)})`, '{{topic}}')],
          }),
          timeSeries({
            title: 'Outbox events published by topic',
            description: 'Events the outbox relay published (acknowledged) per second, by topic.',
            unit: 'ops',
            queries: [query(`sum by (topic) (${rate(`outbox_events_published_total{${IN_SCOPE}}`)})`, '{{topic}}')],
          }),
          timeSeries({
            title: 'Outbox backlog',
            description: 'Events written and not yet published, and the age of the oldest (the alert fires past 60 s, dashed).',
            unit: 's',
            width: 8,
            queries: [query(`max by (service) (outbox_oldest_unpublished_age_seconds{${IN_SCOPE}})`, '{{service}} oldest')],
            thresholds: redFrom(60),
            runbooks: ['OutboxBacklogAging'],
          }),
          timeSeries({
            title: 'Outbox events waiting',
            description: 'Events in the outbox not yet published, per service (every replica reports the same table).',
            unit: 'short',
            width: 8,
            queries: [query(`max by (service) (outbox_backlog_events{${IN_SCOPE}})`, '{{service}}')],
            runbooks: ['OutboxBacklogAging'],
          }),
          timeSeries({
            title: 'Outbox relay batches',
            description: 'p95 time to claim, publish and mark one relay batch, and batches that failed to publish (retried).',
            unit: 's',
            width: 8,
            queries: [
              query(
                `histogram_quantile(0.95, sum by (service, le) (${rate(`outbox_relay_batch_duration_seconds_bucket{${IN_SCOPE}}`)}))`,
                '{{service}} p95',
              ),
              query(`sum by (service) (${rate(`outbox_publish_failures_total{${IN_SCOPE}}`)})`, '{{service}} failed batches/s'),
            ],
          }),
        ],
      },
      {
        title: 'Consume',
        panels: [
          timeSeries({
            title: 'Records consumed by topic and group',
            description: 'Records each consumer group finished per second (processed, dead-lettered or skipped), by topic.',
            unit: 'ops',
            queries: [query(`sum by (topic, group) (${rate(`kafka_messages_consumed_total{${IN_SCOPE}}`)})`, '{{group}} ← {{topic}}')],
          }),
          timeSeries({
            title: 'Consume outcomes by group',
            description:
              'Per group: processed, dead_lettered (sent to <topic>.dlq) or skipped_replay (a replayed record the group does not accept).',
            unit: 'ops',
            queries: [query(`sum by (group, outcome) (${rate(`kafka_messages_consumed_total{${IN_SCOPE}}`)})`, '{{group}} {{outcome}}')],
          }),
          timeSeries({
            title: 'Consumer lag by group and topic',
            description:
              'Records not yet processed, per group and topic. KafkaConsumerLagGrowing pages above 100 records while still growing.',
            unit: 'short',
            queries: [query(`sum by (group, topic) (${lagPerPartition})`, '{{group}} ← {{topic}}')],
            thresholds: redFrom(100),
            runbooks: ['KafkaConsumerLagGrowing'],
          }),
          timeSeries({
            title: 'Consumer lag by partition',
            description: 'The same lag per partition: one hot partition (a hot key) or all of them (a slow consumer).',
            unit: 'short',
            queries: [query(lagPerPartition, '{{group}} ← {{topic}}/{{partition}}')],
            runbooks: ['KafkaConsumerLagGrowing'],
          }),
          timeSeries({
            title: 'Batch handling time',
            description: 'p50, p95 and p99 time to handle one fetched batch (handler calls, retries, dead letters, commit), per group.',
            unit: 's',
            width: 24,
            queries: quantiles(`kafka_consumer_batch_duration_seconds_bucket{${IN_SCOPE}}`, ['group'], '{{group}}'),
          }),
        ],
      },
      {
        title: 'Dead letters and replays',
        panels: [
          timeSeries({
            title: 'Dead-lettered by group',
            description:
              'Records a group gave up on (contract violation, or a handler that kept failing) and wrote to <topic>.dlq. Read them before re-driving.',
            unit: 'ops',
            width: 8,
            queries: [
              query(
                `sum by (group, topic) (${rate(`kafka_messages_consumed_total{${IN_SCOPE}, outcome="dead_lettered"}`)})`,
                '{{group}} ← {{topic}}',
              ),
            ],
            noValue: '0',
          }),
          timeSeries({
            title: 'Dead-letter topics written',
            description: 'Records produced to <topic>.dlq per second.',
            unit: 'ops',
            width: 8,
            queries: [query(`sum by (topic) (${rate(`kafka_messages_produced_total{${IN_SCOPE}, ${DLQ}}`)})`, '{{topic}}')],
            noValue: '0',
          }),
          timeSeries({
            title: 'Replayed records skipped',
            description: 'Records carrying x-replay-id that a group skipped because it does not accept replays.',
            unit: 'ops',
            width: 8,
            queries: [query(`sum by (group) (${rate(`messaging_replayed_records_skipped_total{${IN_SCOPE}}`)})`, '{{group}}')],
            noValue: '0',
          }),
        ],
      },
      {
        title: 'Alerts',
        panels: [
          alertStates({ alerts: ALERTS, by: ['service', 'group', 'topic'] }),
          notes({
            markdown:
              'Freshness (event written → cache evicted) is an SLO; a stuck relay or consumer is caught by OutboxBacklogAging and KafkaConsumerLagGrowing, which the SLO cannot see.',
            runbooks: ALERTS,
          }),
        ],
      },
    ],
  });
}
