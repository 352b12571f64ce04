import { createRequire } from 'node:module';
import { committedBatches, digitCount, fetchedBatches, RecordCursor, varintSize, writeDigits, writeVarint } from './record-batch';

// Batches as kafkajs writes them (the same bytes a broker returns in a fetch).
const load = createRequire(__filename);
type Encoded = { buffer: Buffer };
const Record = load('kafkajs/src/protocol/recordBatch/record/v0') as (record: object) => Encoded;
const { RecordBatch } = load('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (batch: object) => Promise<Encoded> };
const Encoder = load('kafkajs/src/protocol/encoder') as new () => { writeVarInt(value: number): Encoded };

const BASE_TIME = 1_765_000_000_000;

async function batch(
  firstOffset: number,
  records: { key: Buffer | null; value: Buffer | null; timestamp: number; headers?: Record<string, Buffer> }[],
  compression = 0,
): Promise<Buffer> {
  const firstTimestamp = records[0]?.timestamp ?? BASE_TIME;
  const encoded = await RecordBatch({
    compression,
    firstOffset: String(firstOffset),
    firstTimestamp,
    maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
    lastOffsetDelta: records.length - 1,
    records: records.map((r, i) => Record({ ...r, offsetDelta: i, timestampDelta: r.timestamp - firstTimestamp })),
  });
  return encoded.buffer;
}

function read(set: Buffer) {
  const out: { offset: number; timestamp: number; key: string | null; value: string | null; headers: number }[] = [];
  for (const b of fetchedBatches(set)) {
    const cursor = new RecordCursor(b);
    while (cursor.next()) {
      out.push({
        offset: cursor.offset,
        timestamp: cursor.timestamp,
        key: cursor.keyStart < 0 ? null : cursor.buf.toString('utf8', cursor.keyStart, cursor.keyEnd),
        value: cursor.valueStart < 0 ? null : cursor.buf.toString('utf8', cursor.valueStart, cursor.valueEnd),
        headers: cursor.headerCount,
      });
    }
  }
  return out;
}

describe('record batches read in place', () => {
  it('finds every record’s offset, timestamp (out of order ones too), key, value and headers, in plain and gzip batches', async () => {
    const set = Buffer.concat([
      await batch(40, [
        {
          key: Buffer.from('order-1'),
          value: Buffer.from('{"a":1}'),
          timestamp: BASE_TIME + 500,
          headers: { 'ce-type': Buffer.from('x') },
        },
        { key: null, value: Buffer.from('no key'), timestamp: BASE_TIME }, // stamped before the batch's first record
        { key: Buffer.from('order-2'), value: null, timestamp: BASE_TIME + 90_000_000 }, // a tombstone, a day later
      ]),
      await batch(
        43,
        [
          {
            key: Buffer.from('é'),
            value: Buffer.from('zipped'),
            timestamp: BASE_TIME + 1,
            headers: { a: Buffer.from('1'), b: Buffer.from('2') },
          },
          { key: Buffer.from('k'), value: Buffer.from('v'.repeat(300)), timestamp: BASE_TIME + 2 },
        ],
        1, // gzip
      ),
    ]);
    expect(read(set)).toEqual([
      { offset: 40, timestamp: BASE_TIME + 500, key: 'order-1', value: '{"a":1}', headers: 1 },
      { offset: 41, timestamp: BASE_TIME, key: null, value: 'no key', headers: 0 },
      { offset: 42, timestamp: BASE_TIME + 90_000_000, key: 'order-2', value: null, headers: 0 },
      { offset: 43, timestamp: BASE_TIME + 1, key: 'é', value: 'zipped', headers: 2 },
      { offset: 44, timestamp: BASE_TIME + 2, key: 'k', value: 'v'.repeat(300), headers: 0 },
    ]);
  });

  it('leaves a batch cut off at the end of a fetch for the next one', async () => {
    const whole = await batch(0, [{ key: null, value: Buffer.from('one'), timestamp: BASE_TIME }]);
    const next = await batch(1, [{ key: null, value: Buffer.from('two'), timestamp: BASE_TIME }]);
    expect(read(Buffer.concat([whole, next.subarray(0, next.length - 3)])).map((r) => r.offset)).toEqual([0]);
  });

  it('gives every record of a log-append-time batch the broker’s time', async () => {
    const set = await batch(0, [
      { key: null, value: Buffer.from('a'), timestamp: BASE_TIME },
      { key: null, value: Buffer.from('b'), timestamp: BASE_TIME + 7 },
    ]);
    set.writeInt16BE(set.readInt16BE(21) | 0x08, 21); // attributes: LogAppendTime
    set.writeBigInt64BE(BigInt(BASE_TIME + 1_000), 35); // max timestamp: the append time
    expect(read(set).map((r) => r.timestamp)).toEqual([BASE_TIME + 1_000, BASE_TIME + 1_000]);
  });

  it('refuses compression codecs it cannot inflate, naming them', async () => {
    const set = await batch(0, [{ key: null, value: Buffer.from('a'), timestamp: BASE_TIME }]);
    set.writeInt16BE(3, 21); // lz4
    expect(() => read(set)).toThrow('compressed with codec 3');
  });
});

describe('read_committed filtering', () => {
  /** A batch rewritten as a transaction's (or its control marker) of the given producer. */
  async function transactional(firstOffset: number, producerId: number, control?: 'abort' | 'commit'): Promise<Buffer> {
    const key = control === undefined ? Buffer.from('k') : Buffer.from([0, 0, 0, control === 'abort' ? 0 : 1]);
    const set = await batch(firstOffset, [{ key, value: Buffer.from('v'), timestamp: BASE_TIME }]);
    set.writeInt16BE(0x10 | (control === undefined ? 0 : 0x20), 21);
    set.writeBigInt64BE(BigInt(producerId), 43);
    return set;
  }

  it('leaves out an aborted transaction’s batches and every control batch, keeping committed and plain ones', async () => {
    const set = Buffer.concat([
      await transactional(0, 7), // aborted below
      await transactional(1, 8), // committed below
      await transactional(2, 7, 'abort'),
      await transactional(3, 8, 'commit'),
      await transactional(4, 7), // producer 7's next transaction, not aborted
      await batch(5, [{ key: null, value: Buffer.from('plain'), timestamp: BASE_TIME }]),
    ]);
    const seen = [...committedBatches(set, [{ producerId: 7n, firstOffset: 0n }])].map(({ batch: b, visible }) => [b.baseOffset, visible]);
    expect(seen).toEqual([
      [0, false],
      [1, true],
      [2, false],
      [3, false],
      [4, true],
      [5, true],
    ]);
  });
});

describe('varints and digits written in place', () => {
  it('writes zigzag varints byte for byte as kafkajs does, and sizes them', () => {
    for (const value of [-1, 0, 1, 63, 64, -64, -65, 127, 128, 8_191, 8_192, 1_048_576, 2 ** 31 - 1, -(2 ** 31)]) {
      const expected = new Encoder().writeVarInt(value).buffer;
      const out = Buffer.alloc(8);
      const end = writeVarint(out, 0, value);
      expect([value, out.subarray(0, end)]).toEqual([value, expected]);
      expect([value, varintSize(value)]).toEqual([value, expected.length]);
    }
  });

  it('writes decimal digits as String() does', () => {
    for (const value of [0, 7, 9, 10, 99, 100, 123_456, BASE_TIME, Number.MAX_SAFE_INTEGER]) {
      const out = Buffer.alloc(20);
      const end = writeDigits(out, 2, value, digitCount(value));
      expect(out.toString('latin1', 2, end)).toBe(String(value));
    }
  });
});
