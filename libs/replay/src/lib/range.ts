import { randomUUID } from 'node:crypto';
import type { Admin, IHeaders, Kafka } from 'kafkajs';

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
  /** As fetched (values are Buffers): copied on as they are; `headersToStrings` reads them. */
  headers: IHeaders;
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

/** What one fetched batch of one partition holds of a range. */
export interface RangeBatch {
  topic: string;
  partition: number;
  /** The batch's records stamped inside the range, in offset order. */
  records: RangeRecord[];
  /** Records of the planned offsets the batch covered, whatever their timestamp. */
  scanned: number;
}

export interface ReadOptions {
  /**
   * Called once per fetched batch (one partition, offset order). The next batch of that
   * partition is fetched only after it resolves; heartbeat while waiting for longer.
   */
  onBatch: (batch: RangeBatch, heartbeat: () => Promise<void>) => Promise<void>;
  signal?: AbortSignal;
  /** The reader's consumer session timeout (default 30 s); heartbeats keep even slower handlers in the group. */
  sessionTimeoutMs?: number;
}

/**
 * Fetch sizes of range readers: a replay reads a span it knows, so it asks for large
 * batches (fewer round trips, one produce per batch on the copy path) and the broker answers
 * as soon as it has any data.
 */
const READER_FETCH = { maxBytesPerPartition: 8 * 1024 * 1024, maxBytes: 32 * 1024 * 1024, minBytes: 1, maxWaitTimeInMs: 500 };

/**
 * Reads a planned range with a throwaway consumer group (seeked to each partition's start,
 * stopped at its end, deleted afterwards), one handler call per fetched batch with the
 * records filtered by their own timestamp. It heartbeats after every batch, and handlers that
 * take longer (paced replays) heartbeat through the function they are given, so they never
 * cost a rebalance. Resolves with how many records were scanned and how many matched.
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
    ...READER_FETCH,
  });
  // Each unfinished partition: its end, and where its reading continues. The reader seeks there
  // after every join: kafkajs drops seeks when the group is re-joined (a broker restart, a
  // coordinator that is still loading), and the group would then start at the log end.
  const unfinished = new Map(work.map((p) => [p.partition, { end: BigInt(p.end), next: p.start }]));
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
  // a read that stays silent for 5 s with nothing in hand is taken as done — but only once the
  // broker has answered at least three fetches since the last progress with nothing for us.
  // Silence alone is not enough: on a loaded machine the first fetch after joining and seeking
  // can take longer than that, and a job would then end as done without its records. Joining
  // the throwaway group comes first and may take longer, so the clock starts when it has joined.
  let lastProgress = Number.POSITIVE_INFINITY;
  let fetchesSinceProgress = 0;
  const progressed = () => {
    lastProgress = Date.now();
    fetchesSinceProgress = 0;
  };
  const seekAll = () => {
    for (const [partition, { next }] of unfinished) consumer.seek({ topic: plan.topic, partition, offset: next });
  };
  consumer.on(consumer.events.GROUP_JOIN, () => {
    progressed();
    seekAll();
  });
  consumer.on(consumer.events.FETCH, () => {
    fetchesSinceProgress += 1;
  });
  let busy = false;
  const startedAt = Date.now();
  const watchdog = setInterval(() => {
    if (lastProgress === Number.POSITIVE_INFINITY && Date.now() - startedAt > 30_000)
      finish(new Error(`reading ${plan.topic}: no partition assigned within 30 s`));
    else if (!busy && Date.now() - lastProgress > 5_000 && fetchesSinceProgress >= 3) finish();
  }, 1_000);
  options.signal?.addEventListener('abort', onAbort);
  try {
    await consumer.connect();
    // Positions come from the seeks; this only decides where a position the broker no longer
    // holds (retention deleted it mid-job) continues: at the earliest record left, not the log end.
    await consumer.subscribe({ topic: plan.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const partition = unfinished.get(batch.partition);
        const last = batch.messages.at(-1);
        if (partition === undefined || last === undefined) return;
        const { end } = partition;
        const heartbeat = async () => {
          progressed();
          await payload.heartbeat();
        };
        busy = true;
        try {
          // Per record, offsets compare as numbers (exact below 2^53); BigInt only once per batch.
          const lastInRange = BigInt(last.offset) < end ? Number.POSITIVE_INFINITY : Number(end);
          const records: RangeRecord[] = [];
          let scanned = 0;
          for (const message of batch.messages) {
            if (Number(message.offset) >= lastInRange) break;
            scanned += 1;
            const timestamp = Number(message.timestamp);
            if (timestamp < plan.fromMs || timestamp >= plan.toMs) continue;
            records.push({
              topic: batch.topic,
              partition: batch.partition,
              offset: message.offset,
              timestamp,
              key: message.key?.toString() ?? null,
              value: message.value,
              headers: message.headers ?? {},
            });
          }
          if (!payload.isRunning() || options.signal?.aborted) return;
          read += scanned;
          matched += records.length;
          try {
            await options.onBatch({ topic: batch.topic, partition: batch.partition, records, scanned }, heartbeat);
          } catch (error) {
            // The handler's failure ends the read (and the job) instead of a silent retry loop.
            finish(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          // The next fetch of this partition starts after what was handled (unresolved, kafkajs would fetch it again).
          payload.resolveOffset(last.offset);
          partition.next = (BigInt(last.offset) + 1n).toString();
          await heartbeat();
        } finally {
          busy = false;
          progressed();
        }
        if (BigInt(last.offset) + 1n >= end) {
          unfinished.delete(batch.partition);
          // Done with it: stop fetching records past its end.
          consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          if (unfinished.size === 0) finish();
        }
      },
    });
    seekAll(); // and again after every join
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
