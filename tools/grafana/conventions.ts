// The conventions every Keelson dashboard follows, in one place: the datasource and scope
// variables, links between dashboards and to runbooks, and panel factories that set the
// datasource, refIds, units and legends the same way everywhere (docs/adr/0013).
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  BigValueColorMode,
  BigValueGraphMode,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VisibilityMode,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DashboardLink,
  type Panel,
  type ValueMapping,
  type VariableModel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanelBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TextPanelBuilder, TextMode } from '@grafana/grafana-foundation-sdk/text';
import { PanelBuilder as TimeSeriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { RUNBOOK_URL_PREFIX, runbookUrl, type AlertName } from './alerts';

export const TAG = 'keelson';

/** Every panel and query reads from the dashboard's `datasource` variable, never a fixed uid. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** Matchers of a service metric: the namespace chosen, and the services chosen. */
export const IN_NAMESPACE = 'namespace=~"$namespace"';
export const IN_SCOPE = 'namespace=~"$namespace", service=~"$service"';
/** API traffic only: probes and scrapes would dilute rates, error ratios and latencies. */
export const API_ROUTES = 'route!~"/health/.+|/metrics"';
/** The histogram every service records its HTTP answers in (route templates, never raw paths). */
export const HTTP = 'http_server_request_duration_seconds';
export const SERVICES = ['gateway', 'auth', 'orders', 'replay', 'cache-invalidator', 'benchmark'] as const;

export interface Query {
  expr: string;
  legend: string;
  /** Evaluate at the end of the range only (tables, stats of a whole range). */
  instant?: boolean;
}

export const query = (expr: string, legend: string, instant = false): Query => ({ expr, legend, instant });

/** `rate(<selector>[$__rate_interval])`: the window Grafana derives from the scrape interval. */
export const rate = (selector: string): string => `rate(${selector}[$__rate_interval])`;

/** p50, p95 and p99 of a histogram, aggregated over everything but `by` and `le`. */
export function quantiles(bucketSelector: string, by: readonly string[], legend: string): Query[] {
  const grouping = [...by, 'le'].join(', ');
  return [0.5, 0.95, 0.99].map((q) =>
    query(`histogram_quantile(${q}, sum by (${grouping}) (${rate(bucketSelector)}))`, `${legend} p${Math.round(q * 100)}`),
  );
}

/**
 * `part / whole` per `by`, 0 (not a gap) where `whole` has traffic and `part` has none: an
 * error ratio with no errors is 0 %, and a counter that was never incremented has no series.
 */
export function ratio(part: string, whole: string, by: readonly string[]): string {
  const sum = by.length > 0 ? `sum by (${by.join(', ')})` : 'sum';
  return `(${sum} (${rate(part)}) or 0 * ${sum} (${rate(whole)})) / ${sum} (${rate(whole)})`;
}

// ---------------------------------------------------------------------------------------
// Variables

const datasourceVariable = () => new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');

function queryVariable(name: string, label: string, definition: string) {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(definition)
    .definition(definition)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' });
}

/** Keelson's processes among whatever else the cluster's Prometheus scrapes. */
const OURS = `service=~"${SERVICES.join('|')}"`;

/** Scope variables a dashboard may offer; every one is multi-valued, so queries match it with `=~`. */
export const variables = {
  /** The Kubernetes namespace (a target label in the cluster; "All" locally, where there is none). */
  namespace: () => queryVariable('namespace', 'Namespace', `label_values(process_start_time_seconds{${OURS}}, namespace)`),
  service: () => queryVariable('service', 'Service', `label_values(process_start_time_seconds{namespace=~"$namespace", ${OURS}}, service)`),
  upstream: () =>
    queryVariable(
      'upstream',
      'Upstream',
      'label_values(gateway_upstream_request_duration_seconds_count{namespace=~"$namespace"}, upstream)',
    ),
  deployment: () =>
    queryVariable('deployment', 'Deployment', 'label_values(kube_deployment_status_replicas{namespace=~"$namespace"}, deployment)'),
  sloService: () => queryVariable('service', 'Service', 'label_values(sloth_slo_info, sloth_service)'),
  slo: () => queryVariable('slo', 'SLO', 'label_values(sloth_slo_info{sloth_service=~"$service"}, sloth_slo)'),
} satisfies Record<string, () => cog.Builder<VariableModel>>;

// ---------------------------------------------------------------------------------------
// Links

const runbookLink = (alert: AlertName) =>
  new DashboardLinkBuilder(`Runbook: ${alert}`).type(DashboardLinkType.Link).url(runbookUrl(alert)).targetBlank(true);

/** Links on every dashboard: the other Keelson dashboards (by tag) and the runbook index. */
const dashboardLinks = (): cog.Builder<DashboardLink>[] => [
  new DashboardLinkBuilder('Keelson').type(DashboardLinkType.Dashboards).tags([TAG]).asDropdown(true).includeVars(true).keepTime(true),
  new DashboardLinkBuilder('Runbooks').type(DashboardLinkType.Link).url(`${RUNBOOK_URL_PREFIX}README.md`).icon('doc').targetBlank(true),
];

// ---------------------------------------------------------------------------------------
// Panels

interface Step {
  value: number | null;
  color: string;
}

interface PanelOptions {
  title: string;
  /** What the panel shows and what to do about it: on-call reads this at 3 a.m. */
  description: string;
  queries: Query[];
  unit: string;
  width?: number;
  height?: number;
  /** Alerts whose runbooks the panel links to. */
  runbooks?: AlertName[];
  /** Colour steps; the first has value null (the base colour). */
  thresholds?: Step[];
  mappings?: ValueMapping[];
  min?: number;
  max?: number;
  /** What a stat shows when its query has no series (a counter never incremented). */
  noValue?: string;
}

/** The settings every panel with queries shares. */
function common<B extends TimeSeriesPanelBuilder | StatPanelBuilder | StateTimelinePanelBuilder>(builder: B, o: PanelOptions): B {
  builder
    .title(o.title)
    .description(o.description)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .span(o.width ?? 12)
    .height(o.height ?? 8)
    .targets(
      o.queries.map((q, i) => {
        const target = new DataqueryBuilder()
          .datasource(DATASOURCE)
          .refId(String.fromCharCode(65 + i))
          .expr(q.expr)
          .legendFormat(q.legend);
        return q.instant ? target.instant() : target.range();
      }),
    );
  if (o.runbooks) builder.links(o.runbooks.map(runbookLink));
  if (o.thresholds) builder.thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(o.thresholds));
  if (o.mappings) builder.mappings(o.mappings);
  if (o.min !== undefined) builder.min(o.min);
  if (o.max !== undefined) builder.max(o.max);
  if (o.noValue !== undefined) builder.noValue(o.noValue);
  return builder;
}

export function timeSeries(o: PanelOptions & { stacked?: boolean }): TimeSeriesPanelBuilder {
  const panel = common(new TimeSeriesPanelBuilder(), o)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]))
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
    .lineWidth(1)
    .fillOpacity(o.stacked ? 30 : 10)
    .showPoints(VisibilityMode.Never)
    .spanNulls(false);
  if (o.stacked) panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  // Thresholds on a time series are drawn as dashed lines: where an alert or objective sits.
  if (o.thresholds) panel.thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
  return panel;
}

export function stat(o: PanelOptions): StatPanelBuilder {
  return common(new StatPanelBuilder(), { width: 6, height: 4, ...o })
    .graphMode(BigValueGraphMode.Area)
    .colorMode(BigValueColorMode.Value)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
}

/** A time line of states (breaker positions, alert states) with value mappings. */
export function stateTimeline(o: PanelOptions): StateTimelinePanelBuilder {
  return common(new StateTimelinePanelBuilder(), o).showValue(VisibilityMode.Never).mergeValues(true).fillOpacity(80);
}

export const valueMapping = (texts: Record<number, { text: string; color: string }>): ValueMapping => ({
  type: MappingType.ValueToText,
  options: Object.fromEntries(Object.entries(texts).map(([value, result], index) => [value, { ...result, index }])),
});

/**
 * Alert states over time, 1 pending and 2 firing, one line per alert (and `by` labels), each
 * linking to its runbook. ALERTS only has series while an alert is pending or firing.
 */
export function alertStates(o: {
  title?: string;
  alerts: readonly AlertName[];
  by?: readonly string[];
  /** More matchers on ALERTS, e.g. the dashboard's variables. */
  matchers?: string;
  width?: number;
}) {
  const matchers = `alertname=~"${o.alerts.join('|')}"${o.matchers ? `, ${o.matchers}` : ''}`;
  const by = ['alertname', ...(o.by ?? []), 'severity'].join(', ');
  const legend = ['{{alertname}}', ...(o.by ?? []).map((l) => `{{${l}}}`), '({{severity}})'].join(' ');
  const panel = stateTimeline({
    title: o.title ?? 'Alerts',
    description: 'Pending (orange) and firing (red) alerts of this area. A row links to the alert’s runbook.',
    unit: 'none',
    width: o.width ?? 16,
    height: 6,
    queries: [
      query(
        `max by (${by}) (ALERTS{${matchers}, alertstate="firing"}) * 2 or max by (${by}) (ALERTS{${matchers}, alertstate="pending"})`,
        legend,
      ),
    ],
    mappings: [
      valueMapping({
        1: { text: 'pending', color: 'orange' },
        2: { text: 'firing', color: 'red' },
      }),
    ],
  });
  return panel.dataLinks([
    new DashboardLinkBuilder('Runbook: ${__field.labels.alertname}')
      .type(DashboardLinkType.Link)
      .url(`${RUNBOOK_URL_PREFIX}\${__field.labels.alertname}.md`)
      .targetBlank(true),
  ]);
}

/** A Markdown note: what the dashboard is for and the runbooks of its alerts. */
export function notes(o: { title?: string; markdown: string; runbooks?: readonly AlertName[]; width?: number; height?: number }) {
  const runbooks = (o.runbooks ?? []).map((alert) => `- [${alert}](${runbookUrl(alert)})`).join('\n');
  const content = runbooks ? `${o.markdown}\n\n**Runbooks**\n\n${runbooks}\n` : `${o.markdown}\n`;
  return new TextPanelBuilder()
    .title(o.title ?? 'About')
    .mode(TextMode.Markdown)
    .content(content)
    .span(o.width ?? 8)
    .height(o.height ?? 6);
}

// ---------------------------------------------------------------------------------------
// Dashboards

/**
 * The classic dashboard JSON model: what every Grafana version and the chart's ConfigMap
 * provisioning load. The SDK deprecates it for Grafana 12's v2 resource format, which file and
 * ConfigMap provisioning do not take yet (docs/adr/0013-dashboards-as-code.md).
 */
// eslint-disable-next-line @typescript-eslint/no-deprecated -- deliberate, see above
export type DashboardModel = Dashboard;

export interface Row {
  title: string;
  panels: cog.Builder<Panel>[];
}

export interface DashboardSpec {
  /** Stable: links and bookmarks use it. `keelson-<name>`, and grafana/<name>.json holds it. */
  uid: `keelson-${string}`;
  title: string;
  description: string;
  tags: string[];
  variables: cog.Builder<VariableModel>[];
  rows: Row[];
}

/** Builds a dashboard with the shared settings, panel ids in layout order. */
export function keelsonDashboard(spec: DashboardSpec): DashboardModel {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- the classic model, see DashboardModel
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([TAG, ...spec.tags])
    .readonly()
    .timezone('browser')
    .time({ from: 'now-3h', to: 'now' })
    .refresh('30s')
    .tooltip(DashboardCursorSync.Crosshair)
    .variables([datasourceVariable(), ...spec.variables])
    .annotations([])
    .links(dashboardLinks());
  for (const row of spec.rows) {
    builder.withRow(new RowBuilder(row.title));
    for (const panel of row.panels) builder.withPanel(panel);
  }
  const built = builder.build();
  // The SDK defaults every link to Grafana 12's controls menu, which hides it; these belong in view.
  const inView = (links: DashboardLink[] | undefined) => links?.forEach((link) => delete link.placement);
  inView(built.links);
  built.panels?.forEach((panel, index) => {
    panel.id = index + 1;
    if (!('collapsed' in panel)) {
      inView(panel.links);
      inView(panel.fieldConfig?.defaults.links);
    }
  });
  return built;
}

/** Thresholds of a panel with one alert level: green below it, red from it (drawn dashed). */
export function redFrom(value: number): Step[] {
  return [
    { value: null, color: 'green' },
    { value, color: 'red' },
  ];
}
