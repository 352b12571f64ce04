import { AUTH_SCHEMA, AuthDomainModule, authEntities, authOutboxRoutes } from '@keelson/auth';
import { OutboxModule, OutboxRecord } from '@keelson/outbox';
import { platformModules } from '@keelson/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import type { AuthConfig } from './config';

@Module({})
export class AppModule {
  static register(config: AuthConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...platformModules({
          name: 'auth',
          config,
          postgres: { schema: AUTH_SCHEMA, config, entities: [...authEntities, OutboxRecord] },
          redis: config,
          kafka: config,
        }),
        OutboxModule.forRoot({ schema: AUTH_SCHEMA, routes: authOutboxRoutes, relay: true }),
        AuthDomainModule.forRoot({
          issuer: config.AUTH_ISSUER,
          jwksCacheSeconds: config.JWKS_CACHE_SECONDS,
          rotationCheckIntervalMs: config.KEY_ROTATION_CHECK_SECONDS * 1_000,
          accessTokens: { audience: config.AUTH_AUDIENCE, ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS },
          loginLimits: {
            attemptsPerIpPerMinute: config.LOGIN_ATTEMPTS_PER_IP_PER_MINUTE,
            failuresPerUserAndIp: config.LOGIN_FAILURES_PER_USER_AND_IP,
            failureWindowSeconds: config.LOGIN_FAILURE_WINDOW_SECONDS,
          },
          refreshTokens: { lifetimeMs: config.REFRESH_TOKEN_TTL_SECONDS * 1_000, reuseGraceMs: config.REFRESH_REUSE_GRACE_SECONDS * 1_000 },
          maxConcurrentHashes: config.AUTH_MAX_CONCURRENT_HASHES,
          keyPolicy: {
            rotationIntervalMs: config.KEY_ROTATION_INTERVAL_SECONDS * 1_000,
            jwksCacheMs: config.JWKS_CACHE_SECONDS * 1_000,
            verifyGraceMs: (config.ACCESS_TOKEN_TTL_SECONDS + config.CLOCK_SKEW_SECONDS) * 1_000,
          },
        }),
      ],
    };
  }
}
