import { metricsRegistry } from '@keelson/observability';
import type Redis from 'ioredis';
import { Counter } from 'prom-client';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimitSettings {
  /** Redis key prefix; gateways sharing it share one budget. */
  keyPrefix: string;
  windowSeconds: number;
  /** Requests per window for one authenticated client (`client_id`). */
  perClient: number;
  /** Requests per window from one IP address, authenticated or not. */
  perIp: number;
}

/** The outcome of one check: what the `RateLimit-*` headers say, and whether to refuse. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
  policy: string;
}

const rateLimited = new Counter({
  name: 'gateway_rate_limited_total',
  help: 'Requests refused with 429, by what was exhausted (client or ip).',
  labelNames: ['scope'] as const,
  registers: [metricsRegistry],
});

/**
 * Fixed-window limits per client id and per IP on Redis with rate-limiter-flexible, so every
 * gateway replica shares one budget. While Redis is unreachable each replica keeps limiting
 * on its own in memory (the library's insurance limiter), never letting everything through.
 */
export class EdgeRateLimits {
  private readonly perIp: RateLimiterRedis;
  private readonly perClient: RateLimiterRedis;

  constructor(
    redis: Redis,
    private readonly settings: RateLimitSettings,
  ) {
    const limiter = (keyPrefix: string, points: number) => {
      const options = { points, duration: settings.windowSeconds, keyPrefix };
      return new RateLimiterRedis({
        storeClient: redis,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(options),
        ...options,
      });
    };
    this.perIp = limiter(`${settings.keyPrefix}:ip`, settings.perIp);
    this.perClient = limiter(`${settings.keyPrefix}:client`, settings.perClient);
  }

  ip(address: string): Promise<RateLimitDecision> {
    return this.consume(this.perIp, address, this.settings.perIp, 'ip');
  }

  client(clientId: string): Promise<RateLimitDecision> {
    return this.consume(this.perClient, clientId, this.settings.perClient, 'client');
  }

  private async consume(limiter: RateLimiterRedis, key: string, limit: number, scope: 'ip' | 'client'): Promise<RateLimitDecision> {
    const policy = `${limit};w=${this.settings.windowSeconds}`;
    try {
      const res = await limiter.consume(key);
      return { allowed: true, limit, remaining: res.remainingPoints, resetSeconds: Math.ceil(res.msBeforeNext / 1_000), policy };
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      rateLimited.inc({ scope });
      return { allowed: false, limit, remaining: 0, resetSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1_000)), policy };
    }
  }
}

/** `RateLimit-*` fields (draft-ietf-httpapi-ratelimit-headers) for a decision. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  return {
    'ratelimit-limit': String(decision.limit),
    'ratelimit-remaining': String(decision.remaining),
    'ratelimit-reset': String(decision.resetSeconds),
    'ratelimit-policy': decision.policy,
  };
}
