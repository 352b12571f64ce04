export { createRedis, REDIS, RedisModule } from './lib/redis.module';
export type { default as Redis } from 'ioredis';
