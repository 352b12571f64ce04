import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { platformRegistry } from '../contracts';
import { EventConsumer, type ConsumerOptions } from './event-consumer';
import { EventPublisher } from './event-publisher';
import { createKafka, type KafkaConnectionOptions } from './kafka-connection';
import { TopicAdmin } from './topic-admin';
import { ContractRegistry } from './contract';

export const KAFKA = Symbol('KAFKA');

/** Creates publishers, consumers and the admin for one service, and closes them on shutdown. */
export class Messaging implements OnApplicationShutdown {
  readonly publisher: EventPublisher;
  readonly admin: TopicAdmin;
  private readonly consumers: EventConsumer[] = [];

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    readonly registry: ContractRegistry,
  ) {
    this.publisher = new EventPublisher(kafka, registry);
    this.admin = new TopicAdmin(kafka);
  }

  consumer(options: ConsumerOptions): EventConsumer {
    const consumer = new EventConsumer(this.kafka, this.registry, this.publisher, options);
    this.consumers.push(consumer);
    return consumer;
  }

  /** Consumers first (finish their batch, commit), then the producer and admin. */
  async close(): Promise<void> {
    await Promise.allSettled(this.consumers.map((c) => c.stop()));
    await Promise.allSettled([this.publisher.disconnect(), this.admin.disconnect()]);
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}

@Module({})
export class MessagingModule {
  static forRoot(options: KafkaConnectionOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        { provide: KAFKA, useFactory: () => createKafka(options) },
        { provide: ContractRegistry, useFactory: platformRegistry },
        {
          provide: Messaging,
          useFactory: (kafka: Kafka, registry: ContractRegistry) => new Messaging(kafka, registry),
          inject: [KAFKA, ContractRegistry],
        },
      ],
      exports: [KAFKA, Messaging, ContractRegistry],
    };
  }
}
