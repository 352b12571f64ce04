import { randomUUID } from 'node:crypto';
import { createKafka, headersToStrings } from '@keelson/messaging';
import { freePort, localStack, ServiceProcess, waitFor } from '@keelson/testing';
import type { Admin, Kafka, Producer } from 'kafkajs';

// Debug sessions, the server-sent progress stream, replay metrics and jobs resumed by another
// replica: the replay service as real processes against the real broker and PostgreSQL.

interface Job {
  id: string;
  status: string;
  read: number;
  replayed: number;
  claimedBy: string | null;
  plan: { records: number };
}

interface Session {
  id: string;
  topic: string;
  groupId: string;
  positions: { partition: number; offset: string; latest: string; remaining: number }[];
  steps: number;
  recordsRead: number;
  requestedBy: string;
  createdAt: string;
  expiresAt: string;
}

interface Step {
  records: { partition: number; offset: string; timestamp: string; key: string | null; headers: Record<string, string>; value: unknown }[];
  session: Session;
}

interface Answer<T> {
  status: number;
  body: T;
  type: string | null;
}

interface StreamEvent {
  event: string;
  data: Record<string, unknown>;
}

const MIGRATE_ENTRY = 'apps/replay/src/main';
const run = randomUUID().slice(0, 8);
// Record times a couple of hours back, on the hour: far older ones would fall to the broker's
// retention (7 days) while a test runs.
const base = (Math.floor(Date.now() / 3_600_000) - 2) * 3_600_000;
const at = (seconds: number) => new Date(base + seconds * 1_000).toISOString();

async function call<T = Record<string, unknown>>(
  service: ServiceProcess,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const response = await fetch(`${service.url}/api/v1/event-replay${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T, type: response.headers.get('content-type') };
}

/** Reads a server-sent event stream to its end (bounded by `timeoutMs`); comments are counted, not kept. */
async function readEvents(url: string, timeoutMs = 30_000): Promise<{ type: string | null; events: StreamEvent[]; comments: number }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const type = response.headers.get('content-type');
  const text = await response.text(); // resolves when the server ends the stream
  const events: StreamEvent[] = [];
  let comments = 0;
  for (const block of text.split('\n\n').filter((b) => b !== '')) {
    if (block.startsWith(':')) {
      comments += 1;
      continue;
    }
    const field = (name: string) =>
      block
        .split('\n')
        .find((line) => line.startsWith(`${name}: `))
        ?.slice(name.length + 2);
    events.push({ event: field('event') ?? '', data: JSON.parse(field('data') ?? 'null') as Record<string, unknown> });
  }
  return { type, events, comments };
}

/** The sum of a metric's samples whose labels include `labels`. */
function sample(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const present = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => present.includes(`${k}="${v}"`))) sum += Number(match[3]);
  }
  return sum;
}

describe('replay service: debug sessions, progress stream, metrics', () => {
  let sut: ServiceProcess;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const steps = `it.${run}.steps.v1`;
  const paced = `it.${run}.paced.v1`;
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call<T>(sut, method, path, body, headers);
  const finished = (id: string) =>
    waitFor(`replay ${id} to finish`, async () => {
      const job = (await api<Job>('GET', `/replay/${id}`)).body;
      return job.status === 'running' ? undefined : job;
    });

  beforeAll(async () => {
    expect((await ServiceProcess.start(MIGRATE_ENTRY, {}, await freePort(), ['migrate']).exited).code).toBe(0);
    kafka = createKafka({ clientId: 'replay-sessions-it', brokers: [...localStack.kafka.brokers] });
    admin = kafka.admin();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), producer.connect()]);
    await admin.createTopics({
      topics: [
        { topic: steps, numPartitions: 2 },
        { topic: paced, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    // Two partitions, each with one record before the session's moment (t = 0) and the rest interleaved in time after it.
    const stamped: [number, number][] = [
      [0, -100],
      [1, -50],
      [0, 0],
      [1, 5],
      [0, 10],
      [1, 15],
      [0, 20],
      [1, 25],
      [0, 30],
    ];
    for (const [partition, seconds] of stamped) {
      await producer.send({
        topic: steps,
        messages: [
          {
            partition,
            key: `k${seconds}`,
            value: JSON.stringify({ at: seconds }),
            timestamp: String(base + seconds * 1_000),
            headers: { 'x-note': `n${seconds}` },
          },
        ],
      });
    }
    // Three records 2.5 s apart: a real-time replay of them takes 5 s, with silences longer than the heartbeat.
    await producer.send({
      topic: paced,
      messages: [0, 2.5, 5].map((s) => ({ key: `p${s}`, value: JSON.stringify({ s }), timestamp: String(base + s * 1_000) })),
    });
    // No periodic sweep during the tests (it runs once at boot): the expiry test starts a replica that sweeps.
    sut = ServiceProcess.start(
      MIGRATE_ENTRY,
      { REPLAY_SWEEP_INTERVAL_MS: '3600000', REPLAY_PROGRESS_HEARTBEAT_MS: '1000', REPLAY_DEBUG_SESSION_MAX_TTL_MS: '3600000' },
      await freePort(),
    );
    await sut.ready();
  });

  afterAll(async () => {
    await sut.stop();
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('opens a debug session at a moment and steps through it earliest first, committing the position to its group', async () => {
    const opened = await api<Session>('POST', '/debug-session', { topic: steps, at: at(0) }, { 'x-client-id': 'on-call-2' });
    expect(opened.status).toBe(201);
    const session = opened.body;
    expect(session).toMatchObject({
      topic: steps,
      requestedBy: 'on-call-2',
      steps: 0,
      positions: [
        { partition: 0, offset: '1', latest: '5', remaining: 4 },
        { partition: 1, offset: '1', latest: '4', remaining: 3 },
      ],
    });
    // The default lifetime: 15 minutes.
    expect(Date.parse(session.expiresAt) - Date.parse(session.createdAt)).toBe(900_000);
    const committed = async () =>
      ((await admin.fetchOffsets({ groupId: session.groupId, topics: [steps] }))[0]?.partitions ?? [])
        .map((p) => [p.partition, p.offset])
        .sort();
    expect(await committed()).toEqual([
      [0, '1'],
      [1, '1'],
    ]);

    const first = await api<Step>('POST', `/debug-session/${session.id}/next?count=3`);
    expect(first.status).toBe(200);
    expect(first.body.records).toEqual([
      { partition: 0, offset: '1', timestamp: at(0), key: 'k0', headers: { 'x-note': 'n0' }, value: { at: 0 } },
      { partition: 1, offset: '1', timestamp: at(5), key: 'k5', headers: { 'x-note': 'n5' }, value: { at: 5 } },
      { partition: 0, offset: '2', timestamp: at(10), key: 'k10', headers: { 'x-note': 'n10' }, value: { at: 10 } },
    ]);
    expect(first.body.session.positions.map((p) => [p.partition, p.offset, p.remaining])).toEqual([
      [0, '3', 2],
      [1, '2', 2],
    ]);
    expect(await committed()).toEqual([
      [0, '3'],
      [1, '2'],
    ]);

    const state = await api<Session>('GET', `/debug-session/${session.id}`);
    expect(state.body).toMatchObject({ steps: 1, recordsRead: 3, positions: first.body.session.positions });

    const rest = await api<Step>('POST', `/debug-session/${session.id}/next?count=10`);
    expect(rest.body.records.map((r) => r.key)).toEqual(['k15', 'k20', 'k25', 'k30']);
    expect(rest.body.session.positions.map((p) => p.remaining)).toEqual([0, 0]);
    const atEnd = await api<Step>('POST', `/debug-session/${session.id}/next`);
    expect([atEnd.status, atEnd.body.records]).toEqual([200, []]);

    expect((await api('DELETE', `/debug-session/${session.id}`)).status).toBe(204);
    const gone = await api('GET', `/debug-session/${session.id}`);
    expect([gone.status, gone.type]).toEqual([404, expect.stringContaining('application/problem+json')]);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(session.groupId);
  });

  it('refuses bad debug-session requests with problem documents', async () => {
    const missing = randomUUID();
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/debug-session', { topic: steps, at: '2026-11-22T10:00:00' }, 400, 'must be an RFC 3339 time with a zone'],
      ['POST', '/debug-session', { topic: steps }, 400, 'at must be an RFC 3339 time'],
      ['POST', '/debug-session', { topic: `it.${run}.missing`, at: at(0) }, 404, `topic it.${run}.missing does not exist`],
      ['POST', '/debug-session', { topic: steps, at: at(0), ttlSeconds: 7_200 }, 400, 'a debug session lives at most 3600 s'],
      ['POST', '/debug-session', { topic: steps, at: at(0), ttlSeconds: 0 }, 400, 'ttlSeconds'],
      ['POST', '/debug-session', { topic: steps, at: at(0), extra: 1 }, 400, 'extra'],
      ['GET', '/debug-session/not-a-uuid', undefined, 400, 'id must be a UUID'],
      ['GET', `/debug-session/${missing}`, undefined, 404, `debug session ${missing} does not exist`],
      ['POST', `/debug-session/${missing}/next`, undefined, 404, `debug session ${missing} does not exist`],
      ['DELETE', `/debug-session/${missing}`, undefined, 404, `debug session ${missing} does not exist`],
    ];
    for (const [method, path, body, status, text] of cases) {
      const answer = await api(method, path, body);
      expect([method, path, answer.status, answer.type, JSON.stringify(answer.body)]).toEqual([
        method,
        path,
        status,
        expect.stringContaining('application/problem+json'),
        expect.stringContaining(text),
      ]);
    }
    const session = (await api<Session>('POST', '/debug-session', { topic: steps, at: at(0) })).body;
    for (const count of ['0', '101', 'abc']) {
      const answer = await api('POST', `/debug-session/${session.id}/next?count=${count}`);
      expect([count, answer.status, answer.type]).toEqual([count, 400, expect.stringContaining('application/problem+json')]);
    }
    expect((await api<Session>('GET', `/debug-session/${session.id}`)).body.steps).toBe(0);
    expect((await api('DELETE', `/debug-session/${session.id}`)).status).toBe(204);
  });

  it('answers 410 for an expired session until a sweep deletes its group and row', async () => {
    const session = (await api<Session>('POST', '/debug-session', { topic: steps, at: at(0), ttlSeconds: 3 })).body;
    expect((await api<Step>('POST', `/debug-session/${session.id}/next`)).body.records.map((r) => r.key)).toEqual(['k0']);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(session.groupId);

    const expired = await waitFor('the session to expire', async () => {
      const answer = await api<{ detail: string }>('GET', `/debug-session/${session.id}`);
      return answer.status === 200 ? undefined : answer;
    });
    expect([expired.status, expired.type, expired.body.detail]).toEqual([
      410,
      expect.stringContaining('application/problem+json'),
      expect.stringContaining('expired'),
    ]);
    expect((await api('POST', `/debug-session/${session.id}/next`)).status).toBe(410);

    // A replica sweeping every half second removes it.
    const sweeper = ServiceProcess.start(MIGRATE_ENTRY, { REPLAY_SWEEP_INTERVAL_MS: '500' }, await freePort());
    try {
      await sweeper.ready();
      await waitFor('the sweep to remove the session', async () =>
        (await api('GET', `/debug-session/${session.id}`)).status === 404 ? true : undefined,
      );
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(session.groupId);
    } finally {
      await sweeper.stop();
    }
  });

  it('streams a replay’s progress as server-sent events, with heartbeats, until its final event', async () => {
    const started = await api<Job>('POST', '/replay', {
      topic: paced,
      from: at(0),
      to: at(10),
      speed: 'realtime',
      target: { topic: `it.${run}.paced-copy` },
    });
    const stream = await readEvents(`${sut.url}/api/v1/event-replay/replay/${started.body.id}/events`);
    expect(stream.type).toContain('text/event-stream');
    const progress = stream.events.filter((e) => e.event === 'progress');
    const last = stream.events.at(-1);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.every((e) => e.data.status === 'running' && e.data.id === started.body.id && e.data.planned === 3)).toBe(true);
    const replayed = progress.map((e) => e.data.replayed as number);
    expect(replayed).toEqual([...replayed].sort((a, b) => a - b));
    expect(last?.event).toBe('done');
    expect(last?.data).toMatchObject({ id: started.body.id, status: 'done', replayed: 3 });
    expect(stream.events.filter((e) => e.event !== 'progress')).toHaveLength(1);
    // 2.5 s between records and a 1 s heartbeat: the silences carry comments.
    expect(stream.comments).toBeGreaterThanOrEqual(1);
  });

  it('ends the stream with the final event at once for a finished or cancelled replay; 404 for an unknown one', async () => {
    const done = await finished(
      (await api<Job>('POST', '/replay', { topic: paced, from: at(0), to: at(10), target: { topic: `it.${run}.copy-2` } })).body.id,
    );
    const atOnce = await readEvents(`${sut.url}/api/v1/event-replay/replay/${done.id}/events`, 5_000);
    expect(atOnce.events.map((e) => e.event)).toEqual(['done']);
    expect(atOnce.events[0]?.data).toMatchObject({ id: done.id, replayed: 3 });

    const slow = await api<Job>('POST', '/replay', {
      topic: paced,
      from: at(0),
      to: at(10),
      speed: '0.1x',
      target: { topic: `it.${run}.slow-copy` },
    });
    const streaming = readEvents(`${sut.url}/api/v1/event-replay/replay/${slow.body.id}/events`);
    await waitFor('the first record to be replayed', async () =>
      (await api<Job>('GET', `/replay/${slow.body.id}`)).body.replayed >= 1 ? true : undefined,
    );
    expect((await api('POST', `/replay/${slow.body.id}/cancel`)).status).toBe(200);
    const cancelled = await streaming;
    expect(cancelled.events.at(-1)?.event).toBe('cancelled');
    expect(cancelled.events.at(-1)?.data).toMatchObject({ id: slow.body.id, status: 'cancelled' });

    const unknown = await api('GET', `/replay/${randomUUID()}/events`);
    expect([unknown.status, unknown.type]).toEqual([404, expect.stringContaining('application/problem+json')]);
    expect((await api('GET', '/replay/not-a-uuid/events')).status).toBe(400);
  });

  it('exports jobs running and the lag behind plan while a replay runs, then events replayed and the job’s duration', async () => {
    const scrape = async () => (await fetch(`${sut.url}/metrics`)).text();
    // Earlier tests' jobs (the cancelled one stops within a second) are out of the gauges first.
    const before = await waitFor('no replay running here', async () => {
      const text = await scrape();
      return sample(text, 'replay_jobs_running') === 0 ? text : undefined;
    });
    expect(before).toContain('# TYPE replay_job_duration_seconds histogram');
    expect(before).toContain('# TYPE replay_events_replayed_total counter');
    const started = await api<Job>('POST', '/replay', {
      topic: paced,
      from: at(0),
      to: at(10),
      speed: 'realtime',
      target: { topic: `it.${run}.metrics-copy` },
    });
    const during = await waitFor('the running replay in the metrics', async () => {
      const text = await scrape();
      return sample(text, 'replay_jobs_running') >= 1 && sample(text, 'replay_lag_behind_plan_records') > 0 ? text : undefined;
    });
    // At most the whole plan of the one job running here.
    expect(sample(during, 'replay_lag_behind_plan_records')).toBeLessThanOrEqual(started.body.plan.records);

    expect((await finished(started.body.id)).replayed).toBe(3);
    const after = await waitFor('the job to leave the running gauge', async () => {
      const text = await scrape();
      return sample(text, 'replay_jobs_running') === 0 ? text : undefined;
    });
    expect(sample(after, 'replay_lag_behind_plan_records')).toBe(0);
    expect(sample(after, 'replay_events_replayed_total') - sample(before, 'replay_events_replayed_total')).toBe(3);
    const done = { status: 'done' };
    expect(sample(after, 'replay_job_duration_seconds_count', done) - sample(before, 'replay_job_duration_seconds_count', done)).toBe(1);
    // Paced in real time over records 5 s apart.
    expect(
      sample(after, 'replay_job_duration_seconds_sum', done) - sample(before, 'replay_job_duration_seconds_sum', done),
    ).toBeGreaterThanOrEqual(5);
    expect(sample(after, 'replay_jobs_total', done) - sample(before, 'replay_jobs_total', done)).toBe(1);
  });
});

describe('replay service: a job survives the replica running it', () => {
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const source = `it.${run}.lease-source.v1`;
  const target = `it.${run}.lease-copy`;
  const lease = { REPLAY_LEASE_MS: '2000' };

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'replay-lease-it', brokers: [...localStack.kafka.brokers] });
    admin = kafka.admin();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), producer.connect()]);
    await admin.createTopics({ topics: [{ topic: source, numPartitions: 2 }], waitForLeaders: true });
    // Twelve records a second apart, alternating between the partitions.
    await producer.send({
      topic: source,
      messages: Array.from({ length: 12 }, (_, i) => ({
        partition: i % 2,
        key: `r${i}`,
        value: JSON.stringify({ i }),
        timestamp: String(base + i * 1_000),
      })),
    });
  });

  afterAll(async () => {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('resumes a paced replay on another replica after the first is killed: every record arrives, only the one in flight may repeat', async () => {
    const a = ServiceProcess.start(MIGRATE_ENTRY, lease, await freePort());
    let b: ServiceProcess | undefined;
    try {
      await a.ready();
      const started = await call<Job>(a, 'POST', '/replay', {
        topic: source,
        from: at(0),
        to: at(12),
        speed: '2x',
        target: { topic: target },
      });
      expect(started.status).toBe(202);
      const id = started.body.id;
      const owner = started.body.claimedBy;
      expect(owner).toEqual(expect.any(String));
      await waitFor('replica A to replay four records', async () =>
        (await call<Job>(a, 'GET', `/replay/${id}`)).body.replayed >= 4 ? true : undefined,
      );
      a.signal('SIGKILL');
      expect((await a.exited).signal).toBe('SIGKILL');

      b = ServiceProcess.start(MIGRATE_ENTRY, lease, await freePort());
      await b.ready();
      const replicaB = b;
      const job = await waitFor(
        'replica B to finish the job',
        async () => {
          const current = (await call<Job>(replicaB, 'GET', `/replay/${id}`)).body;
          return current.status === 'running' ? undefined : current;
        },
        { timeoutMs: 60_000 },
      );
      expect([job.status, job.replayed, job.read]).toEqual(['done', 12, 12]);
      expect(job.claimedBy).not.toBe(owner);
      // B says so in its log: it resumed the job from A's stored progress (log lines reach stdout within 250 ms).
      const resumed = await waitFor('replica B to log the resume', () => {
        const lines = replicaB.stdout.split('\n').filter((line) => line.includes('replay resumed'));
        return Promise.resolve(
          lines.length > 0 ? lines.map((line) => JSON.parse(line) as { job: string; previousOwner: string; replica: string }) : undefined,
        );
      });
      expect(resumed).toContainEqual(expect.objectContaining({ job: id, previousOwner: owner, replica: job.claimedBy }));

      // Every record sent is in the target (sends are acknowledged before the job is done): count them by offsets.
      const total = (await admin.fetchTopicOffsets(target)).reduce((sum, p) => sum + Number(p.high), 0);
      const copied = await readAll(kafka, target, total);
      const originals = copied.map((h) => `${h['x-original-partition']}/${h['x-original-offset']}`);
      const distinct = new Set(originals);
      const expected = Array.from({ length: 12 }, (_, i) => `${i % 2}/${Math.floor(i / 2)}`);
      expect([...distinct].sort()).toEqual(expected.sort());
      expect(copied.every((h) => h['x-replay-id'] === id)).toBe(true);
      // A paced replay stores its progress after every record: a resume repeats at most the one A had in flight.
      expect(total - distinct.size).toBeLessThanOrEqual(1);
    } finally {
      await b?.stop();
      await a.stop();
    }
  });
});

/** Every record of `topic` (`count` of them), as their headers. */
async function readAll(kafka: Kafka, topic: string, count: number): Promise<Record<string, string>[]> {
  const consumer = kafka.consumer({ groupId: `replay-it-read-${randomUUID()}` });
  const headers: Record<string, string>[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      headers.push(headersToStrings(message.headers));
      return Promise.resolve();
    },
  });
  try {
    return await waitFor(`${count} records on ${topic}`, () => Promise.resolve(headers.length >= count ? headers : undefined));
  } finally {
    await consumer.disconnect();
  }
}
