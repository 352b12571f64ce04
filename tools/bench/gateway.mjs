// `npm run bench:gateway`: a cached `GET /api/v1/orders/{id}` through the gateway with a valid
// token, beside a bare Fastify proxy hop (proxy + bare upstream, no logic) and the orders
// service called directly, all measured in the same run. Targets 127.0.0.1 only and stops by
// itself (runs of BENCH_SECONDS, default 10, after 2 s warm-ups).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from '../dev/build.mjs';
import { measure, printTable, runCommand, startBareFastify, startBareProxy, startService } from './http-bench.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

const run = (args, capture = false) => runCommand(root, args, capture);

async function json(url, init) {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

await run(['bash', 'tools/stack/stack.sh', 'up']);
await build();
await run([process.execPath, 'dist/apps/auth/src/main.js', 'migrate']);
await run([process.execPath, 'dist/apps/orders/src/main.js', 'migrate']);
const { client } = JSON.parse((await run([process.execPath, 'dist/apps/auth/src/main.js', 'seed'], true)).trim().split('\n').at(-1));

const started = [];
try {
  const auth = await startService(root, 'apps/auth/src/main');
  started.push(auth);
  const orders = await startService(root, 'apps/orders/src/main');
  started.push(orders);
  // The rate-limit path is measured, with budgets above this load (the defaults would refuse it).
  const gateway = await startService(root, 'apps/gateway/src/main', {
    AUTH_URL: auth.url,
    ORDERS_URL: orders.url,
    RATE_LIMIT_PREFIX: `bench:${Date.now()}`,
    RATE_LIMIT_PER_CLIENT: '10000000',
    RATE_LIMIT_PER_IP: '10000000',
  });
  started.push(gateway);
  const upstream = await startBareFastify();
  started.push(upstream);
  const proxy = await startBareProxy(upstream.url);
  started.push(proxy);

  const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
  const { access_token: token } = await json(`${gateway.url}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
    body: 'grant_type=client_credentials&scope=orders:read orders:write',
  });
  const auth_ = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const tag = Date.now().toString(36);
  const customer = await json(`${gateway.url}/api/v1/customers`, {
    method: 'POST',
    headers: auth_,
    body: JSON.stringify({ email: `bench-gw-${tag}@example.com`, name: 'Bench' }),
  });
  const product = await json(`${gateway.url}/api/v1/products`, {
    method: 'POST',
    headers: auth_,
    body: JSON.stringify({ sku: `BENCH-GW-${tag}`, name: 'Bench item', priceMinor: 2500, currency: 'EUR' }),
  });
  const order = await json(`${gateway.url}/api/v1/orders`, {
    method: 'POST',
    headers: auth_,
    body: JSON.stringify({ customerId: customer.id, currency: 'EUR', lines: [{ productId: product.id, quantity: 1 }] }),
  });
  const common = { connections, durationSeconds: seconds };
  console.log(`\nbench: ${seconds}s per run, ${connections} connections, load generator and servers on this machine (127.0.0.1)\n`);

  const hop = await measure({
    name: 'bare Fastify proxy hop → bare Fastify',
    url: `${proxy.url}/baseline`,
    cpuOf: { proxy: proxy.pid, upstream: upstream.pid },
    ...common,
  });
  const direct = await measure({
    name: 'orders GET /api/v1/orders/{id} direct (cached)',
    url: `${orders.url}/api/v1/orders/${order.id}`,
    cpuOf: { orders: orders.pid },
    ...common,
  });
  const through = await measure({
    name: 'gateway → orders GET /api/v1/orders/{id} (cached)',
    url: `${gateway.url}/api/v1/orders/${order.id}`,
    headers: { authorization: `Bearer ${token}` },
    cpuOf: { gateway: gateway.pid, orders: orders.pid },
    ...common,
  });
  printTable([hop, { ...direct, baseline: hop }, { ...through, baseline: hop }]);
} finally {
  for (const service of started.reverse()) await service.stop();
}
