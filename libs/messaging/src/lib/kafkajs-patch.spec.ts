import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

// patches/kafkajs+2.2.4.patch: record batches are checksummed with the CPU's CRC32C
// instructions (@node-rs/crc32) instead of kafkajs's table-driven JavaScript. A wrong checksum
// would make the broker refuse every batch, so both must agree on every input.
const load = createRequire(__filename);
const batchChecksum = load('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;
const tableChecksum = load('kafkajs/src/protocol/recordBatch/crc32C/crc32C') as (buffer: Buffer) => number;
const unsigned = (value: number) => value >>> 0;

describe('kafkajs record batch checksum', () => {
  it('is CRC-32C (Castagnoli): the check value of "123456789" is 0xE3069283', () => {
    expect(batchChecksum(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('uses the native implementation', () => {
    const { crc32c } = load('@node-rs/crc32') as { crc32c: (buffer: Buffer) => number };
    const input = randomBytes(64);
    expect(batchChecksum(input)).toBe(crc32c(input));
  });

  it('agrees with kafkajs’s own table-driven version on empty, small and record-batch-sized inputs', () => {
    const sizes = [0, 1, 3, 7, 8, 9, 61, 300, 4_096, 65_537, 786_432];
    for (const size of sizes) {
      for (let i = 0; i < 5; i += 1) {
        const input = randomBytes(size);
        expect([size, batchChecksum(input)]).toEqual([size, unsigned(tableChecksum(input))]);
      }
    }
  });
});

// The patch also writes record batches and produce requests into buffers of their exact size
// (each record copied once) instead of nesting growing encoders. What goes on the wire must not
// change: every request is compared byte for byte with upstream kafkajs 2.2.4 (installed
// unpatched as `kafkajs-upstream`).
type ProduceRequest = (args: object) => { encode: () => Promise<unknown> };
type Framed = (args: { correlationId: number; clientId: string | null; request: unknown }) => Promise<{ buffer: Buffer }>;
const patched = {
  produce: load('kafkajs/src/protocol/requests/produce/v3/request') as ProduceRequest,
  frame: load('kafkajs/src/protocol/request') as Framed,
};
const upstream = {
  produce: load('kafkajs-upstream/src/protocol/requests/produce/v3/request') as ProduceRequest,
  frame: load('kafkajs-upstream/src/protocol/request') as Framed,
};

/** A small deterministic generator, so a failing case can be replayed from its seed. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => {
    const buffer = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 1) buffer[i] = int(256);
    return buffer;
  };
  const text = (n: number) => Array.from({ length: n }, () => 'aZ09-_.é€'[int(9)]).join('');
  return { int, bytes, text };
}

function message(g: ReturnType<typeof generator>) {
  const keyKind = g.int(4);
  const key = keyKind === 0 ? undefined : keyKind === 1 ? g.text(g.int(40)) : keyKind === 2 ? g.bytes(g.int(40)) : null;
  const value = g.int(6) === 0 ? null : g.int(2) ? g.bytes(g.int(1_000)) : g.text(g.int(300));
  const headers: Record<string, unknown> = {};
  for (let i = g.int(10); i > 0; i -= 1) {
    const kind = g.int(4);
    headers[`${g.text(g.int(20))}${i}`] =
      kind === 0 ? [g.text(5), g.bytes(g.int(20))] : kind === 1 ? g.text(g.int(60)) : g.bytes(g.int(60));
  }
  return {
    ...(key === undefined ? {} : { key }),
    value,
    ...(g.int(4) === 0 ? {} : { headers }),
    ...(g.int(3) === 0 ? {} : { timestamp: String(1_765_000_000_000 + g.int(100_000)) }),
  };
}

describe('kafkajs produce request encoding', () => {
  it('is byte for byte what upstream kafkajs 2.2.4 writes, for 120 random requests with and without compression', async () => {
    const realNow = Date.now;
    try {
      for (let seed = 1; seed <= 120; seed += 1) {
        const g = generator(seed);
        const args = {
          acks: -1,
          timeout: 30_000,
          compression: seed % 4 === 0 ? 1 : 0, // every fourth gzip-compressed
          transactionalId: g.int(2) ? null : `tx-${g.text(8)}`,
          producerEpoch: g.int(5),
          topicData: Array.from({ length: 1 + g.int(3) }, (_, t) => ({
            topic: `topic-${t}-${g.text(10)}`,
            partitions: Array.from({ length: 1 + g.int(4) }, (_, partition) => ({
              partition,
              firstSequence: g.int(1_000),
              messages: Array.from({ length: g.int(50) }, () => message(g)),
            })),
          })),
        };
        const clientId = g.int(5) === 0 ? null : `client-${g.text(6)}`;
        const now = realNow();
        Date.now = () => now; // batches without timestamps are stamped with the current time
        const ours = await patched.frame({ correlationId: seed, clientId, request: patched.produce(args) });
        const theirs = await upstream.frame({ correlationId: seed, clientId, request: upstream.produce(args) });
        Date.now = realNow;
        expect([seed, ours.buffer.length]).toEqual([seed, theirs.buffer.length]);
        expect(ours.buffer.equals(theirs.buffer)).toBe(true);
      }
    } finally {
      Date.now = realNow;
    }
  }, 60_000);
});
