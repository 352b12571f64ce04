import type Redis from 'ioredis';

// The deny-list in Redis, written by the auth service and read by every verifier:
// - `auth:deny:<jti>`: one key per revoked token, expiring when the token would have;
// - `auth:deny`: a sorted set of the same jtis scored by expiry (ms), for whole-list reads;
// - `auth:deny:rev`: a counter bumped on every revocation, so a reader knows when to re-read.

/** Redis key of a revoked access token's jti; it expires when the token would have. */
export const denyListKey = (jti: string): string => `auth:deny:${jti}`;
const DENY_SET = 'auth:deny';
const DENY_REVISION = 'auth:deny:rev';

/** Records a revocation atomically (all three structures, plus trimming expired jtis). */
export async function recordRevocation(redis: Redis, jti: string, expiresAtMs: number): Promise<void> {
  const now = Date.now();
  await redis
    .multi()
    .set(denyListKey(jti), '1', 'PX', Math.max(1, expiresAtMs - now) + 60_000)
    .zadd(DENY_SET, expiresAtMs + 60_000, jti)
    .zremrangebyscore(DENY_SET, '-inf', now)
    .incr(DENY_REVISION)
    .exec();
}

export interface DenyListMirrorOptions {
  /** How often the revision counter is polled (default 250 ms). */
  refreshMs?: number;
  /** How old the last successful poll may be before the mirror stops answering (default 1 s). */
  maxStalenessMs?: number;
}

/**
 * An in-process copy of the deny-list, so checking a token costs a map lookup instead of a
 * Redis round trip. It polls the revision counter and re-reads the list when it moved, so a
 * revocation reaches it within `refreshMs` plus one read. While it cannot confirm it is
 * current (Redis unreachable, polls late), `isRevoked` answers `undefined` and the caller
 * asks Redis directly.
 */
export class DenyListMirror {
  private revoked = new Map<string, number>();
  private revision: string | null | undefined;
  private confirmedAt = 0;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly refreshMs: number;
  private readonly maxStalenessMs: number;

  constructor(
    private readonly redis: Redis,
    options: DenyListMirrorOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 250;
    this.maxStalenessMs = options.maxStalenessMs ?? 1_000;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.refreshMs).unref();
    void this.refresh();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** True or false when the mirror is current; `undefined` when it cannot say. */
  isRevoked(jti: string, now = Date.now()): boolean | undefined {
    if (now - this.confirmedAt > this.maxStalenessMs) return undefined;
    const until = this.revoked.get(jti);
    return until !== undefined && until > now;
  }

  /** Records a revocation this process made itself, so it applies here at once. */
  add(jti: string, expiresAtMs: number): void {
    this.revoked.set(jti, expiresAtMs + 60_000);
  }

  /** One poll; concurrent calls share it. */
  refresh(): Promise<void> {
    this.refreshing ??= this.poll().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async poll(): Promise<void> {
    const startedAt = Date.now();
    try {
      const revision = await this.redis.get(DENY_REVISION);
      if (revision !== this.revision) {
        const flat = await this.redis.zrangebyscore(DENY_SET, startedAt, '+inf', 'WITHSCORES');
        const revoked = new Map<string, number>();
        for (let i = 0; i + 1 < flat.length; i += 2) revoked.set(flat[i] as string, Number(flat[i + 1]));
        this.revoked = revoked;
        this.revision = revision;
      }
      // Current as of when the poll started: a revocation after that is caught by the next poll.
      this.confirmedAt = startedAt;
    } catch {
      // Stays unconfirmed; isRevoked() answers undefined once the last confirmation is too old.
    }
  }
}
