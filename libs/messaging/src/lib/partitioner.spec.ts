import { randomUUID } from 'node:crypto';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { KeyCachingPartitioner } from './partitioner';

const metadata = (count: number): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));

describe('KeyCachingPartitioner', () => {
  it('puts every key where kafkajs’s default partitioner does, on repeated and changing partition counts', () => {
    const cached = KeyCachingPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    const keys = Array.from({ length: 500 }, () => randomUUID());
    for (const count of [1, 3, 6, 12, 6]) {
      for (const key of [...keys, ...keys]) {
        for (const asKey of [key, Buffer.from(key)]) {
          const args = { topic: 'orders.events.v1', partitionMetadata: metadata(count), message: { key: asKey, value: 'v' } };
          expect(cached(args)).toBe(reference(args));
        }
      }
    }
  });

  it('keeps topics apart and honours a partition given with the record', () => {
    const cached = KeyCachingPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    const message = { key: 'order-42', value: 'v' };
    expect(cached({ topic: 'a', partitionMetadata: metadata(6), message })).toBe(
      reference({ topic: 'a', partitionMetadata: metadata(6), message }),
    );
    expect(cached({ topic: 'b', partitionMetadata: metadata(2), message })).toBe(
      reference({ topic: 'b', partitionMetadata: metadata(2), message }),
    );
    expect(cached({ topic: 'a', partitionMetadata: metadata(6), message: { ...message, partition: 5 } })).toBe(5);
  });

  it('spreads records without a key over the partitions', () => {
    const cached = KeyCachingPartitioner();
    const seen = new Set(
      Array.from({ length: 12 }, () => cached({ topic: 'a', partitionMetadata: metadata(4), message: { key: null, value: 'v' } })),
    );
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });
});
