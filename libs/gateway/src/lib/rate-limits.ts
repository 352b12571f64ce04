import { metricsRegistry } from '@keelson/observability';
import DataLoader from 'dataloader';
import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
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
  /**
   * Most points one replica reserves ahead on a key, taken with the requests that need Redis
   * anyway; at most 1% of the key's limit (limits under 100 are never reserved ahead). 0 = never.
   */
  maxLease?: number;
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

/** Places reserved ahead on one key in this replica, valid until the key's window ends. */
interface Lease {
  next: number;
  last: number;
  windowEndsAt: number;
}

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
 *
 * A busy key also reserves a few places ahead in that consume (a lease: at most 1% of its
 * limit, at most `maxLease`), which later checks take in order without Redis until they run
 * out or the window ends. The Redis count includes every reserved place, so replicas together
 * never allow more than the limit; a replica's unused reservation at the end of a window is
 * the only cost (under 1% of the budget).
 */
export class EdgeRateLimits {
  private readonly perIp: KeyLimiter;
  private readonly perClient: KeyLimiter;

  constructor(redis: Redis, settings: RateLimitSettings) {
    const limiter = (scope: 'ip' | 'client', points: number) => {
      const options = { points, duration: settings.windowSeconds, keyPrefix: `${settings.keyPrefix}:${scope}` };
      const store = new RateLimiterRedis({
        storeClient: redis,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(options),
        ...options,
      });
      const lease = Math.min(settings.maxLease ?? 100, Math.floor(points / 100));
      return new KeyLimiter(store, scope, points, lease, `${points};w=${settings.windowSeconds}`);
    };
    this.perIp = limiter('ip', settings.perIp);
    this.perClient = limiter('client', settings.perClient);
  }

  ip(address: string): Promise<RateLimitDecision> {
    return this.perIp.check(address);
  }

  client(clientId: string): Promise<RateLimitDecision> {
    return this.perClient.check(clientId);
  }
}

class KeyLimiter {
  private readonly batches: DataLoader<string, RateLimitDecision>;
  private readonly leases = new LRUCache<string, Lease>({ max: 50_000 });

  constructor(
    private readonly store: RateLimiterRedis,
    private readonly scope: 'ip' | 'client',
    private readonly limit: number,
    private readonly leaseSize: number,
    private readonly policy: string,
  ) {
    this.batches = new DataLoader<string, RateLimitDecision>((keys) => this.consumeTogether(keys), {
      cache: false,
      batchScheduleFn: (dispatch) => setImmediate(dispatch),
    });
  }

  check(key: string): Promise<RateLimitDecision> {
    const lease = this.leases.get(key);
    if (lease && lease.next <= lease.last) {
      const now = Date.now();
      if (now < lease.windowEndsAt) return Promise.resolve(this.decide(lease.next++, lease.windowEndsAt - now));
      this.leases.delete(key);
    }
    return this.batches.load(key);
  }

  private async consumeTogether(keys: readonly string[]): Promise<RateLimitDecision[]> {
    const requests = new Map<string, number>();
    for (const key of keys) requests.set(key, (requests.get(key) ?? 0) + 1);
    // Points used on each key once this turn's requests (and any reservation) are counted, and when its window resets.
    const used = new Map<string, { consumed: number; msBeforeNext: number }>();
    await Promise.all(
      [...requests].map(async ([key, count]) => {
        const reserve = count + this.leaseSize;
        let consumed: number;
        let msBeforeNext: number;
        try {
          ({ consumedPoints: consumed, msBeforeNext } = await this.store.consume(key, reserve));
        } catch (rejection) {
          if (!(rejection instanceof RateLimiterRes)) throw rejection;
          ({ consumedPoints: consumed, msBeforeNext } = rejection);
        }
        used.set(key, { consumed: consumed - this.leaseSize, msBeforeNext });
        // The reserved places after this turn's requests, as far as the limit allows.
        const next = consumed - this.leaseSize + 1;
        const last = Math.min(consumed, this.limit);
        if (this.leaseSize > 0 && next <= last) this.leases.set(key, { next, last, windowEndsAt: Date.now() + msBeforeNext });
        else this.leases.delete(key);
      }),
    );
    const position = new Map<string, number>();
    return keys.map((key) => {
      const { consumed, msBeforeNext } = used.get(key) ?? { consumed: Number.POSITIVE_INFINITY, msBeforeNext: 1_000 };
      const nth = (position.get(key) ?? 0) + 1;
      position.set(key, nth);
      // This request's place in the window: the points used before this turn, plus its rank in the turn.
      return this.decide(consumed - (requests.get(key) ?? 0) + nth, msBeforeNext);
    });
  }

  private decide(place: number, msBeforeNext: number): RateLimitDecision {
    const resetSeconds = Math.max(1, Math.ceil(msBeforeNext / 1_000));
    if (place > this.limit) {
      rateLimited.inc({ scope: this.scope });
      return { allowed: false, limit: this.limit, remaining: 0, resetSeconds, policy: this.policy };
    }
    return { allowed: true, limit: this.limit, remaining: this.limit - place, resetSeconds, policy: this.policy };
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
