import { ContractRegistry, Messaging } from '@keelson/messaging';
import { Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxRelay, type OutboxRelayOptions } from './outbox-relay';
import { OutboxWriter } from './outbox-writer';
import type { OutboxRoutes } from './routes';

export interface OutboxModuleOptions {
  schema: string;
  routes: OutboxRoutes;
  /** Run the relay in this process (every replica may; SKIP LOCKED shares the work). */
  relay: boolean;
  pollIntervalMs?: number;
  batchSize?: number;
}

/** Starts the relay after the app is up; stops it before Kafka and PostgreSQL connections close. */
class RelayLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly relay: OutboxRelay,
    private readonly enabled: boolean,
  ) {}

  onApplicationBootstrap(): void {
    if (this.enabled) this.relay.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.relay.stop();
  }
}

/** The outbox writer (for services' transactions) and the relay that publishes it. */
@Module({})
export class OutboxModule {
  static forRoot(options: OutboxModuleOptions): DynamicModule {
    return {
      module: OutboxModule,
      global: true,
      providers: [
        {
          provide: OutboxWriter,
          useFactory: (registry: ContractRegistry) => new OutboxWriter(options.schema, options.routes, registry),
          inject: [ContractRegistry],
        },
        {
          provide: OutboxRelay,
          useFactory: (dataSource: DataSource, messaging: Messaging) => {
            const relayOptions: OutboxRelayOptions = {
              schema: options.schema,
              routes: options.routes,
              publisher: messaging.publisher,
              ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
              ...(options.batchSize ? { batchSize: options.batchSize } : {}),
            };
            return new OutboxRelay(dataSource, relayOptions);
          },
          inject: [DataSource, Messaging],
        },
        { provide: RelayLifecycle, useFactory: (relay: OutboxRelay) => new RelayLifecycle(relay, options.relay), inject: [OutboxRelay] },
      ],
      exports: [OutboxWriter, OutboxRelay],
    };
  }
}
