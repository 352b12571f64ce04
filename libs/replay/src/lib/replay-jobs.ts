import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyCachingPartitioner, messagesProduced } from '@keelson/messaging';
import { metricsRegistry } from '@keelson/observability';
import { DomainError } from '@keelson/runtime';
import { Logger } from '@nestjs/common';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { DataSource } from 'typeorm';
import { copyAtMaxSpeed } from './fast-copy';
import { planRange, readRange, type RangePlan, type RangeRecord } from './range';
import { ReplayWriter } from './replay-writer';

export type ReplaySpeed = 'max' | 'realtime' | `${number}x`;
export type ReplayTarget = { topic: string } | { consumerGroup: string };

export interface ReplayRequest {
  topic: string;
  fromMs: number;
  toMs: number;
  key?: string;
  types?: string[];
  target: ReplayTarget;
  speed: ReplaySpeed;
}

export interface ReplaySettings {
  /** Let replays write into the platform's own domain topics (off: a replay cannot re-drive production consumers by accident). */
  allowDomainTargets: boolean;
  domainTopics: readonly string[];
  /** How far CreateTime may run out of order; the read goes this far past the range end. */
  maxTimestampSkewMs: number;
  /** Session timeout of the readers' consumer groups. */
  readerSessionTimeoutMs: number;
  /** How long a replica's claim on a running job lasts unless renewed (renewed every third of it). */
  leaseMs: number;
  /** A debug session's lifetime unless the request asks for another, and the most a request may ask for. */
  debugSessionTtlMs: number;
  debugSessionMaxTtlMs: number;
  /** How often expired debug sessions are removed (their consumer groups deleted). */
  sweepIntervalMs: number;
  /** A progress stream writes a comment after this much silence, so proxies keep it open. */
  progressHeartbeatMs: number;
}

export type ReplayErrorCode =
  | 'protected-target'
  | 'same-topic'
  | 'unknown-topic'
  | 'group-active'
  | 'job-not-found'
  | 'job-finished'
  | 'no-events'
  | 'no-offsets'
  | 'snapshot-not-found'
  | 'session-not-found'
  | 'session-expired'
  | 'session-busy'
  | 'invalid-ttl';

export class ReplayError extends DomainError<ReplayErrorCode> {
  problem(): { status: number; title: string } {
    switch (this.code) {
      case 'invalid-ttl':
        return { status: 400, title: 'Bad Request' };
      case 'protected-target':
      case 'same-topic':
        return { status: 422, title: 'Unprocessable Content' };
      case 'unknown-topic':
      case 'job-not-found':
      case 'no-events':
      case 'no-offsets':
      case 'snapshot-not-found':
      case 'session-not-found':
        return { status: 404, title: 'Not Found' };
      case 'session-expired':
        return { status: 410, title: 'Gone' };
      case 'group-active':
      case 'job-finished':
      case 'session-busy':
        return { status: 409, title: 'Conflict' };
    }
  }
}

export type SnapshotOffsets = { topic: string; partitions: { partition: number; offset: string }[] }[];

export interface OffsetSnapshot {
  id: string;
  groupId: string;
  offsets: SnapshotOffsets;
  requestedBy: string;
  createdAt: string;
}

export interface ReplayJobView {
  id: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  topic: string;
  from: string;
  to: string;
  target: ReplayTarget;
  speed: ReplaySpeed;
  filters: { key?: string; types?: string[] };
  plan: RangePlan;
  read: number;
  replayed: number;
  error: string | null;
  requestedBy: string;
  createdAt: string;
  finishedAt: string | null;
  /** The replica working on (or, once finished, that finished) a job copied into a topic. */
  claimedBy: string | null;
  /** Next offset to read per partition: everything before it has been copied or filtered out. */
  nextOffsets: Record<string, string>;
}

/** What a replica resumes a job from. */
interface JobProgress {
  nextOffsets: Record<string, string>;
  /** Timestamp of the last record handled: a resumed paced replay continues its clock from it. */
  lastTimestamp: number | null;
}

/** A job this replica is copying. */
interface JobRun {
  controller: AbortController;
  plan: RangePlan;
  read: number;
  replayed: number;
  progress: JobProgress;
  settled: Promise<void>;
}

const jobsTotal = new Counter({
  name: 'replay_jobs_total',
  help: 'Replay jobs started, resumed by another replica, and by final status (done, failed, cancelled).',
  labelNames: ['status'] as const,
  registers: [metricsRegistry],
});
const eventsReplayed = new Counter({
  name: 'replay_events_replayed_total',
  help: 'Records written to replay targets.',
  registers: [metricsRegistry],
});
const jobDuration = new Histogram({
  name: 'replay_job_duration_seconds',
  help: 'Time from a replay job’s start to its final status (a resumed job counts from its first start).',
  labelNames: ['status'] as const,
  buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3_600, 14_400],
  registers: [metricsRegistry],
});

/** The jobs of this process, read at scrape time (one ReplayJobs per process). */
let observed: ReplayJobs | undefined;
function observe(jobs: ReplayJobs): void {
  observed = jobs;
}
new Gauge({
  name: 'replay_jobs_running',
  help: 'Replay jobs this replica is copying (sum over replicas for the total).',
  registers: [metricsRegistry],
  collect() {
    this.set(observed?.runningCount ?? 0);
  },
});
new Gauge({
  name: 'replay_lag_behind_plan_records',
  help: 'Offsets of the running replays’ plans not yet read, summed over the jobs this replica copies.',
  registers: [metricsRegistry],
  collect() {
    this.set(observed?.lagBehindPlan() ?? 0);
  },
});

interface JobRow {
  id: string;
  status: ReplayJobView['status'];
  topic: string;
  from_time: Date;
  to_time: Date;
  target: ReplayTarget;
  speed: ReplaySpeed;
  filters: ReplayJobView['filters'];
  plan: RangePlan;
  read: string;
  replayed: string;
  error: string | null;
  requested_by: string;
  created_at: Date;
  finished_at: Date | null;
  claimed_by: string | null;
  lease_until: Date | null;
  progress: JobProgress | null;
}

const emptyProgress = (): JobProgress => ({ nextOffsets: {}, lastTimestamp: null });

const view = (row: JobRow): ReplayJobView => ({
  id: row.id,
  status: row.status,
  topic: row.topic,
  from: row.from_time.toISOString(),
  to: row.to_time.toISOString(),
  target: row.target,
  speed: row.speed,
  filters: row.filters,
  plan: row.plan,
  read: Number(row.read),
  replayed: Number(row.replayed),
  error: row.error,
  requestedBy: row.requested_by,
  createdAt: row.created_at.toISOString(),
  finishedAt: row.finished_at?.toISOString() ?? null,
  claimedBy: row.claimed_by,
  nextOffsets: row.progress?.nextOffsets ?? {},
});

/** The plan's partitions from the stored next offsets on: what a (resumed) job still has to read. */
const remainingPlan = (plan: RangePlan, progress: JobProgress): RangePlan => ({
  ...plan,
  partitions: plan.partitions.map((p) => {
    const next = progress.nextOffsets[p.partition];
    return next !== undefined && BigInt(next) > BigInt(p.start) ? { ...p, start: next } : p;
  }),
});

/** Records of one partition, in offset order, are handled (copied or filtered out): the job resumes after the last. */
function handled(run: JobRun, records: readonly RangeRecord[]): void {
  const last = records.at(-1);
  if (last === undefined) return;
  run.read += records.length;
  run.progress.nextOffsets[last.partition] = (BigInt(last.offset) + 1n).toString();
  run.progress.lastTimestamp = last.timestamp;
}

/** Running jobs a replica claims per lease round (the rest wait for the next round or another replica). */
const CLAIMS_PER_ROUND = 10;

/**
 * Replay jobs: plan a time range, then either copy its records to a target topic (keys kept,
 * `x-replay-*` headers added, paced or at full speed) or move a consumer group's offsets to
 * the range's start. Every job is stored with who asked, what, and its progress.
 *
 * A copy runs on the replica holding its lease (`claimed_by`, `lease_until`); if that replica
 * stops renewing it, another claims the job and resumes from the stored next offsets.
 */
export class ReplayJobs {
  private readonly logger = new Logger(ReplayJobs.name);
  private readonly running = new Map<string, JobRun>();
  /** This process among the replicas (pod names are unique in a cluster; the suffix keeps local processes apart). */
  readonly replicaId = `${hostname()}-${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly dataSource: DataSource,
    private readonly kafka: Kafka,
    private readonly schema: string,
    private readonly settings: ReplaySettings,
  ) {
    observe(this);
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Offsets of the plans of the jobs running here not yet read. */
  lagBehindPlan(): number {
    let lag = 0n;
    for (const run of this.running.values()) {
      for (const p of remainingPlan(run.plan, run.progress).partitions) {
        if (BigInt(p.end) > BigInt(p.start)) lag += BigInt(p.end) - BigInt(p.start);
      }
    }
    return Number(lag);
  }

  /** How far past a range's end records are read (CreateTime can be out of order). */
  get maxTimestampSkewMs(): number {
    return this.settings.maxTimestampSkewMs;
  }

  async plan(request: Pick<ReplayRequest, 'topic' | 'fromMs' | 'toMs'>): Promise<RangePlan> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(request.topic)) throw new ReplayError('unknown-topic', `topic ${request.topic} does not exist`);
      return await planRange(admin, request.topic, request.fromMs, request.toMs, this.settings.maxTimestampSkewMs);
    } finally {
      await admin.disconnect();
    }
  }

  /** Validates the target, stores the job and starts it; resolves once it is running. */
  async start(request: ReplayRequest, requestedBy: string): Promise<ReplayJobView> {
    if ('topic' in request.target) {
      if (request.target.topic === request.topic) throw new ReplayError('same-topic', 'a replay cannot write into the topic it reads');
      if (!this.settings.allowDomainTargets && this.settings.domainTopics.includes(request.target.topic)) {
        throw new ReplayError('protected-target', `${request.target.topic} is a domain topic; replays into it are not allowed here`);
      }
    }
    const plan = await this.plan(request);
    if ('consumerGroup' in request.target) await this.resetGroup(request.target.consumerGroup, plan);
    else await this.ensureTarget(request.target.topic, plan.partitions.length);
    const id = randomUUID();
    const copies = 'topic' in request.target;
    const [row] = await this.dataSource.query<JobRow[]>(
      `INSERT INTO "${this.schema}".jobs
         (id, status, topic, from_time, to_time, target, speed, filters, plan, requested_by, finished_at, claimed_by, lease_until)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text,
               CASE WHEN $12::text IS NULL THEN NULL ELSE now() + $13 * interval '1 millisecond' END) RETURNING *`,
      [
        id,
        'consumerGroup' in request.target ? 'done' : 'running',
        request.topic,
        new Date(request.fromMs),
        new Date(request.toMs),
        JSON.stringify(request.target),
        request.speed,
        JSON.stringify({ ...(request.key ? { key: request.key } : {}), ...(request.types ? { types: request.types } : {}) }),
        JSON.stringify(plan),
        requestedBy,
        'consumerGroup' in request.target ? new Date() : null,
        copies ? this.replicaId : null,
        this.settings.leaseMs,
      ],
    );
    jobsTotal.inc({ status: 'started' });
    this.logger.log({ job: id, topic: request.topic, target: request.target, requestedBy }, 'replay started');
    if ('topic' in request.target) this.run(id, request, request.target.topic, plan, { read: 0, replayed: 0, progress: emptyProgress() });
    else jobsTotal.inc({ status: 'done' });
    return view(row as JobRow);
  }

  async get(id: string): Promise<ReplayJobView> {
    const [row] = await this.dataSource.query<JobRow[]>(`SELECT * FROM "${this.schema}".jobs WHERE id = $1`, [id]);
    if (!row) throw new ReplayError('job-not-found', `replay ${id} does not exist`);
    return view(row);
  }

  /** Cancels a running job wherever it runs: the replica copying it stops at its next progress save or lease renewal. */
  async cancel(id: string): Promise<ReplayJobView> {
    const job = await this.get(id);
    if (job.status !== 'running') throw new ReplayError('job-finished', `replay ${id} is ${job.status}`);
    this.running.get(id)?.controller.abort();
    await this.finish(id, 'cancelled', null);
    return this.get(id);
  }

  /** Stops the jobs running here (each saves its progress and disconnects its producer), and hands them over at once instead of when their lease lapses. */
  async stop(): Promise<void> {
    const runs = [...this.running.values()];
    for (const run of runs) run.controller.abort();
    await Promise.all(runs.map((run) => run.settled));
    if (runs.length > 0) {
      await this.dataSource
        .query(`UPDATE "${this.schema}".jobs SET lease_until = now() WHERE claimed_by = $1 AND status = 'running'`, [this.replicaId])
        .catch((error: unknown) => {
          this.logger.warn(`could not release replay leases: ${(error as Error).message}`);
        });
    }
  }

  /**
   * One lease round: renews the leases of the jobs running here (and stops those no longer
   * ours: cancelled, or claimed by another replica after a lapse), then claims running jobs
   * whose lease lapsed and resumes them from their stored progress.
   */
  async maintainLeases(): Promise<void> {
    const local = [...this.running.keys()];
    if (local.length > 0) {
      const [renewed] = await this.dataSource.query<[{ id: string }[], number]>(
        `UPDATE "${this.schema}".jobs SET lease_until = now() + $3 * interval '1 millisecond'
         WHERE claimed_by = $1 AND status = 'running' AND id = ANY($2::uuid[]) RETURNING id`,
        [this.replicaId, local, this.settings.leaseMs],
      );
      const ours = new Set(renewed.map((r) => r.id));
      for (const id of local) {
        if (ours.has(id)) continue;
        this.logger.warn(`replay ${id} is no longer ours (cancelled, finished or claimed elsewhere); stopping here`);
        this.running.get(id)?.controller.abort();
      }
    }
    for (let claimed = 0; claimed < CLAIMS_PER_ROUND; claimed += 1) {
      const [rows] = await this.dataSource.query<[(JobRow & { previous_owner: string | null })[], number]>(
        `UPDATE "${this.schema}".jobs AS j SET claimed_by = $1, lease_until = now() + $2 * interval '1 millisecond'
         FROM (SELECT id, claimed_by FROM "${this.schema}".jobs
               WHERE status = 'running' AND lease_until < now()
               ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED) AS lapsed
         WHERE j.id = lapsed.id
         RETURNING j.*, lapsed.claimed_by AS previous_owner`,
        [this.replicaId, this.settings.leaseMs],
      );
      const row = rows[0];
      if (!row) return;
      // Our own lease lapsed (a slow renewal) while the job still runs here: the claim just renewed it.
      if (this.running.has(row.id)) continue;
      this.resume(row, row.previous_owner);
    }
  }

  private resume(row: JobRow, previousOwner: string | null): void {
    if (!('topic' in row.target)) return; // a consumer-group target finishes when it is created
    const progress = row.progress ?? emptyProgress();
    this.logger.warn(
      { job: row.id, replica: this.replicaId, previousOwner, nextOffsets: progress.nextOffsets },
      'replay resumed from its stored progress (its replica stopped renewing the lease)',
    );
    jobsTotal.inc({ status: 'resumed' });
    const request: ReplayRequest = {
      topic: row.topic,
      fromMs: row.from_time.getTime(),
      toMs: row.to_time.getTime(),
      target: row.target,
      speed: row.speed,
      ...(row.filters.key === undefined ? {} : { key: row.filters.key }),
      ...(row.filters.types === undefined ? {} : { types: row.filters.types }),
    };
    this.run(row.id, request, row.target.topic, row.plan, { read: Number(row.read), replayed: Number(row.replayed), progress });
  }

  private run(
    id: string,
    request: ReplayRequest,
    target: string,
    plan: RangePlan,
    from: { read: number; replayed: number; progress: JobProgress },
  ): void {
    const controller = new AbortController();
    const run: JobRun = { controller, plan, ...from, settled: Promise.resolve() };
    this.running.set(id, run);
    run.settled = this.copy(id, request, target, run)
      .then(async () => {
        if (!controller.signal.aborted) await this.finish(id, 'done', null, this.replicaId);
      })
      .catch(async (error: unknown) => {
        this.logger.error(`replay ${id} failed: ${(error as Error).message}`);
        await this.finish(id, 'failed', (error as Error).message, this.replicaId);
      })
      // Not finished in the table: the lease lapses and a replica resumes the job.
      .catch((error: unknown) => {
        this.logger.error(`replay ${id} could not be finished: ${(error as Error).message}`);
      })
      .finally(() => this.running.delete(id));
  }

  /** Stores a run's progress; a job no longer ours (cancelled, or claimed by another replica) is stopped here. */
  private async saveProgress(id: string, run: JobRun): Promise<void> {
    const [rows] = await this.dataSource.query<[{ id: string }[], number]>(
      `UPDATE "${this.schema}".jobs SET read = $3, replayed = $4, progress = $5
       WHERE id = $1 AND claimed_by = $2 AND status = 'running' RETURNING id`,
      [id, this.replicaId, run.read, run.replayed, JSON.stringify(run.progress)],
    );
    if (rows.length === 0 && !run.controller.signal.aborted) {
      this.logger.warn(`replay ${id} is no longer ours (cancelled or claimed elsewhere); stopping here`);
      run.controller.abort();
    }
  }

  private async copy(id: string, request: ReplayRequest, target: string, run: JobRun): Promise<void> {
    if (request.speed === 'max') {
      await this.copyAtMax(id, request, target, run);
      return;
    }
    // A producer per job: kafkajs refreshes metadata for every topic a producer has written to
    // and fails every send once one of them is deleted, so one shared producer would break all
    // later replays as soon as an old target topic is removed.
    const producer = this.kafka.producer({ idempotent: true, allowAutoTopicCreation: false, createPartitioner: KeyCachingPartitioner });
    await producer.connect();
    try {
      await this.copyPaced(producer, id, request, target, run);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  /** Speed max: `copyAtMaxSpeed`; progress is stored at most every 500 ms, one save at a time and in order. */
  private async copyAtMax(id: string, request: ReplayRequest, target: string, run: JobRun): Promise<void> {
    let saving = Promise.resolve();
    let savedAt = Date.now();
    await copyAtMaxSpeed({
      kafka: this.kafka,
      clientId: `replay-${id}`,
      plan: remainingPlan(run.plan, run.progress),
      target,
      replayId: id,
      ...(request.key === undefined ? {} : { key: request.key }),
      ...(request.types === undefined ? {} : { types: request.types }),
      signal: run.controller.signal,
      written: (count) => {
        run.replayed += count;
        eventsReplayed.inc(count);
        messagesProduced.inc({ topic: target }, count);
      },
      skipped: (partition, from, to) => {
        this.logger.warn(
          { job: id, topic: request.topic, partition, from, to },
          `replay ${id}: retention deleted ${BigInt(to) - BigInt(from)} planned records of partition ${partition} before they were read`,
        );
      },
      handled: (partition, next, read, lastTimestamp) => {
        run.read += read;
        run.progress.nextOffsets[partition] = next;
        if (lastTimestamp !== null) run.progress.lastTimestamp = lastTimestamp;
        if (Date.now() - savedAt > 500) {
          savedAt = Date.now();
          saving = saving
            .then(() => this.saveProgress(id, run))
            .catch((error: unknown) => {
              this.logger.warn(`replay ${id}: progress not saved: ${(error as Error).message}`);
            });
        }
      },
    });
    await saving;
    await this.saveProgress(id, run);
  }

  /**
   * A paced replay (speed `realtime` or `N×`; speed max is `copyAtMaxSpeed`) writes each record
   * at its moment in replay time: what is due goes out together, then it sleeps, heartbeating,
   * until the next record is due. Each fetched batch is filtered (timestamps by the reader, key
   * and type here). Records count as handled (the resume point moves past them) only once
   * written; progress is saved after every write, so a resume repeats at most what was in flight.
   */
  private async copyPaced(producer: Producer, id: string, request: ReplayRequest, target: string, run: JobRun): Promise<void> {
    const { plan } = run;
    const { signal } = run.controller;
    const factor = request.speed === 'realtime' ? 1 : 1 / Number(request.speed.slice(0, -1));
    // A resumed job continues its replay clock from the last record handled instead of starting over.
    const startedAt =
      Date.now() - (run.progress.lastTimestamp === null ? 0 : Math.max(0, run.progress.lastTimestamp - plan.fromMs) * factor);
    const dueAt = (record: RangeRecord) => startedAt + (record.timestamp - plan.fromMs) * factor;
    const writer = new ReplayWriter(producer, target, id, (count) => {
      run.replayed += count;
      eventsReplayed.inc(count);
    });
    const save = () => this.saveProgress(id, run);
    await readRange(this.kafka, remainingPlan(plan, run.progress), {
      signal,
      sessionTimeoutMs: this.settings.readerSessionTimeoutMs,
      onBatch: async (batch, heartbeat) => {
        const wanted = new Set(batch.records.filter((record) => this.matches(record, request)));
        // Records since the last write, wanted or not: handled together once what is due is written.
        let pending: RangeRecord[] = [];
        const writeDue = async () => {
          await writer.write(
            pending.filter((record) => wanted.has(record)),
            signal,
          );
          if (signal.aborted) return;
          handled(run, pending);
          pending = [];
          await save();
        };
        for (const record of batch.records) {
          if (wanted.has(record) && dueAt(record) > Date.now()) {
            await writeDue();
            let wait = dueAt(record) - Date.now();
            while (wait > 0 && !signal.aborted) {
              await sleep(Math.min(wait, 1_000));
              await heartbeat();
              wait = dueAt(record) - Date.now();
            }
          }
          if (signal.aborted) return;
          pending.push(record);
        }
        await writeDue();
      },
    });
    await save();
  }

  private matches(record: RangeRecord, request: ReplayRequest): boolean {
    if (request.key !== undefined && record.key !== request.key) return false;
    if (!request.types) return true;
    try {
      const type = (JSON.parse(record.value?.toString() ?? 'null') as { type?: unknown } | null)?.type;
      return typeof type === 'string' && request.types.includes(type);
    } catch {
      return false;
    }
  }

  /** Creates the target topic (as many partitions as the source) unless it exists. */
  private async ensureTarget(topic: string, partitions: number): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) {
        await admin.createTopics({ topics: [{ topic, numPartitions: Math.max(1, partitions) }], waitForLeaders: true });
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Saves a consumer group's committed offsets (every topic it has offsets for, or the ones named). */
  async snapshot(groupId: string, topics: readonly string[] | undefined, requestedBy: string): Promise<OffsetSnapshot> {
    const admin = this.kafka.admin();
    await admin.connect();
    let offsets: SnapshotOffsets;
    try {
      const fetched = await admin.fetchOffsets({ groupId, ...(topics ? { topics: [...topics] } : {}) });
      offsets = fetched
        .map(({ topic, partitions }) => ({
          topic,
          partitions: partitions.filter((p) => p.offset !== '-1').map(({ partition, offset }) => ({ partition, offset })),
        }))
        .filter((t) => t.partitions.length > 0);
    } finally {
      await admin.disconnect();
    }
    if (offsets.length === 0) throw new ReplayError('no-offsets', `consumer group ${groupId} has no committed offsets to save`);
    const [row] = await this.dataSource.query<{ id: string; created_at: Date }[]>(
      `INSERT INTO "${this.schema}".snapshots (id, group_id, offsets, requested_by) VALUES ($1, $2, $3, $4) RETURNING id, created_at`,
      [randomUUID(), groupId, JSON.stringify(offsets), requestedBy],
    );
    this.logger.log({ snapshot: row?.id, groupId, requestedBy }, 'offsets saved');
    return { id: row?.id ?? '', groupId, offsets, requestedBy, createdAt: row?.created_at.toISOString() ?? '' };
  }

  /**
   * Puts a snapshot's offsets back. Refused while the group has members (they would
   * overwrite it); an offset below the partition's log start (records deleted since) is
   * clamped to the log start and reported.
   */
  async restore(
    snapshotId: string,
    requestedBy: string,
  ): Promise<{
    snapshot: string;
    groupId: string;
    restored: SnapshotOffsets;
    clamped: { topic: string; partition: number; saved: string; restored: string }[];
  }> {
    const [row] = await this.dataSource.query<{ group_id: string; offsets: SnapshotOffsets }[]>(
      `SELECT group_id, offsets FROM "${this.schema}".snapshots WHERE id = $1`,
      [snapshotId],
    );
    if (!row) throw new ReplayError('snapshot-not-found', `snapshot ${snapshotId} does not exist`);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await this.assertIdle(admin, row.group_id);
      const restored: SnapshotOffsets = [];
      const clamped: { topic: string; partition: number; saved: string; restored: string }[] = [];
      for (const { topic, partitions } of row.offsets) {
        const bounds = await admin.fetchTopicOffsets(topic);
        const target = partitions.map(({ partition, offset }) => {
          const low = bounds.find((b) => b.partition === partition)?.low ?? '0';
          if (BigInt(offset) >= BigInt(low)) return { partition, offset };
          clamped.push({ topic, partition, saved: offset, restored: low });
          return { partition, offset: low };
        });
        await admin.setOffsets({ groupId: row.group_id, topic, partitions: target });
        restored.push({ topic, partitions: target });
      }
      this.logger.log({ snapshot: snapshotId, groupId: row.group_id, requestedBy, clamped: clamped.length }, 'offsets restored');
      return { snapshot: snapshotId, groupId: row.group_id, restored, clamped };
    } finally {
      await admin.disconnect();
    }
  }

  private async assertIdle(admin: Admin, groupId: string): Promise<void> {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    if (group && group.state !== 'Empty' && group.state !== 'Dead') {
      throw new ReplayError(
        'group-active',
        `consumer group ${groupId} is ${group.state} with ${group.members.length} member(s); stop it first`,
      );
    }
  }

  /** Moves a consumer group to the range's start offsets; refused while it has members. */
  private async resetGroup(groupId: string, plan: RangePlan): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await this.assertIdle(admin, groupId);
      await admin.setOffsets({
        groupId,
        topic: plan.topic,
        partitions: plan.partitions.map((p) => ({ partition: p.partition, offset: p.start })),
      });
    } finally {
      await admin.disconnect();
    }
  }

  /** Records a job's outcome once (the first final status wins); `owner`: only while this replica holds the job. */
  private async finish(id: string, status: 'done' | 'failed' | 'cancelled', error: string | null, owner?: string): Promise<void> {
    const [rows] = await this.dataSource.query<[{ created_at: Date; finished_at: Date }[], number]>(
      `UPDATE "${this.schema}".jobs SET status = $2, error = $3, finished_at = now(), lease_until = NULL
       WHERE id = $1 AND status = 'running' AND ($4::text IS NULL OR claimed_by = $4::text) RETURNING created_at, finished_at`,
      [id, status, error, owner ?? null],
    );
    const row = rows[0];
    if (!row) return;
    jobsTotal.inc({ status });
    jobDuration.observe({ status }, (row.finished_at.getTime() - row.created_at.getTime()) / 1_000);
  }
}
