// `npm run load:<scenario>`: one of load-tests/scenarios/*.yml (phases and thresholds) with the
// flows of load-tests/flows.yml, run by Artillery against a running platform. Artillery is
// installed on demand into .tools/artillery from load-tests/artillery/package-lock.json. Writes
// Artillery's JSON report and a digest (rate held, p50/p95/p99, errors, thresholds) to
// load-tests/reports/<time>-<scenario>/ and exits non-zero when a threshold fails.
// Environment: load-tests/README.md. Bounded in time: the phases plus a grace period, then killed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const SCENARIOS = ['smoke', 'load', 'stress', 'spike', 'soak'];
const TARGET_PHASE = 'hold at target';
const MAX_RATE = 1_000; // visits per second
const MAX_HOLD_SECONDS = 4 * 60 * 60;
const GRACE_SECONDS = 180; // the before hook, and visits still running when the last phase ends
const toolDir = path.join(root, '.tools/artillery');
const toolManifest = path.join(here, 'artillery');

const say = (message) => console.log(`load-tests: ${message}`);
function fail(message) {
  console.error(`load-tests: ${message}`);
  process.exit(2);
}

const scenario = process.argv[2];
if (!SCENARIOS.includes(scenario)) fail(`usage: node load-tests/run.mjs ${SCENARIOS.join('|')}`);
if (Number(process.versions.node.split('.')[0]) < 22) {
  fail(`Artillery needs Node 22.18 or newer; this is ${process.version} (npm run load:${scenario} uses node_modules/.bin/node)`);
}

const env = process.env;
const target = new URL(env.LOAD_TARGET_URL ?? 'http://127.0.0.1:8080');
const loopback = ['localhost', '[::1]'].includes(target.hostname) || /^127\.\d+\.\d+\.\d+$/.test(target.hostname);
if (!loopback && env.LOAD_ALLOW_REMOTE_TARGET !== 'true') {
  fail(`${target.origin} is not a loopback address; reach a cluster through a port-forward, or set LOAD_ALLOW_REMOTE_TARGET=true`);
}

/** Artillery from the committed lockfile, installed once per lockfile change (stamp as in tools/dev/bootstrap.sh). */
function artillery() {
  const manifest = ['package.json', 'package-lock.json'].map((f) => readFileSync(path.join(toolManifest, f)));
  const want = createHash('sha256').update(Buffer.concat(manifest)).digest('hex');
  const stamp = path.join(toolDir, '.installed.sha256');
  const bin = path.join(toolDir, 'node_modules/artillery/bin/run');
  if (!existsSync(bin) || !existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== want) {
    say('installing Artillery into .tools/artillery (npm ci from load-tests/artillery/package-lock.json)');
    mkdirSync(toolDir, { recursive: true });
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(path.join(toolManifest, f), path.join(toolDir, f));
    // --ignore-scripts: @playwright/browser-chromium would download a browser (the HTTP engine needs none);
    // the only other install script is protobufjs's version notice.
    const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error', '--ignore-scripts'], {
      cwd: toolDir,
      stdio: 'inherit',
      env: { ...env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
    });
    if (npm.status !== 0) fail('installing Artillery failed');
    writeFileSync(stamp, `${want}\n`);
  }
  const { version } = JSON.parse(readFileSync(path.join(toolDir, 'node_modules/artillery/package.json'), 'utf8'));
  return { bin, version };
}

/** LOAD_CLIENT_ID/SECRET, or a new client from the auth service's seed command (local platform only). */
async function credentials() {
  if (env.LOAD_CLIENT_ID && env.LOAD_CLIENT_SECRET) return { id: env.LOAD_CLIENT_ID, secret: env.LOAD_CLIENT_SECRET };
  if (!loopback) fail('set LOAD_CLIENT_ID and LOAD_CLIENT_SECRET for a remote target');
  const main = path.join(root, 'dist/apps/auth/src/main.js');
  if (!existsSync(main)) {
    const { build } = await import('../tools/dev/build.mjs');
    await build();
  }
  say('LOAD_CLIENT_ID not set: creating a client with `node dist/apps/auth/src/main.js seed`');
  const seed = spawnSync(process.execPath, [main, 'seed'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (seed.status !== 0) fail('the auth seed command failed (is the stack up and the auth schema migrated?)');
  const { client } = JSON.parse(seed.stdout.trim().split('\n').at(-1));
  return { id: client.clientId, secret: client.clientSecret };
}

function boundedNumber(name, min, max) {
  if (env[name] === undefined || env[name] === '') return undefined;
  const value = Number(env[name]);
  if (!Number.isFinite(value) || value < min || value > max) fail(`${name} must be a number from ${min} to ${max} (got "${env[name]}")`);
  return value;
}

const readYaml = (file) => parse(readFileSync(file, 'utf8'), { merge: true });

/**
 * The scenario as it will run: LOAD_RATE scales every phase by LOAD_RATE / the load scenario's
 * target rate (so stress and spike keep their shape on a bigger or smaller platform), and
 * LOAD_HOLD_SECONDS replaces the duration of the phase held at the target.
 */
function resolveScenario() {
  const script = readYaml(path.join(here, 'scenarios', `${scenario}.yml`));
  const targetRate = readYaml(path.join(here, 'scenarios/load.yml')).config.phases.find((p) => p.name === TARGET_PHASE).arrivalRate;
  const held = script.config.phases.some((p) => p.name === TARGET_PHASE);
  const rate = boundedNumber('LOAD_RATE', 1, MAX_RATE);
  const hold = boundedNumber('LOAD_HOLD_SECONDS', 10, MAX_HOLD_SECONDS);
  const factor = rate === undefined ? 1 : rate / targetRate;
  for (const phase of script.config.phases) {
    for (const key of ['arrivalRate', 'rampTo', 'maxVusers']) {
      if (phase[key] !== undefined) phase[key] = Math.max(1, Math.round(phase[key] * factor));
    }
    if (hold !== undefined && phase.name === TARGET_PHASE) phase.duration = hold;
  }
  return { script, targetRate: held ? Math.round(targetRate * factor) : null };
}

/** Visits the phases schedule (a ramp's arrivals are its mean rate times its duration). */
function scheduledArrivals(phases) {
  return phases.reduce((n, p) => n + (p.duration * (p.arrivalRate + (p.rampTo ?? p.arrivalRate))) / 2, 0);
}

const round = (x, digits = 1) => (x === undefined || x === null || Number.isNaN(x) ? null : Number(x.toFixed(digits)));
const ms = (summary) => (summary ? { p50: summary.p50, p95: summary.p95, p99: summary.p99, max: summary.max, count: summary.count } : null);

/** The digest: what the issue's done-when asks for, from Artillery's report. */
function digest({ phases, targetRate, report, checks, startedAt, finishedAt, artilleryVersion, reportPath }) {
  const { counters, summaries } = report.aggregate;
  const count = (name) => counters[name] ?? 0;
  const requests = count('http.requests');
  const noResponse = requests - count('http.responses');
  const errors5xx = count('keelson.responses.5xx');
  const transport = Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith('errors.')));
  const codes = Object.fromEntries(Object.entries(counters).filter(([k]) => /^http\.codes\.\d+$/.test(k)));
  const scheduled = Math.round(scheduledArrivals(phases));
  const started = count('vusers.created');
  const skipped = count('vusers.skipped');

  // Arrivals and requests per second in the 10 s periods that lie wholly inside the phase held at the target.
  const origin = report.aggregate.firstCounterAt;
  let offset = 0;
  let window;
  for (const p of phases) {
    if (p.name === TARGET_PHASE) window = [origin + offset * 1_000, origin + (offset + p.duration) * 1_000];
    offset += p.duration;
  }
  const periods = (report.intermediate ?? [])
    .map((p) => ({ start: Number(p.period), counters: p.counters, p99: p.summaries?.['http.response_time']?.p99 }))
    .filter((p) => window && p.start >= window[0] && p.start + 10_000 <= window[1]);
  const perSecond = (name) => {
    const values = periods.map((p) => (p.counters[name] ?? 0) / 10);
    if (values.length === 0) return null;
    return {
      min: round(Math.min(...values)),
      mean: round(values.reduce((a, b) => a + b, 0) / values.length),
      max: round(Math.max(...values)),
    };
  };
  const activeSeconds = (report.aggregate.lastCounterAt - report.aggregate.firstCounterAt) / 1_000;

  const rateHeld = skipped === 0 && started >= 0.98 * scheduled;
  const allChecks = [
    ...checks,
    {
      check: `arrival rate held: every scheduled visit started (${started} of ${scheduled}, ≥ 98%), none skipped at maxVusers (${skipped})`,
      ok: rateHeld,
      from: 'run.mjs',
    },
  ];
  const endpoints = Object.fromEntries(
    Object.entries(summaries)
      .filter(([k]) => k.startsWith('plugins.metrics-by-endpoint.response_time.'))
      .map(([k, s]) => [k.slice('plugins.metrics-by-endpoint.response_time.'.length), ms(s)]),
  );
  return {
    scenario,
    target: target.origin,
    startedAt,
    finishedAt,
    artillery: artilleryVersion,
    phases,
    visits: {
      targetPerSecond: targetRate,
      scheduled,
      started,
      completed: count('vusers.completed'),
      failed: count('vusers.failed'),
      skipped,
      heldPerSecond: perSecond('vusers.created'),
      byFlow: Object.fromEntries(
        Object.entries(counters)
          .filter(([k]) => k.startsWith('vusers.created_by_name.'))
          .map(([k, v]) => [k.slice('vusers.created_by_name.'.length), v]),
      ),
    },
    requests: {
      total: requests,
      perSecond: round(requests / activeSeconds),
      heldPerSecond: perSecond('http.requests'),
    },
    latencyMs: ms(summaries['http.response_time']),
    tokenLatencyMs: endpoints['auth.token'] ?? null,
    endpointsMs: endpoints,
    errors: {
      ratio: requests === 0 ? null : round((errors5xx + noResponse) / requests, 6),
      responses5xx: errors5xx,
      noResponse,
      transport,
      responses4xx: count('keelson.responses.4xx'),
      purchasesNotPaid: count('keelson.purchase.not_paid'),
      codes,
    },
    thresholds: allChecks,
    passed: allChecks.every((c) => c.ok),
    report: path.relative(root, reportPath),
  };
}

const { script, targetRate } = resolveScenario();
const phases = script.config.phases;
const conditions = script.config.ensure?.conditions ?? [];
const plannedSeconds = phases.reduce((s, p) => s + p.duration, 0);
const { bin, version } = artillery();
const client = await credentials();

const reportsDir = path.resolve(root, env.LOAD_REPORTS_DIR ?? 'load-tests/reports');
const runDir = path.join(reportsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${scenario}`);
mkdirSync(runDir, { recursive: true });
const scriptPath = path.join(runDir, 'scenario.yml');
writeFileSync(scriptPath, stringify(script));
const reportPath = path.join(runDir, 'report.json');

say(
  `${scenario} against ${target.origin}: ${phases.map((p) => `${p.name} ${p.duration}s @ ${p.arrivalRate}${p.rampTo ? `→${p.rampTo}` : ''}/s`).join(', ')} (Artillery ${version})`,
);
const startedAt = new Date().toISOString();
const child = spawn(
  process.execPath,
  [bin, 'run', '--target', target.origin, '--output', reportPath, path.join(here, 'flows.yml'), scriptPath],
  {
    cwd: root,
    env: {
      ...env,
      LOAD_CLIENT_ID: client.id,
      LOAD_CLIENT_SECRET: client.secret,
      // Artillery posts anonymous usage data unless told not to; nothing leaves this machine.
      ARTILLERY_DISABLE_TELEMETRY: 'true',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
const log = createWriteStream(path.join(runDir, 'artillery.log'));
const checks = [];
let pending = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  log.write(chunk);
  pending += chunk.toString();
  const lines = pending.split('\n');
  pending = lines.pop();
  for (const line of lines) {
    const match = /^(ok|fail): (.+?)( \(optional\))?$/.exec(line.trim());
    if (match) checks.push({ check: match[2], ok: match[1] === 'ok', from: 'artillery ensure' });
  }
});
child.stderr.on('data', (chunk) => {
  process.stderr.write(chunk);
  log.write(chunk);
});
const deadline = setTimeout(
  () => {
    say(`still running ${GRACE_SECONDS}s after the phases should have ended: stopping Artillery`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  },
  (plannedSeconds + GRACE_SECONDS) * 1_000,
);
// Ctrl-C or a stopped CI job: stop Artillery with us.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
const [exitCode, signal] = await once(child, 'exit');
const code = exitCode ?? 1;
clearTimeout(deadline);
log.end();
const finishedAt = new Date().toISOString();

if (!existsSync(reportPath)) {
  fail(`Artillery exited with ${exitCode ?? signal} and wrote no report (see ${path.relative(root, path.join(runDir, 'artillery.log'))})`);
}
const report = JSON.parse(readFileSync(reportPath, 'utf8'));
if (checks.length < conditions.length) {
  checks.push({ check: `Artillery evaluated ${checks.length} of ${conditions.length} ensure conditions`, ok: false, from: 'run.mjs' });
}
const summary = digest({ phases, targetRate, report, checks, startedAt, finishedAt, artilleryVersion: version, reportPath });
writeFileSync(path.join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);

const v = summary.visits;
const l = summary.latencyMs;
console.log(`\nload-tests ${scenario}: ${summary.passed && code === 0 ? 'PASSED' : 'FAILED'}`);
console.log(
  `  visits   ${v.started} of ${v.scheduled} scheduled${v.targetPerSecond ? ` (target ${v.targetPerSecond}/s, held at ${v.heldPerSecond ? `${v.heldPerSecond.min}–${v.heldPerSecond.max}/s` : 'n/a'})` : ''}, ${v.failed} failed, ${v.skipped} skipped`,
);
console.log(
  `  requests ${summary.requests.total} (${summary.requests.perSecond}/s overall${summary.requests.heldPerSecond ? `, ${summary.requests.heldPerSecond.mean}/s at target` : ''})`,
);
console.log(
  `  latency  p50 ${l?.p50} ms, p95 ${l?.p95} ms, p99 ${l?.p99} ms, max ${l?.max} ms; token p99 ${summary.tokenLatencyMs?.p99 ?? 'n/a'} ms`,
);
console.log(
  `  errors   ${summary.errors.responses5xx} 5xx + ${summary.errors.noResponse} unanswered = ${((summary.errors.ratio ?? 0) * 100).toFixed(3)}%; ${summary.errors.responses4xx} unexpected 4xx`,
);
for (const c of summary.thresholds) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check}`);
console.log(`  summary  ${path.relative(root, path.join(runDir, 'summary.json'))}\n`);
process.exit(code !== 0 ? code : summary.passed ? 0 : 1);
