import { baseConfigSchema, flag, healthConfigSchema, kafkaConfigSchema, postgresConfigSchema } from '@keelson/config';
import { z } from 'zod';

export const configSchema = baseConfigSchema(3003)
  .extend(healthConfigSchema.shape)
  .extend(postgresConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    /** Allow replays to write into the platform's domain topics (re-driving every consumer). Off by default. */
    REPLAY_ALLOW_DOMAIN_TARGETS: flag(false),
    /** How far CreateTime may run out of order within a topic; range reads go this far past the end. */
    REPLAY_MAX_TIMESTAMP_SKEW_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
    /** Session timeout of the consumer groups replays read with (the broker allows 6 s to 30 min by default). */
    REPLAY_READER_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(1_800_000).default(30_000),
  });

/** The PostgreSQL schema this service owns. */
export const SCHEMA = 'replay';

export type ReplayConfig = z.output<typeof configSchema>;
