import { ORDERS_SCHEMA, OrdersDomainModule, ordersEntities, ordersOutboxRoutes } from '@keelson/orders';
import { OutboxModule, OutboxRecord } from '@keelson/outbox';
import { platformModules } from '@keelson/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import type { OrdersConfig } from './config';

@Module({})
export class AppModule {
  static register(config: OrdersConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...platformModules({
          name: 'orders',
          config,
          postgres: { schema: ORDERS_SCHEMA, config, entities: [...ordersEntities, OutboxRecord] },
          redis: config,
          kafka: config,
        }),
        OutboxModule.forRoot({
          schema: ORDERS_SCHEMA,
          routes: ordersOutboxRoutes,
          relay: config.OUTBOX_RELAY_ENABLED,
          pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
        }),
        OrdersDomainModule.forRoot({
          cacheTtlSeconds: config.CACHE_TTL_SECONDS,
          cacheHotKeySampleRate: config.CACHE_HOT_KEY_SAMPLE_RATE,
          cacheL1: config.CACHE_L1_MAX_ENTRIES > 0 ? { maxEntries: config.CACHE_L1_MAX_ENTRIES, ttlMs: config.CACHE_L1_TTL_MS } : undefined,
        }),
      ],
    };
  }
}
