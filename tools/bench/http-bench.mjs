// Load measurement on 127.0.0.1 with autocannon: throughput and latency percentiles
// (p50/p95/p99 from our own HDR histogram of every 2xx response), for a bounded time.
import autocannon from 'autocannon';
import hdr from 'hdr-histogram-js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Runs one measurement. `body` is sent as JSON, `rawBody` as given (e.g. a form);
 * `requests` (optional) is autocannon's request list, for bodies that change per request.
 * Without `rate` the connections send as fast as answers come (saturation: the most the
 * server does); with `rate` they are held to that many requests per second in total, which
 * is how latency at a target load is read (per connection it is still closed-loop, so a
 * stalled server also slows the offered load; the table's req/s shows when that happened).
 * A short warm-up run is discarded first.
 */
export async function measure({
  name,
  url,
  method = 'GET',
  body,
  rawBody,
  headers = {},
  connections = 32,
  durationSeconds = 10,
  warmupSeconds = 2,
  requests,
  rate,
  cpuOf = {},
}) {
  const base = {
    url,
    method,
    headers: { 'content-type': 'application/json', ...headers },
    connections,
    ...(rawBody !== undefined ? { body: rawBody } : body ? { body: JSON.stringify(body) } : {}),
    ...(requests ? { requests } : {}),
    ...(rate ? { overallRate: rate } : {}),
  };
  if (warmupSeconds > 0) await autocannon({ ...base, duration: warmupSeconds });
  const latencies = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const cpuBefore = Object.fromEntries(Object.entries(cpuOf).map(([who, pid]) => [who, cpuSeconds(pid)]));
  const instance = autocannon({ ...base, duration: durationSeconds });
  const refused = {};
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode >= 200 && statusCode < 300) latencies.recordValue(Math.max(1, Math.round(responseTimeMs * 1_000)));
    else refused[statusCode] = (refused[statusCode] ?? 0) + 1;
  });
  const result = await instance;
  // CPU per answered request in each named process: steadier than req/s when the machine is shared.
  const cpuMicrosPerRequest = Object.fromEntries(
    Object.entries(cpuOf).map(([who, pid]) => [who, ((cpuSeconds(pid) - cpuBefore[who]) * 1e6) / Math.max(1, result.requests.total)]),
  );
  const ms = (percentile) => latencies.getValueAtPercentile(percentile) / 1_000;
  return {
    name,
    requestsPerSecond: result.requests.total / durationSeconds,
    p50Ms: ms(50),
    p95Ms: ms(95),
    p99Ms: ms(99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
    refused,
    cpuMicrosPerRequest,
  };
}

/** A bare Fastify 5 server in its own process: the same-machine, same-run baseline. */
export function startBareFastify() {
  return startBaseline('./bare-fastify.mjs');
}

/** A bare Fastify 5 proxy hop to `upstream` in its own process: the gateway's baseline. */
export function startBareProxy(upstream) {
  return startBaseline('./bare-proxy.mjs', { UPSTREAM: upstream });
}

async function startBaseline(script, env = {}) {
  const child = spawn(process.execPath, [new URL(script, import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const [line] = await once(child.stdout, 'data');
  const { port } = JSON.parse(line.toString());
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Runs a command in `root`; resolves with its stdout when `capture`, rejects on a non-zero exit. */
export function runCommand(root, args, capture = false) {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0], args.slice(1), { cwd: root, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

/** Starts a built service (`dist/<entry>.js`) on a free port and waits until it is ready. */
export async function startService(root, entry, env = {}) {
  const port = await freePort();
  // BENCH_PROFILE_DIR=<dir> writes a V8 CPU profile of every service process there (on exit).
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, `dist/${entry}.js`], {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, ...env, PORT: String(port) },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    try {
      if ((await fetch(`${url}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error(`${entry} did not become ready`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    port,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

const fmt = (n, digits = 1) => n.toFixed(digits).padStart(9);

/** Prints one row per measurement, with the throughput ratio to its baseline row. */
export function printTable(rows) {
  console.log(
    `${'measurement'.padEnd(52)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'errors'.padStart(7)} ${'non2xx'.padStart(7)}  vs baseline`,
  );
  for (const row of rows) {
    const ratio = row.baseline
      ? `${((row.requestsPerSecond / row.baseline.requestsPerSecond) * 100).toFixed(1)}% of ${row.baseline.name}`
      : '(baseline)';
    console.log(
      `${row.name.padEnd(52)} ${fmt(row.requestsPerSecond, 0)} ${fmt(row.p50Ms, 2)} ${fmt(row.p95Ms, 2)} ${fmt(row.p99Ms, 2)} ${String(row.errors).padStart(7)} ${String(row.non2xx).padStart(7)}  ${ratio}`,
    );
    if (row.non2xx > 0) console.log(`${''.padEnd(52)} non-2xx by status: ${JSON.stringify(row.refused)}`);
    const cpu = Object.entries(row.cpuMicrosPerRequest ?? {});
    if (cpu.length > 0) {
      const total = cpu.reduce((sum, [, us]) => sum + us, 0);
      console.log(
        `${''.padEnd(52)} CPU per request: ${cpu.map(([who, us]) => `${who} ${us.toFixed(0)} µs`).join(' + ')} = ${total.toFixed(0)} µs`,
      );
    }
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
