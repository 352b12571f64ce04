import type { Redis } from '@keelson/cache';
import { DomainError } from '@keelson/runtime';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginLimits {
  /** Password-grant attempts per client IP per minute. */
  attemptsPerIpPerMinute: number;
  /** Failed logins per (username, IP) within the window before that pair is blocked. */
  failuresPerUserAndIp: number;
  failureWindowSeconds: number;
}

export class LoginRateLimitedError extends DomainError<'login-rate-limited'> {
  constructor(readonly retryAfterSeconds: number) {
    super('login-rate-limited', `too many login attempts; retry in ${retryAfterSeconds} s`);
  }

  problem(): { status: number; title: string } {
    return { status: 429, title: 'Too Many Requests' };
  }

  override headers(): Record<string, string> {
    return { 'retry-after': String(this.retryAfterSeconds), 'cache-control': 'no-store' };
  }
}

/**
 * Login protection on Redis (rate-limiter-flexible), shared by every auth replica; while Redis
 * is unreachable each replica limits on its own in memory (the library's insurance limiter).
 */
export class LoginThrottle {
  private readonly perIp: RateLimiterRedis;
  private readonly perUserAndIp: RateLimiterRedis;

  constructor(
    redis: Redis,
    private readonly limits: LoginLimits,
  ) {
    const ipOptions = { points: limits.attemptsPerIpPerMinute, duration: 60, keyPrefix: 'auth:login:ip' };
    const pairOptions = { points: limits.failuresPerUserAndIp, duration: limits.failureWindowSeconds, keyPrefix: 'auth:login:fail' };
    this.perIp = new RateLimiterRedis({
      storeClient: redis,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(ipOptions),
      ...ipOptions,
    });
    this.perUserAndIp = new RateLimiterRedis({
      storeClient: redis,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(pairOptions),
      ...pairOptions,
    });
  }

  /** Counts the attempt against the IP, and refuses a (username, IP) pair that failed too often. */
  async beforeAttempt(ip: string, username: string): Promise<void> {
    await this.perIp.consume(ip).catch((rejection: unknown) => this.refuse(rejection));
    const failures = await this.perUserAndIp.get(this.pair(ip, username));
    if (failures && failures.consumedPoints >= this.limits.failuresPerUserAndIp) this.refuse(failures);
  }

  async onFailure(ip: string, username: string): Promise<void> {
    await this.perUserAndIp.consume(this.pair(ip, username)).catch(() => undefined); // already at the limit: nothing to add
  }

  async onSuccess(ip: string, username: string): Promise<void> {
    await this.perUserAndIp.delete(this.pair(ip, username)).catch(() => undefined);
  }

  private pair(ip: string, username: string): string {
    return `${username.toLowerCase()}|${ip}`;
  }

  private refuse(rejection: unknown): never {
    if (rejection instanceof RateLimiterRes) throw new LoginRateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
    throw rejection;
  }
}
