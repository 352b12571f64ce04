import { baseConfigSchema, healthConfigSchema, redisConfigSchema } from '@keelson/config';
import { z } from 'zod';

const positive = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const origins = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
  );

export const configSchema = baseConfigSchema(8080)
  .extend(healthConfigSchema.shape)
  .extend(redisConfigSchema.shape)
  .extend({
    /** Where each service answers (service DNS names in the chart, 127.0.0.1 ports locally). */
    AUTH_URL: z.url().default('http://127.0.0.1:3001'),
    ORDERS_URL: z.url().default('http://127.0.0.1:3002'),
    REPLAY_URL: z.url().default('http://127.0.0.1:3003'),
    CACHE_INVALIDATOR_URL: z.url().default('http://127.0.0.1:3004'),
    BENCHMARK_URL: z.url().default('http://127.0.0.1:3005'),
    /** The issuer access tokens must carry: the auth service's AUTH_ISSUER. */
    AUTH_ISSUER: z.url().default('http://127.0.0.1:8080'),
    AUTH_AUDIENCE: z.string().min(1).default('keelson-api'),
    /** JWKS location; defaults to the auth service's. */
    AUTH_JWKS_URL: z.url().optional(),
    /** Upper bound for trusting a fetched JWKS: the auth service's JWKS_CACHE_SECONDS. */
    JWKS_CACHE_SECONDS: positive(300),
    /** Leeway for exp/nbf/iat against this host's clock. */
    AUTH_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
    /** Redis key prefix of the counters: gateways with the same prefix share one budget. */
    RATE_LIMIT_PREFIX: z
      .string()
      .regex(/^[\w:.-]{1,64}$/)
      .default('gw:rl'),
    RATE_LIMIT_WINDOW_SECONDS: positive(60),
    RATE_LIMIT_PER_CLIENT: positive(60_000),
    RATE_LIMIT_PER_IP: positive(120_000),
    /** Most places one replica reserves ahead on a busy key, taken without Redis (at most 1% of the key's limit; 0 = none). */
    RATE_LIMIT_MAX_LEASE: z.coerce.number().int().min(0).max(10_000).default(100),
    UPSTREAM_TIMEOUT_MS: positive(5_000),
    UPSTREAM_MAX_CONCURRENT: positive(512),
    UPSTREAM_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(5).default(2),
    BREAKER_CONSECUTIVE_FAILURES: positive(5),
    BREAKER_HALF_OPEN_AFTER_MS: positive(5_000),
    /** Origins allowed by CORS, comma-separated; empty allows none. */
    CORS_ORIGINS: origins,
    /** How often the merged OpenAPI document is rebuilt from the services' documents. */
    OPENAPI_REFRESH_SECONDS: positive(30),
  });

export type GatewayConfig = z.output<typeof configSchema>;
