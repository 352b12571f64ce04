// `npm run bench:cache-invalidator`: the events per second the cache-invalidator sustains, and
// event → eviction latency p50/p99 at 6,667 events/s (400,000 a minute). Events are produced
// straight to `orders.events.v1` (event time = the moment of producing, standing in for the
// commit) and each eviction is observed on the `cache:invalidations` broadcast the eviction
// script publishes. Targets 127.0.0.1 only and stops by itself.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import hdr from 'hdr-histogram-js';
import { build } from '../dev/build.mjs';
import { runCommand, startService } from './http-bench.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const targetRate = 6_667;

await runCommand(root, ['bash', 'tools/stack/stack.sh', 'up']);
await build();
await runCommand(root, [process.execPath, 'dist/apps/orders/src/main.js', 'migrate']);
await runCommand(root, [process.execPath, 'dist/apps/cache-invalidator/src/main.js', 'migrate']);

const { createKafka, createEvent } = require(path.join(root, 'dist/libs/messaging/src/index.js'));
const { createRedis } = require(path.join(root, 'dist/libs/cache/src/index.js'));
const kafka = createKafka({ clientId: 'bench-invalidator', brokers: ['127.0.0.1:9092'] });
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
const subscriber = createRedis({ REDIS_HOST: '127.0.0.1', REDIS_PORT: 6379 }, 'bench-invalidator');
const metricsOf = async (url) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^cache_invalidator_events_total\{[^}]*result="applied"[^}]*\} (\S+)$/m.exec(text)?.[1] ?? 0);
};

const sentAt = new Map();
let latencies = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
await once(subscriber, 'ready');
await subscriber.subscribe('cache:invalidations');
subscriber.on('message', (_channel, payload) => {
  const now = performance.now();
  const message = JSON.parse(payload);
  for (const id of message.ids ?? []) {
    const at = sentAt.get(id);
    if (at === undefined) continue;
    sentAt.delete(id);
    latencies.recordValue(Math.max(1, Math.round((now - at) * 1_000)));
  }
});

const customerId = randomUUID();
function events(count) {
  return Array.from({ length: count }, () => {
    const orderId = randomUUID();
    const event = createEvent({
      type: 'orders.order.status-changed.v1',
      source: 'bench',
      subject: orderId,
      aggregatetype: 'order',
      aggregateversion: 2,
      data: { orderId, customerId, from: 'pending', to: 'confirmed' },
    });
    return { key: orderId, value: JSON.stringify(event), id: orderId };
  });
}

/** Produces `rate` events a second (in 10 ms slices) for `duration` seconds, or as fast as possible. */
async function offer(rate, duration) {
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < duration * 1_000) {
    const due = rate === Infinity ? sent + 2_000 : Math.floor(((performance.now() - started) / 1_000) * rate);
    if (due > sent) {
      const batch = events(due - sent);
      const at = performance.now();
      for (const e of batch) sentAt.set(e.id, at);
      await producer.send({ topic: 'orders.events.v1', messages: batch.map(({ key, value }) => ({ key, value })) });
      sent += batch.length;
    } else {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  return sent;
}

// A group that has been running: offsets at the log end (a new group would first replay the retained history).
const groupId = `bench-${Date.now()}`;
const admin = kafka.admin();
await admin.connect();
for (const topic of ['orders.events.v1', 'customers.events.v1', 'payments.events.v1', 'invoices.events.v1']) {
  // Explicit end offsets: kafkajs' resetOffsets(latest) commits -1, which a consumer reads as "no offset".
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId, topic, partitions: ends.map(({ partition, high }) => ({ partition, offset: high })) });
}
await admin.disconnect();
const service = await startService(root, 'apps/cache-invalidator/src/main', { INVALIDATOR_GROUP_ID: groupId, LOG_LEVEL: 'warn' });
try {
  await offer(1_000, 2); // warm-up: the group has joined and the first batches flowed
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  sentAt.clear();
  latencies = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  const sent = await offer(targetRate, seconds);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const ms = (p) => (latencies.getValueAtPercentile(p) / 1_000).toFixed(2);
  console.log(`\nbench: ${seconds}s per phase, producer, Kafka, Redis and the invalidator on this machine (127.0.0.1)\n`);
  console.log(
    `event → eviction at ${targetRate}/s: ${sent} events sent, ${latencies.totalCount} evictions seen, ${sentAt.size} not seen; p50 ${ms(50)} ms, p95 ${ms(95)} ms, p99 ${ms(99)} ms, max ${ms(100)} ms`,
  );

  const before = await metricsOf(service.url);
  const t0 = performance.now();
  const offered = await offer(Infinity, seconds);
  const offeredSeconds = (performance.now() - t0) / 1_000;
  // Let it drain what is queued, up to 30 s, and time how long the whole backlog took.
  const target = before + offered;
  let applied = await metricsOf(service.url);
  while (applied < target && performance.now() - t0 < offeredSeconds * 1_000 + 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    applied = await metricsOf(service.url);
  }
  const elapsed = (performance.now() - t0) / 1_000;
  console.log(
    `sustained: ${offered} events offered in ${offeredSeconds.toFixed(1)} s (${(offered / offeredSeconds).toFixed(0)}/s); ${applied - before} applied in ${elapsed.toFixed(1)} s = ${((applied - before) / elapsed).toFixed(0)} events/s`,
  );
} finally {
  await service.stop();
  await producer.disconnect();
  subscriber.disconnect();
}
