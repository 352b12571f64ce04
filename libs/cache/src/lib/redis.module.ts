import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { RedisConfig } from '@keelson/config';
import Redis from 'ioredis';

export const REDIS = Symbol('REDIS');

/**
 * An ioredis client that fails fast while disconnected (no offline queue) and keeps
 * reconnecting. Commands issued in the same event-loop turn go out in one write
 * (auto-pipelining), which saves a system call per command on busy paths.
 */
export function createRedis(config: RedisConfig, connectionName: string): Redis {
  return new Redis({
    host: config.REDIS_HOST,
    port: config.REDIS_PORT,
    ...(config.REDIS_PASSWORD ? { password: config.REDIS_PASSWORD } : {}),
    connectionName,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
}

class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => {
      this.redis.disconnect();
    });
  }
}

@Module({})
export class RedisModule {
  static forRoot(config: RedisConfig, connectionName: string): DynamicModule {
    return {
      module: RedisModule,
      global: true,
      providers: [{ provide: REDIS, useFactory: () => createRedis(config, connectionName) }, RedisLifecycle],
      exports: [REDIS],
    };
  }
}
