// `npm run bench:replay`: how fast the replay service copies a time range at speed `max`,
// beside a plain kafkajs consumer reading the same topic in the same run. BENCH_EVENTS
// (default 1,000,000) order events of ~300 bytes with keys and the headers the platform's
// publisher sets are produced into a fresh topic of BENCH_PARTITIONS (default 6) partitions;
// then (a) a new consumer group reads the whole topic with eachBatch and no processing, and
// (b) one replay job copies the whole range into a fresh topic through the service's HTTP
// API, timed from the POST to status done and by the job's own created/finished timestamps.
// Targets 127.0.0.1 only, is bounded in time, and deletes its topics and groups at the end.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from '../dev/build.mjs';
import { readFileSync } from 'node:fs';
import { cpuSeconds, runCommand, startService } from './http-bench.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const total = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const partitions = Number(process.env.BENCH_PARTITIONS ?? 6);
/** Upper bound of each timed phase. */
const phaseTimeoutMs = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 300) * 1_000;

await runCommand(root, ['bash', 'tools/stack/stack.sh', 'up']);
await build();
await runCommand(root, [process.execPath, 'dist/apps/replay/src/main.js', 'migrate']);

const { createKafka } = require(path.join(root, 'dist/libs/messaging/src/index.js'));
const kafka = createKafka({ clientId: 'bench-replay', brokers: ['127.0.0.1:9092'] });
const admin = kafka.admin();
await admin.connect();

const run = `${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
const source = `bench.replay.${run}.source`;
const target = `bench.replay.${run}.copy`;
const plainGroup = `bench-replay-plain-${run}`;

/** One order's status change, keyed by the order: the envelope's varying attributes, ~300 bytes of JSON. */
function record(orderId, customerId) {
  const id = randomUUID();
  const type = 'orders.order.status-changed.v1';
  const value = JSON.stringify({
    id,
    type,
    subject: orderId,
    time: new Date().toISOString(),
    aggregateversion: 2,
    data: { orderId, customerId, from: 'pending', to: 'confirmed' },
  });
  const traceparent = `00-${randomUUID().replaceAll('-', '')}-${randomUUID().replaceAll('-', '').slice(0, 16)}-01`;
  return {
    key: orderId,
    value,
    headers: { traceparent, 'content-type': 'application/cloudevents+json', 'ce-type': type, 'ce-id': id },
  };
}

async function produce() {
  await admin.createTopics({ topics: [{ topic: source, numPartitions: partitions }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const orders = Array.from({ length: 10_000 }, () => [randomUUID(), randomUUID()]);
  const chunk = 2_000;
  const inFlight = 4;
  let next = 0;
  let bytes = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < total) {
      const from = next;
      next = Math.min(total, next + chunk);
      const messages = [];
      for (let i = from; i < next; i += 1) {
        const [orderId, customerId] = orders[i % orders.length];
        const message = record(orderId, customerId);
        bytes += message.value.length;
        messages.push(message);
      }
      await producer.send({ topic: source, acks: -1, messages });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  await producer.disconnect();
  return { seconds: (performance.now() - started) / 1_000, averageBytes: bytes / total };
}

/** (a) A new group from the beginning, eachBatch, nothing done per record: the ceiling for any kafkajs reader here. */
async function plainConsumer() {
  const consumer = kafka.consumer({ groupId: plainGroup, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic: source, fromBeginning: true });
  let seen = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const started = performance.now();
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      seen += batch.messages.length;
      if (seen >= total) done();
    },
  });
  const timeout = setTimeout(() => done(), phaseTimeoutMs);
  await finished;
  clearTimeout(timeout);
  const seconds = (performance.now() - started) / 1_000;
  await consumer.disconnect();
  if (seen < total) throw new Error(`the plain consumer read ${seen} of ${total} records within ${phaseTimeoutMs / 1_000} s`);
  return { events: seen, seconds };
}

async function api(service, method, route, body) {
  const response = await fetch(`${service.url}/api/v1/event-replay${route}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** (b) One replay job at speed max over the whole range, into a fresh topic. */
async function replay(service, fromMs, toMs) {
  const started = performance.now();
  let job = await api(service, 'POST', '/replay', {
    topic: source,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    speed: 'max',
    target: { topic: target },
  });
  while (job.status === 'running') {
    if (performance.now() - started > phaseTimeoutMs) {
      await api(service, 'POST', `/replay/${job.id}/cancel`).catch(() => undefined);
      throw new Error(`the replay did not finish within ${phaseTimeoutMs / 1_000} s (${job.replayed} replayed)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
    job = await api(service, 'GET', `/replay/${job.id}`);
  }
  const seconds = (performance.now() - started) / 1_000;
  if (job.status !== 'done') throw new Error(`the replay ended ${job.status}: ${job.error}`);
  const copied = (await admin.fetchTopicOffsets(target)).reduce((sum, p) => sum + Number(p.high), 0);
  return {
    job,
    seconds,
    jobSeconds: (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1_000,
    copied,
  };
}

/** CPU seconds each process spends while `phase` runs: the broker, the replay service, and this process (the plain consumer). */
async function withCpu(pids, phase) {
  const before = Object.fromEntries(Object.entries(pids).map(([who, pid]) => [who, cpuSeconds(pid)]));
  const result = await phase();
  const cpu = Object.fromEntries(Object.entries(pids).map(([who, pid]) => [who, cpuSeconds(pid) - before[who]]));
  return { ...result, cpu };
}

const cpuPerEvent = ({ cpu }, events) =>
  Object.entries(cpu)
    .map(([who, seconds]) => `${who} ${((seconds * 1e6) / events).toFixed(1)} µs`)
    .join(', ');

const row = (name, events, seconds, baseline) => {
  const rate = events / seconds;
  const ratio = baseline ? `${((rate / baseline) * 100).toFixed(1)}% of (a)` : '(baseline)';
  console.log(
    `${name.padEnd(58)} ${String(events).padStart(8)} ${seconds.toFixed(2).padStart(8)} ${rate.toFixed(0).padStart(9)}  ${ratio}`,
  );
  return rate;
};

let service;
try {
  const fromMs = Date.now() - 1;
  const produced = await produce();
  const toMs = Date.now() + 1;
  service = await startService(root, 'apps/replay/src/main', { LOG_LEVEL: 'warn' });

  const pids = { broker: Number(readFileSync(path.join(root, '.stack/kafka/kafka.pid'), 'utf8')), replay: service.pid, bench: process.pid };
  const plain = await withCpu(pids, plainConsumer);
  const copy = await withCpu(pids, () => replay(service, fromMs, toMs));

  console.log(
    `\nbench: ${total} events (${produced.averageBytes.toFixed(0)}-byte values, 4 headers, ${partitions} partitions) produced in ${produced.seconds.toFixed(1)} s; broker, service and reader on this machine (127.0.0.1)\n`,
  );
  console.log(`${'measurement'.padEnd(58)} ${'events'.padStart(8)} ${'seconds'.padStart(8)} ${'events/s'.padStart(9)}  vs plain consumer`);
  const baseline = row('(a) plain kafkajs consumer, new group, eachBatch, no work', plain.events, plain.seconds);
  row('(b) replay max, POST → status done (HTTP polling)', copy.job.replayed, copy.seconds, baseline);
  row('(b) replay max, job created_at → finished_at', copy.job.replayed, copy.jobSeconds, baseline);
  console.log(`\nCPU per event (user + system, 2 cores in all): (a) ${cpuPerEvent(plain, plain.events)}`);
  console.log(`                                                 (b) ${cpuPerEvent(copy, copy.job.replayed)}`);
  console.log(`\nreplay job ${copy.job.id}: read ${copy.job.read}, replayed ${copy.job.replayed}, target holds ${copy.copied} records`);
  if (copy.copied !== total || copy.job.replayed !== total) console.log(`WARNING: expected ${total} records copied`);
} finally {
  await service?.stop();
  const existing = new Set(await admin.listTopics());
  const ours = [source, target].filter((t) => existing.has(t));
  if (ours.length > 0) await admin.deleteTopics({ topics: ours }).catch(() => undefined);
  await admin.deleteGroups([plainGroup]).catch(() => undefined);
  await admin.disconnect();
}
