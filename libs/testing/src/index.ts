export { waitFor } from './lib/wait-for';
export { localPostgresConfig, localStack, repoRoot, stack, type StackComponent } from './lib/local-stack';
export { freePort, ServiceProcess, type ExitResult } from './lib/service-process';
export { SERVICES, type ServiceName } from './lib/services';
export { seededRandom } from './lib/seeded-random';
export {
  BUILTIN_VARIABLES,
  labelValuesQuery,
  metricNames,
  panelQueries,
  panelsOf,
  readDashboards,
  substituteVariables,
  variablesIn,
  type DashboardJson,
  type PanelJson,
  type PanelQuery,
  type VariableJson,
} from './lib/dashboards';
export {
  LocalPrometheus,
  type PrometheusAlert,
  type PrometheusRuleGroup,
  type PrometheusSample,
  type PrometheusTarget,
  type RuleGroupDefinition,
} from './lib/prometheus';
