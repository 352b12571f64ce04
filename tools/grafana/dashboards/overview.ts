import {
  alertStates,
  API_ROUTES,
  HTTP,
  IN_NAMESPACE,
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

const requests = `${HTTP}_count{${IN_SCOPE}, ${API_ROUTES}}`;
const serverErrors = `${HTTP}_count{${IN_SCOPE}, ${API_ROUTES}, status_code=~"5.."}`;
const buckets = `${HTTP}_bucket{${IN_SCOPE}, ${API_ROUTES}}`;
const process = (metric: string) => `${metric}{${IN_SCOPE}}`;

/** RED per service, saturation per process, the business flow, and the alerts that watch them. */
export function overviewDashboard(): DashboardModel {
  return keelsonDashboard({
    uid: 'keelson-overview',
    title: 'Keelson / Platform overview',
    description: 'Rate, errors and duration of every service’s API, process saturation, and the order flow.',
    tags: ['overview'],
    variables: [variables.namespace(), variables.service()],
    rows: [
      {
        title: 'Now',
        panels: [
          stat({
            title: 'API requests',
            description: 'Requests per second the chosen services answer on their API routes (probes and scrapes left out).',
            unit: 'reqps',
            queries: [query(`sum(${rate(requests)})`, 'requests')],
          }),
          stat({
            title: 'Server errors',
            description: 'Share of API answers that were 5xx. ServiceHighErrorRate tickets above 5 % for 10 minutes.',
            unit: 'percentunit',
            queries: [query(ratio(serverErrors, requests, []), '5xx')],
            thresholds: [
              { value: null, color: 'green' },
              { value: 0.01, color: 'orange' },
              { value: 0.05, color: 'red' },
            ],
            runbooks: ['ServiceHighErrorRate'],
          }),
          stat({
            title: 'p99 duration',
            description: 'The 99th percentile of API answer times, over all chosen services.',
            unit: 's',
            queries: [query(`histogram_quantile(0.99, sum by (le) (${rate(buckets)}))`, 'p99')],
            thresholds: [
              { value: null, color: 'green' },
              { value: 0.25, color: 'orange' },
              { value: 1, color: 'red' },
            ],
            runbooks: ['ServiceHighLatency'],
          }),
          stat({
            title: 'Processes reporting',
            description: 'Service processes whose metrics Prometheus scraped (replicas of every chosen service).',
            unit: 'none',
            queries: [query(`count(${process('process_start_time_seconds')})`, 'processes')],
          }),
        ],
      },
      {
        title: 'Traffic, errors, duration',
        panels: [
          timeSeries({
            title: 'API requests by service',
            description: 'Requests per second each service answers on its API routes.',
            unit: 'reqps',
            queries: [query(`sum by (service) (${rate(requests)})`, '{{service}}')],
          }),
          timeSeries({
            title: 'Server error ratio by service',
            description:
              'Share of each service’s API answers that were 5xx (0 where it answered no 5xx). The dashed line is the 5 % alert level.',
            unit: 'percentunit',
            queries: [query(ratio(serverErrors, requests, ['service']), '{{service}}')],
            thresholds: redFrom(0.05),
            runbooks: ['ServiceHighErrorRate'],
          }),
          timeSeries({
            title: 'Client and server errors by status',
            description: '4xx (the caller’s) and 5xx (ours) answers per second, by service and status code.',
            unit: 'reqps',
            queries: [
              query(
                `sum by (service, status_code) (${rate(`${HTTP}_count{${IN_SCOPE}, ${API_ROUTES}, status_code=~"[45].."}`)})`,
                '{{service}} {{status_code}}',
              ),
            ],
          }),
          timeSeries({
            title: 'Duration by service',
            description: 'p50, p95 and p99 of API answer times per service. ServiceHighLatency tickets when a p99 stays above 1 s.',
            unit: 's',
            queries: quantiles(buckets, ['service'], '{{service}}'),
            thresholds: redFrom(1),
            runbooks: ['ServiceHighLatency'],
          }),
          timeSeries({
            title: 'Slowest routes (p95, top 10)',
            description: 'The ten route templates with the highest p95 answer time.',
            unit: 's',
            queries: [query(`topk(10, histogram_quantile(0.95, sum by (service, route, le) (${rate(buckets)})))`, '{{service}} {{route}}')],
          }),
          timeSeries({
            title: 'Busiest routes (top 10)',
            description: 'The ten route templates with the most requests per second.',
            unit: 'reqps',
            queries: [query(`topk(10, sum by (service, route) (${rate(requests)}))`, '{{service}} {{route}}')],
          }),
        ],
      },
      {
        title: 'Saturation',
        panels: [
          timeSeries({
            title: 'CPU',
            description: 'CPU time per second of wall time, summed over each service’s processes: 1 is one core busy.',
            unit: 'short',
            width: 8,
            queries: [query(`sum by (service) (${rate(process('process_cpu_seconds_total'))})`, '{{service}}')],
          }),
          timeSeries({
            title: 'Event-loop lag (p99)',
            description: 'The worst p99 event-loop delay among each service’s processes: time a ready callback waited to run.',
            unit: 's',
            width: 8,
            queries: [query(`max by (service) (${process('nodejs_eventloop_lag_p99_seconds')})`, '{{service}}')],
            thresholds: redFrom(0.1),
          }),
          timeSeries({
            title: 'Time in garbage collection',
            description: 'Seconds spent in GC per second, summed over each service’s processes.',
            unit: 'percentunit',
            width: 8,
            queries: [query(`sum by (service) (${rate(process('nodejs_gc_duration_seconds_sum'))})`, '{{service}}')],
          }),
          timeSeries({
            title: 'Memory',
            description: 'V8 heap in use and resident set size, summed over each service’s processes.',
            unit: 'bytes',
            queries: [
              query(`sum by (service) (${process('nodejs_heap_size_used_bytes')})`, '{{service}} heap used'),
              query(`sum by (service) (${process('process_resident_memory_bytes')})`, '{{service}} resident'),
            ],
          }),
          timeSeries({
            title: 'Open handles and file descriptors',
            description:
              'libuv handles (sockets, timers, servers) and open file descriptors, summed over each service’s processes. Steady growth is a leak.',
            unit: 'short',
            queries: [
              query(`sum by (service) (${process('nodejs_active_handles_total')})`, '{{service}} handles'),
              query(`sum by (service) (${process('process_open_fds')})`, '{{service}} fds'),
            ],
          }),
        ],
      },
      {
        title: 'Orders',
        panels: [
          timeSeries({
            title: 'Orders, payments and invoices',
            description: 'Orders created, payments recorded (by kind) and invoices issued per second.',
            unit: 'ops',
            queries: [
              query(`sum(${rate(`orders_created_total{${IN_NAMESPACE}}`)})`, 'orders created'),
              query(`sum by (kind) (${rate(`payments_total{${IN_NAMESPACE}}`)})`, 'payments: {{kind}}'),
              query(`sum(${rate(`invoices_issued_total{${IN_NAMESPACE}}`)})`, 'invoices issued'),
            ],
          }),
          timeSeries({
            title: 'Order transitions',
            description: 'Order status changes per second, by source and target status.',
            unit: 'ops',
            queries: [query(`sum by (from, to) (${rate(`order_transitions_total{${IN_NAMESPACE}}`)})`, '{{from}} → {{to}}')],
          }),
        ],
      },
      {
        title: 'Alerts',
        panels: [
          alertStates({ alerts: ['ServiceHighErrorRate', 'ServiceHighLatency', 'ScrapeTargetDown'], by: ['service'] }),
          notes({
            markdown:
              'RED per service from `http_server_request_duration_seconds` (API routes only), saturation from each process’s Node.js metrics. The SLO dashboard has the error budgets; the other Keelson dashboards are in the links above.',
            runbooks: ['ServiceHighErrorRate', 'ServiceHighLatency', 'ScrapeTargetDown'],
          }),
        ],
      },
    ],
  });
}
