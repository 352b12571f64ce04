// Every committed dashboard as Grafana will provision it: identity, the datasource variable
// used everywhere, variables used safely, bounded queries, links, and metrics that exist.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BUILTIN_VARIABLES,
  metricNames,
  panelQueries,
  panelsOf,
  readDashboards,
  repoRoot,
  variablesIn,
  type DashboardJson,
  type PanelJson,
} from '@keelson/testing';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { ALERT_NAMES, RUNBOOK_URL_PREFIX } from './alerts';
import { CLUSTER_ONLY_METRIC, isRecordingRule, NO_DATA_UNTIL_IT_HAPPENS, PENDING_METRICS, PROMETHEUS_SERIES } from './query-expectations';

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
/** Labels a query may group by: each has a handful of values (no ids, pods, instances or paths). */
const GROUPING_LABELS = new Set([
  ...['service', 'route', 'method', 'status_code', 'le', 'namespace'],
  ...[
    'upstream',
    'outcome',
    'reason',
    'scope',
    'topic',
    'group',
    'partition',
    'cache',
    'result',
    'kind',
    'source',
    'status',
    'grant_type',
    'token_type',
  ],
  ...['from', 'to', 'alertname', 'alertstate', 'severity', 'sloth_service', 'sloth_slo'],
  ...['deployment', 'horizontalpodautoscaler', 'container'],
]);

const dashboards = readDashboards();
const cases = dashboards.map(({ file, dashboard }) => [file, dashboard] as const);

/** Every object under `value` that has a `datasource` key, with where it is. */
function datasourceRefs(value: unknown, where = '$'): { where: string; ref: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => datasourceRefs(item, `${where}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => [
    ...(key === 'datasource' ? [{ where: `${where}.datasource`, ref: child }] : []),
    ...datasourceRefs(child, `${where}.${key}`),
  ]);
}

const variableNames = (d: DashboardJson) => (d.templating?.list ?? []).map((v) => v.name);
const queryPanels = (d: DashboardJson) => panelsOf(d).filter((p) => p.type !== 'text');
const linksOf = (p: PanelJson) => [...(p.links ?? []), ...(p.fieldConfig?.defaults?.links ?? [])];

/** Metric names the services define (`new Counter({ name: ... })` and friends), with histogram series. */
function sourceMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : /(?<!\.spec|\.integration-spec)\.ts$/.test(e.name) ? [path.join(dir, e.name)] : [],
    );
  for (const file of [...walk(path.join(repoRoot, 'libs')), ...walk(path.join(repoRoot, 'apps'))]) {
    for (const m of readFileSync(file, 'utf8').matchAll(/new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name: '([\w:]+)'/g)) {
      const [, type, name = ''] = m;
      names.add(name);
      if (type === 'Histogram') for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${name}${suffix}`);
    }
  }
  // prom-client's default process and Node.js metrics (every service collects them).
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  for (const metric of defaults.getMetricsAsArray()) {
    names.add(metric.name);
    if (metric instanceof Histogram) for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

const pendingName = (name: string) =>
  Object.keys(PENDING_METRICS).find((p) => name === p || name.replace(/_(bucket|count|sum)$/, '') === p);

/** Recording rules and alerts in prometheus/*.rules.yml (empty until the rule files exist). */
function ruleFiles(): { records: Set<string>; alerts: Set<string> } {
  const dir = path.join(repoRoot, 'prometheus');
  // Names only, read line by line: `- record: name` / `- alert: Name` as Prometheus rule files write them.
  const text = readdirSync(dir)
    .filter((f) => /\.rules\.ya?ml$/.test(f))
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
  const names = (kind: string) =>
    new Set([...text.matchAll(new RegExp(`^\\s*-?\\s*${kind}:\\s*([\\w:]+)\\s*$`, 'gm'))].map((m) => m[1] ?? ''));
  return { records: names('record'), alerts: names('alert') };
}

describe('grafana/*.json provisioning', () => {
  it('holds the eight Keelson dashboards with unique uids and titles', () => {
    expect(dashboards.length).toBe(8);
    expect(new Set(dashboards.map((d) => d.dashboard.uid)).size).toBe(dashboards.length);
    expect(new Set(dashboards.map((d) => d.dashboard.title)).size).toBe(dashboards.length);
  });

  describe.each(cases)('%s', (file, dashboard) => {
    const queries = panelQueries(dashboard);

    it('has a stable uid matching its file, a title, tags and a current schema version', () => {
      expect(dashboard.uid).toMatch(/^keelson-[a-z0-9-]+$/);
      expect((dashboard.uid ?? '').length).toBeLessThanOrEqual(40); // Grafana's limit
      expect(file).toBe(`${(dashboard.uid ?? '').replace(/^keelson-/, '')}.json`);
      expect(dashboard.title).toMatch(/^Keelson \/ \S/);
      expect(dashboard.tags).toContain('keelson');
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    });

    it('offers a Prometheus datasource variable and never names a datasource by uid', () => {
      expect(dashboard.templating?.list?.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
      const refs = datasourceRefs(dashboard);
      expect(refs.length).toBeGreaterThan(0);
      expect(refs.filter(({ ref }) => JSON.stringify(ref) !== JSON.stringify(DATASOURCE))).toEqual([]);
    });

    it('reads every panel and query through the datasource variable', () => {
      for (const panel of queryPanels(dashboard)) {
        expect([panel.title, panel.datasource]).toEqual([panel.title, DATASOURCE]);
        expect([panel.title, panel.targets?.length ?? 0]).toEqual([panel.title, expect.any(Number)]);
        expect(panel.targets?.length).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) expect([panel.title, target.datasource]).toEqual([panel.title, DATASOURCE]);
        const refIds = (panel.targets ?? []).map((t) => t.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
      for (const variable of (dashboard.templating?.list ?? []).filter((v) => v.type === 'query')) {
        expect([variable.name, variable.datasource]).toEqual([variable.name, DATASOURCE]);
      }
    });

    it('gives every panel an id, a place that overlaps no other, and every chart a description', () => {
      const panels = dashboard.panels ?? [];
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(panels.length);
      for (const panel of queryPanels(dashboard)) expect([panel.title, (panel.description?.length ?? 0) > 10]).toEqual([panel.title, true]);
      const boxes = panels.map((p) => ({ title: p.title, ...(p.gridPos ?? { x: 0, y: 0, w: 0, h: 0 }) }));
      for (const box of boxes) expect(box.w * box.h).toBeGreaterThan(0);
      const overlaps = boxes.flatMap((a, i) =>
        boxes
          .slice(i + 1)
          .filter((b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
          .map((b) => [a.title, b.title]),
      );
      expect(overlaps).toEqual([]);
    });

    it('uses only variables it defines, each multi-valued and matched with a regex', () => {
      const defined = new Set([...variableNames(dashboard), ...Object.keys(BUILTIN_VARIABLES)]);
      for (const { panel, expr } of queries) {
        expect([panel, variablesIn(expr).filter((v) => !defined.has(v))]).toEqual([panel, []]);
        // `label="$var"` breaks on "All" (.*) and on several values; `=~` handles both.
        expect([panel, /\w+\s*!?=\s*"[^"]*\$/.exec(expr)?.[0]]).toEqual([panel, undefined]);
      }
      for (const variable of (dashboard.templating?.list ?? []).filter((v) => v.type === 'query')) {
        expect(variable).toMatchObject({ multi: true, includeAll: true, allValue: '.*' });
      }
    });

    it('takes rates over $__rate_interval and groups only by bounded labels', () => {
      for (const { panel, expr } of queries) {
        const windows = [...expr.matchAll(/\b(?:rate|irate)\((?:[^()[\]]|\([^()]*\))*\[([^\]]+)\]\)/g)].map((m) => m[1]);
        expect([panel, windows.filter((w) => w !== '$__rate_interval')]).toEqual([panel, []]);
        const grouped = [...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) =>
          (m[1] ?? '').split(',').map((l) => l.trim()),
        );
        expect([panel, grouped.filter((label) => label && !GROUPING_LABELS.has(label))]).toEqual([panel, []]);
      }
    });

    it('scopes every service and cluster metric to the chosen namespace', () => {
      if (!variableNames(dashboard).includes('namespace')) return; // the SLO rules aggregate namespaces away
      for (const { panel, expr } of queries) {
        for (const name of metricNames(expr).filter((n) => (!isRecordingRule(n) && !(n in PROMETHEUS_SERIES)) || n === 'up')) {
          const selectors = [...expr.matchAll(new RegExp(`(?<![\\w:])${name}(\\{[^}]*\\})?(?![\\w:])`, 'g'))].map((m) => m[1] ?? '');
          expect([panel, name, selectors.filter((s) => !s.includes('namespace=~"$namespace"'))]).toEqual([panel, name, []]);
        }
      }
    });

    it('links to the other Keelson dashboards and to runbooks of alerts that exist', () => {
      expect(dashboard.links).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'dashboards', tags: ['keelson'] })]));
      const urls = [
        ...(dashboard.links ?? []).map((l) => l.url),
        ...panelsOf(dashboard).flatMap((p) => linksOf(p).map((l) => l.url)),
        ...panelsOf(dashboard).flatMap((p) => [...(p.options?.content ?? '').matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1])),
      ].filter((url): url is string => url?.startsWith(RUNBOOK_URL_PREFIX) ?? false);
      const runbooks = new Set(urls.map((url) => url.slice(RUNBOOK_URL_PREFIX.length)));
      expect(runbooks).toContain('README.md');
      const known = new Set([...ALERT_NAMES.map((a) => `${a}.md`), 'README.md', '${__field.labels.alertname}.md']);
      expect([...runbooks].filter((r) => !known.has(r))).toEqual([]);
      // Every alert a panel shows is a known alert, and the dashboard links its runbook.
      const shown = new Set(
        queries.flatMap(({ expr }) => [...expr.matchAll(/alertname=~"([^"]+)"/g)].flatMap((m) => (m[1] ?? '').split('|'))),
      );
      expect([...shown].filter((a) => !(ALERT_NAMES as readonly string[]).includes(a))).toEqual([]);
      expect([...shown].filter((a) => !runbooks.has(`${a}.md`))).toEqual([]);
    });
  });

  it('reads only metrics the services define, Prometheus makes, rules record, kube-state-metrics exports, or that are pending', () => {
    const defined = sourceMetrics();
    const { records } = ruleFiles();
    const unknown = dashboards.flatMap(({ dashboard }) =>
      panelQueries(dashboard).flatMap(({ panel, expr }) =>
        metricNames(expr)
          .filter((name) => {
            if (defined.has(name) || name in PROMETHEUS_SERIES || CLUSTER_ONLY_METRIC.test(name) || pendingName(name)) return false;
            // Until prometheus/ holds rule files, rule outputs are taken on trust (the integration spec checks loaded rules).
            return isRecordingRule(name) ? records.size > 0 && !records.has(name) : true;
          })
          .map((name) => `${dashboard.uid ?? '?'} / ${panel}: ${name}`),
      ),
    );
    expect(unknown).toEqual([]);
  });

  it('lists as pending only metrics no service defines yet', () => {
    const defined = sourceMetrics();
    expect(Object.keys(PENDING_METRICS).filter((name) => defined.has(name))).toEqual([]);
    const used = new Set(dashboards.flatMap(({ dashboard }) => panelQueries(dashboard).flatMap(({ expr }) => metricNames(expr))));
    expect(Object.keys(PENDING_METRICS).filter((name) => ![...used].some((u) => pendingName(u) === name))).toEqual([]);
  });

  it('excuses from returning data only queries that exist', () => {
    const all = new Set(
      dashboards.flatMap(({ dashboard }) => panelQueries(dashboard).map((q) => `${q.dashboard} / ${q.panel} / ${q.refId}`)),
    );
    expect(NO_DATA_UNTIL_IT_HAPPENS.map((q) => `${q.dashboard} / ${q.panel} / ${q.refId}`).filter((key) => !all.has(key))).toEqual([]);
  });

  // The dashboards link alerts by name: they must be exactly the alerts prometheus/*.rules.yml defines.
  const rules = ruleFiles();
  it('shows every alert the rules define, and links a runbook that exists for each', () => {
    expect([...rules.alerts].sort()).toEqual([...ALERT_NAMES].sort());
    expect(ALERT_NAMES.filter((alert) => !existsSync(path.join(repoRoot, 'docs/runbooks', `${alert}.md`)))).toEqual([]);
  });
});
