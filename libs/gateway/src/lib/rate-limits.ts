import { metricsRegistry } from '@keelson/observability';
import DataLoader from 'dataloader';
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
 *
 * Checks arriving in the same event-loop turn are coalesced (dataloader, dispatched with
 * `setImmediate` after the turn's I/O): each key is consumed once by the number of requests
 * for it, and the decisions are handed out in arrival order — the first ones within the budget
 * are allowed, the rest refused, exactly as one-by-one checks would decide. All keys of a turn
 * go to Redis in one pipelined write instead of one per request.
 */
export class EdgeRateLimits {
  private readonly perIp: DataLoader<string, RateLimitDecision>;
  private readonly perClient: DataLoader<string, RateLimitDecision>;

  constructor(
    redis: Redis,
    private readonly settings: RateLimitSettings,
  ) {
    const limiter = (scope: 'ip' | 'client', points: number) => {
      const options = { points, duration: settings.windowSeconds, keyPrefix: `${settings.keyPrefix}:${scope}` };
      const store = new RateLimiterRedis({
        storeClient: redis,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(options),
        ...options,
      });
      return new DataLoader<string, RateLimitDecision>((keys) => this.consumeTogether(store, keys, points, scope), {
        cache: false,
        batchScheduleFn: (dispatch) => setImmediate(dispatch),
      });
    };
    this.perIp = limiter('ip', settings.perIp);
    this.perClient = limiter('client', settings.perClient);
  }

  ip(address: string): Promise<RateLimitDecision> {
    return this.perIp.load(address);
  }

  client(clientId: string): Promise<RateLimitDecision> {
    return this.perClient.load(clientId);
  }

  private async consumeTogether(
    limiter: RateLimiterRedis,
    keys: readonly string[],
    limit: number,
    scope: 'ip' | 'client',
  ): Promise<RateLimitDecision[]> {
    const requests = new Map<string, number>();
    for (const key of keys) requests.set(key, (requests.get(key) ?? 0) + 1);
    // Points used on each key once this turn's requests are counted, and when its window resets.
    const used = new Map<string, { consumed: number; msBeforeNext: number }>();
    await Promise.all(
      [...requests].map(async ([key, count]) => {
        try {
          const res = await limiter.consume(key, count);
          used.set(key, { consumed: res.consumedPoints, msBeforeNext: res.msBeforeNext });
        } catch (rejection) {
          if (!(rejection instanceof RateLimiterRes)) throw rejection;
          used.set(key, { consumed: rejection.consumedPoints, msBeforeNext: rejection.msBeforeNext });
        }
      }),
    );
    const policy = `${limit};w=${this.settings.windowSeconds}`;
    const position = new Map<string, number>();
    return keys.map((key) => {
      const { consumed, msBeforeNext } = used.get(key) ?? { consumed: Number.POSITIVE_INFINITY, msBeforeNext: 1_000 };
      const nth = (position.get(key) ?? 0) + 1;
      position.set(key, nth);
      // This request's place in the window: the points used before this turn, plus its rank in the turn.
      const place = consumed - (requests.get(key) ?? 0) + nth;
      const resetSeconds = Math.max(1, Math.ceil(msBeforeNext / 1_000));
      if (place > limit) {
        rateLimited.inc({ scope });
        return { allowed: false, limit, remaining: 0, resetSeconds, policy };
      }
      return { allowed: true, limit, remaining: limit - place, resetSeconds, policy };
    });
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
