import { baseConfigSchema, flag, healthConfigSchema, kafkaConfigSchema, postgresConfigSchema, redisConfigSchema } from '@keelson/config';
import { z } from 'zod';

export const configSchema = baseConfigSchema(3002)
  .extend(healthConfigSchema.shape)
  .extend(postgresConfigSchema.shape)
  .extend(redisConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    /** Run the outbox relay in this replica (several may; they share the work). */
    OUTBOX_RELAY_ENABLED: flag(true),
    OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().positive().default(1_000),
    /** Lifetime of cached single-customer and single-order reads. */
    CACHE_TTL_SECONDS: z.coerce.number().int().positive().max(86_400).default(300),
    /** Share of cached reads counted towards the hot-key ranking the cache-invalidator re-warms from. */
    CACHE_HOT_KEY_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0.05),
    /**
     * Entries of each read cache also kept in process (0 = no in-process copy). The invalidation
     * broadcast drops them on every replica; CACHE_L1_TTL_MS bounds how long one can outlive a
     * broadcast this replica never heard.
     */
    CACHE_L1_MAX_ENTRIES: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
    CACHE_L1_TTL_MS: z.coerce.number().int().positive().max(60_000).default(5_000),
  });

export type OrdersConfig = z.output<typeof configSchema>;
