import { connect, type Socket } from 'node:net';

/**
 * The few Kafka requests a replay copy makes on its own connections (Fetch v4, Produce v3,
 * InitProducerId v0), framed and correlated here. Everything else — metadata, offsets, groups —
 * goes through kafkajs. These versions are served by Kafka 2.x through 4.x.
 */
const API = { produce: 0, fetch: 1, initProducerId: 22 } as const;

/** Broker error codes a copy recovers from by reconnecting and continuing where it is. */
const RETRIABLE = new Set([
  5, // LEADER_NOT_AVAILABLE
  6, // NOT_LEADER_OR_FOLLOWER
  7, // REQUEST_TIMED_OUT
  13, // NETWORK_EXCEPTION
  14, // COORDINATOR_LOAD_IN_PROGRESS
  15, // COORDINATOR_NOT_AVAILABLE
  19, // NOT_ENOUGH_REPLICAS
  20, // NOT_ENOUGH_REPLICAS_AFTER_APPEND
  45, // OUT_OF_ORDER_SEQUENCE_NUMBER
  47, // INVALID_PRODUCER_EPOCH
  56, // KAFKA_STORAGE_ERROR
  59, // UNKNOWN_PRODUCER_ID
  74, // FENCED_LEADER_EPOCH
  75, // UNKNOWN_LEADER_EPOCH
]);

export const OFFSET_OUT_OF_RANGE = 1;
export const UNKNOWN_TOPIC_OR_PARTITION = 3;
/** The broker already holds this batch (a retried request): as good as written. */
export const DUPLICATE_SEQUENCE_NUMBER = 46;

export class KafkaWireError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    /** Reconnecting (and, for a produce, starting a new producer) may succeed. */
    readonly retriable: boolean,
  ) {
    super(message);
    this.name = 'KafkaWireError';
  }

  static of(code: number, what: string): KafkaWireError {
    return new KafkaWireError(`${what}: broker error ${code}`, code, RETRIABLE.has(code) || code === UNKNOWN_TOPIC_OR_PARTITION);
  }
}

/** Writes a request body's small fields; record batches are appended as their own buffers. */
export class BodyWriter {
  private readonly parts: Buffer[] = [];
  private buf = Buffer.allocUnsafe(256);
  private at = 0;

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  int8(value: number): this {
    this.room(1);
    this.at = this.buf.writeInt8(value, this.at);
    return this;
  }

  int16(value: number): this {
    this.room(2);
    this.at = this.buf.writeInt16BE(value, this.at);
    return this;
  }

  int32(value: number): this {
    this.room(4);
    this.at = this.buf.writeInt32BE(value, this.at);
    return this;
  }

  int64(value: bigint): this {
    this.room(8);
    this.at = this.buf.writeBigInt64BE(value, this.at);
    return this;
  }

  string(value: string | null): this {
    if (value === null) return this.int16(-1);
    const length = Buffer.byteLength(value);
    this.int16(length);
    this.room(length);
    this.at += this.buf.write(value, this.at);
    return this;
  }

  /** Appends a buffer as it is (no copy): a record batch. */
  bytes(value: Buffer): this {
    this.int32(value.length);
    this.parts.push(this.buf.subarray(0, this.at), value);
    this.buf = Buffer.allocUnsafe(256);
    this.at = 0;
    return this;
  }

  finish(): Buffer[] {
    return [...this.parts, this.buf.subarray(0, this.at)];
  }
}

/** Reads a response body front to back. */
export class BodyReader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  int16(): number {
    const value = this.buf.readInt16BE(this.at);
    this.at += 2;
    return value;
  }

  int32(): number {
    const value = this.buf.readInt32BE(this.at);
    this.at += 4;
    return value;
  }

  int64(): bigint {
    const value = this.buf.readBigInt64BE(this.at);
    this.at += 8;
    return value;
  }

  string(): string {
    const length = this.int16();
    if (length < 0) return '';
    const value = this.buf.toString('utf8', this.at, this.at + length);
    this.at += length;
    return value;
  }

  /** A nullable byte array, as a view of the response (no copy). */
  bytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    const value = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }

  array<T>(item: () => T): T[] {
    const length = this.int32();
    const items: T[] = [];
    for (let i = 0; i < length; i += 1) items.push(item());
    return items;
  }
}

interface Pending {
  resolve: (body: Buffer) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One connection to a broker: requests are written as their parts (a produce request's record
 * batches are not copied into it) and answered in order by correlation id. Any socket error or
 * a request without an answer within the timeout closes the connection and fails every request
 * still waiting, as retriable.
 */
export class WireConnection {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private needed = 4;
  private closed: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly clientId: string,
    private readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.received(chunk);
    });
    socket.on('error', (error) => {
      this.fail(new KafkaWireError(`connection to ${this.address}: ${error.message}`, null, true));
    });
    socket.on('close', () => {
      this.fail(new KafkaWireError(`connection to ${this.address} closed`, null, true));
    });
  }

  private get address(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  static open(host: string, port: number, clientId: string, connectTimeoutMs: number, requestTimeoutMs: number): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new WireConnection(socket, clientId, requestTimeoutMs));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new KafkaWireError(`connecting to ${host}:${port}: ${error.message}`, null, true));
      });
    });
  }

  request(apiKey: number, apiVersion: number, body: Buffer[]): Promise<Buffer> {
    if (this.closed) return Promise.reject(this.closed);
    const correlationId = this.nextId++;
    const header = new BodyWriter().int16(apiKey).int16(apiVersion).int32(correlationId).string(this.clientId).finish();
    const parts = [...header, ...body];
    const size = parts.reduce((sum, part) => sum + part.length, 0);
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeInt32BE(size, 0);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new KafkaWireError(`no answer from ${this.address} within ${this.timeoutMs} ms`, null, true));
      }, this.timeoutMs);
      this.pending.set(correlationId, { resolve, reject, timer });
      this.socket.cork();
      this.socket.write(prefix);
      for (const part of parts) if (part.length > 0) this.socket.write(part);
      this.socket.uncork();
    });
  }

  private received(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    // Chunks are joined only once the next answer's size prefix, then the whole answer, is here.
    while (this.buffered >= this.needed) {
      const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
      this.chunks = [all];
      const size = all.readInt32BE(0);
      if (this.buffered < 4 + size) {
        this.needed = 4 + size;
        return;
      }
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.needed = 4;
      this.answered(all.subarray(4, 4 + size));
    }
  }

  private answered(answer: Buffer): void {
    const correlationId = answer.readInt32BE(0);
    const waiting = this.pending.get(correlationId);
    if (waiting === undefined) return;
    this.pending.delete(correlationId);
    clearTimeout(waiting.timer);
    waiting.resolve(answer.subarray(4));
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = error;
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    this.pending.clear();
    this.socket.destroy();
  }

  close(): void {
    this.fail(new KafkaWireError('connection closed', null, false));
  }

  // --- the requests ---

  /** InitProducerId v0 (no transactional id): an idempotent producer's id and epoch. */
  async initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    const body = await this.request(API.initProducerId, 0, new BodyWriter().string(null).int32(60_000).finish());
    const reader = new BodyReader(body);
    reader.int32(); // throttle time
    const code = reader.int16();
    if (code !== 0) throw KafkaWireError.of(code, 'InitProducerId');
    return { producerId: reader.int64(), producerEpoch: reader.int16() };
  }

  /** Fetch v4, read_committed: each asked partition's record batches from its offset, as views of the answer. */
  async fetch(topic: string, partitions: FetchPosition[], limits: FetchLimits): Promise<FetchedPartition[]> {
    const writer = new BodyWriter()
      .int32(-1) // replica id: a consumer
      .int32(limits.maxWaitMs)
      .int32(1) // min bytes
      .int32(limits.maxBytes)
      .int8(1) // read_committed
      .int32(1)
      .string(topic)
      .int32(partitions.length);
    for (const { partition, offset } of partitions) writer.int32(partition).int64(offset).int32(limits.maxBytesPerPartition);
    const reader = new BodyReader(await this.request(API.fetch, 4, writer.finish()));
    reader.int32(); // throttle time
    const fetched: FetchedPartition[] = [];
    reader.array(() => {
      reader.string(); // the topic asked for
      reader.array(() =>
        fetched.push({
          partition: reader.int32(),
          errorCode: reader.int16(),
          highWatermark: reader.int64(),
          lastStableOffset: reader.int64(),
          abortedTransactions: reader.array(() => ({ producerId: reader.int64(), firstOffset: reader.int64() })),
          records: reader.bytes(),
        }),
      );
    });
    return fetched;
  }

  /** Produce v3, acks=all: one record batch per partition. Resolves with each partition's error code. */
  async produce(topic: string, batches: { partition: number; batch: Buffer }[], timeoutMs: number): Promise<Map<number, number>> {
    const writer = new BodyWriter().string(null).int16(-1).int32(timeoutMs).int32(1).string(topic).int32(batches.length);
    for (const { partition, batch } of batches) writer.int32(partition).bytes(batch);
    const reader = new BodyReader(await this.request(API.produce, 3, writer.finish()));
    const codes = new Map<number, number>();
    reader.array(() => {
      reader.string(); // the topic written to
      reader.array(() => {
        const partition = reader.int32();
        codes.set(partition, reader.int16());
        reader.int64(); // base offset
        reader.int64(); // log append time
      });
    });
    return codes;
  }
}

export interface FetchPosition {
  partition: number;
  offset: bigint;
}

export interface FetchLimits {
  maxWaitMs: number;
  maxBytes: number;
  maxBytesPerPartition: number;
}

export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

export interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  abortedTransactions: AbortedTransaction[];
  /** Whole record batches, and possibly a cut-off one at the end. */
  records: Buffer | null;
}
