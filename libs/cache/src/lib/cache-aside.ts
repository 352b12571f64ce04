import type Redis from 'ioredis';
import { Cache, type CacheOptions } from './cache';

/**
 * The first-version constructor, `new CacheAside(redis, name, ttlSeconds)`, kept so existing
 * callers compile; it is a `Cache` with versioned fills, XFetch, tags and generations.
 */
export class CacheAside extends Cache {
  constructor(redis: Redis, name: string, ttlSeconds: number, options: Omit<CacheOptions, 'name' | 'ttlSeconds'> = {}) {
    super(redis, { ...options, name, ttlSeconds });
  }
}
