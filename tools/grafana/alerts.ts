/**
 * The alerts the dashboards show and link runbooks for, as prometheus/*.rules.yml names them
 * (tools/grafana/provisioning.spec.ts checks both lists agree once the rule files exist).
 */
export const ALERT_NAMES = [
  'ServiceHighErrorRate',
  'ServiceHighLatency',
  'ScrapeTargetDown',
  'PodRestarting',
  'OutboxBacklogAging',
  'KafkaConsumerLagGrowing',
  'GatewayCircuitBreakerOpen',
  'GatewayAvailabilityBudgetBurn',
  'GatewayLatencyBudgetBurn',
  'AuthTokenAvailabilityBudgetBurn',
  'AuthTokenLatencyBudgetBurn',
  'EventFreshnessBudgetBurn',
] as const;

export type AlertName = (typeof ALERT_NAMES)[number];

/** One page per alert in docs/runbooks/ (the same URLs the rules carry as `runbook_url`). */
export const RUNBOOK_URL_PREFIX = 'https://github.com/keelson/keelson/blob/main/docs/runbooks/';

export const runbookUrl = (alert: AlertName): string => `${RUNBOOK_URL_PREFIX}${alert}.md`;
