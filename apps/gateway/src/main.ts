import './instrument'; // first: tracing must patch http, pg and ioredis before they load
import { REDIS, type Redis } from '@keelson/cache';
import { installGateway } from '@keelson/gateway';
import { runService } from '@keelson/runtime';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { configSchema, type GatewayConfig } from './config';

void runService({
  name: 'gateway',
  description: 'The public REST edge: authentication, rate limits, circuit breakers and routing to the services.',
  configSchema,
  appModule: async (config) => (await import('./app.module')).AppModule.register(config),
  ownOpenApi: false,
  configure: async (app) => {
    const config = app.get<GatewayConfig>('GATEWAY_CONFIG');
    await installGateway(app.getHttpAdapter().getInstance(), app.get<Redis>(REDIS), {
      upstreams: {
        auth: config.AUTH_URL,
        orders: config.ORDERS_URL,
        replay: config.REPLAY_URL,
        'cache-invalidator': config.CACHE_INVALIDATOR_URL,
        benchmark: config.BENCHMARK_URL,
      },
      auth: {
        issuer: config.AUTH_ISSUER,
        audience: config.AUTH_AUDIENCE,
        jwksUrl: config.AUTH_JWKS_URL ?? new URL('/.well-known/jwks.json', config.AUTH_URL).toString(),
        jwksCacheSeconds: config.JWKS_CACHE_SECONDS,
        clockSkewSeconds: config.AUTH_CLOCK_SKEW_SECONDS,
      },
      rateLimits: {
        keyPrefix: config.RATE_LIMIT_PREFIX,
        windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
        perClient: config.RATE_LIMIT_PER_CLIENT,
        perIp: config.RATE_LIMIT_PER_IP,
        maxLease: config.RATE_LIMIT_MAX_LEASE,
      },
      resilience: {
        timeoutMs: config.UPSTREAM_TIMEOUT_MS,
        maxConcurrent: config.UPSTREAM_MAX_CONCURRENT,
        maxAttempts: config.UPSTREAM_MAX_ATTEMPTS,
        breakerFailures: config.BREAKER_CONSECUTIVE_FAILURES,
        breakerHalfOpenAfterMs: config.BREAKER_HALF_OPEN_AFTER_MS,
      },
      corsOrigins: config.CORS_ORIGINS,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      openApiRefreshSeconds: config.OPENAPI_REFRESH_SECONDS,
    });
    // Swagger UI reads the merged document the gateway serves at /openapi.json.
    SwaggerModule.setup(
      'api/docs',
      app,
      { ...new DocumentBuilder().setTitle('Keelson API').build(), paths: {} },
      {
        swaggerOptions: { url: '/openapi.json' },
        jsonDocumentUrl: '/api/docs/gateway.json',
        yamlDocumentUrl: '/api/docs/gateway.yaml',
      },
    );
  },
});
