import { ALERT_NAMES } from '../alerts';
import { alertStates, keelsonDashboard, notes, query, stat, timeSeries, variables, redFrom, type DashboardModel } from '../conventions';

// Sloth's recording rules (prometheus/slo-*.rules.yml): one series per SLO, labelled
// sloth_service and sloth_slo, for each window of the multiwindow, multi-burn-rate alerts.
const SLO = 'sloth_service=~"$service", sloth_slo=~"$slo"';
const PER_SLO = 'sloth_service, sloth_slo';
const SLO_ALERTS = ALERT_NAMES.filter((name) => name.endsWith('BudgetBurn'));

/** Error ratio over `window` divided by the error budget: 1 spends the budget exactly in 30 days. */
const burnRate = (window: string) =>
  query(
    `max by (${PER_SLO}) (slo:sli_error:ratio_rate${window}{${SLO}}) / on (${PER_SLO}) max by (${PER_SLO}) (slo:error_budget:ratio{${SLO}})`,
    `{{sloth_service}} {{sloth_slo}} ${window}`,
  );

/** The four alert conditions of the SRE workbook: a long and a short window over the same factor. */
const burnRatePanel = (title: string, factor: number, long: string, short: string, severity: string) =>
  timeSeries({
    title,
    description: `Burn rate over ${long} and ${short}. Both above ${factor} (the dashed line) ${severity === 'page' ? 'pages' : 'opens a ticket'}: at ${factor}× the 30-day budget lasts ${Math.round((30 / factor) * 10) / 10} days.`,
    unit: 'short',
    width: 12,
    queries: [burnRate(long), burnRate(short)],
    thresholds: redFrom(factor),
    min: 0,
  });

/** Budgets and burn rates of every SLO Sloth generates rules for, and the state of their alerts. */
export function slosDashboard(): DashboardModel {
  return keelsonDashboard({
    uid: 'keelson-slos',
    title: 'Keelson / SLOs and error budgets',
    description: 'Error budget left over 30 days, burn rates over the alert windows, and burn-rate alert states, per SLO.',
    tags: ['slo'],
    variables: [variables.sloService(), variables.slo()],
    rows: [
      {
        title: 'Error budgets (30 days)',
        panels: [
          stat({
            title: 'Budget remaining',
            description: 'Share of the 30-day error budget not yet spent, per SLO. Below 0 the objective is missed for the period.',
            unit: 'percentunit',
            width: 8,
            height: 6,
            queries: [query(`min by (${PER_SLO}) (slo:period_error_budget_remaining:ratio{${SLO}})`, '{{sloth_service}} {{sloth_slo}}')],
            thresholds: [
              { value: null, color: 'red' },
              { value: 0, color: 'orange' },
              { value: 0.25, color: 'green' },
            ],
          }),
          timeSeries({
            title: 'Budget remaining over time',
            description: 'How the 30-day budget was spent: a steep drop is an incident, a slow slide a chronic problem.',
            unit: 'percentunit',
            width: 16,
            height: 6,
            queries: [query(`min by (${PER_SLO}) (slo:period_error_budget_remaining:ratio{${SLO}})`, '{{sloth_service}} {{sloth_slo}}')],
            thresholds: [
              { value: null, color: 'red' },
              { value: 0, color: 'green' },
            ],
          }),
          timeSeries({
            title: 'Error ratio (5 minutes and 30 days) against the budget',
            description:
              'The SLI’s error ratio over 5 minutes and over 30 days, and the error budget (1 − objective) it is measured against.',
            unit: 'percentunit',
            width: 24,
            queries: [
              query(`max by (${PER_SLO}) (slo:sli_error:ratio_rate5m{${SLO}})`, '{{sloth_service}} {{sloth_slo}} 5m'),
              query(`max by (${PER_SLO}) (slo:sli_error:ratio_rate30d{${SLO}})`, '{{sloth_service}} {{sloth_slo}} 30d'),
              query(`max by (${PER_SLO}) (slo:error_budget:ratio{${SLO}})`, '{{sloth_service}} {{sloth_slo}} budget'),
            ],
          }),
        ],
      },
      {
        title: 'Burn rates',
        panels: [
          burnRatePanel('Page: 14.4× over 1 h and 5 min', 14.4, '1h', '5m', 'page'),
          burnRatePanel('Page: 6× over 6 h and 30 min', 6, '6h', '30m', 'page'),
          burnRatePanel('Ticket: 3× over 1 d and 2 h', 3, '1d', '2h', 'ticket'),
          burnRatePanel('Ticket: 1× over 3 d and 6 h', 1, '3d', '6h', 'ticket'),
        ],
      },
      {
        title: 'Alerts',
        panels: [
          alertStates({ title: 'Burn-rate alerts', alerts: SLO_ALERTS, by: ['sloth_slo'], matchers: SLO }),
          notes({
            markdown:
              'Objectives and their reasons: `prometheus/README.md`. The rules come from the Sloth specs in `prometheus/slos/`; a page needs both windows of a pair above the factor.',
            runbooks: SLO_ALERTS,
          }),
        ],
      },
    ],
  });
}
