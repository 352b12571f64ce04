// Second half of `npm start` and `npm test` (after tools/dev/bootstrap.sh), on Node 24.
//   keelson.mjs start   stack up, build, migrate, run all six services, print their URLs and Prometheus's
//   keelson.mjs test    lint, typecheck, build, kubernetes tools, unit tests, prometheus rules, kubernetes checks, stack up,
//                       integration tests
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const stackDir = process.env.KEELSON_STACK_DIR ?? path.join(root, '.stack');
const prometheusUrl = `http://127.0.0.1:${process.env.KEELSON_PROMETHEUS_PORT ?? '9090'}`;
const bin = (name) => path.join(root, 'node_modules/.bin', name);
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'false', FORCE_COLOR: '0' };

const SERVICES = [
  ['gateway', 8080],
  ['auth', 3001],
  ['orders', 3002],
  ['replay', 3003],
  ['cache-invalidator', 3004],
  ['benchmark', 3005],
];

const say = (message) => console.log(`keelson: ${message}`);
const seconds = (startedAt) => `${((performance.now() - startedAt) / 1000).toFixed(1)}s`;

/** Runs a command with inherited output; resolves with its exit code. */
async function run(command, args, options = {}) {
  const child = spawn(command, args, { cwd: root, env, stdio: 'inherit', ...options });
  const [code] = await once(child, 'exit');
  return code ?? 1;
}

async function stage(name, fn) {
  const startedAt = performance.now();
  say(`${name} …`);
  const ok = await fn();
  say(`${name} ${ok ? 'ok' : 'FAILED'} (${seconds(startedAt)})`);
  return ok;
}

const stackUp = () => stage('stack up', async () => (await run('bash', ['tools/stack/stack.sh', 'up'])) === 0);
const compile = () =>
  stage('build', async () => {
    const { files, ms } = await build();
    say(`compiled ${files} files in ${ms} ms`);
    return true;
  });

/** Jest with a JSON report, so the summary can count tests across projects. */
async function jest(project, extraArgs) {
  const report = path.join(stackDir, 'reports', `${project}.json`);
  mkdirSync(path.dirname(report), { recursive: true });
  const code = await run(bin('jest'), ['--selectProjects', project, '--json', `--outputFile=${report}`, ...extraArgs]);
  try {
    const { numPassedTests, numFailedTests, numPendingTests, numTotalTests } = JSON.parse(readFileSync(report, 'utf8'));
    return {
      code,
      passed: numPassedTests,
      failed: numFailedTests + (code !== 0 && numFailedTests === 0 ? 1 : 0),
      skipped: numPendingTests,
      total: numTotalTests,
    };
  } catch {
    return { code, passed: 0, failed: 1, skipped: 0, total: 0 };
  }
}

async function test() {
  const startedAt = performance.now();
  const failedStages = [];
  const check = async (name, fn) => {
    if (!(await stage(name, fn))) failedStages.push(name);
  };
  // The module-boundary lint rule reads Nx's project graph; compute it first.
  await check('project graph', async () => (await run(bin('nx'), ['show', 'projects'], { stdio: ['ignore', 'ignore', 'inherit'] })) === 0);
  // Type-aware linting holds a TypeScript program per project tsconfig: more than Node's default heap.
  await check(
    'lint',
    async () => (await run(bin('eslint'), ['--max-warnings=0', '.'], { env: { ...env, NODE_OPTIONS: '--max-old-space-size=8192' } })) === 0,
  );
  await check('format', async () => (await run(bin('prettier'), ['--check', '--log-level=warn', '.'])) === 0);
  await check('typecheck', async () => (await run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'])) === 0);
  await check('build', async () => {
    const { files, ms } = await build();
    say(`compiled ${files} files in ${ms} ms`);
    return true;
  });
  // helm, kubeconform, kube-score, actionlint, hadolint into .tools/bin (go install, pip; minutes on a fresh
  // machine, nothing when present): before the unit tests, whose chart spec renders charts/keelson with helm.
  await check('kubernetes tools', async () => (await run('bash', ['tools/k8s/tools.sh'])) === 0);
  const results = {};
  await check('unit tests', async () => (results.unit = await jest('unit', [])).code === 0);
  // promtool check + unit tests of prometheus/ (installs Debian's prometheus package when missing).
  await check('prometheus rules', async () => (await run('bash', ['tools/prometheus/check.sh'])) === 0);
  // helm lint/template + kubeconform (vendored schemas) + kube-score on charts/keelson, hadolint, actionlint,
  // shellcheck; offline once tools/k8s/tools.sh has installed the pinned tools into .tools/bin.
  await check('kubernetes checks', async () => (await run('bash', ['tools/k8s/check.sh'])) === 0);
  await check('stack up', async () => (await run('bash', ['tools/stack/stack.sh', 'up'])) === 0);
  // --forceExit: after the last suite a handle (not yet found) keeps Jest alive; results are written first.
  await check(
    'integration tests',
    async () => (results.integration = await jest('integration', ['--runInBand', '--forceExit'])).code === 0,
  );

  const passed = Object.values(results).reduce((n, r) => n + r.passed, 0);
  const failedTests = Object.values(results).reduce((n, r) => n + r.failed, 0);
  const skipped = Object.values(results).reduce((n, r) => n + r.skipped, 0);
  for (const [project, r] of Object.entries(results))
    say(`${project}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped of ${r.total}`);
  const failedChecks = failedStages.filter((s) => !s.endsWith('tests'));
  if (failedStages.length > 0) say(`failed: ${failedStages.join(', ')}`);
  say(`finished in ${seconds(startedAt)}`);
  // Failed checks (lint, typecheck, …) count as failures too, so the line never reads green when something broke.
  console.log(`${passed} passed, ${failedTests + failedChecks.length} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return failedStages.length === 0 ? 0 : 1;
}

async function waitReady(name, port, child, deadline) {
  while (performance.now() < deadline) {
    if (child.exitCode !== null) return false;
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

async function start() {
  const startedAt = performance.now();
  if (!(await stackUp())) return 1;
  await compile();
  const migrated = await stage('migrate', async () => {
    for (const [name] of SERVICES) {
      if ((await run(process.execPath, [`dist/apps/${name}/src/main.js`, 'migrate'], { stdio: ['ignore', 'ignore', 'inherit'] })) !== 0)
        return false;
    }
    return true;
  });
  if (!migrated) return 1;

  const logDir = path.join(stackDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const children = SERVICES.map(([name, port]) => {
    const log = openSync(path.join(logDir, `${name}.log`), 'a');
    const child = spawn(process.execPath, ['--enable-source-maps', `dist/apps/${name}/src/main.js`], {
      cwd: root,
      env: { ...env, PORT: String(port) },
      stdio: ['ignore', log, log],
    });
    return { name, port, child };
  });
  let stopping = false;
  const stopAll = async (signal) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping services (the stack keeps running; tools/stack/stack.sh down stops it)`);
    await Promise.all(
      children.map(async ({ child }) => {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await once(child, 'exit');
        }
      }),
    );
    process.exit(0);
  };
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGTERM', () => void stopAll('SIGTERM'));

  const deadline = performance.now() + 60_000;
  const ready = await Promise.all(children.map(({ name, port, child }) => waitReady(name, port, child, deadline)));
  const failed = children.filter((_, i) => !ready[i]);
  if (failed.length > 0) {
    for (const { name } of failed) say(`${name} did not become ready; see ${path.join(logDir, `${name}.log`)}`);
    await stopAll('startup failure');
    return 1;
  }
  say(`all six services ready in ${seconds(startedAt)}`);
  console.log(`\n  Gateway:     http://127.0.0.1:8080   (public API under /api/v1)`);
  console.log(`  Prometheus:  ${prometheusUrl}   (scrapes every service each 5 s; alerts at ${prometheusUrl}/alerts)\n`);
  for (const { name, port } of children)
    console.log(`  ${name.padEnd(18)} http://127.0.0.1:${port}/health/ready   (logs: .stack/logs/${name}.log)`);
  console.log(
    `\n  PostgreSQL 127.0.0.1:5432 (keelson/keelson)   Redis 127.0.0.1:6379   Kafka 127.0.0.1:9092\n  Ctrl-C stops the services.\n`,
  );
  for (const { name, child } of children) {
    child.on('exit', (code) => {
      if (!stopping) say(`${name} exited with code ${code}; see .stack/logs/${name}.log`);
    });
  }
  await new Promise(() => {}); // until Ctrl-C
  return 0;
}

const command = process.argv[2];
const commands = { start, test };
if (!(command in commands)) {
  console.error('usage: keelson.mjs start|test');
  process.exit(2);
}
process.exit(await commands[command]());
