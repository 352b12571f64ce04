// `npm run bench:auth`: client_credentials issuance and introspection against the auth
// service beside a bare Fastify server in the same run, and the per-call cost of verifying a
// cached token (what the gateway's guard pays per request). 127.0.0.1 only, bounded in time.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import hdr from 'hdr-histogram-js';
import { build } from '../dev/build.mjs';
import { freePort, measure, printTable, runCommand, startBareFastify } from './http-bench.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

const run = (args, capture = false) => runCommand(root, args, capture);

await run(['bash', 'tools/stack/stack.sh', 'up']);
await build();
await run([process.execPath, 'dist/apps/auth/src/main.js', 'migrate']);
const seeded = JSON.parse((await run([process.execPath, 'dist/apps/auth/src/main.js', 'seed'], true)).trim().split('\n').at(-1));
const { clientId, clientSecret } = seeded.client;

const port = await freePort();
const issuer = 'http://127.0.0.1:8080';
const service = spawn(process.execPath, ['dist/apps/auth/src/main.js'], {
  cwd: root,
  stdio: 'ignore',
  env: { ...process.env, PORT: String(port), AUTH_ISSUER: issuer },
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i += 1) {
  try {
    if ((await fetch(`${base}/health/ready`)).ok) break;
  } catch {
    // not listening yet
  }
  if (i > 300) throw new Error('auth did not become ready');
  await new Promise((r) => setTimeout(r, 100));
}
const baseline = await startBareFastify();
const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };

try {
  const tokenResponse = await fetch(`${base}/api/v1/auth/token`, {
    method: 'POST',
    headers: form,
    body: 'grant_type=client_credentials&scope=orders:read',
  });
  const { access_token: token } = await tokenResponse.json();
  const common = { connections, durationSeconds: seconds };
  console.log(`\nbench: ${seconds}s per run, ${connections} connections, load generator and servers on this machine (127.0.0.1)\n`);
  const bare = await measure({
    name: 'bare Fastify POST /baseline',
    url: `${baseline.url}/baseline`,
    method: 'POST',
    body: { grant_type: 'client_credentials' },
    ...common,
  });
  const issue = await measure({
    name: 'auth POST /api/v1/auth/token (client_credentials)',
    url: `${base}/api/v1/auth/token`,
    method: 'POST',
    headers: form,
    rawBody: 'grant_type=client_credentials&scope=orders:read',
    ...common,
  });
  const introspect = await measure({
    name: 'auth POST /api/v1/auth/introspect',
    url: `${base}/api/v1/auth/introspect`,
    method: 'POST',
    headers: form,
    rawBody: `token=${token}`,
    ...common,
  });
  // Latency at the targets' rates (5,000 and 15,000 req/s), beside saturation above.
  const issueAtTarget = await measure({
    name: 'auth POST /api/v1/auth/token @ 5000/s',
    url: `${base}/api/v1/auth/token`,
    method: 'POST',
    headers: form,
    rawBody: 'grant_type=client_credentials&scope=orders:read',
    rate: 5_000,
    ...common,
  });
  const introspectAtTarget = await measure({
    name: 'auth POST /api/v1/auth/introspect @ 15000/s',
    url: `${base}/api/v1/auth/introspect`,
    method: 'POST',
    headers: form,
    rawBody: `token=${token}`,
    rate: 15_000,
    ...common,
  });
  printTable([
    bare,
    { ...issue, baseline: bare },
    { ...issueAtTarget, baseline: bare },
    { ...introspect, baseline: bare },
    { ...introspectAtTarget, baseline: bare },
  ]);

  // The guard's cost for a hot token: signature cached, deny-list checked (in-process copy of the Redis list) each call.
  const { AccessTokenVerifier } = require(path.join(root, 'dist/libs/auth-client/src/index.js'));
  const { createRedis } = require(path.join(root, 'dist/libs/cache/src/index.js'));
  const redis = createRedis({ REDIS_HOST: '127.0.0.1', REDIS_PORT: 6379 }, 'bench');
  await once(redis, 'ready');
  const verifier = new AccessTokenVerifier({ keys: new URL(`${base}/.well-known/jwks.json`), issuer, audience: 'keelson-api', redis });
  const noDenyList = new AccessTokenVerifier({ keys: new URL(`${base}/.well-known/jwks.json`), issuer, audience: 'keelson-api' });
  for (const [name, sut] of [
    ['guard verify, cached token, deny-list copy from Redis', verifier],
    ['guard verify, cached token, signature only', noDenyList],
  ]) {
    const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
    for (let i = 0; i < 2_000; i += 1) await sut.verify(token); // warm-up
    const calls = 20_000;
    const started = performance.now();
    for (let i = 0; i < calls; i += 1) {
      const t = performance.now();
      await sut.verify(token);
      histogram.recordValue(Math.max(1, Math.round((performance.now() - t) * 1_000)));
    }
    const elapsed = (performance.now() - started) / 1_000;
    console.log(
      `${name.padEnd(52)} ${(calls / elapsed).toFixed(0).padStart(9)}/s  p50 ${(histogram.getValueAtPercentile(50) / 1_000).toFixed(3)} ms  p99 ${(histogram.getValueAtPercentile(99) / 1_000).toFixed(3)} ms`,
    );
  }
  redis.disconnect();
} finally {
  await baseline.stop();
  service.kill('SIGTERM');
}
