import { RedisModule } from '@keelson/cache';
import type { BaseConfig, KafkaConfig, PostgresConfig, RedisConfig } from '@keelson/config';
import { DatabaseModule } from '@keelson/database';
import { HealthModule, type Dependency } from '@keelson/health';
import { MessagingModule } from '@keelson/messaging';
import { ObservabilityModule } from '@keelson/observability';
import type { DynamicModule } from '@nestjs/common';

export interface PlatformOptions {
  name: string;
  config: BaseConfig & { HEALTH_CHECK_TIMEOUT_MS: number };
  /** Each dependency the service uses, with its settings (usually the service's own config). */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own type for entity classes
  postgres?: { schema: string; config: PostgresConfig; entities?: Function[] };
  redis?: RedisConfig;
  kafka?: KafkaConfig;
}

/**
 * The modules every service has — logging, metrics, health — plus a connection per
 * declared dependency. Readiness then checks exactly those dependencies.
 */
export function platformModules(options: PlatformOptions): DynamicModule[] {
  const { name, config, postgres, redis, kafka } = options;
  const dependencies: Dependency[] = [];
  const modules: DynamicModule[] = [ObservabilityModule.forRoot({ serviceName: name, logLevel: config.LOG_LEVEL })];
  if (postgres) {
    dependencies.push('postgres');
    modules.push(
      DatabaseModule.forRoot({
        schema: postgres.schema,
        config: postgres.config,
        applicationName: name,
        ...(postgres.entities ? { entities: postgres.entities } : {}),
      }),
    );
  }
  if (redis) {
    dependencies.push('redis');
    modules.push(RedisModule.forRoot(redis, name));
  }
  if (kafka) {
    dependencies.push('kafka');
    modules.push(
      MessagingModule.forRoot({
        clientId: kafka.KAFKA_CLIENT_ID ?? name,
        brokers: kafka.KAFKA_BROKERS,
        connectionTimeoutMs: kafka.KAFKA_CONNECTION_TIMEOUT_MS,
        requestTimeoutMs: kafka.KAFKA_REQUEST_TIMEOUT_MS,
      }),
    );
  }
  modules.push(HealthModule.forRoot({ dependencies, timeoutMs: config.HEALTH_CHECK_TIMEOUT_MS }));
  return modules;
}
