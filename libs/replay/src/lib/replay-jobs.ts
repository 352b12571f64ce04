import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { metricsRegistry } from '@keelson/observability';
import { DomainError } from '@keelson/runtime';
import { Logger } from '@nestjs/common';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { Counter } from 'prom-client';
import type { DataSource } from 'typeorm';
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
  | 'snapshot-not-found';

export class ReplayError extends DomainError<ReplayErrorCode> {
  problem(): { status: number; title: string } {
    switch (this.code) {
      case 'protected-target':
      case 'same-topic':
        return { status: 422, title: 'Unprocessable Content' };
      case 'unknown-topic':
      case 'job-not-found':
      case 'no-events':
      case 'no-offsets':
      case 'snapshot-not-found':
        return { status: 404, title: 'Not Found' };
      case 'group-active':
      case 'job-finished':
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
}

const jobsTotal = new Counter({
  name: 'replay_jobs_total',
  help: 'Replay jobs by final status (done, failed, cancelled) and started.',
  labelNames: ['status'] as const,
  registers: [metricsRegistry],
});
const eventsReplayed = new Counter({
  name: 'replay_events_replayed_total',
  help: 'Records written to replay targets.',
  registers: [metricsRegistry],
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
}

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
});

/**
 * Replay jobs: plan a time range, then either copy its records to a target topic (keys kept,
 * `x-replay-*` headers added, paced or at full speed) or move a consumer group's offsets to
 * the range's start. Every job is stored with who asked, what, and its progress.
 */
export class ReplayJobs {
  private readonly logger = new Logger(ReplayJobs.name);
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly kafka: Kafka,
    private readonly schema: string,
    private readonly settings: ReplaySettings,
  ) {}

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
    const [row] = await this.dataSource.query<JobRow[]>(
      `INSERT INTO "${this.schema}".jobs (id, status, topic, from_time, to_time, target, speed, filters, plan, requested_by, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
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
      ],
    );
    jobsTotal.inc({ status: 'started' });
    this.logger.log({ job: id, topic: request.topic, target: request.target, requestedBy }, 'replay started');
    if ('topic' in request.target) this.run(id, request, request.target.topic, plan);
    else jobsTotal.inc({ status: 'done' });
    return view(row as JobRow);
  }

  async get(id: string): Promise<ReplayJobView> {
    const [row] = await this.dataSource.query<JobRow[]>(`SELECT * FROM "${this.schema}".jobs WHERE id = $1`, [id]);
    if (!row) throw new ReplayError('job-not-found', `replay ${id} does not exist`);
    return view(row);
  }

  async cancel(id: string): Promise<ReplayJobView> {
    const job = await this.get(id);
    const controller = this.running.get(id);
    if (job.status !== 'running' || !controller) throw new ReplayError('job-finished', `replay ${id} is ${job.status}`);
    controller.abort();
    await this.finish(id, 'cancelled', null);
    return this.get(id);
  }

  /** Aborts the running replays; each disconnects its own producer as it ends. */
  stop(): Promise<void> {
    for (const controller of this.running.values()) controller.abort();
    return Promise.resolve();
  }

  private run(id: string, request: ReplayRequest, target: string, plan: RangePlan): void {
    const controller = new AbortController();
    this.running.set(id, controller);
    void this.copy(id, request, target, plan, controller.signal)
      .then(async () => {
        if (!controller.signal.aborted) await this.finish(id, 'done', null);
      })
      .catch(async (error: unknown) => {
        this.logger.error(`replay ${id} failed: ${(error as Error).message}`);
        await this.finish(id, 'failed', (error as Error).message);
      })
      .finally(() => this.running.delete(id));
  }

  private async copy(id: string, request: ReplayRequest, target: string, plan: RangePlan, signal: AbortSignal): Promise<void> {
    // A producer per job: kafkajs refreshes metadata for every topic a producer has written to
    // and fails every send once one of them is deleted, so one shared producer would break all
    // later replays as soon as an old target topic is removed.
    const producer = this.kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await this.copyWith(producer, id, request, target, plan, signal);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  /**
   * Copies the range batch by batch: each fetched batch is filtered (timestamps by the reader,
   * key and type here) and written with as few acks=all produce requests as the broker's size
   * limit allows, so a replay costs round trips per batch, not per record. At speed max a
   * batch is written while the reader fetches the next one (one write in flight, so order is
   * kept; a failed write fails the job). A paced replay writes each record at its moment in
   * replay time: what is due goes out together, then it sleeps, heartbeating, until the next
   * record is due. Progress is saved at most every 500 ms.
   */
  private async copyWith(
    producer: Producer,
    id: string,
    request: ReplayRequest,
    target: string,
    plan: RangePlan,
    signal: AbortSignal,
  ): Promise<void> {
    const factor = request.speed === 'max' ? 0 : request.speed === 'realtime' ? 1 : 1 / Number(request.speed.slice(0, -1));
    const startedAt = Date.now();
    const dueAt = (record: RangeRecord) => startedAt + (record.timestamp - plan.fromMs) * factor;
    let read = 0;
    let replayed = 0;
    const writer = new ReplayWriter(producer, target, id, (count) => {
      replayed += count;
      eventsReplayed.inc(count);
    });
    let savedAt = Date.now();
    const save = () =>
      this.dataSource.query(`UPDATE "${this.schema}".jobs SET read = $2, replayed = $3 WHERE id = $1`, [id, read, replayed]);
    let writing: Promise<void> = Promise.resolve();
    await readRange(this.kafka, plan, {
      signal,
      sessionTimeoutMs: this.settings.readerSessionTimeoutMs,
      onBatch: async (batch, heartbeat) => {
        read += batch.records.length;
        const wanted = batch.records.filter((record) => this.matches(record, request));
        await writing;
        if (factor === 0) {
          writing = writer.write(wanted, signal);
          writing.catch(() => undefined); // awaited by the next batch, or after the read
        } else {
          let due: RangeRecord[] = [];
          for (const record of wanted) {
            if (dueAt(record) > Date.now()) {
              await writer.write(due, signal);
              due = [];
              let wait = dueAt(record) - Date.now();
              while (wait > 0 && !signal.aborted) {
                await sleep(Math.min(wait, 1_000));
                await heartbeat();
                wait = dueAt(record) - Date.now();
              }
            }
            if (signal.aborted) return;
            due.push(record);
          }
          await writer.write(due, signal);
        }
        if (Date.now() - savedAt > 500) {
          savedAt = Date.now();
          await save();
        }
      },
    });
    await writing;
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

  private async finish(id: string, status: 'done' | 'failed' | 'cancelled', error: string | null): Promise<void> {
    jobsTotal.inc({ status });
    await this.dataSource.query(
      `UPDATE "${this.schema}".jobs SET status = $2, error = $3, finished_at = now() WHERE id = $1 AND status = 'running'`,
      [id, status, error],
    );
  }
}
