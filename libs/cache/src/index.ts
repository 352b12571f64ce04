export { createRedis, REDIS, RedisModule } from './lib/redis.module';
export { CacheAside } from './lib/cache-aside';
export type { default as Redis } from 'ioredis';
