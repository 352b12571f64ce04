import { baseConfigSchema, flag, healthConfigSchema, kafkaConfigSchema, postgresConfigSchema, redisConfigSchema } from '@keelson/config';
import { z } from 'zod';

export const configSchema = baseConfigSchema(3004)
  .extend(healthConfigSchema.shape)
  .extend(postgresConfigSchema.shape)
  .extend(redisConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    /** Kafka consumer group; replicas share the partitions. */
    INVALIDATOR_GROUP_ID: z
      .string()
      .regex(/^[\w.-]{1,128}$/)
      .default('cache-invalidator'),
    /** Also evict on the orders database's change notifications (faster than the events). */
    CHANGE_NOTIFICATIONS_ENABLED: flag(true),
    /** Per cache, the URL that reads one entry (`{id}`), used to re-warm hot entries after evicting them; empty turns warming off. */
    CACHE_WARM_URLS: z
      .string()
      .default('orders:order=http://127.0.0.1:3002/api/v1/orders/{id},orders:customer=http://127.0.0.1:3002/api/v1/customers/{id}')
      .transform((value, ctx) => {
        const urls: Record<string, string> = {};
        for (const pair of value
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)) {
          const [cache, url] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
          if (!cache || !/^https?:\/\/\S+\{id\}/.test(url)) {
            ctx.addIssue({ code: 'custom', message: `expected <cache>=<http url with {id}>, got "${pair}"` });
            return z.NEVER;
          }
          urls[cache] = url;
        }
        return urls;
      }),
    /** Share of applied events whose entry is looked at again later for a value older than the event. */
    STALE_CHECK_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0.01),
    STALE_CHECK_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
    /** Sampled reads (this minute and the last) that make an entry hot enough to re-warm. */
    CACHE_WARM_MIN_READS: z.coerce.number().int().min(1).default(2),
  });

/** The PostgreSQL schema this service owns. */
export const SCHEMA = 'cache_invalidator';

export type CacheInvalidatorConfig = z.output<typeof configSchema>;
