import {
  alertStates,
  HTTP,
  IN_NAMESPACE,
  keelsonDashboard,
  notes,
  query,
  quantiles,
  redFrom,
  rate,
  ratio,
  timeSeries,
  variables,
  type DashboardModel,
} from '../conventions';

const TOKEN = `${IN_NAMESPACE}, service="auth", route="/api/v1/auth/token"`;
const ALERTS = ['AuthTokenAvailabilityBudgetBurn', 'AuthTokenLatencyBudgetBurn'] as const;

/** Token issuance (rate, latency, errors), why logins fail, and the revocation deny-list’s reach. */
export function authDashboard(): DashboardModel {
  return keelsonDashboard({
    uid: 'keelson-auth',
    title: 'Keelson / Auth',
    description: 'Token issuance rate and latency, refused and failed logins, rate-limited logins, and deny-list unavailability.',
    tags: ['auth'],
    variables: [variables.namespace()],
    rows: [
      {
        title: 'Token issuance',
        panels: [
          timeSeries({
            title: 'Tokens issued by grant',
            description: 'Access tokens issued per second, by grant type.',
            unit: 'ops',
            width: 8,
            queries: [query(`sum by (grant_type) (${rate(`auth_tokens_issued_total{${IN_NAMESPACE}}`)})`, '{{grant_type}}')],
          }),
          timeSeries({
            title: 'Token endpoint duration',
            description: 'p50, p95 and p99 of POST /api/v1/auth/token. The latency SLO counts answers above 100 ms (dashed).',
            unit: 's',
            width: 8,
            queries: quantiles(`${HTTP}_bucket{${TOKEN}}`, [], 'token'),
            thresholds: redFrom(0.1),
            runbooks: ['AuthTokenLatencyBudgetBurn'],
          }),
          timeSeries({
            title: 'Token endpoint server errors',
            description: 'Share of token requests answered 5xx; the availability SLO allows 0.1 % (dashed).',
            unit: 'percentunit',
            width: 8,
            queries: [query(ratio(`${HTTP}_count{${TOKEN}, status_code=~"5.."}`, `${HTTP}_count{${TOKEN}}`, []), '5xx')],
            thresholds: redFrom(0.001),
            runbooks: ['AuthTokenAvailabilityBudgetBurn'],
          }),
        ],
      },
      {
        title: 'Refusals',
        panels: [
          timeSeries({
            title: 'Token requests by status',
            description:
              'Token endpoint answers per second by status: 400 invalid_grant or invalid_request, 401 invalid_client, 429 rate limited.',
            unit: 'reqps',
            width: 8,
            queries: [query(`sum by (status_code) (${rate(`${HTTP}_count{${TOKEN}}`)})`, '{{status_code}}')],
          }),
          timeSeries({
            title: 'Failed logins by reason',
            description: 'Password and client-credential checks that failed, by reason.',
            unit: 'ops',
            width: 8,
            queries: [query(`sum by (reason) (${rate(`auth_logins_failed_total{${IN_NAMESPACE}}`)})`, '{{reason}}')],
          }),
          timeSeries({
            title: 'Rate-limited logins',
            description: 'Token requests refused with 429 by the login throttle (per IP, or per username and IP after repeated failures).',
            unit: 'reqps',
            width: 8,
            queries: [query(`sum(${rate(`${HTTP}_count{${TOKEN}, status_code="429"}`)})`, '429')],
            noValue: '0',
          }),
          timeSeries({
            title: 'Token checks refused at the gateway',
            description: 'Requests the gateway refused by token-check reason (missing, invalid, insufficient_scope).',
            unit: 'reqps',
            queries: [query(`sum by (reason) (${rate(`gateway_auth_failures_total{${IN_NAMESPACE}}`)})`, '{{reason}}')],
          }),
          timeSeries({
            title: 'Deny-list unavailable',
            description:
              'Token checks that could not reach the revocation deny-list, per service. Those tokens were accepted unchecked: a revoked token may have passed.',
            unit: 'ops',
            queries: [query(`sum by (service) (${rate(`auth_denylist_unavailable_total{${IN_NAMESPACE}}`)})`, '{{service}}')],
            thresholds: redFrom(0.001),
          }),
        ],
      },
      {
        title: 'Alerts',
        panels: [
          alertStates({ alerts: ALERTS }),
          notes({ markdown: 'Token SLOs: availability (no 5xx) and latency (100 ms); budgets on the SLO dashboard.', runbooks: ALERTS }),
        ],
      },
    ],
  });
}
