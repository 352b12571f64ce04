export { createRedis, REDIS, RedisModule } from './lib/redis.module';
export { Cache, type CacheOptions, type GetOrLoadOptions } from './lib/cache';
export { CacheInvalidations } from './lib/cache-invalidations';
export {
  entryKey,
  generationKey,
  hotKeysKey,
  INVALIDATION_CHANNEL,
  parseInvalidationMessage,
  tagMembersKey,
  tagVersionKey,
  type CacheInvalidationMessage,
} from './lib/keys';
export { shouldRecompute } from './lib/xfetch';
export type { default as Redis } from 'ioredis';
