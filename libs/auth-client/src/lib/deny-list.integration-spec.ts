import { randomUUID } from 'node:crypto';
import { createRedis } from '@keelson/cache';
import { freePort, localStack, waitFor } from '@keelson/testing';
import { DenyListMirror, recordRevocation } from './deny-list';

// The in-process deny-list copy against the real Redis: it learns of a revocation within its
// refresh interval, and stops answering (so callers ask Redis) when it cannot stay current.

describe('DenyListMirror', () => {
  const redis = createRedis({ REDIS_HOST: localStack.redis.host, REDIS_PORT: localStack.redis.port, REDIS_PASSWORD: undefined }, 'deny-it');
  afterAll(() => {
    redis.disconnect();
  });

  it('sees a revocation within a second and leaves other tokens alone', async () => {
    const mirror = new DenyListMirror(redis, { refreshMs: 100 });
    mirror.start();
    try {
      const jti = randomUUID();
      const other = randomUUID();
      await waitFor('the first poll', () => Promise.resolve(mirror.isRevoked(jti) === false || undefined), {
        timeoutMs: 2_000,
        intervalMs: 10,
      });
      const revokedAt = Date.now();
      await recordRevocation(redis, jti, Date.now() + 60_000);
      await waitFor('the revocation', () => Promise.resolve(mirror.isRevoked(jti) || undefined), { timeoutMs: 1_000, intervalMs: 10 });
      expect(Date.now() - revokedAt).toBeLessThan(1_000);
      expect(mirror.isRevoked(other)).toBe(false);
    } finally {
      mirror.stop();
    }
  });

  it('reads revocations made before it started', async () => {
    const jti = randomUUID();
    await recordRevocation(redis, jti, Date.now() + 60_000);
    const mirror = new DenyListMirror(redis);
    mirror.start();
    try {
      await waitFor('the revocation', () => Promise.resolve(mirror.isRevoked(jti) || undefined), { timeoutMs: 1_000, intervalMs: 10 });
    } finally {
      mirror.stop();
    }
  });

  it('answers undefined, not false, when Redis is unreachable', async () => {
    const offline = createRedis({ REDIS_HOST: '127.0.0.1', REDIS_PORT: await freePort(), REDIS_PASSWORD: undefined }, 'deny-it-offline');
    const mirror = new DenyListMirror(offline, { refreshMs: 50, maxStalenessMs: 200 });
    mirror.start();
    try {
      await mirror.refresh();
      expect(mirror.isRevoked(randomUUID())).toBeUndefined();
    } finally {
      mirror.stop();
      offline.disconnect();
    }
  });
});
