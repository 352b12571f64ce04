import type { Admin, Kafka } from 'kafkajs';
import type { TopicContract } from './contract';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
}

/** The topic and its dead-letter topic for each contract. */
export function topicSpecs(contracts: readonly TopicContract[], numPartitions = 3, replicationFactor = 1): TopicSpec[] {
  return contracts.flatMap((c) => [
    { topic: c.topic, numPartitions, replicationFactor },
    { topic: c.deadLetterTopic, numPartitions, replicationFactor },
  ]);
}

/** Kafka administration the services need: topic provisioning and a cheap broker probe. */
export class TopicAdmin {
  private readonly admin: Admin;
  private connected: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin({ retry: { retries: 0 } });
  }

  private connect(): Promise<void> {
    this.connected ??= this.admin.connect().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    return this.connected;
  }

  /** Creates the topics that do not exist yet; returns the names it created. */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<string[]> {
    await this.connect();
    const existing = new Set(await this.admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) await this.admin.createTopics({ topics: [...missing], waitForLeaders: true });
    return missing.map((s) => s.topic);
  }

  /** Asks the cluster for its metadata; throws when no broker answers. */
  async probe(): Promise<{ brokers: number; controller: number | null }> {
    await this.connect();
    const cluster = await this.admin.describeCluster();
    return { brokers: cluster.brokers.length, controller: cluster.controller };
  }

  async disconnect(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
    this.connected = undefined;
  }
}
