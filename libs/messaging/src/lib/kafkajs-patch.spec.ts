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
