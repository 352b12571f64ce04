import { gunzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';

/**
 * Kafka record batches (magic v2) read and written in place. A replay copy parses the batches a
 * fetch returns only as far as it must — offsets, timestamps, where the key, value and headers
 * lie — and writes the copies by moving those bytes, without an object per record or header.
 *
 * Batch header: baseOffset int64 · batchLength int32 · partitionLeaderEpoch int32 · magic int8 ·
 * crc uint32 · attributes int16 · lastOffsetDelta int32 · baseTimestamp int64 · maxTimestamp
 * int64 · producerId int64 · producerEpoch int16 · baseSequence int32 · recordCount int32.
 * Record: length varint · attributes int8 · timestampDelta varlong · offsetDelta varint ·
 * key (varint length, -1 for none) · value (same) · header count varint · headers (name as a
 * varint-length string, value as varint-length bytes, -1 for none). Varints are zigzag.
 */
export const BATCH_HEADER_BYTES = 61;
const MAGIC_V2 = 2;
const COMPRESSION_MASK = 0x07;
const GZIP = 1;
const LOG_APPEND_TIME = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
/** A control record's type (in its key): the end of an aborted transaction. */
const ABORT_MARKER = 0;

export class RecordBatchError extends Error {
  override name = 'RecordBatchError';
}

/** One batch of a fetch answer; `records` is its record region (inflated when it was gzip-compressed). */
export interface FetchedBatch {
  baseOffset: number;
  lastOffset: number;
  baseTimestamp: number;
  maxTimestamp: number;
  logAppendTime: boolean;
  transactional: boolean;
  control: boolean;
  producerId: bigint;
  recordCount: number;
  records: Buffer;
}

/**
 * The whole batches in a fetched record set, in order; a batch cut off at the end of the answer
 * (the broker fills up to the size asked for) is left for the next fetch. Offsets are numbers:
 * exact below 2^53.
 */
export function* fetchedBatches(set: Buffer): Generator<FetchedBatch> {
  let at = 0;
  while (set.length - at >= BATCH_HEADER_BYTES) {
    const size = 12 + set.readInt32BE(at + 8);
    if (at + size > set.length) return;
    const magic = set.readInt8(at + 16);
    if (magic !== MAGIC_V2)
      throw new RecordBatchError(`record batch at offset ${set.readBigInt64BE(at)} has message format v${magic}; only v2 is read`);
    const attributes = set.readInt16BE(at + 21);
    const baseOffset = Number(set.readBigInt64BE(at));
    let records = set.subarray(at + BATCH_HEADER_BYTES, at + size);
    const compression = attributes & COMPRESSION_MASK;
    if (compression === GZIP) records = gunzipSync(records);
    else if (compression !== 0)
      throw new RecordBatchError(
        `record batch at offset ${baseOffset} is compressed with codec ${compression}; only none and gzip are read`,
      );
    yield {
      baseOffset,
      lastOffset: baseOffset + set.readInt32BE(at + 23),
      baseTimestamp: Number(set.readBigInt64BE(at + 27)),
      maxTimestamp: Number(set.readBigInt64BE(at + 35)),
      logAppendTime: (attributes & LOG_APPEND_TIME) !== 0,
      transactional: (attributes & TRANSACTIONAL) !== 0,
      control: (attributes & CONTROL) !== 0,
      producerId: set.readBigInt64BE(at + 43),
      recordCount: set.readInt32BE(at + 57),
      records,
    };
    at += size;
  }
}

/**
 * A cursor over one batch's records. `next()` moves to the following record and fills the
 * fields with its offset, timestamp and where its parts lie in `buf` (no allocation per record).
 */
export class RecordCursor {
  offset = 0;
  timestamp = 0;
  /** Key bytes [keyStart, keyEnd); keyStart -1 when the record has no key. Value likewise. */
  keyStart = -1;
  keyEnd = -1;
  valueStart = -1;
  valueEnd = -1;
  headerCount = 0;
  /** The headers' bytes [headersStart, end). */
  headersStart = 0;
  end = 0;
  private at = 0;
  private left: number;
  readonly buf: Buffer;

  constructor(private readonly batch: FetchedBatch) {
    this.buf = batch.records;
    this.left = batch.recordCount;
  }

  next(): boolean {
    if (this.left === 0) return false;
    this.left -= 1;
    const { buf } = this;
    this.at = this.end; // where the previous record ended, wherever its reader left the cursor
    const length = this.varint();
    this.end = this.at + length;
    if (this.end > buf.length) throw new RecordBatchError('record runs past the end of its batch');
    this.at += 1; // attributes
    const timestampDelta = this.varlong();
    this.offset = this.batch.baseOffset + this.varint();
    this.timestamp = this.batch.logAppendTime ? this.batch.maxTimestamp : this.batch.baseTimestamp + timestampDelta;
    const keyLength = this.varint();
    this.keyStart = keyLength < 0 ? -1 : this.at;
    this.keyEnd = keyLength < 0 ? -1 : (this.at += keyLength);
    const valueLength = this.varint();
    this.valueStart = valueLength < 0 ? -1 : this.at;
    this.valueEnd = valueLength < 0 ? -1 : (this.at += valueLength);
    this.headerCount = this.varint();
    this.headersStart = this.at;
    return true;
  }

  /** A zigzag varint (32-bit). */
  varint(): number {
    const { buf } = this;
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = buf[this.at++] as number;
      value |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && shift < 35);
    return (value >>> 1) ^ -(value & 1);
  }

  /** A zigzag varlong, as a number (exact within ±2^53). */
  private varlong(): number {
    const { buf } = this;
    let value = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = buf[this.at++] as number;
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80 && scale <= 2 ** 63);
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }

  /** Moves to `at` inside the current record (for reading its headers). */
  seek(at: number): void {
    this.at = at;
  }

  get position(): number {
    return this.at;
  }
}

/** Whether a control batch marks the end of an aborted transaction (its one record's key holds the type). */
function isAbortMarker(batch: FetchedBatch): boolean {
  const cursor = new RecordCursor(batch);
  return (
    cursor.next() &&
    cursor.keyStart >= 0 &&
    cursor.keyEnd - cursor.keyStart >= 4 &&
    batch.records.readInt16BE(cursor.keyStart + 2) === ABORT_MARKER
  );
}

/**
 * The batches of one partition's fetch that a read_committed consumer sees: control batches
 * and the batches of aborted transactions (from the answer's aborted-transaction list) are left
 * out, as the Java consumer does. Each batch comes with `visible` false when it is skipped,
 * so the caller still moves past its offsets.
 */
export function* committedBatches(
  set: Buffer,
  aborted: readonly { producerId: bigint; firstOffset: bigint }[],
): Generator<{ batch: FetchedBatch; visible: boolean }> {
  const pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const abortedProducers = new Set<bigint>();
  for (const batch of fetchedBatches(set)) {
    while (pending.length > 0 && Number((pending[0] as { firstOffset: bigint }).firstOffset) <= batch.lastOffset) {
      abortedProducers.add((pending.shift() as { producerId: bigint }).producerId);
    }
    if (batch.control) {
      if (batch.transactional && isAbortMarker(batch)) abortedProducers.delete(batch.producerId);
      yield { batch, visible: false };
    } else {
      yield { batch, visible: !(batch.transactional && abortedProducers.has(batch.producerId)) };
    }
  }
}

/** Bytes of a zigzag varint for a value in the int32 range. */
export function varintSize(value: number): number {
  let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (unsigned >= 0x80) {
    unsigned >>>= 7;
    size += 1;
  }
  return size;
}

/** Writes a zigzag varint at `at`; returns the position after it. */
export function writeVarint(buf: Buffer, at: number, value: number): number {
  let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
  while (unsigned >= 0x80) {
    buf[at++] = (unsigned & 0x7f) | 0x80;
    unsigned >>>= 7;
  }
  buf[at++] = unsigned;
  return at;
}

/** Decimal digits of a non-negative integer below 2^53. */
export function digitCount(value: number): number {
  let count = 1;
  while (value >= 10) {
    value = Math.floor(value / 10);
    count += 1;
  }
  return count;
}

/** Writes a non-negative integer's decimal digits (ASCII) at `at`; returns the position after them. */
export function writeDigits(buf: Buffer, at: number, value: number, count: number): number {
  const end = at + count;
  for (let i = end - 1; i >= at; i -= 1) {
    buf[i] = 48 + (value % 10);
    value = Math.floor(value / 10);
  }
  return end;
}

/** Copies [start, end) of `from` to `to` at `at` (a loop for short runs, faster than a native call); returns the position after it. */
export function copyBytes(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  if (end - start > 64) return at + from.copy(to, at, start, end);
  for (let i = start; i < end; i += 1) to[at++] = from[i] as number;
  return at;
}

/**
 * Builds one record batch for an idempotent producer. The caller writes records straight into
 * `buf` at `at` and moves `at` and `count` on; `seal` then fills in the header and the CRC.
 * The buffer is the batch: nothing is copied when it is sent.
 */
export class BatchBuilder {
  at = BATCH_HEADER_BYTES;
  count = 0;

  constructor(
    readonly capacity: number,
    /** A buffer of at least `capacity` bytes (a new one unless a spare is given). */
    readonly buf: Buffer = Buffer.allocUnsafe(capacity),
  ) {}

  /** Whether a record of `size` bytes (its length varint included) still fits. */
  fits(size: number): boolean {
    return this.at + size <= this.capacity;
  }

  seal(producerId: bigint, producerEpoch: number, baseSequence: number, timestamp: number): Buffer {
    const { buf } = this;
    buf.writeBigInt64BE(0n, 0);
    buf.writeInt32BE(this.at - 12, 8);
    buf.writeInt32BE(-1, 12); // partition leader epoch: set by the broker
    buf.writeInt8(MAGIC_V2, 16);
    buf.writeInt16BE(0, 21); // no compression, CreateTime, not transactional
    buf.writeInt32BE(this.count - 1, 23);
    buf.writeBigInt64BE(BigInt(timestamp), 27);
    buf.writeBigInt64BE(BigInt(timestamp), 35);
    buf.writeBigInt64BE(producerId, 43);
    buf.writeInt16BE(producerEpoch, 51);
    buf.writeInt32BE(baseSequence, 53);
    buf.writeInt32BE(this.count, 57);
    buf.writeUInt32BE(crc32c(buf.subarray(21, this.at)), 17);
    return buf.subarray(0, this.at);
  }
}
