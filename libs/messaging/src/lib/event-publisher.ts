import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { Kafka, Producer } from 'kafkajs';
import type { ContractRegistry } from './contract';
import type { EventEnvelope } from './envelope';
import { KeyCachingPartitioner } from './partitioner';

export interface PublishOptions {
  /** Partition key; defaults to the envelope's subject (the aggregate id), keeping one aggregate's events ordered. */
  key?: string;
  headers?: Record<string, string>;
}

/** One event bound for one topic; `context` is the trace it belongs to (default: the active one). */
export interface OutgoingEvent {
  topic: string;
  event: EventEnvelope;
  key?: string;
  headers?: Record<string, string>;
  context?: Context;
}

/**
 * Validates events against their topic contract and publishes them with an idempotent,
 * acks=all producer. Each record gets a producer span (child of its own trace context)
 * whose W3C `traceparent` travels in the record headers.
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
      createPartitioner: KeyCachingPartitioner,
    });
  }

  connect(): Promise<void> {
    this.connected ??= this.producer.connect().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    return this.connected;
  }

  /** Publishes events to one topic; resolves once every in-sync replica has acknowledged. */
  publish(topic: string, events: readonly EventEnvelope[], options: PublishOptions = {}): Promise<void> {
    return this.publishBatch(
      events.map((event) => ({
        topic,
        event,
        ...(options.key ? { key: options.key } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
      })),
    );
  }

  /** Publishes events for any number of topics in one request (validated first: all or none are sent). */
  async publishBatch(items: readonly OutgoingEvent[]): Promise<void> {
    const valid = items.map((item) => ({ ...item, event: this.registry.validate(item.topic, item.event) }));
    const tracer = trace.getTracer('keelson-messaging');
    const spans: Span[] = [];
    const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
    for (const item of valid) {
      const span = tracer.startSpan(
        `${item.topic} publish`,
        {
          kind: SpanKind.PRODUCER,
          attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': item.topic, 'messaging.message.id': item.event.id },
        },
        item.context ?? context.active(),
      );
      spans.push(span);
      const traceHeaders: Record<string, string> = {};
      propagation.inject(trace.setSpan(item.context ?? context.active(), span), traceHeaders);
      const messages = byTopic.get(item.topic) ?? [];
      messages.push({
        key: item.key ?? item.event.subject,
        value: JSON.stringify({ ...item.event, ...(traceHeaders.traceparent ? { traceparent: traceHeaders.traceparent } : {}) }),
        headers: {
          ...item.headers,
          ...traceHeaders,
          'content-type': 'application/cloudevents+json',
          'ce-type': item.event.type,
          'ce-id': item.event.id,
        },
      });
      byTopic.set(item.topic, messages);
    }
    try {
      await this.connect();
      await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    } catch (error) {
      for (const span of spans) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      }
      throw error;
    } finally {
      for (const span of spans) span.end();
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
