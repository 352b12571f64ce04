import { randomUUID } from 'node:crypto';
import { headersToStrings } from '@keelson/messaging';
import type { Admin, Kafka } from 'kafkajs';

/** One partition's share of a time range: records in offsets [start, end) are read, then filtered by their own timestamp. */
export interface PartitionPlan {
  partition: number;
  start: string;
  end: string;
  /** Records between the offsets: an upper bound of what matches (timestamps are filtered again). */
  records: number;
}

export interface RangePlan {
  topic: string;
  fromMs: number;
  toMs: number;
  partitions: PartitionPlan[];
  records: number;
}

export interface RangeRecord {
  topic: string;
  partition: number;
  offset: string;
  timestamp: number;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Maps a time range to offsets per partition. The start is the first record stamped at or
 * after `fromMs` (Kafka's offsets-for-times); the end is the first stamped at or after
 * `toMs + skewMs`, because CreateTime can be out of order: a record stamped inside the range
 * may sit after one stamped past its end. Every record read is filtered by its own timestamp.
 */
export async function planRange(admin: Admin, topic: string, fromMs: number, toMs: number, skewMs: number): Promise<RangePlan> {
  const [bounds, starts, ends] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchTopicOffsetsByTimestamp(topic, fromMs),
    admin.fetchTopicOffsetsByTimestamp(topic, toMs + skewMs),
  ]);
  const high = new Map(bounds.map((b) => [b.partition, BigInt(b.high)]));
  const at = (entries: { partition: number; offset: string }[], partition: number): bigint => {
    const offset = entries.find((e) => e.partition === partition)?.offset;
    // -1: no record stamped that late, so the range runs to the log end.
    return offset === undefined || offset === '-1' ? (high.get(partition) ?? 0n) : BigInt(offset);
  };
  const partitions = bounds
    .map(({ partition }) => {
      const start = at(starts, partition);
      const end = at(ends, partition);
      return { partition, start: start.toString(), end: (end > start ? end : start).toString(), records: Math.max(0, Number(end - start)) };
    })
    .sort((a, b) => a.partition - b.partition);
  return { topic, fromMs, toMs, partitions, records: partitions.reduce((sum, p) => sum + p.records, 0) };
}

export interface ReadOptions {
  /** Called for each record stamped inside the range, in offset order per partition. */
  onRecord: (record: RangeRecord, heartbeat: () => Promise<void>) => Promise<void>;
  signal?: AbortSignal;
  /** The reader's consumer session timeout (default 30 s); heartbeats keep even slower handlers in the group. */
  sessionTimeoutMs?: number;
}

/**
 * Reads a planned range with a throwaway consumer group (seeked to each partition's start,
 * stopped at its end, deleted afterwards), heartbeating after every record so slow handlers
 * (paced replays) never cost a rebalance. Resolves with how many records were read.
 */
export async function readRange(kafka: Kafka, plan: RangePlan, options: ReadOptions): Promise<{ read: number; matched: number }> {
  const work = plan.partitions.filter((p) => BigInt(p.end) > BigInt(p.start));
  if (work.length === 0) return { read: 0, matched: 0 };
  const groupId = `replay-reader-${randomUUID()}`;
  const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout,
    heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
    allowAutoTopicCreation: false,
  });
  const remaining = new Map(work.map((p) => [p.partition, BigInt(p.end)]));
  let read = 0;
  let matched = 0;
  let finish: (error?: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    finish = (error?: Error) => {
      if (error) reject(error);
      else resolve();
    };
  });
  const onAbort = () => {
    finish();
  };
  // An end offset can point past what is ever delivered (a compacted gap, a control record):
  // a read that stays silent for 5 s with nothing in hand is taken as done. Joining the
  // throwaway group comes first and may take longer, so the clock starts when it has joined.
  let lastProgress = Number.POSITIVE_INFINITY;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    lastProgress = Date.now();
  });
  let busy = false;
  const startedAt = Date.now();
  const watchdog = setInterval(() => {
    if (lastProgress === Number.POSITIVE_INFINITY && Date.now() - startedAt > 30_000)
      finish(new Error(`reading ${plan.topic}: no partition assigned within 30 s`));
    else if (!busy && Date.now() - lastProgress > 5_000) finish();
  }, 1_000);
  options.signal?.addEventListener('abort', onAbort);
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: plan.topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const end = remaining.get(batch.partition);
        if (end === undefined) return;
        const heartbeat = async () => {
          lastProgress = Date.now();
          await payload.heartbeat();
        };
        busy = true;
        try {
          for (const message of batch.messages) {
            if (!payload.isRunning() || options.signal?.aborted) return;
            if (BigInt(message.offset) >= end) break;
            read += 1;
            const timestamp = Number(message.timestamp);
            if (timestamp >= plan.fromMs && timestamp < plan.toMs) {
              matched += 1;
              const record: RangeRecord = {
                topic: batch.topic,
                partition: batch.partition,
                offset: message.offset,
                timestamp,
                key: message.key?.toString() ?? null,
                value: message.value,
                headers: headersToStrings(message.headers),
              };
              try {
                await options.onRecord(record, heartbeat);
              } catch (error) {
                // The handler's failure ends the read (and the job) instead of a silent retry loop.
                finish(error instanceof Error ? error : new Error(String(error)));
                return;
              }
            }
            await heartbeat();
          }
        } finally {
          busy = false;
          lastProgress = Date.now();
        }
        const last = batch.messages.at(-1);
        if (last && BigInt(last.offset) + 1n >= end) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) finish();
        }
      },
    });
    for (const p of work) consumer.seek({ topic: plan.topic, partition: p.partition, offset: p.start });
    await finished;
    return { read, matched };
  } catch (error) {
    finish(error instanceof Error ? error : new Error(String(error)));
    throw error;
  } finally {
    clearInterval(watchdog);
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => void admin.disconnect());
  }
}
