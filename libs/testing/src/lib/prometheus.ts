import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './local-stack';
import { waitFor } from './wait-for';

export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
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

interface ApiResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

/**
 * The stack's Prometheus (`tools/stack/stack.sh up prometheus`) as tests use it: scrape
 * services started on random ports and query. Targets are files in the stack's folder
 * (`targets/*.json`, read by file_sd); `cleanup()` removes the ones this instance wrote.
 * Honours `KEELSON_PROMETHEUS_URL` (another Prometheus reading the same folder),
 * `KEELSON_PROMETHEUS_PORT` and `KEELSON_STACK_DIR` as stack.sh does.
 */
export class LocalPrometheus {
  private readonly written = new Set<string>();

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
    this.writeFile(path.join(this.dir, 'targets', `${name}.json`), JSON.stringify([{ targets, labels }], null, 2));
    await waitFor(
      `Prometheus to scrape ${targets.join(', ')}`,
      async () => {
        const up = (await this.targets()).filter((t) => targets.includes(t.labels.instance ?? '') && t.health === 'up');
        return up.length === targets.length ? true : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** An instant query at now; throws with Prometheus's message when it fails (a query that does not parse, say). */
  async query(expr: string): Promise<PrometheusSample[]> {
    return (await this.api<{ result: PrometheusSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;
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

  /** Removes the target files this instance wrote (file_sd drops their targets on its own). */
  cleanup(): Promise<void> {
    for (const file of this.written) rmSync(file, { force: true });
    this.written.clear();
    return Promise.resolve();
  }
}
