// `npm run bench:orders`: order creation and cached order reads against the orders service,
// each beside a bare Fastify server measured in the same run. Targets 127.0.0.1 only and
// stops by itself (4 runs of BENCH_SECONDS, default 10, plus 2 s warm-ups).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from '../dev/build.mjs';
import { freePort, measure, printTable, startBareFastify } from './http-bench.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

async function run(command, args, env = {}) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
}

async function json(url, init) {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

await run('bash', ['tools/stack/stack.sh', 'up']);
await build();
await run(process.execPath, ['dist/apps/orders/src/main.js', 'migrate']);

const port = await freePort();
const service = spawn(process.execPath, ['dist/apps/orders/src/main.js'], {
  cwd: root,
  stdio: 'ignore',
  env: { ...process.env, PORT: String(port) },
});
const api = `http://127.0.0.1:${port}/api/v1`;
for (let i = 0; ; i += 1) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok) break;
  } catch {
    // not listening yet
  }
  if (i > 300) throw new Error('orders did not become ready');
  await new Promise((r) => setTimeout(r, 100));
}
const baseline = await startBareFastify();

try {
  const tag = Date.now().toString(36);
  const customer = await json(`${api}/customers`, {
    method: 'POST',
    body: JSON.stringify({ email: `bench-${tag}@example.com`, name: 'Bench' }),
  });
  const product = await json(`${api}/products`, {
    method: 'POST',
    body: JSON.stringify({ sku: `BENCH-${tag}`, name: 'Bench item', priceMinor: 2500, currency: 'EUR' }),
  });
  const orderBody = { customerId: customer.id, currency: 'EUR', lines: [{ productId: product.id, quantity: 1 }] };
  const order = await json(`${api}/orders`, { method: 'POST', body: JSON.stringify(orderBody) });
  const common = { connections, durationSeconds: seconds };

  console.log(
    `\nbench: ${seconds}s per run, ${connections} connections, load generator and servers on this ${process.env.HOSTNAME ?? 'machine'} (127.0.0.1)\n`,
  );
  const postBase = await measure({
    name: 'bare Fastify POST /baseline',
    url: `${baseline.url}/baseline`,
    method: 'POST',
    body: orderBody,
    ...common,
  });
  const postOrders = await measure({
    name: 'orders POST /api/v1/orders',
    url: `${api}/orders`,
    method: 'POST',
    body: orderBody,
    ...common,
  });
  // Latency at the target rate (2,000 orders/s), beside saturation above.
  const postAtTarget = await measure({
    name: 'orders POST /api/v1/orders @ 2000/s',
    url: `${api}/orders`,
    method: 'POST',
    body: orderBody,
    rate: 2_000,
    ...common,
  });
  const getBase = await measure({ name: 'bare Fastify GET /baseline', url: `${baseline.url}/baseline`, ...common });
  const getOrder = await measure({ name: 'orders GET /api/v1/orders/{id} (cached)', url: `${api}/orders/${order.id}`, ...common });
  printTable([
    postBase,
    { ...postOrders, baseline: postBase },
    { ...postAtTarget, baseline: postBase },
    getBase,
    { ...getOrder, baseline: getBase },
  ]);

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const backlog = /^outbox_backlog_events\S* (\S+)$/m.exec(metrics)?.[1];
  console.log(`\noutbox backlog right after the run: ${backlog} events (the relay publishes behind the writes)`);
} finally {
  await baseline.stop();
  service.kill('SIGTERM');
}
