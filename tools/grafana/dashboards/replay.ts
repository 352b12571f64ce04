import { HTTP, IN_NAMESPACE, keelsonDashboard, notes, query, rate, stat, timeSeries, variables, type DashboardModel } from '../conventions';

const REPLAY = `${IN_NAMESPACE}, service="replay"`;

/** Replay jobs: how many, in which state, how fast they copy and how far they are from done. */
export function replayDashboard(): DashboardModel {
  return keelsonDashboard({
    uid: 'keelson-replay',
    title: 'Keelson / Replay jobs',
    description: 'Replay jobs by state, records replayed, lag behind each job’s plan, and the replay API.',
    tags: ['replay'],
    variables: [variables.namespace()],
    rows: [
      {
        title: 'Jobs',
        panels: [
          stat({
            title: 'Jobs running',
            description: 'Replay jobs copying records now, over all replicas.',
            unit: 'none',
            queries: [query(`sum(replay_jobs_running{${REPLAY}})`, 'running')],
          }),
          stat({
            title: 'Jobs by status',
            description: 'Jobs started, and jobs that ended done, failed or cancelled, over the time range.',
            unit: 'none',
            width: 12,
            queries: [query(`sum by (status) (increase(replay_jobs_total{${REPLAY}}[$__range]))`, '{{status}}', true)],
          }),
          stat({
            title: 'Lag behind plan',
            description: 'Records the running jobs’ plans still have to read, over all replicas.',
            unit: 'short',
            queries: [query(`sum(replay_lag_behind_plan_records{${REPLAY}})`, 'records')],
          }),
          timeSeries({
            title: 'Records replayed',
            description: 'Records written to replay targets per second.',
            unit: 'ops',
            width: 8,
            queries: [query(`sum(${rate(`replay_events_replayed_total{${REPLAY}}`)})`, 'replayed')],
          }),
          timeSeries({
            title: 'Lag behind plan over time',
            description: 'Records of the running plans not yet read: a flat line above 0 is a stuck job.',
            unit: 'short',
            width: 8,
            queries: [query(`sum(replay_lag_behind_plan_records{${REPLAY}})`, 'records')],
          }),
          timeSeries({
            title: 'Job duration',
            description: 'p50 and p95 time from a job’s start to its final status, by status.',
            unit: 's',
            width: 8,
            queries: [0.5, 0.95].map((q) =>
              query(
                `histogram_quantile(${q}, sum by (status, le) (${rate(`replay_job_duration_seconds_bucket{${REPLAY}}`)}))`,
                `{{status}} p${Math.round(q * 100)}`,
              ),
            ),
          }),
        ],
      },
      {
        title: 'Replay API',
        panels: [
          timeSeries({
            title: 'Replay API requests',
            description: 'Replay API calls per second by route and status (jobs, state reconstruction, snapshots, timelines).',
            unit: 'reqps',
            width: 16,
            queries: [
              query(
                `sum by (route, status_code) (${rate(`${HTTP}_count{${REPLAY}, route=~"/api/v1/event-replay/.+"}`)})`,
                '{{route}} {{status_code}}',
              ),
            ],
          }),
          notes({
            markdown:
              'No alert watches replays: a job is started by someone who watches it. A failed job keeps its error in its record (`GET /api/v1/event-replay/replay/{id}`); consumers that do not accept replays skip them (Kafka dashboard).',
          }),
        ],
      },
    ],
  });
}
