import { Cache, REDIS, type Redis } from '@keelson/cache';
import type { Provider } from '@nestjs/common';

/** Single-customer reads (Redis key `orders:customer:g<gen>:<id>`). */
export class CustomerCache extends Cache {}

/** Single-order reads (Redis key `orders:order:g<gen>:<id>`). */
export class OrderCache extends Cache {}

/** Both caches count a sample of their reads (`hotKeySampleRate`) so the cache-invalidator can re-warm hot entries. */
export const readCacheProviders = (ttlSeconds: number, hotKeySampleRate: number): Provider[] => [
  {
    provide: CustomerCache,
    useFactory: (redis: Redis) => new CustomerCache(redis, { name: 'orders:customer', ttlSeconds, hotKeySampleRate }),
    inject: [REDIS],
  },
  {
    provide: OrderCache,
    useFactory: (redis: Redis) => new OrderCache(redis, { name: 'orders:order', ttlSeconds, hotKeySampleRate }),
    inject: [REDIS],
  },
];
