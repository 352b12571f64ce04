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
    /** How long a replica's claim on a running replay lasts unless renewed; another replica resumes the job once it lapses. */
    REPLAY_LEASE_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
    /** A debug session's lifetime when the request names none (15 min). */
    REPLAY_DEBUG_SESSION_TTL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(900_000),
    /** The longest lifetime a debug session may ask for (4 h). */
    REPLAY_DEBUG_SESSION_MAX_TTL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(14_400_000),
    /** How often expired debug sessions are removed (their consumer groups deleted). */
    REPLAY_SWEEP_INTERVAL_MS: z.coerce.number().int().min(500).max(3_600_000).default(60_000),
    /** Silence after which a progress stream writes a heartbeat comment (below proxies' idle timeouts, often 60 s). */
    REPLAY_PROGRESS_HEARTBEAT_MS: z.coerce.number().int().min(1_000).max(300_000).default(15_000),
  })
  .refine((c) => c.REPLAY_DEBUG_SESSION_TTL_MS <= c.REPLAY_DEBUG_SESSION_MAX_TTL_MS, {
    message: 'must not exceed REPLAY_DEBUG_SESSION_MAX_TTL_MS',
    path: ['REPLAY_DEBUG_SESSION_TTL_MS'],
  });

/** The PostgreSQL schema this service owns. */
export const SCHEMA = 'replay';

export type ReplayConfig = z.output<typeof configSchema>;
