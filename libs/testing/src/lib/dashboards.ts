import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './local-stack';

/** The parts of a Grafana dashboard JSON model the tests read. */
export interface DashboardJson {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  tags?: string[];
  editable?: boolean;
  links?: { type: string; tags?: string[]; url?: string; title: string }[];
  templating?: { list?: VariableJson[] };
  panels?: PanelJson[];
}

export interface VariableJson {
  name: string;
  type: string;
  query?: unknown;
  datasource?: unknown;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}

export interface PanelJson {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: unknown;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { refId?: string; expr?: string; datasource?: unknown }[];
  links?: { url?: string; title?: string }[];
  options?: { content?: string };
  fieldConfig?: { defaults?: { links?: { url?: string; title?: string }[] } };
  /** Panels of a collapsed row. */
  panels?: PanelJson[];
}

/** One PromQL query of one panel. */
export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

/** Every dashboard in grafana/ (the files the chart provisions), parsed. */
export function readDashboards(dir = path.join(repoRoot, 'grafana')): { file: string; dashboard: DashboardJson }[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as DashboardJson }));
}

/** Every panel, those inside collapsed rows included (rows themselves left out). */
export function panelsOf(dashboard: DashboardJson): PanelJson[] {
  return (dashboard.panels ?? []).flatMap((panel) => (panel.type === 'row' ? (panel.panels ?? []) : [panel]));
}

export function panelQueries(dashboard: DashboardJson): PanelQuery[] {
  return panelsOf(dashboard).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((target) => typeof target.expr === 'string')
      .map((target) => ({
        dashboard: dashboard.uid ?? '?',
        panel: panel.title ?? '?',
        refId: target.refId ?? '?',
        expr: target.expr ?? '',
      })),
  );
}

/** Grafana's built-in variables the dashboards use, with the values a test evaluates them at. */
export const BUILTIN_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: '1m',
  __interval: '15s',
  __range: '1h',
};

/**
 * Replaces `$name`, `${name}`, `${name:format}` and `[[name]]` by `values[name]`. Throws on a
 * variable it has no value for, so a query never reaches Prometheus half-substituted.
 */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (match, braced?: string, bracketed?: string, bare?: string) => {
    const name = braced ?? bracketed ?? bare ?? '';
    const value = values[name];
    if (value === undefined) throw new Error(`no value for variable ${match} in ${expr}`);
    return value;
  });
}

/** Names of every variable a query uses. */
export function variablesIn(expr: string): string[] {
  const names = [...expr.matchAll(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
  return [...new Set(names)];
}

const PROMQL_KEYWORDS = new Set([
  // aggregation operators (written with `by`/`without` before their parentheses)
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  // binary operators, modifiers and literals
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'Inf',
  'NaN',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions (followed by
 * a parenthesis), keywords, label names (inside braces or grouping clauses) or durations.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/(?<![\w.$:])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)]
    .map((m) => m[1] ?? '')
    .filter((word) => !PROMQL_KEYWORDS.has(word));
  return [...new Set(names)];
}

/**
 * A Grafana `label_values(selector, label)` variable query as the PromQL Prometheus answers for
 * it (`group by (label) (selector)`); undefined for any other kind of variable query.
 */
export function labelValuesQuery(definition: string): string | undefined {
  const match = /^label_values\((.+),\s*(\w+)\)$/.exec(definition.trim());
  return match ? `group by (${match[2] ?? ''}) (${match[1] ?? ''})` : undefined;
}
