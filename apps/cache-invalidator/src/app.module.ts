import { Cache, CacheInvalidations } from '@keelson/cache';
import { CacheInvalidationModule } from '@keelson/cache-invalidation';
import { platformModules } from '@keelson/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import { SCHEMA, type CacheInvalidatorConfig } from './config';

@Module({})
export class AppModule {
  static register(config: CacheInvalidatorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...platformModules({
          name: 'cache-invalidator',
          config,
          postgres: { schema: SCHEMA, config },
          redis: config,
          kafka: config,
        }),
        CacheInvalidationModule.forRoot({
          groupId: config.INVALIDATOR_GROUP_ID,
          evictions: (redis) => new CacheInvalidations(redis),
          staleCheck: { sampleRate: config.STALE_CHECK_SAMPLE_RATE, delayMs: config.STALE_CHECK_DELAY_MS },
          reader: (redis) => {
            const caches = new Map<string, Cache>();
            return (name, id) => {
              const cache = caches.get(name) ?? new Cache(redis, { name, ttlSeconds: 60 });
              caches.set(name, cache);
              return cache.getOrLoad(id, () => Promise.resolve(undefined)); // looks, never fills
            };
          },
          ...(Object.keys(config.CACHE_WARM_URLS).length > 0
            ? { warm: { urls: config.CACHE_WARM_URLS, minReads: config.CACHE_WARM_MIN_READS } }
            : {}),
          ...(config.CHANGE_NOTIFICATIONS_ENABLED
            ? {
                changeNotifications: {
                  host: config.DATABASE_HOST,
                  port: config.DATABASE_PORT,
                  user: config.DATABASE_USER,
                  password: config.DATABASE_PASSWORD,
                  database: config.DATABASE_NAME,
                },
              }
            : {}),
        }),
      ],
    };
  }
}
