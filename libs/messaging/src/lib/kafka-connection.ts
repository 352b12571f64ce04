import { Logger } from '@nestjs/common';
import { Kafka, logLevel as KafkaLogLevel, type LogEntry, type Producer, type ProducerConfig } from 'kafkajs';
import { messagesProduced } from './kafka-metrics';

export interface KafkaConnectionOptions {
  clientId: string;
  brokers: string[];
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

const logger = new Logger('kafkajs');

function logEntry({ namespace, level, log }: LogEntry): void {
  const { message, ...extra } = log;
  const line = `${namespace}: ${message} ${JSON.stringify(extra)}`;
  if (level === KafkaLogLevel.ERROR) logger.error(line);
  else if (level === KafkaLogLevel.WARN) logger.warn(line);
}

/** Counts what a producer's sends got acknowledged, by topic. */
function counted(producer: Producer): Producer {
  const send = producer.send.bind(producer);
  const sendBatch = producer.sendBatch.bind(producer);
  return Object.assign(producer, {
    send: async (...args: Parameters<Producer['send']>) => {
      const acked = await send(...args);
      messagesProduced.inc({ topic: args[0].topic }, args[0].messages.length);
      return acked;
    },
    sendBatch: async (...args: Parameters<Producer['sendBatch']>) => {
      const acked = await sendBatch(...args);
      for (const { topic, messages } of args[0].topicMessages ?? []) messagesProduced.inc({ topic }, messages.length);
      return acked;
    },
  });
}

/**
 * Every producer made from it counts acknowledged records (`kafka_messages_produced_total`), so
 * the outbox relay, dead letters and replays, which all take the service's Kafka client, are
 * counted in one place.
 */
class MeteredKafka extends Kafka {
  override producer(config?: ProducerConfig): Producer {
    return counted(super.producer(config));
  }
}

/**
 * A kafkajs client whose own logs go through the service logger (warnings and errors only) and
 * whose producers count what they publish.
 */
export function createKafka(options: KafkaConnectionOptions): Kafka {
  return new MeteredKafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => logEntry,
  });
}
