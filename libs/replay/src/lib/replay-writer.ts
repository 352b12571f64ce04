import { REPLAY_HEADER } from '@keelson/messaging';
import type { IHeaders, Message, Producer } from 'kafkajs';
import type { RangeRecord } from './range';

/**
 * Bytes of records per produce request. The broker refuses a partition's record batch over
 * `message.max.bytes` (1 MiB by default) and one fetched batch can hold more, so writes are
 * cut below it (a partition's share of a request is at most the whole request).
 */
const REQUEST_BYTES = 768 * 1024;
/** The replay headers and a record's framing, counted on top of its key, value and headers. */
const RECORD_OVERHEAD_BYTES = 200;

const sizeOf = (value: Buffer | string | null | undefined): number =>
  value === null || value === undefined ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length;

function recordBytes(record: RangeRecord): number {
  let size = RECORD_OVERHEAD_BYTES + sizeOf(record.key) + sizeOf(record.value);
  const headers = record.headers;
  for (const name in headers) {
    const value = headers[name];
    size += Buffer.byteLength(name);
    if (Array.isArray(value)) for (const v of value) size += sizeOf(v);
    else size += sizeOf(value);
  }
  return size;
}

/**
 * Writes replayed records to the target topic, in order: keys kept, the original headers as
 * fetched plus `x-replay-id` and `x-original-{topic,partition,offset,timestamp}`, one acks=all
 * produce request per chunk below the broker's size limit.
 */
export class ReplayWriter {
  /** Header values the same on many records (the replay id, the source topic and partitions), encoded once. */
  private readonly replayIdBytes: Buffer;
  private readonly encoded = new Map<string, Buffer>();

  constructor(
    private readonly producer: Producer,
    private readonly target: string,
    replayId: string,
    private readonly written: (count: number) => void,
  ) {
    this.replayIdBytes = Buffer.from(replayId);
  }

  private bytesOf(value: string): Buffer {
    let bytes = this.encoded.get(value);
    if (bytes === undefined) {
      bytes = Buffer.from(value);
      this.encoded.set(value, bytes);
    }
    return bytes;
  }

  async write(records: readonly RangeRecord[], signal: AbortSignal): Promise<void> {
    let chunk: RangeRecord[] = [];
    let bytes = 0;
    for (const record of records) {
      const size = recordBytes(record);
      if (chunk.length > 0 && bytes + size > REQUEST_BYTES) {
        await this.send(chunk, signal);
        chunk = [];
        bytes = 0;
      }
      chunk.push(record);
      bytes += size;
    }
    await this.send(chunk, signal);
  }

  private async send(records: readonly RangeRecord[], signal: AbortSignal): Promise<void> {
    if (records.length === 0 || signal.aborted) return;
    const now = String(Date.now());
    await this.producer.send({ topic: this.target, acks: -1, messages: records.map((record) => this.message(record, now)) });
    this.written(records.length);
  }

  private message(record: RangeRecord, timestamp: string): Message {
    const headers: IHeaders = {
      ...record.headers,
      [REPLAY_HEADER]: this.replayIdBytes,
      'x-original-topic': this.bytesOf(record.topic),
      'x-original-partition': this.bytesOf(String(record.partition)),
      'x-original-offset': record.offset,
      'x-original-timestamp': String(record.timestamp),
    };
    return { key: record.key, value: record.value, timestamp, headers };
  }
}
