import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { headersToStrings } from '@keelson/messaging';
import type { Admin, Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { planRange, readRange, type RangeRecord } from './range';
import { ReplayError } from './replay-jobs';

export interface DebugSessionSettings {
  ttlMs: number;
  maxTtlMs: number;
}

/** Where the session stands in one partition: the next offset it returns, and how many records follow it. */
export interface DebugPosition {
  partition: number;
  offset: string;
  latest: string;
  remaining: number;
}

export interface DebugSessionView {
  id: string;
  topic: string;
  /** The consumer group holding the session's position (visible to `kafka-consumer-groups`). */
  groupId: string;
  at: string;
  positions: DebugPosition[];
  steps: number;
  recordsRead: number;
  requestedBy: string;
  createdAt: string;
  expiresAt: string;
}

export interface DebugRecord {
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  headers: Record<string, string>;
  /** The value parsed as JSON, else its text (null for a tombstone). */
  value: unknown;
}

interface SessionRow {
  id: string;
  topic: string;
  group_id: string;
  at_time: Date;
  positions: { partition: number; offset: string }[];
  steps: number;
  records_read: string;
  requested_by: string;
  created_at: Date;
  expires_at: Date;
}

type Bounds = { partition: number; low: string; high: string }[];

/** Kafka's GROUP_ID_NOT_FOUND: a group never committed to, or already deleted. */
const GROUP_ID_NOT_FOUND = 69;
/** Sessions removed per sweep (the rest wait for the next one). */
const SWEEP_BATCH = 100;

function parseValue(value: Buffer | null): unknown {
  if (value === null) return null;
  const text = value.toString();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const record = (r: RangeRecord): DebugRecord => ({
  partition: r.partition,
  offset: r.offset,
  timestamp: new Date(r.timestamp).toISOString(),
  key: r.key,
  headers: headersToStrings(r.headers),
  value: parseValue(r.value),
});

/**
 * Takes up to `count` records from per-partition runs (each in offset order), earliest
 * timestamp first, so a step walks the topic roughly in time order while every partition is
 * consumed as a prefix (its position stays one offset).
 */
export function takeInTimeOrder(runs: Map<number, RangeRecord[]>, count: number): RangeRecord[] {
  const heads = new Map([...runs.keys()].map((partition) => [partition, 0]));
  const taken: RangeRecord[] = [];
  while (taken.length < count) {
    let best: RangeRecord | undefined;
    for (const [partition, index] of heads) {
      const candidate = runs.get(partition)?.[index];
      if (
        candidate &&
        (!best || candidate.timestamp < best.timestamp || (candidate.timestamp === best.timestamp && partition < best.partition))
      )
        best = candidate;
    }
    if (!best) break;
    taken.push(best);
    heads.set(best.partition, (heads.get(best.partition) ?? 0) + 1);
  }
  return taken;
}

/**
 * Commits a session's positions to its group (which has no members between steps). kafkajs'
 * `admin.setOffsets` does the same but waits a 5 s fetch before it returns; this member joins,
 * commits and leaves.
 */
async function commitPositions(kafka: Kafka, groupId: string, topic: string, positions: { partition: number; offset: string }[]) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic });
    // Resolves once the member has joined; it reads nothing (no batch is resolved, nothing auto-committed).
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: () => Promise.resolve() });
    consumer.pause([{ topic }]);
    await consumer.commitOffsets(positions.map((p) => ({ topic, ...p })));
  } finally {
    await consumer.disconnect();
  }
}

/** Deletes consumer groups; one that does not exist (any more) is already what we want. */
async function deleteGroups(admin: Admin, groupIds: string[]): Promise<void> {
  try {
    await admin.deleteGroups(groupIds);
  } catch (error) {
    const groups = (error as { groups?: { errorCode: number }[] }).groups;
    if (!groups || groups.some((g) => g.errorCode !== GROUP_ID_NOT_FOUND)) throw error;
  }
}

/**
 * Debug sessions: a throwaway consumer group positioned on a topic at a moment, stepped
 * through a few records at a time. The positions live in `replay.debug_sessions` (so any
 * replica serves the next step) and are committed to the group as well; an expired session
 * answers 410 until the sweep deletes its group and row.
 */
export class DebugSessions {
  private readonly logger = new Logger(DebugSessions.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly kafka: Kafka,
    private readonly schema: string,
    private readonly settings: DebugSessionSettings,
  ) {}

  async create(request: { topic: string; atMs: number; ttlMs?: number }, requestedBy: string): Promise<DebugSessionView> {
    const ttlMs = request.ttlMs ?? this.settings.ttlMs;
    if (ttlMs > this.settings.maxTtlMs) {
      throw new ReplayError('invalid-ttl', `a debug session lives at most ${this.settings.maxTtlMs / 1_000} s; ask for less`);
    }
    const id = randomUUID();
    const groupId = `replay-debug-${id}`;
    return this.withAdmin(async (admin) => {
      if (!(await admin.listTopics()).includes(request.topic))
        throw new ReplayError('unknown-topic', `topic ${request.topic} does not exist`);
      // The first record stamped at or after `at` in each partition (the log end where none is).
      const plan = await planRange(admin, request.topic, request.atMs, request.atMs, 0);
      const positions = plan.partitions.map((p) => ({ partition: p.partition, offset: p.start }));
      const [row] = await this.dataSource.query<SessionRow[]>(
        `INSERT INTO "${this.schema}".debug_sessions (id, topic, group_id, at_time, positions, requested_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + $7 * interval '1 millisecond') RETURNING *`,
        [id, request.topic, groupId, new Date(request.atMs), JSON.stringify(positions), requestedBy, ttlMs],
      );
      try {
        await commitPositions(this.kafka, groupId, request.topic, positions);
      } catch (error) {
        await this.dataSource.query(`DELETE FROM "${this.schema}".debug_sessions WHERE id = $1`, [id]);
        throw error;
      }
      this.logger.log({ session: id, topic: request.topic, at: new Date(request.atMs).toISOString(), requestedBy }, 'debug session opened');
      return this.view(row as SessionRow, await admin.fetchTopicOffsets(request.topic));
    });
  }

  async get(id: string): Promise<DebugSessionView> {
    const row = await this.load(id);
    return this.withAdmin(async (admin) => this.view(row, await admin.fetchTopicOffsets(row.topic)));
  }

  /**
   * Returns the next `count` records (earliest timestamp first across partitions) and moves the
   * session past them: in the table first (the truth, guarded against a concurrent step), then
   * in the consumer group.
   */
  async next(id: string, count: number, requestedBy: string): Promise<{ records: DebugRecord[]; session: DebugSessionView }> {
    const row = await this.load(id);
    return this.withAdmin(async (admin) => {
      const bounds = await admin.fetchTopicOffsets(row.topic);
      const slices = row.positions.map(({ partition, offset }) => {
        const b = bounds.find((x) => x.partition === partition);
        // Retention may have removed records since: start at the log start then.
        const start = b && BigInt(b.low) > BigInt(offset) ? BigInt(b.low) : BigInt(offset);
        const high = BigInt(b?.high ?? offset);
        const end = start + BigInt(count) < high ? start + BigInt(count) : high > start ? high : start;
        return { partition, start: start.toString(), end: end.toString(), records: Number(end - start) };
      });
      const runs = new Map<number, RangeRecord[]>(slices.map((s) => [s.partition, []]));
      await readRange(
        this.kafka,
        {
          topic: row.topic,
          fromMs: Number.MIN_SAFE_INTEGER,
          toMs: Number.MAX_SAFE_INTEGER,
          partitions: slices,
          records: slices.reduce((sum, s) => sum + s.records, 0),
        },
        {
          onBatch: (batch) => {
            runs.get(batch.partition)?.push(...batch.records);
            return Promise.resolve();
          },
        },
      );
      const taken = takeInTimeOrder(runs, count);
      const positions = slices.map(({ partition, start, end }) => {
        const delivered = runs.get(partition) ?? [];
        const mine = taken.filter((r) => r.partition === partition);
        // Every record of the slice taken: past its end (offsets in between held no record, e.g. compacted away).
        if (mine.length === delivered.length) return { partition, offset: end };
        const last = mine.at(-1);
        return { partition, offset: last ? (BigInt(last.offset) + 1n).toString() : start };
      });
      const [updated] = await this.dataSource.query<[SessionRow[], number]>(
        `UPDATE "${this.schema}".debug_sessions SET positions = $3, steps = steps + 1, records_read = records_read + $4
         WHERE id = $1 AND steps = $2 AND expires_at > now() RETURNING *`,
        [id, row.steps, JSON.stringify(positions), taken.length],
      );
      const stepped = updated[0];
      if (!stepped) {
        await this.load(id); // 404 or 410 if that is why
        throw new ReplayError('session-busy', `debug session ${id} moved on in another request; step again`);
      }
      await commitPositions(this.kafka, row.group_id, row.topic, positions).catch((error: unknown) => {
        // The table holds the position; the group catches up at the next step.
        this.logger.warn(`debug session ${id}: could not commit its position to ${row.group_id}: ${(error as Error).message}`);
      });
      this.logger.log({ session: id, records: taken.length, requestedBy }, 'debug session stepped');
      return { records: taken.map(record), session: this.view(stepped, bounds) };
    });
  }

  async remove(id: string, requestedBy: string): Promise<void> {
    const [row] = await this.dataSource.query<SessionRow[]>(`SELECT * FROM "${this.schema}".debug_sessions WHERE id = $1`, [id]);
    if (!row) throw new ReplayError('session-not-found', `debug session ${id} does not exist`);
    await this.withAdmin((admin) => deleteGroups(admin, [row.group_id]));
    await this.dataSource.query(`DELETE FROM "${this.schema}".debug_sessions WHERE id = $1`, [id]);
    this.logger.log({ session: id, requestedBy }, 'debug session closed');
  }

  /** Deletes the groups and rows of expired sessions; resolves with how many were removed. */
  async sweep(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const rows = await manager.query<{ id: string; group_id: string }[]>(
        `SELECT id, group_id FROM "${this.schema}".debug_sessions WHERE expires_at <= now()
         ORDER BY expires_at LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED`,
      );
      if (rows.length === 0) return 0;
      // Groups first: if that fails the rows stay, and the next sweep tries again.
      await this.withAdmin((admin) =>
        deleteGroups(
          admin,
          rows.map((r) => r.group_id),
        ),
      );
      await manager.query(`DELETE FROM "${this.schema}".debug_sessions WHERE id = ANY($1::uuid[])`, [rows.map((r) => r.id)]);
      this.logger.log({ sessions: rows.map((r) => r.id) }, 'expired debug sessions removed');
      return rows.length;
    });
  }

  /** The session, if it exists and has not expired. */
  private async load(id: string): Promise<SessionRow> {
    const [row] = await this.dataSource.query<(SessionRow & { expired: boolean })[]>(
      `SELECT *, expires_at <= now() AS expired FROM "${this.schema}".debug_sessions WHERE id = $1`,
      [id],
    );
    if (!row) throw new ReplayError('session-not-found', `debug session ${id} does not exist`);
    if (row.expired) throw new ReplayError('session-expired', `debug session ${id} expired at ${row.expires_at.toISOString()}`);
    return row;
  }

  private view(row: SessionRow, bounds: Bounds): DebugSessionView {
    return {
      id: row.id,
      topic: row.topic,
      groupId: row.group_id,
      at: row.at_time.toISOString(),
      positions: row.positions.map(({ partition, offset }) => {
        const latest = bounds.find((b) => b.partition === partition)?.high ?? offset;
        return { partition, offset, latest, remaining: Math.max(0, Number(BigInt(latest) - BigInt(offset))) };
      }),
      steps: row.steps,
      recordsRead: Number(row.records_read),
      requestedBy: row.requested_by,
      createdAt: row.created_at.toISOString(),
      expiresAt: row.expires_at.toISOString(),
    };
  }

  private async withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  }
}
