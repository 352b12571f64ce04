import { randomUUID } from 'node:crypto';
import { createKafka } from '@keelson/messaging';
import { localStack } from '@keelson/testing';
import type { Admin, Kafka } from 'kafkajs';
import { readRange, type RangePlan } from './range';

// The range reader against the real broker, when the log changes under a plan.
describe('readRange', () => {
  let kafka: Kafka;
  let admin: Admin;
  const topic = `it.${randomUUID().slice(0, 8)}.range-retention`;
  const base = Date.now() - 60_000;

  beforeAll(async () => {
    kafka = createKafka({ clientId: 'range-it', brokers: [...localStack.kafka.brokers] });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, timestamp: String(base + i * 1_000) })),
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('continues at the earliest record left when the planned start was deleted, instead of skipping to the end', async () => {
    const plan: RangePlan = {
      topic,
      fromMs: base,
      toMs: base + 60_000,
      partitions: [{ partition: 0, start: '0', end: '6', records: 6 }],
      records: 6,
    };
    // What retention does to old records: the log now starts at offset 3.
    await admin.fetchTopicMetadata({ topics: [topic] }); // the admin learns the partition's leader
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '3' }] });

    const offsets: string[] = [];
    const result = await readRange(kafka, plan, {
      onBatch: (batch) => {
        offsets.push(...batch.records.map((record) => record.offset));
        return Promise.resolve();
      },
    });

    expect(offsets).toEqual(['3', '4', '5']);
    expect(result.read).toBe(3);
  });
});
