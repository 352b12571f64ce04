import { Logger } from '@nestjs/common';
import { metricsRegistry } from '@keelson/observability';
import type Redis from 'ioredis';
import { Counter } from 'prom-client';

const lookups = new Counter({
  name: 'cache_lookups_total',
  help: 'Cache-aside lookups by cache and result (hit, miss, error).',
  labelNames: ['cache', 'result'] as const,
  registers: [metricsRegistry],
});

/**
 * Cache-aside over Redis, first version: JSON values with a TTL, fills on miss, explicit
 * invalidation after a write commits. Redis failures never fail a read: it falls back to
 * the loader. (Versioned fills against the invalidate/refill race come with the cache work.)
 */
export class CacheAside {
  private readonly logger = new Logger(CacheAside.name);

  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    private readonly ttlSeconds: number,
  ) {}

  private key(id: string): string {
    return `${this.name}:${id}`;
  }

  async getOrLoad<T>(id: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const key = this.key(id);
    try {
      const cached = await this.redis.get(key);
      if (cached !== null) {
        lookups.inc({ cache: this.name, result: 'hit' });
        return JSON.parse(cached) as T;
      }
      lookups.inc({ cache: this.name, result: 'miss' });
    } catch (error) {
      lookups.inc({ cache: this.name, result: 'error' });
      this.logger.warn(`cache ${this.name} unavailable, reading through: ${(error as Error).message}`);
      return load();
    }
    const value = await load();
    if (value !== undefined) {
      await this.redis.set(key, JSON.stringify(value), 'EX', this.ttlSeconds).catch(() => undefined);
    }
    return value;
  }

  /** Drops entries after the change that made them stale has committed. */
  async invalidate(...ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.del(...ids.map((id) => this.key(id))).catch((error: unknown) => {
      this.logger.warn(`cache ${this.name} invalidation failed (entries expire by TTL): ${(error as Error).message}`);
    });
  }
}
