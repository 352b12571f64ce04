import { Cache, REDIS, type Redis } from '@keelson/cache';
import type { Provider } from '@nestjs/common';
import type { OrdersDomainOptions } from './orders-domain.module';

/** Single-customer reads (Redis key `orders:customer:g<gen>:<id>`). */
export class CustomerCache extends Cache {}

/** Single-order reads (Redis key `orders:order:g<gen>:<id>`). */
export class OrderCache extends Cache {}

/**
 * Both caches count a sample of their reads (`hotKeySampleRate`) so the cache-invalidator can
 * re-warm hot entries, and may keep an in-process L1 that the invalidation broadcast keeps coherent.
 */
export const readCacheProviders = ({
  cacheTtlSeconds: ttlSeconds,
  cacheHotKeySampleRate: hotKeySampleRate,
  cacheL1: l1,
}: OrdersDomainOptions): Provider[] => [
  {
    provide: CustomerCache,
    useFactory: (redis: Redis) => new CustomerCache(redis, { name: 'orders:customer', ttlSeconds, hotKeySampleRate, l1 }),
    inject: [REDIS],
  },
  {
    provide: OrderCache,
    useFactory: (redis: Redis) => new OrderCache(redis, { name: 'orders:order', ttlSeconds, hotKeySampleRate, l1 }),
    inject: [REDIS],
  },
];
