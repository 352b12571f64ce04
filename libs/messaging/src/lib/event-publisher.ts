import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { CompressionTypes, Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { ContractRegistry } from './contract';
import type { EventEnvelope } from './envelope';

export interface PublishOptions {
  /** Partition key; defaults to the envelope's subject (the aggregate id), keeping one aggregate's events ordered. */
  key?: string;
  headers?: Record<string, string>;
}

/**
 * Validates events against their topic contract and publishes them with an idempotent,
 * acks=all producer, carrying the W3C trace context in the record headers.
 */
export class EventPublisher {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly registry: ContractRegistry,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  connect(): Promise<void> {
    this.connected ??= this.producer.connect();
    return this.connected;
  }

  /** Publishes events to one topic in one request; resolves once every replica has acknowledged. */
  async publish(topic: string, events: readonly EventEnvelope[], options: PublishOptions = {}): Promise<void> {
    const valid = events.map((event) => this.registry.validate(topic, event));
    const span = trace.getTracer('keelson-messaging').startSpan(`${topic} publish`, {
      kind: SpanKind.PRODUCER,
      attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.batch.message_count': valid.length },
    });
    const ctx = trace.setSpan(context.active(), span);
    try {
      await this.connect();
      const traceHeaders: Record<string, string> = {};
      // inject() writes traceparent/tracestate for the producer span into the carrier.
      propagation.inject(ctx, traceHeaders);
      await this.producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.None,
        messages: valid.map((event) => ({
          key: options.key ?? event.subject,
          value: JSON.stringify({ ...event, ...(traceHeaders.traceparent ? { traceparent: traceHeaders.traceparent } : {}) }),
          headers: {
            ...options.headers,
            ...traceHeaders,
            'content-type': 'application/cloudevents+json',
            'ce-type': event.type,
            'ce-id': event.id,
          },
        })),
      });
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  }

  /** Sends an already-encoded record as is (dead letters, replays). No contract check. */
  async publishRaw(
    topic: string,
    record: { key: Buffer | string | null; value: Buffer | string | null; headers: Record<string, string> },
  ): Promise<void> {
    await this.connect();
    await this.producer.send({ topic, acks: -1, messages: [record] });
  }

  async disconnect(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
    this.connected = undefined;
  }
}
