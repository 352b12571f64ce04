import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './local-stack';
import { waitFor } from './wait-for';

export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface PrometheusTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface PrometheusRuleGroup {
  name: string;
  file: string;
  rules: { name: string; type: 'alerting' | 'recording'; health: 'ok' | 'err' | 'unknown'; lastError?: string }[];
}

/** A rule group as written in a rule file (Prometheus reads JSON as the YAML it is). */
export interface RuleGroupDefinition {
  name: string;
  interval?: string;
  rules: Record<string, unknown>[];
}

interface ApiResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

/**
 * The stack's Prometheus (`tools/stack/stack.sh up prometheus`) as tests use it: scrape
 * services started on random ports, load test rules, query, read alerts. Targets and rules
 * are files in the stack's folder (`targets/*.json`, read by file_sd; `rules/*.yml`, read at
 * a reload); `cleanup()` removes the ones this instance wrote. Honours
 * `KEELSON_PROMETHEUS_URL` (another Prometheus reading the same folder),
 * `KEELSON_PROMETHEUS_PORT` and `KEELSON_STACK_DIR` as stack.sh does.
 */
export class LocalPrometheus {
  private readonly written = new Set<string>();
  /** Target file → the instances it lists. */
  private readonly registered = new Map<string, string[]>();

  constructor(
    readonly url = process.env.KEELSON_PROMETHEUS_URL ?? `http://127.0.0.1:${process.env.KEELSON_PROMETHEUS_PORT ?? '9090'}`,
    readonly dir = path.join(process.env.KEELSON_STACK_DIR ?? path.join(repoRoot, '.stack'), 'prometheus'),
  ) {}

  private async api<T>(apiPath: string): Promise<T> {
    const response = await fetch(`${this.url}${apiPath}`);
    const body = (await response.json()) as ApiResponse<T>;
    if (response.status !== 200 || body.status !== 'success') throw new Error(`${apiPath}: ${response.status} ${body.error ?? ''}`);
    return body.data;
  }

  /** Replaces a file in one step, so Prometheus never reads half of it. */
  private writeFile(file: string, content: string): void {
    mkdirSync(path.dirname(file), { recursive: true });
    const partial = `${file}.partial`;
    writeFileSync(partial, content);
    renameSync(partial, file);
    this.written.add(file);
  }

  /** True once Prometheus answers its readiness endpoint. */
  async ready(): Promise<boolean> {
    try {
      return (await fetch(`${this.url}/-/ready`)).status === 200;
    } catch {
      return false;
    }
  }

  /**
   * Scrapes `targets` (`host:port`) under `labels` (give a `job`) from now on, and waits
   * until Prometheus has scraped each of them successfully.
   */
  async registerTargets(name: string, targets: string[], labels: Record<string, string>, timeoutMs = 30_000): Promise<void> {
    const file = path.join(this.dir, 'targets', `${name}.json`);
    this.writeFile(file, JSON.stringify([{ targets, labels }], null, 2));
    this.registered.set(file, targets);
    await waitFor(
      `Prometheus to scrape ${targets.join(', ')}`,
      async () => {
        const up = (await this.targets()).filter((t) => targets.includes(t.labels.instance ?? '') && t.health === 'up');
        return up.length === targets.length ? true : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /**
   * Writes the rule file `rules/<name>.yml`, reloads, and waits until its groups are loaded.
   * Register targets first: see `cleanup()` about reloads racing target file changes.
   */
  async loadRules(name: string, groups: RuleGroupDefinition[]): Promise<void> {
    const file = path.join(this.dir, 'rules', `${name}.yml`);
    this.writeFile(file, JSON.stringify({ groups }, null, 2));
    await this.reload();
    await waitFor(`Prometheus to load ${file}`, async () => {
      const loaded = (await this.rules()).filter((g) => g.file === file).map((g) => g.name);
      return groups.every((g) => loaded.includes(g.name)) ? true : undefined;
    });
  }

  /** POST /-/reload (the stack runs Prometheus with --web.enable-lifecycle): config and rules again. */
  async reload(): Promise<void> {
    const response = await fetch(`${this.url}/-/reload`, { method: 'POST' });
    if (response.status !== 200) throw new Error(`Prometheus reload failed: ${response.status} ${await response.text()}`);
  }

  /** An instant query at now; throws with Prometheus's message when it fails (a query that does not parse, say). */
  async query(expr: string): Promise<PrometheusSample[]> {
    return (await this.api<{ result: PrometheusSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;
  }

  async alerts(): Promise<PrometheusAlert[]> {
    return (await this.api<{ alerts: PrometheusAlert[] }>('/api/v1/alerts')).alerts;
  }

  async targets(): Promise<PrometheusTarget[]> {
    return (await this.api<{ activeTargets: PrometheusTarget[] }>('/api/v1/targets?state=active')).activeTargets;
  }

  async rules(): Promise<PrometheusRuleGroup[]> {
    return (await this.api<{ groups: PrometheusRuleGroup[] }>('/api/v1/rules')).groups;
  }

  /**
   * Metric families the targets matching `matchTarget` (a selector such as `{job="x"}`)
   * declare, with samples or without: a labelled counter never incremented has no series, but
   * its `# TYPE` line is here (OpenMetrics scrapes name counters without `_total`).
   */
  async declaredMetrics(matchTarget: string): Promise<Set<string>> {
    const metadata = await this.api<{ metric: string }[]>(`/api/v1/targets/metadata?match_target=${encodeURIComponent(matchTarget)}`);
    return new Set(metadata.map((m) => m.metric));
  }

  /**
   * Waits until the active alerts matching `labels` are in `state` ('absent': none is active,
   * i.e. it resolved or never started) and returns them.
   */
  async waitForAlert(
    labels: Record<string, string>,
    state: PrometheusAlert['state'] | 'absent',
    timeoutMs = 60_000,
  ): Promise<PrometheusAlert[]> {
    const description = Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    return waitFor(
      `alert {${description}} to be ${state}`,
      async () => {
        const matching = (await this.alerts()).filter((a) => Object.entries(labels).every(([k, v]) => a.labels[k] === v));
        if (state === 'absent') return matching.length === 0 ? matching : undefined;
        return matching.length > 0 && matching.every((a) => a.state === state) ? matching : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /**
   * Removes the target and rule files this instance wrote; file_sd drops the targets on its
   * own. When rules were loaded it reloads, but only once the targets are gone: a reload that
   * races a target file's deletion keeps the target scraped until the next full file refresh
   * (Prometheus 2.42).
   */
  async cleanup(timeoutMs = 30_000): Promise<void> {
    const targetFiles = [...this.registered.keys()];
    const ruleFiles = [...this.written].filter((f) => !this.registered.has(f));
    const instances = new Set(targetFiles.flatMap((f) => this.registered.get(f) ?? []));
    for (const file of targetFiles) rmSync(file, { force: true });
    this.written.clear();
    this.registered.clear();
    if (ruleFiles.length === 0) return;
    if (instances.size > 0)
      await waitFor(
        'Prometheus to drop the registered targets',
        async () => ((await this.targets()).some((t) => instances.has(t.labels.instance ?? '')) ? undefined : true),
        { timeoutMs, intervalMs: 250 },
      );
    for (const file of ruleFiles) rmSync(file, { force: true });
    await this.reload();
  }
}
