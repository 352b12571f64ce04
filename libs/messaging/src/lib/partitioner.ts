import { Partitioners, type ICustomPartitioner } from 'kafkajs';

/** Keys remembered per producer before the memory starts over. */
const MAX_KEYS = 100_000;

/**
 * kafkajs's default partitioner (murmur2 of the key, as the Java client), remembering the
 * partition of each key per topic and partition count. A keyed record's partition depends
 * only on those, and murmur2 on kafkajs's 64-bit Long emulation was about 14% of a replay's
 * CPU with keys that repeat (an order's events share its id). Records without a key, or with
 * a partition given, go to the default partitioner every time.
 */
export const KeyCachingPartitioner: ICustomPartitioner = () => {
  const decide = Partitioners.DefaultPartitioner();
  const known = new Map<string, number>();
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    if (message.key === null || message.key === undefined || typeof message.partition === 'number') {
      return decide(args);
    }
    const key = typeof message.key === 'string' ? `s${message.key}` : `b${message.key.toString('latin1')}`;
    const id = `${topic}\u0000${partitionMetadata.length}\u0000${key}`;
    let partition = known.get(id);
    if (partition === undefined) {
      partition = decide(args);
      if (known.size >= MAX_KEYS) known.clear();
      known.set(id, partition);
    }
    return partition;
  };
};
