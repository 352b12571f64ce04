import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { localStack, seededRandom } from '@keelson/testing';
import { Cache } from './cache';
import { createRedis } from './redis.module';

// XFetch against the real Redis. Each reader is its own Cache instance (as if each were a
// separate replica), so single-flight cannot be what spares the loader: only the
// probabilistic early refresh can. Time is a controlled clock; randomness is seeded.

describe('XFetch early refresh', () => {
  const redis = createRedis(
    { REDIS_HOST: localStack.redis.host, REDIS_PORT: localStack.redis.port, REDIS_PASSWORD: undefined },
    'xfetch-it',
  );
  const TTL_MS = 60_000;
  const RECOMPUTE_MS = 1_000;
  const T0 = 1_700_000_000_000;

  beforeAll(async () => {
    if (redis.status !== 'ready') await once(redis, 'ready');
  });
  afterAll(() => {
    redis.disconnect();
  });

  /** Fills `id` at T0 with a load that took RECOMPUTE_MS; returns the entry's expiry. */
  async function seed(name: string, id: string): Promise<number> {
    let now = T0;
    const seeder = new Cache(redis, { name, ttlSeconds: TTL_MS / 1000, now: () => now });
    await seeder.getOrLoad(id, () => {
      now += RECOMPUTE_MS;
      return Promise.resolve('v1');
    });
    return now + TTL_MS;
  }

  /** `count` readers, each its own Cache at time `at`; each recompute takes RECOMPUTE_MS of its clock. */
  async function crowd(name: string, id: string, at: number, beta: number, random: () => number, count = 100) {
    let recomputes = 0;
    const answers = await Promise.all(
      Array.from({ length: count }, () => {
        let now = at;
        const reader = new Cache(redis, { name, ttlSeconds: TTL_MS / 1000, beta, now: () => now, random });
        return reader.getOrLoad(id, () => {
          recomputes += 1;
          now += RECOMPUTE_MS;
          return Promise.resolve('v2');
        });
      }),
    );
    return { recomputes, answers };
  }

  it('100 readers just before expiry recompute far fewer than 100 times, and the refresh spares the next crowd', async () => {
    const name = `xfetch-it:${randomUUID().slice(0, 8)}`;
    const expiresAt = await seed(name, 'report');
    // Two recompute times before expiry, each reader recomputes with probability e^(−2) ≈ 0.14.
    const first = await crowd(name, 'report', expiresAt - 2 * RECOMPUTE_MS, 1, seededRandom(2015));
    expect(first.recomputes).toBeGreaterThanOrEqual(1);
    expect(first.recomputes).toBeLessThan(30);
    expect(first.answers.every((a) => a === 'v1' || a === 'v2')).toBe(true);
    // The early refresh moved the expiry a full TTL on: the next crowd, at the same instant, recomputes nothing.
    const second = await crowd(name, 'report', expiresAt - 2 * RECOMPUTE_MS, 1, seededRandom(1));
    expect(second.recomputes).toBe(0);
    expect(second.answers).toEqual(Array.from({ length: 100 }, () => 'v2'));
  });

  it('with β = 0 recomputes nothing before expiry and everything after it (plain expiry)', async () => {
    const name = `xfetch-it:${randomUUID().slice(0, 8)}`;
    const expiresAt = await seed(name, 'report');
    const before = await crowd(name, 'report', expiresAt - 1, 0, seededRandom(3));
    expect(before.recomputes).toBe(0);
    expect(before.answers).toEqual(Array.from({ length: 100 }, () => 'v1'));
    const after = await crowd(name, 'report', expiresAt, 0, seededRandom(4));
    expect(after.recomputes).toBe(100);
  });

  it('keeps serving the cached value when an early recompute fails', async () => {
    const name = `xfetch-it:${randomUUID().slice(0, 8)}`;
    const expiresAt = await seed(name, 'report');
    const sut = new Cache(redis, { name, ttlSeconds: TTL_MS / 1000, now: () => expiresAt - 1, random: () => 0.5 });
    await expect(sut.getOrLoad('report', () => Promise.reject(new Error('database down')))).resolves.toBe('v1');
  });
});
