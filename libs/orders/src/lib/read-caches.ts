import { CacheAside, REDIS, type Redis } from '@keelson/cache';
import type { Provider } from '@nestjs/common';

/** Single-customer reads (Redis key `orders:customer:<id>`). */
export class CustomerCache extends CacheAside {}

/** Single-order reads (Redis key `orders:order:<id>`). */
export class OrderCache extends CacheAside {}

export const readCacheProviders = (ttlSeconds: number): Provider[] => [
  { provide: CustomerCache, useFactory: (redis: Redis) => new CustomerCache(redis, 'orders:customer', ttlSeconds), inject: [REDIS] },
  { provide: OrderCache, useFactory: (redis: Redis) => new OrderCache(redis, 'orders:order', ttlSeconds), inject: [REDIS] },
];
