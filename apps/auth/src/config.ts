import { baseConfigSchema, healthConfigSchema, kafkaConfigSchema, postgresConfigSchema, redisConfigSchema } from '@keelson/config';
import { z } from 'zod';

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = baseConfigSchema(3001)
  .extend(healthConfigSchema.shape)
  .extend(postgresConfigSchema.shape)
  .extend(redisConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    /** `iss` of issued tokens and base of the published metadata URLs: the public gateway URL. */
    AUTH_ISSUER: z.url().default('http://127.0.0.1:8080'),
    /** `aud` of issued access tokens: the API the gateway fronts. */
    AUTH_AUDIENCE: z.string().min(1).default('keelson-api'),
    ACCESS_TOKEN_TTL_SECONDS: seconds(900),
    REFRESH_TOKEN_TTL_SECONDS: seconds(30 * 24 * 3600),
    LOGIN_ATTEMPTS_PER_IP_PER_MINUTE: seconds(60),
    LOGIN_FAILURES_PER_USER_AND_IP: seconds(5),
    LOGIN_FAILURE_WINDOW_SECONDS: seconds(900),
    /** A consumed refresh token is accepted again this long (concurrent refreshes); at most 60 s. */
    REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(30),
    /** argon2id hashes computed at once (each takes ~19 MiB and a libuv thread). */
    AUTH_MAX_CONCURRENT_HASHES: z.coerce.number().int().min(1).max(64).default(4),
    CLOCK_SKEW_SECONDS: seconds(60),
    /** How long clients may cache the JWKS; a new key is published at least this long before it signs. */
    JWKS_CACHE_SECONDS: seconds(300),
    KEY_ROTATION_INTERVAL_SECONDS: seconds(7 * 24 * 3600),
    KEY_ROTATION_CHECK_SECONDS: seconds(60),
  });

export type AuthConfig = z.output<typeof configSchema>;
