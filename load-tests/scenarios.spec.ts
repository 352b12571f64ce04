// The load scenarios as CI meets them: each parses as Artillery reads it (YAML with merge keys,
// beside flows.yml), is bounded in time, and judges a run by the SLOs in prometheus/slos: load
// and soak by the objectives themselves, stress and spike by the page burn rate (14.4× the
// budget, prometheus/README.md). Changing an objective without the scenarios, or a threshold
// without the objective, fails here. The flows call only routes the gateway serves.
import { routeFor } from '@keelson/gateway';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..');
const PAGE_BURN_RATE = 14.4;
const TARGET_PHASE = 'hold at target';
const MAX_SECONDS = { smoke: 120, load: 10 * 60, stress: 15 * 60, spike: 10 * 60, soak: 4 * 60 * 60 };
type ScenarioName = keyof typeof MAX_SECONDS;
const SCENARIOS = Object.keys(MAX_SECONDS) as ScenarioName[];

// The metrics the conditions read, as Artillery names them (flows.yml names the token request auth.token).
const LATENCY = 'http.response_time';
const TOKEN_LATENCY = 'plugins.metrics-by-endpoint.response_time.auth.token';
const ERROR_RATIO = '(keelson.responses.5xx + http.requests - http.responses) / http.requests';

interface Phase {
  name: string;
  duration: number;
  arrivalRate: number;
  rampTo?: number;
  maxVusers: number;
}
interface Scenario {
  config: { phases: Phase[]; ensure: { conditions: { expression: string; strict?: boolean }[] } };
}
interface Request {
  url: string;
  name: string;
}
interface Flows {
  config: { target: string; processor: string };
  before: { flow: Record<string, unknown>[] };
  scenarios: { name: string; weight: number; beforeScenario: string; afterResponse: string; flow: Record<string, unknown>[] }[];
}
interface SloSpec {
  slos: { name: string; objective: number; sli: { events: { error_query: string } } }[];
}

const readYaml = (file: string): unknown => parse(readFileSync(path.join(root, file), 'utf8'), { merge: true });
const scenario = (name: ScenarioName) => readYaml(`load-tests/scenarios/${name}.yml`) as Scenario;
const flows = () => readYaml('load-tests/flows.yml') as Flows;

function slo(service: string, name: string) {
  const found = (readYaml(`prometheus/slos/${service}.yml`) as SloSpec).slos.find((s) => s.name === name);
  if (!found) throw new Error(`no SLO ${name} in prometheus/slos/${service}.yml`);
  const le = /le="([\d.]+)"/.exec(found.sli.events.error_query);
  return { objective: found.objective, budget: (100 - found.objective) / 100, thresholdMs: le ? Number(le[1]) * 1_000 : undefined };
}

/** `metric <= value` conditions by metric; anything else in an expression is kept whole. */
function bounds(s: Scenario): Map<string, number> {
  const result = new Map<string, number>();
  for (const { expression } of s.config.ensure.conditions) {
    const match = /^(.+) <= ([\d.]+)$/.exec(expression);
    if (match) result.set(match[1]!, Number(match[2]));
  }
  return result;
}

/** The one latency percentile a scenario bounds for `metric` (e.g. 99 for http.response_time.p99). */
function percentileBound(b: Map<string, number>, metric: string): { percentile: number; ms: number } {
  const found = [...b].filter(([k]) => new RegExp(`^${metric.replace(/\./g, '\\.')}\\.p\\d+$`).test(k));
  expect(found).toHaveLength(1);
  const [key, ms] = found[0]!;
  return { percentile: Number(key.slice(metric.length + 2)), ms };
}

const peakRate = (s: Scenario) => Math.max(...s.config.phases.map((p) => Math.max(p.arrivalRate, p.rampTo ?? 0)));
const targetRate = () => scenario('load').config.phases.find((p) => p.name === TARGET_PHASE)!.arrivalRate;

const gatewayLatency = slo('gateway', 'requests-latency');
const gatewayAvailability = slo('gateway', 'requests-availability');
const tokenLatency = slo('auth', 'token-latency');

describe('load-tests scenarios', () => {
  it.each(SCENARIOS)('%s is bounded in time and load, and every threshold fails the run', (name) => {
    const sut = scenario(name);

    expect(sut.config.phases.length).toBeGreaterThan(0);
    for (const phase of sut.config.phases) {
      expect(phase.name).toEqual(expect.any(String));
      expect(phase.duration).toBeGreaterThan(0);
      expect(phase.arrivalRate).toBeGreaterThan(0);
      // A phase without rampTo is scheduled by a busy-waiting timer that takes up to a core (README).
      expect(phase.rampTo).toBeGreaterThan(0);
      // maxVusers bounds the load generator when the platform stops answering.
      expect(phase.maxVusers).toBeGreaterThan(Math.max(phase.arrivalRate, phase.rampTo ?? 0));
    }
    expect(sut.config.phases.reduce((s, p) => s + p.duration, 0)).toBeLessThanOrEqual(MAX_SECONDS[name]);
    expect(sut.config.ensure.conditions.length).toBeGreaterThan(0);
    for (const condition of sut.config.ensure.conditions) expect(condition.strict).not.toBe(false);
  });

  it.each(['load', 'soak'] as const)('%s holds the target rate to the SLO objectives', (name) => {
    const sut = scenario(name);
    const b = bounds(sut);

    expect(sut.config.phases.find((p) => p.name === TARGET_PHASE)?.arrivalRate).toBe(targetRate());
    expect(percentileBound(b, LATENCY)).toEqual({ percentile: gatewayLatency.objective, ms: gatewayLatency.thresholdMs });
    expect(percentileBound(b, TOKEN_LATENCY)).toEqual({ percentile: tokenLatency.objective, ms: tokenLatency.thresholdMs });
    expect(b.get(ERROR_RATIO)).toBeCloseTo(gatewayAvailability.budget, 10);
  });

  it.each([
    ['stress', 1.5],
    ['spike', 2],
  ] as const)('%s goes to %s times the target and may burn budget, but slower than a page', (name, factor) => {
    const sut = scenario(name);
    const b = bounds(sut);

    expect(peakRate(sut)).toBeGreaterThanOrEqual(factor * targetRate());
    for (const [metric, slo_] of [
      [LATENCY, gatewayLatency],
      [TOKEN_LATENCY, tokenLatency],
    ] as const) {
      const { percentile, ms } = percentileBound(b, metric);
      expect(ms).toBe(slo_.thresholdMs);
      // The share of requests allowed above the threshold stays under the page burn of the latency budget.
      expect(percentile).toBeLessThan(slo_.objective);
      expect(100 - percentile).toBeLessThanOrEqual(PAGE_BURN_RATE * (100 - slo_.objective));
    }
    expect(b.get(ERROR_RATIO)).toBeGreaterThan(gatewayAvailability.budget);
    expect(b.get(ERROR_RATIO)).toBeLessThanOrEqual(PAGE_BURN_RATE * gatewayAvailability.budget + 1e-12);
  });

  it('smoke tolerates no failed request', () => {
    const b = bounds(scenario('smoke'));

    expect(b.get(ERROR_RATIO)).toBe(0);
    expect(b.get('keelson.responses.4xx')).toBe(0);
    expect(b.get('vusers.failed')).toBe(0);
  });
});

describe('load-tests flows', () => {
  const sut = flows();
  const requests = [...sut.before.flow, ...sut.scenarios.flatMap((s) => s.flow)].flatMap((step) =>
    ['get', 'post', 'put', 'patch', 'delete'].filter((m) => m in step).map((m) => step[m] as Request),
  );

  it('calls only routes the gateway serves, each request named for the per-endpoint thresholds', () => {
    const pathOf = (url: string) => url.split('?')[0]!.replace(/{{[^}]+}}/g, '00000000-0000-4000-8000-000000000000');

    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((r) => routeFor(pathOf(r.url)) === undefined).map((r) => r.url)).toEqual([]);
    for (const request of requests) expect(request.name).toMatch(/^[a-z-]+\.[a-z-]+$/);
    expect(requests.some((r) => r.url === '/api/v1/auth/token' && r.name === 'auth.token')).toBe(true);
  });

  it('uses only functions the processor exports', () => {
    const processor = readFileSync(path.join(root, 'load-tests', sut.config.processor), 'utf8');
    const exported = new Set([...processor.matchAll(/^export async function (\w+)/gm)].map((m) => m[1]));
    const used = [
      ...[...sut.before.flow, ...sut.scenarios.flatMap((s) => s.flow)].flatMap((step) =>
        typeof step.function === 'string' ? [step.function] : [],
      ),
      ...sut.scenarios.flatMap((s) => [s.beforeScenario, s.afterResponse]),
    ];
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((f) => !exported.has(f))).toEqual([]);
  });
});
