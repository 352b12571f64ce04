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
  // Per topic, for its current partition count: string keys, and Buffer keys by their bytes.
  // Looked up by the key itself: no string is built per record for a string key.
  const tables = new Map<string, { count: number; strings: Map<string, number>; buffers: Map<string, number> }>();
  let remembered = 0;
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    const { key } = message;
    if (key === null || key === undefined || typeof message.partition === 'number') {
      return decide(args);
    }
    let table = tables.get(topic);
    if (table === undefined || table.count !== partitionMetadata.length) {
      table = { count: partitionMetadata.length, strings: new Map(), buffers: new Map() };
      tables.set(topic, table);
    }
    const known = typeof key === 'string' ? table.strings : table.buffers;
    const id = typeof key === 'string' ? key : key.toString('latin1');
    let partition = known.get(id);
    if (partition === undefined) {
      partition = decide(args);
      if (remembered >= MAX_KEYS) {
        for (const each of tables.values()) {
          each.strings.clear();
          each.buffers.clear();
        }
        remembered = 0;
      }
      known.set(id, partition);
      remembered += 1;
    }
    return partition;
  };
};
