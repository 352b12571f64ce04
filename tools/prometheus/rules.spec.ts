// The rules in prometheus/ as an on-call engineer meets them: every alert says how urgent it
// is (severity), what is wrong (summary, description) and where to start (a runbook page
// that exists); recording rules are named level:metric:operations; every alert has promtool
// tests that show it firing and silent; the generated SLO rules belong to their Sloth specs.
// promtool itself (syntax, PromQL, the tests) runs in tools/prometheus/check.sh.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '../..');
const rulesDir = path.join(root, 'prometheus');
const runbooksDir = path.join(root, 'docs/runbooks');
const RUNBOOK_URL = 'https://github.com/keelson/keelson/blob/main/docs/runbooks/';
const SEVERITIES = ['page', 'ticket'];
// Sloth's metadata series (read by its dashboards); its other recordings follow the convention.
const RECORDING_NAME_EXCEPTIONS = new Set(['sloth_slo_info']);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: { exp_labels?: Record<string, string> }[];
}
interface TestFile {
  rule_files: string[];
  group_eval_order?: string[];
  tests: { name: string; alert_rule_test?: AlertRuleTest[] }[];
}
interface SloSpec {
  service: string;
  slos: {
    name: string;
    objective: number;
    sli: { events: { error_query: string; total_query: string } };
    alerting: { name: string };
  }[];
}

const readYaml = (file: string): unknown => parse(readFileSync(file, 'utf8'));
const yamlFiles = (dir: string, suffix: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort();

/** Rule files by their path relative to the repository. */
function loadRuleFiles(): Map<string, RuleFile> {
  return new Map(yamlFiles(rulesDir, '.rules.yml').map((f) => [`prometheus/${f}`, readYaml(path.join(rulesDir, f)) as RuleFile]));
}

function loadTestFiles(): Map<string, TestFile> {
  const dir = path.join(rulesDir, 'tests');
  return new Map(yamlFiles(dir, '.yaml').map((f) => [`prometheus/tests/${f}`, readYaml(path.join(dir, f)) as TestFile]));
}

const alertsOf = (files: Map<string, RuleFile>) =>
  [...files].flatMap(([file, content]) =>
    content.groups.flatMap((group) =>
      group.rules.filter((r) => r.alert !== undefined).map((rule) => ({ file, rule, name: rule.alert ?? '' })),
    ),
  );

/** What an alert lacks to be actionable; one line per problem, naming the file and alert. */
function alertProblems(files: Map<string, RuleFile>, runbookExists: (name: string) => string | undefined): string[] {
  const problems: string[] = [];
  for (const { file, rule, name } of alertsOf(files)) {
    const where = `${file}: ${name}`;
    const severity = rule.labels?.severity;
    if (severity === undefined || !SEVERITIES.includes(severity))
      problems.push(`${where}: label severity is ${JSON.stringify(severity)}, expected page or ticket`);
    for (const annotation of ['summary', 'description'])
      if (!rule.annotations?.[annotation]?.trim()) problems.push(`${where}: annotation ${annotation} is missing`);
    const url = rule.annotations?.runbook_url;
    if (url !== `${RUNBOOK_URL}${name}.md`) {
      problems.push(`${where}: runbook_url is ${JSON.stringify(url)}, expected ${RUNBOOK_URL}${name}.md`);
      continue;
    }
    const runbook = runbookExists(name);
    if (runbook === undefined) problems.push(`${where}: docs/runbooks/${name}.md does not exist`);
    else
      for (const section of ['## What it means', '## What to check', '## What to do'])
        if (!runbook.includes(section)) problems.push(`${where}: docs/runbooks/${name}.md has no "${section}" section`);
  }
  return problems;
}

const readRunbook = (name: string) => {
  const file = path.join(runbooksDir, `${name}.md`);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
};

describe('prometheus rules', () => {
  const ruleFiles = loadRuleFiles();
  const testFiles = loadTestFiles();
  const alerts = alertsOf(ruleFiles);

  it('finds the rule files, their alerts and their recordings', () => {
    expect([...ruleFiles.keys()]).toEqual(
      expect.arrayContaining(['prometheus/alerts.rules.yml', 'prometheus/recording.rules.yml', 'prometheus/slo-gateway.rules.yml']),
    );
    expect(alerts.length).toBeGreaterThanOrEqual(12);
  });

  it('gives every alert a severity (page or ticket), a summary, a description and a runbook that exists', () => {
    expect(alertProblems(ruleFiles, readRunbook)).toEqual([]);
  });

  it('reports an alert that is not actionable, naming what it lacks', () => {
    const sut = new Map<string, RuleFile>([
      [
        'prometheus/broken.rules.yml',
        {
          groups: [
            {
              name: 'broken',
              rules: [
                { alert: 'NoRunbook', expr: 'up == 0', labels: { severity: 'critical' }, annotations: { summary: 's' } },
                {
                  alert: 'Documented',
                  expr: 'up == 0',
                  labels: { severity: 'page' },
                  annotations: { summary: 's', description: 'd', runbook_url: `${RUNBOOK_URL}Documented.md` },
                },
              ],
            },
          ],
        },
      ],
    ]);
    expect(alertProblems(sut, (name) => (name === 'Documented' ? '# Documented\n## What it means\n## What to do\n' : undefined))).toEqual([
      'prometheus/broken.rules.yml: NoRunbook: label severity is "critical", expected page or ticket',
      'prometheus/broken.rules.yml: NoRunbook: annotation description is missing',
      `prometheus/broken.rules.yml: NoRunbook: runbook_url is undefined, expected ${RUNBOOK_URL}NoRunbook.md`,
      'prometheus/broken.rules.yml: Documented: docs/runbooks/Documented.md has no "## What to check" section',
    ]);
  });

  it('has no runbook page without an alert', () => {
    const names = new Set(alerts.map((a) => a.name));
    const orphans = yamlFiles(runbooksDir, '.md')
      .filter((f) => f !== 'README.md')
      .map((f) => f.replace(/\.md$/, ''))
      .filter((name) => !names.has(name));
    expect(orphans).toEqual([]);
  });

  it('names every recording rule level:metric:operations', () => {
    const records = [...ruleFiles.values()].flatMap((f) => f.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
    expect(records.length).toBeGreaterThan(0);
    expect(
      records.filter((name) => !RECORDING_NAME_EXCEPTIONS.has(name) && !/^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$/.test(name)),
    ).toEqual([]);
  });

  it('tests every alert firing (at each of its severities) and silent', () => {
    const cases = [...testFiles.values()].flatMap((f) => f.tests.flatMap((t) => t.alert_rule_test ?? []));
    const fires = new Set(cases.flatMap((c) => (c.exp_alerts ?? []).map((a) => `${c.alertname}/${a.exp_labels?.severity ?? ''}`)));
    const silent = new Set(cases.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname));
    const untested = alerts.flatMap(({ name, rule }) => [
      ...(fires.has(`${name}/${rule.labels?.severity ?? ''}`) ? [] : [`${name} (${rule.labels?.severity ?? 'no severity'}) never fires`]),
      ...(silent.has(name) ? [] : [`${name} is never shown silent`]),
    ]);
    expect([...new Set(untested)]).toEqual([]);
  });

  // promtool evaluates groups in an undefined order otherwise: an alert would sometimes read
  // the recordings of the previous evaluation, and a test would pass or fail by chance.
  it('orders the evaluation of every rule group in each promtool test file', () => {
    const problems = [...testFiles].flatMap(([file, test]) => {
      const groups = test.rule_files.flatMap((ruleFile) =>
        (readYaml(path.resolve(rulesDir, 'tests', ruleFile)) as RuleFile).groups.map((g) => g.name),
      );
      return (test.group_eval_order ?? []).join('\n') === groups.join('\n')
        ? []
        : [`${file}: group_eval_order should be ${groups.join(', ')}`];
    });
    expect(problems).toEqual([]);
  });

  it('has generated rules for every SLO spec, with its objectives, alert names and queries', () => {
    const problems = yamlFiles(path.join(rulesDir, 'slos'), '.yml').flatMap((specFile) => {
      const spec = readYaml(path.join(rulesDir, 'slos', specFile)) as SloSpec;
      const generated = ruleFiles.get(`prometheus/slo-${specFile.replace(/\.yml$/, '')}.rules.yml`);
      if (!generated) return [`prometheus/slos/${specFile}: no prometheus/slo-${specFile.replace(/\.yml$/, '')}.rules.yml`];
      const rules = generated.groups.flatMap((g) => g.rules);
      return spec.slos.flatMap((slo) => {
        const info = rules.find((r) => r.record === 'sloth_slo_info' && r.labels?.sloth_slo === slo.name);
        const severities = rules.filter((r) => r.alert === slo.alerting.name).map((r) => r.labels?.severity);
        // Sloth writes `(<error_query>)\n/\n(<total_query>)` with the window filled in; a spec
        // whose queries changed without `check.sh generate` shows here even without Sloth.
        const ratio5m = rules.find((r) => r.record === 'slo:sli_error:ratio_rate5m' && r.labels?.sloth_slo === slo.name);
        const queries = [slo.sli.events.error_query, slo.sli.events.total_query].map((q) => q.trim().replaceAll('{{.window}}', '5m'));
        return [
          ...(queries.every((q) => ratio5m?.expr.includes(q))
            ? []
            : [`${spec.service}/${slo.name}: slo:sli_error:ratio_rate5m not generated from the spec's queries`]),
          ...(info?.labels?.sloth_objective === String(slo.objective)
            ? []
            : [`${spec.service}/${slo.name}: objective ${slo.objective} not generated`]),
          ...(severities.sort().join() === 'page,ticket'
            ? []
            : [`${spec.service}/${slo.name}: alert ${slo.alerting.name} not generated as page and ticket`]),
        ];
      });
    });
    expect(problems).toEqual([]);
  });
});
