import { setTimeout as sleep } from 'node:timers/promises';
import { KeyCachingPartitioner, REPLAY_HEADER } from '@keelson/messaging';
import type { Admin, Kafka, PartitionMetadata } from 'kafkajs';
import type { RangePlan } from './range';
import {
  BATCH_HEADER_BYTES,
  BatchBuilder,
  committedBatches,
  copyBytes,
  digitCount,
  RecordCursor,
  varintSize,
  writeDigits,
  writeVarint,
} from './record-batch';
import { DUPLICATE_SEQUENCE_NUMBER, KafkaWireError, OFFSET_OUT_OF_RANGE, WireConnection, type FetchedPartition } from './wire';

/**
 * A replay at speed max, copied over the replay service's own broker connections: fetched
 * record batches are parsed in place and the copies written straight into the outgoing batches
 * of an idempotent producer (ADR 0010). kafkajs turns every record into objects and back, which
 * costs more per record than the whole copy does here; it still does the planning, the
 * metadata and the offsets.
 */
export interface FastCopyOptions {
  kafka: Kafka;
  clientId: string;
  plan: RangePlan;
  target: string;
  replayId: string;
  key?: string;
  types?: readonly string[];
  signal: AbortSignal;
  /** Records the target acknowledged. */
  written: (count: number) => void;
  /**
   * A source partition is handled up to `next` (exclusive): every record before it that is
   * stamped inside the range was written (or filtered out). `read` such records since the last
   * call; `lastTimestamp` the last one's timestamp.
   */
  handled: (partition: number, next: string, read: number, lastTimestamp: number | null) => void;
  /** Retention deleted a partition's planned records [from, to) before they were read: the copy goes on after them. */
  skipped?: (partition: number, from: string, to: string) => void;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** Fetch sizes: large batches, fewer round trips; the broker answers as soon as it has data. */
const FETCH = { maxWaitMs: 500, maxBytes: 8 * 1024 * 1024, maxBytesPerPartition: 2 * 1024 * 1024 };
/** One outgoing batch: below the broker's default `message.max.bytes` (1 MiB). */
const BATCH_BYTES = 768 * 1024;
/** Acknowledged batch buffers kept for reuse (24 MiB). */
const MAX_SPARE_BATCHES = 32;
/** Produce requests in flight per broker connection (the broker handles a connection's requests in order). */
const IN_FLIGHT = 4;
/** A read whose partitions all stay silent this long, over at least three fetches, is over (see `readRange`). */
const SILENCE_MS = 5_000;
/** Reconnects without progress in between before the copy fails. */
const MAX_ATTEMPTS = 8;

interface Position {
  next: number;
  end: number;
}

/**
 * Copies the planned range to the target topic: keys kept, the original headers as fetched plus
 * `x-replay-id` and `x-original-{topic,partition,offset,timestamp}` (an original header of one of
 * those names is replaced), every record filtered by its own timestamp and by the key and type
 * filters. A broker that goes away, a leader that moves or a producer the broker no longer
 * knows costs a reconnect and a new producer, and the copy goes on from the last acknowledged
 * position; a record written but not yet acknowledged at that moment is written again.
 */
export async function copyAtMaxSpeed(options: FastCopyOptions): Promise<void> {
  const positions = new Map<number, Position>();
  for (const p of options.plan.partitions) {
    if (BigInt(p.end) > BigInt(p.start)) positions.set(p.partition, { next: Number(p.start), end: Number(p.end) });
  }
  const cancelled = () => options.signal.aborted;
  let attempts = 0;
  while (positions.size > 0 && !cancelled()) {
    const copy = new CopySession(options, positions);
    try {
      await copy.run();
      return;
    } catch (error) {
      if (!(error instanceof KafkaWireError && error.retriable) || cancelled()) throw error;
      attempts = copy.progressed ? 1 : attempts + 1;
      if (attempts >= MAX_ATTEMPTS) throw error;
      // Cut short by a cancel (the loop then ends).
      await sleep(Math.min(10_000, 250 * 2 ** attempts), undefined, { signal: options.signal }).catch(() => undefined);
    } finally {
      await copy.close();
    }
  }
}

interface Round {
  /** Sealed batches per target partition, in order. */
  batches: Map<number, Buffer[]>;
  records: number;
  /** Per source partition: where it is handled up to once the round is acknowledged. */
  handled: Map<number, { next: number; read: number; lastTimestamp: number | null }>;
  /** The buffers its batches were built in: spares again once the round is acknowledged. */
  buffers: Buffer[];
}

class CopySession {
  progressed = false;
  private readonly admin: Admin;
  private readonly connections = new Map<number, Promise<WireConnection>>();
  private producer: { producerId: bigint; producerEpoch: number } | null = null;
  private readonly sequences = new Map<number, number>();
  private readonly builders = new Map<number, BatchBuilder>();
  private targetPartitions: PartitionMetadata[] = [];
  private sourceLeaders = new Map<number, number>();
  private targetLeaders = new Map<number, number>();
  private brokers = new Map<number, { host: string; port: number }>();
  private readonly choose = KeyCachingPartitioner();
  private readonly keyFilter: Buffer | null;
  private readonly sourceTopic: string;
  /** `x-replay-id` and `x-original-topic` headers, encoded once; then per source partition `x-original-partition`. */
  private readonly fixedHeaders: Buffer;
  private readonly partitionHeaders = new Map<number, Buffer>();
  private readonly inFlight = new Map<number, Promise<void>[]>();

  /** Where the next fetch of each unfinished source partition starts (ahead of what is acknowledged). */
  private readonly positions: Map<number, Position>;

  /** `acknowledgedUpTo`: each unfinished partition's acknowledged position, moved on as rounds are; a new session starts there. */
  constructor(
    private readonly options: FastCopyOptions,
    private readonly acknowledgedUpTo: Map<number, Position>,
  ) {
    this.positions = new Map([...acknowledgedUpTo].map(([partition, position]) => [partition, { ...position }]));
    this.admin = options.kafka.admin();
    this.sourceTopic = options.plan.topic;
    this.keyFilter = options.key === undefined ? null : Buffer.from(options.key);
    this.fixedHeaders = Buffer.concat([header(REPLAY_HEADER, options.replayId), header('x-original-topic', this.sourceTopic)]);
  }

  async run(): Promise<void> {
    await this.admin.connect();
    await this.refreshMetadata();
    this.producer = await (await this.connection(this.anyTargetLeader())).initProducerId();
    const { signal } = this.options;
    let previous: Promise<void> = Promise.resolve();
    let quietSince = Date.now();
    let quietFetches = 0;
    while (this.positions.size > 0 && !signal.aborted) {
      const answers = await this.fetchAll();
      const round = await this.transcode(answers);
      if (round.handled.size > 0) {
        quietSince = Date.now();
        quietFetches = 0;
      } else if (Date.now() - quietSince > SILENCE_MS && ++quietFetches >= 3) {
        // Nothing more arrives below the planned ends (a compacted gap, an open transaction's records).
        this.positions.clear();
      }
      const sent = this.send(round);
      sent.catch(() => undefined); // awaited below, after the next fetch
      await previous;
      previous = sent.then(() => {
        this.acknowledged(round);
      });
    }
    await previous;
  }

  private acknowledged(round: Round): void {
    for (const buffer of round.buffers) {
      if (buffer.length === BATCH_BYTES && this.spare.length < MAX_SPARE_BATCHES) this.spare.push(buffer);
    }
    if (round.records > 0) this.options.written(round.records);
    for (const [partition, { next, read, lastTimestamp }] of round.handled) {
      const position = this.acknowledgedUpTo.get(partition);
      if (position !== undefined) {
        position.next = next;
        if (next >= position.end) this.acknowledgedUpTo.delete(partition);
      }
      this.options.handled(partition, String(next), read, lastTimestamp);
    }
    this.progressed = true;
  }

  async close(): Promise<void> {
    for (const connection of this.connections.values()) {
      await connection
        .then((c) => {
          c.close();
        })
        .catch(() => undefined);
    }
    await this.admin.disconnect().catch(() => undefined);
  }

  private async refreshMetadata(): Promise<void> {
    const [{ topics }, cluster] = await Promise.all([
      this.admin.fetchTopicMetadata({ topics: [this.sourceTopic, this.options.target] }),
      this.admin.describeCluster(),
    ]);
    this.brokers = new Map(cluster.brokers.map((b) => [b.nodeId, { host: b.host, port: b.port }]));
    const source = topics.find((t) => t.name === this.sourceTopic);
    const target = topics.find((t) => t.name === this.options.target);
    if (!source || !target) throw new KafkaWireError('topic metadata missing', null, true);
    this.sourceLeaders = new Map(source.partitions.map((p) => [p.partitionId, p.leader]));
    this.targetLeaders = new Map(target.partitions.map((p) => [p.partitionId, p.leader]));
    this.targetPartitions = target.partitions;
  }

  private anyTargetLeader(): number {
    for (const leader of this.targetLeaders.values()) if (leader >= 0) return leader;
    throw new KafkaWireError(`no leader for ${this.options.target}`, null, true);
  }

  private connection(nodeId: number): Promise<WireConnection> {
    let connection = this.connections.get(nodeId);
    if (connection === undefined) {
      const broker = this.brokers.get(nodeId);
      if (broker === undefined) return Promise.reject(new KafkaWireError(`broker ${nodeId} is not in the cluster metadata`, null, true));
      connection = WireConnection.open(
        broker.host,
        broker.port,
        this.options.clientId,
        this.options.connectionTimeoutMs ?? 3_000,
        this.options.requestTimeoutMs ?? 30_000,
      );
      connection.catch(() => undefined);
      this.connections.set(nodeId, connection);
    }
    return connection;
  }

  private fetches = 0;

  /**
   * One fetch per source leader, of the unfinished partitions it leads. The broker fills an
   * answer partition by partition up to its size limit, so the order turns with every fetch:
   * no partition waits behind the others until they are done.
   */
  private async fetchAll(): Promise<FetchedPartition[]> {
    const byLeader = new Map<number, { partition: number; offset: bigint }[]>();
    const unfinished = [...this.positions];
    const turn = this.fetches++ % Math.max(1, unfinished.length);
    for (const [partition, { next }] of [...unfinished.slice(turn), ...unfinished.slice(0, turn)]) {
      const leader = this.sourceLeaders.get(partition) ?? -1;
      if (leader < 0) throw new KafkaWireError(`no leader for ${this.sourceTopic}/${partition}`, null, true);
      const list = byLeader.get(leader) ?? [];
      list.push({ partition, offset: BigInt(next) });
      byLeader.set(leader, list);
    }
    const answers = await Promise.all(
      [...byLeader].map(async ([leader, list]) => (await this.connection(leader)).fetch(this.sourceTopic, list, FETCH)),
    );
    return answers.flat();
  }

  /** Filters and rewrites a fetch's records into the target's batches; moves the fetch positions on. */
  private async transcode(answers: FetchedPartition[]): Promise<Round> {
    const round: Round = { batches: new Map(), records: 0, handled: new Map(), buffers: [] };
    const { fromMs, toMs } = this.options.plan;
    for (const answer of answers) {
      const position = this.positions.get(answer.partition);
      if (position === undefined) continue;
      if (answer.errorCode === OFFSET_OUT_OF_RANGE) {
        await this.skipToLogStart(answer.partition, position);
        continue;
      }
      if (answer.errorCode !== 0) throw KafkaWireError.of(answer.errorCode, `fetching ${this.sourceTopic}/${answer.partition}`);
      const set = answer.records;
      if (set === null || set.length === 0) {
        // Nothing at or past the position: the planned end lies beyond what the log holds now.
        if (BigInt(position.next) >= answer.highWatermark) this.finish(answer.partition, round, position.next);
        continue;
      }
      let read = 0;
      let lastTimestamp: number | null = null;
      let next = position.next;
      for (const { batch, visible } of committedBatches(set, answer.abortedTransactions)) {
        if (batch.lastOffset < next) continue;
        if (visible) {
          const cursor = new RecordCursor(batch);
          while (cursor.next()) {
            if (cursor.offset < next) continue; // a batch starts before the position asked for
            if (cursor.offset >= position.end) break;
            if (cursor.timestamp < fromMs || cursor.timestamp >= toMs) continue;
            read += 1;
            lastTimestamp = cursor.timestamp;
            if (this.wanted(cursor)) {
              this.write(cursor, answer.partition);
              round.records += 1;
            }
          }
        }
        next = Math.min(batch.lastOffset + 1, position.end);
        if (next >= position.end) break;
      }
      if (next > position.next) {
        position.next = next;
        round.handled.set(answer.partition, { next, read, lastTimestamp });
      }
      if (position.next >= position.end) this.positions.delete(answer.partition);
    }
    for (const [partition, builder] of this.builders) {
      if (builder.count > 0) this.seal(partition, builder);
    }
    this.builders.clear();
    round.batches = this.sealed;
    round.buffers = this.sealedBuffers;
    this.sealed = new Map();
    this.sealedBuffers = [];
    return round;
  }

  private finish(partition: number, round: Round, next: number): void {
    this.positions.delete(partition);
    round.handled.set(partition, { next, read: 0, lastTimestamp: null });
  }

  /** Retention deleted the records at the position while the job ran: go on at the earliest left. */
  private async skipToLogStart(partition: number, position: Position): Promise<void> {
    const offsets = await this.admin.fetchTopicOffsets(this.sourceTopic);
    const low = Number(offsets.find((o) => o.partition === partition)?.low ?? position.end);
    if (low > position.next) {
      const to = Math.min(low, position.end);
      this.options.skipped?.(partition, String(position.next), String(to));
      position.next = to;
    } else
      throw new KafkaWireError(
        `fetching ${this.sourceTopic}/${partition} at ${position.next}: offset out of range`,
        OFFSET_OUT_OF_RANGE,
        false,
      );
    if (position.next >= position.end) this.positions.delete(partition);
  }

  private wanted(cursor: RecordCursor): boolean {
    const { buf } = cursor;
    if (this.keyFilter !== null) {
      if (cursor.keyStart < 0 || cursor.keyEnd - cursor.keyStart !== this.keyFilter.length) return false;
      if (this.keyFilter.compare(buf, cursor.keyStart, cursor.keyEnd) !== 0) return false;
    }
    const types = this.options.types;
    if (types === undefined) return true;
    if (cursor.valueStart < 0) return false;
    try {
      const type = (JSON.parse(buf.toString('utf8', cursor.valueStart, cursor.valueEnd)) as { type?: unknown } | null)?.type;
      return typeof type === 'string' && types.includes(type);
    } catch {
      return false;
    }
  }

  /** The target partition of a record: where the platform's producers put its key (`KeyCachingPartitioner`). */
  private targetPartition(cursor: RecordCursor): number {
    const key = cursor.keyStart < 0 ? null : cursor.buf.subarray(cursor.keyStart, cursor.keyEnd);
    return this.choose({ topic: this.options.target, partitionMetadata: this.targetPartitions, message: { key, value: null } });
  }

  /** Appends one record's copy to its target partition's batch. */
  private write(cursor: RecordCursor, sourcePartition: number): void {
    const { buf } = cursor;
    // The original headers, minus any named like a replay header: those are replaced.
    let kept = cursor.headerCount;
    let clash = false;
    cursor.seek(cursor.headersStart);
    for (let i = 0; i < cursor.headerCount; i += 1) {
      const nameLength = cursor.varint();
      const nameStart = cursor.position;
      if (isReplayHeader(buf, nameStart, nameLength)) {
        kept -= 1;
        clash = true;
      }
      cursor.seek(nameStart + nameLength);
      const valueLength = cursor.varint();
      cursor.seek(cursor.position + Math.max(0, valueLength));
    }
    const partitionHeader = this.partitionHeader(sourcePartition);
    const offset = cursor.offset;
    const timestamp = cursor.timestamp;
    const offsetDigits = digitCount(offset);
    const timestampDigits = digitCount(timestamp);
    const headerCount = kept + 5;
    const target = this.targetPartition(cursor);
    let builder = this.builders.get(target);
    if (builder === undefined) {
      builder = new BatchBuilder(BATCH_BYTES, this.spare.pop());
      this.builders.set(target, builder);
    }
    const keyLength = cursor.keyStart < 0 ? -1 : cursor.keyEnd - cursor.keyStart;
    const valueLength = cursor.valueStart < 0 ? -1 : cursor.valueEnd - cursor.valueStart;
    const bodySize =
      1 + // attributes
      1 + // timestamp delta: 0, every copy is stamped with the batch's time
      5 + // at most, for the offset delta: the batch may be sealed and a new one begun below
      varintSize(keyLength) +
      Math.max(0, keyLength) +
      varintSize(valueLength) +
      Math.max(0, valueLength) +
      varintSize(headerCount) +
      (cursor.end - cursor.headersStart) + // at most what is kept
      this.fixedHeaders.length +
      partitionHeader.length +
      ORIGINAL_OFFSET.length +
      varintSize(offsetDigits) +
      offsetDigits +
      ORIGINAL_TIMESTAMP.length +
      varintSize(timestampDigits) +
      timestampDigits;
    const recordSize = varintSize(bodySize) + bodySize;
    if (!builder.fits(recordSize)) {
      if (builder.count > 0) this.seal(target, builder);
      // A record larger than a batch gets a batch of its own.
      builder =
        recordSize + BATCH_HEADER_BYTES > BATCH_BYTES
          ? new BatchBuilder(BATCH_HEADER_BYTES + recordSize)
          : new BatchBuilder(BATCH_BYTES, this.spare.pop());
      this.builders.set(target, builder);
    }
    const out = builder.buf;
    const start = builder.at;
    // The length is written once the size is known exactly (a clash makes it smaller): leave room for it.
    let at = start + varintSize(bodySize);
    const bodyStart = at;
    out[at++] = 0;
    out[at++] = 0;
    at = writeVarint(out, at, builder.count);
    at = writeVarint(out, at, keyLength);
    if (keyLength > 0) at = copyBytes(buf, cursor.keyStart, cursor.keyEnd, out, at);
    at = writeVarint(out, at, valueLength);
    if (valueLength > 0) at = copyBytes(buf, cursor.valueStart, cursor.valueEnd, out, at);
    at = writeVarint(out, at, headerCount);
    if (!clash) {
      at = copyBytes(buf, cursor.headersStart, cursor.end, out, at);
    } else {
      cursor.seek(cursor.headersStart);
      for (let i = 0; i < cursor.headerCount; i += 1) {
        const headerStart = cursor.position;
        const nameLength = cursor.varint();
        const nameStart = cursor.position;
        cursor.seek(nameStart + nameLength);
        const valueLength = cursor.varint();
        const headerEnd = cursor.position + Math.max(0, valueLength);
        cursor.seek(headerEnd);
        if (!isReplayHeader(buf, nameStart, nameLength)) at = copyBytes(buf, headerStart, headerEnd, out, at);
      }
    }
    at = copyBytes(this.fixedHeaders, 0, this.fixedHeaders.length, out, at);
    at = copyBytes(partitionHeader, 0, partitionHeader.length, out, at);
    at = copyBytes(ORIGINAL_OFFSET, 0, ORIGINAL_OFFSET.length, out, at);
    at = writeVarint(out, at, offsetDigits);
    at = writeDigits(out, at, offset, offsetDigits);
    at = copyBytes(ORIGINAL_TIMESTAMP, 0, ORIGINAL_TIMESTAMP.length, out, at);
    at = writeVarint(out, at, timestampDigits);
    at = writeDigits(out, at, timestamp, timestampDigits);
    const size = at - bodyStart;
    if (varintSize(size) === bodyStart - start) {
      writeVarint(out, start, size);
    } else {
      // Dropped headers shortened the length's own varint: move the body back by the difference.
      const lengthEnd = writeVarint(out, start, size);
      out.copy(out, lengthEnd, bodyStart, at);
      at = lengthEnd + size;
    }
    builder.at = at;
    builder.count += 1;
  }

  private partitionHeader(partition: number): Buffer {
    let encoded = this.partitionHeaders.get(partition);
    if (encoded === undefined) {
      encoded = header('x-original-partition', String(partition));
      this.partitionHeaders.set(partition, encoded);
    }
    return encoded;
  }

  /** Batches sealed this round, per target partition, in order, and the buffers they are views of. */
  private sealed = new Map<number, Buffer[]>();
  private sealedBuffers: Buffer[] = [];
  /**
   * Batch buffers whose requests were acknowledged (the socket is done with them), reused by
   * the next batches: a copy allocates a few buffers instead of one per batch, and its memory
   * stays flat instead of waiting for the garbage collector.
   */
  private readonly spare: Buffer[] = [];

  private seal(partition: number, builder: BatchBuilder): void {
    const producer = this.producer;
    if (producer === null) throw new Error('no producer id');
    const sequence = this.sequences.get(partition) ?? 0;
    this.sequences.set(partition, (sequence + builder.count) % 2 ** 31);
    const list = this.sealed.get(partition) ?? [];
    list.push(builder.seal(producer.producerId, producer.producerEpoch, sequence, Date.now()));
    this.sealed.set(partition, list);
    this.sealedBuffers.push(builder.buf);
  }

  /** Requests of earlier rounds still being issued: a round's requests go out after them, so sequences stay in order. */
  private issuing: Promise<void> = Promise.resolve();

  /**
   * Sends a round's batches — a request per target leader holds at most one batch per partition —
   * after every request of the rounds before it has gone out. Resolves once all are acknowledged.
   */
  private send(round: Round): Promise<void> {
    const acks: Promise<void>[] = [];
    const issued = this.issuing.then(() => this.issue(round, acks));
    this.issuing = issued.catch(() => undefined);
    return issued.then(() => Promise.all(acks)).then(() => undefined);
  }

  private async issue(round: Round, acks: Promise<void>[]): Promise<void> {
    const byLeader = new Map<number, Map<number, Buffer[]>>();
    for (const [partition, list] of round.batches) {
      const leader = this.targetLeaders.get(partition) ?? -1;
      if (leader < 0) throw new KafkaWireError(`no leader for ${this.options.target}/${partition}`, null, true);
      const forLeader = byLeader.get(leader) ?? new Map<number, Buffer[]>();
      forLeader.set(partition, list);
      byLeader.set(leader, forLeader);
    }
    for (const [leader, partitions] of byLeader) {
      const connection = await this.connection(leader);
      const flying = this.inFlight.get(leader) ?? [];
      this.inFlight.set(leader, flying);
      for (let i = 0; ; i += 1) {
        const batches: { partition: number; batch: Buffer }[] = [];
        for (const [partition, list] of partitions) {
          const batch = list[i];
          if (batch !== undefined) batches.push({ partition, batch });
        }
        if (batches.length === 0) break;
        if (flying.length >= IN_FLIGHT) await flying.shift();
        const request = connection.produce(this.options.target, batches, this.options.requestTimeoutMs ?? 30_000).then((codes) => {
          for (const [partition, code] of codes) {
            if (code !== 0 && code !== DUPLICATE_SEQUENCE_NUMBER)
              throw KafkaWireError.of(code, `writing ${this.options.target}/${partition}`);
          }
        });
        request.catch(() => undefined);
        flying.push(request);
        acks.push(request);
      }
    }
  }
}

/** A header (name and value) as a record carries it: varint-length name, varint-length value. */
function header(name: string, value: string): Buffer {
  const nameBytes = Buffer.from(name);
  const valueBytes = Buffer.from(value);
  const out = Buffer.alloc(10 + nameBytes.length + valueBytes.length);
  let at = writeVarint(out, 0, nameBytes.length);
  at += nameBytes.copy(out, at);
  at = writeVarint(out, at, valueBytes.length);
  at += valueBytes.copy(out, at);
  return out.subarray(0, at);
}

/** A header name (varint length and bytes), for the headers whose values vary per record. */
function headerName(name: string): Buffer {
  const bytes = Buffer.from(name);
  const out = Buffer.alloc(5 + bytes.length);
  const at = writeVarint(out, 0, bytes.length);
  return out.subarray(0, at + bytes.copy(out, at));
}

const ORIGINAL_OFFSET = headerName('x-original-offset');
const ORIGINAL_TIMESTAMP = headerName('x-original-timestamp');
const REPLAY_HEADER_NAMES = [REPLAY_HEADER, 'x-original-topic', 'x-original-partition', 'x-original-offset', 'x-original-timestamp'].map(
  (name) => Buffer.from(name),
);

function isReplayHeader(buf: Buffer, start: number, length: number): boolean {
  // Every replay header starts with "x-": most names are ruled out by their length or first bytes.
  if (length < 11 || buf[start] !== 0x78 || buf[start + 1] !== 0x2d) return false;
  for (const name of REPLAY_HEADER_NAMES) {
    if (name.length === length && name.compare(buf, start, start + length) === 0) return true;
  }
  return false;
}
