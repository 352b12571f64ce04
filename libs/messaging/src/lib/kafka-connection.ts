import { Logger } from '@nestjs/common';
import { Kafka, logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';

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

/** A kafkajs client whose own logs go through the service logger (warnings and errors only). */
export function createKafka(options: KafkaConnectionOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => logEntry,
  });
}
