import { z } from 'zod';
import { hostPorts, logLevel, millis, port } from './fields';
import { secret } from './load-config';

/** Tracing is off locally by default; `otlp` sends spans to an OpenTelemetry collector. */
export const tracingConfigSchema = z.object({
  OTEL_TRACES_EXPORTER: z.enum(['none', 'console', 'otlp']).default('none'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().default('http://127.0.0.1:4318'),
  /** Share of new traces recorded and exported (parent-based: a caller's decision is kept). */
  OTEL_TRACES_SAMPLER_RATIO: z.coerce.number().min(0).max(1).default(1),
});

/** Settings every Keelson service has: HTTP listener, logging, tracing, shutdown. */
export const baseConfigSchema = (defaultPort: number) =>
  z
    .object({
      HOST: z.string().min(1).default('127.0.0.1'),
      PORT: port(defaultPort),
      LOG_LEVEL: logLevel,
      /** Time allowed for in-flight work to finish after SIGTERM before the process exits anyway. */
      SHUTDOWN_GRACE_MS: millis(10_000),
      /** After SIGTERM, keep serving with readiness 503 this long so load balancers stop routing first. */
      SHUTDOWN_DRAIN_DELAY_MS: z.coerce.number().int().nonnegative().default(0),
      BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1_048_576),
    })
    .extend(tracingConfigSchema.shape);

export const postgresConfigSchema = z.object({
  DATABASE_HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_PORT: port(5432),
  DATABASE_USER: z.string().min(1).default('keelson'),
  DATABASE_PASSWORD: secret(z.string().min(1).default('keelson')),
  DATABASE_NAME: z.string().min(1).default('keelson'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
});

export const redisConfigSchema = z.object({
  REDIS_HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_PORT: port(6379),
  REDIS_PASSWORD: secret(z.string().optional()),
});

export const kafkaConfigSchema = z.object({
  KAFKA_BROKERS: hostPorts('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  KAFKA_REQUEST_TIMEOUT_MS: millis(30_000),
  KAFKA_CONNECTION_TIMEOUT_MS: millis(3_000),
});

export const healthConfigSchema = z.object({
  /** Each readiness dependency check must answer within this time. */
  HEALTH_CHECK_TIMEOUT_MS: millis(1_000),
});

export type BaseConfig = z.output<ReturnType<typeof baseConfigSchema>>;
export type PostgresConfig = z.output<typeof postgresConfigSchema>;
export type RedisConfig = z.output<typeof redisConfigSchema>;
export type KafkaConfig = z.output<typeof kafkaConfigSchema>;
