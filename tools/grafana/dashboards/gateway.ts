import {
  alertStates,
  API_ROUTES,
  HTTP,
  IN_NAMESPACE,
  keelsonDashboard,
  notes,
  query,
  quantiles,
  redFrom,
  rate,
  stateTimeline,
  timeSeries,
  valueMapping,
  variables,
  type DashboardModel,
} from '../conventions';

const EDGE = `${IN_NAMESPACE}, service="gateway", ${API_ROUTES}`;
const UPSTREAM = `${IN_NAMESPACE}, upstream=~"$upstream"`;
const ALERTS = ['GatewayAvailabilityBudgetBurn', 'GatewayLatencyBudgetBurn', 'GatewayCircuitBreakerOpen'] as const;

/** The edge (what clients see) and each upstream behind it (latency, breaker, what was refused). */
export function gatewayDashboard(): DashboardModel {
  return keelsonDashboard({
    uid: 'keelson-gateway',
    title: 'Keelson / Gateway',
    description: 'Public API answers at the edge, and per upstream: latency, breaker state, rejections, retries and timeouts.',
    tags: ['gateway'],
    variables: [variables.namespace(), variables.upstream()],
    rows: [
      {
        title: 'Edge',
        panels: [
          timeSeries({
            title: 'Answers by status',
            description: 'Public API answers per second by status code, as clients see them.',
            unit: 'reqps',
            width: 8,
            queries: [query(`sum by (status_code) (${rate(`${HTTP}_count{${EDGE}}`)})`, '{{status_code}}')],
          }),
          timeSeries({
            title: 'Duration at the edge',
            description:
              'p50, p95 and p99 of public API answer times, upstream calls included. The latency SLO counts answers above 250 ms (dashed).',
            unit: 's',
            width: 8,
            queries: quantiles(`${HTTP}_bucket{${EDGE}}`, [], 'all'),
            thresholds: redFrom(0.25),
            runbooks: ['GatewayLatencyBudgetBurn', 'GatewayAvailabilityBudgetBurn'],
          }),
          timeSeries({
            title: 'Refused at the edge',
            description:
              'Requests the gateway answered itself: 429 by the exhausted limit (client or ip) and 401/403 by token-check reason.',
            unit: 'reqps',
            width: 8,
            queries: [
              query(`sum by (scope) (${rate(`gateway_rate_limited_total{${IN_NAMESPACE}}`)})`, 'rate limited: {{scope}}'),
              query(`sum by (reason) (${rate(`gateway_auth_failures_total{${IN_NAMESPACE}}`)})`, 'token: {{reason}}'),
            ],
          }),
        ],
      },
      {
        title: 'Upstreams',
        panels: [
          timeSeries({
            title: 'Upstream duration',
            description: 'p50, p95 and p99 per upstream, to the answer’s headers, retries included.',
            unit: 's',
            queries: quantiles(`gateway_upstream_request_duration_seconds_bucket{${UPSTREAM}}`, ['upstream'], '{{upstream}}'),
          }),
          timeSeries({
            title: 'Upstream calls by outcome',
            description: 'Calls per second per upstream and outcome.',
            unit: 'reqps',
            queries: [
              query(
                `sum by (upstream, outcome) (${rate(`gateway_upstream_request_duration_seconds_count{${UPSTREAM}}`)})`,
                '{{upstream}} {{outcome}}',
              ),
            ],
          }),
          stateTimeline({
            title: 'Circuit breakers',
            description:
              'Breaker per upstream (worst replica): closed, half-open (one trial call allowed) or open (calls refused with 503).',
            unit: 'none',
            width: 24,
            height: 6,
            queries: [query(`max by (upstream) (gateway_circuit_breaker_state{${UPSTREAM}})`, '{{upstream}}')],
            mappings: [
              valueMapping({
                0: { text: 'closed', color: 'green' },
                1: { text: 'half-open', color: 'orange' },
                2: { text: 'open', color: 'red' },
              }),
            ],
            runbooks: ['GatewayCircuitBreakerOpen'],
          }),
          timeSeries({
            title: 'Rejected without calling',
            description: 'Requests refused before reaching the upstream: breaker open or bulkhead full.',
            unit: 'reqps',
            width: 8,
            queries: [
              query(`sum by (upstream, reason) (${rate(`gateway_upstream_rejections_total{${UPSTREAM}}`)})`, '{{upstream}} {{reason}}'),
            ],
            runbooks: ['GatewayCircuitBreakerOpen'],
          }),
          timeSeries({
            title: 'Retries',
            description: 'Repeated attempts of idempotent requests per upstream.',
            unit: 'reqps',
            width: 8,
            queries: [query(`sum by (upstream) (${rate(`gateway_upstream_retries_total{${UPSTREAM}}`)})`, '{{upstream}}')],
          }),
          timeSeries({
            title: 'Timeouts',
            description: 'Upstream calls abandoned at the timeout budget (answered 504).',
            unit: 'reqps',
            width: 8,
            queries: [query(`sum by (upstream) (${rate(`gateway_upstream_timeouts_total{${UPSTREAM}}`)})`, '{{upstream}}')],
          }),
        ],
      },
      {
        title: 'Alerts',
        panels: [
          alertStates({ alerts: ALERTS, by: ['upstream'] }),
          notes({
            markdown: 'The gateway’s SLOs count public API answers (`/api/v1/…`, `/.well-known/…`); budgets are on the SLO dashboard.',
            runbooks: ALERTS,
          }),
        ],
      },
    ],
  });
}
