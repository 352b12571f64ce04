import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { freePort, localStack, ServiceProcess, waitFor } from '@keelson/testing';
import type Redis from 'ioredis';
import { Cache } from './cache';
import { CacheInvalidations } from './cache-invalidations';
import { entryKey, generationKey } from './keys';
import { createRedis } from './redis.module';

// The in-process L1 kept coherent by the Redis broadcast, across two real processes: this
// test and a peer started from dist/ (libs/cache/src/fixtures/l1-peer.ts; needs the build,
// as `npm test` runs it). To prove an answer came from an L1, the Redis entry is deleted
// behind the caches' backs first: only an L1 can still return the old value.

const PEER = 'libs/cache/src/fixtures/l1-peer';
const L1 = { maxEntries: 1_000, ttlMs: 60_000 };

const redisAt = (name: string): Redis =>
  createRedis({ REDIS_HOST: localStack.redis.host, REDIS_PORT: localStack.redis.port, REDIS_PASSWORD: undefined }, name);

describe('L1 coherence across processes', () => {
  const run = randomUUID().slice(0, 8);
  const name = `l1-it:${run}`;
  const sourcePrefix = `l1-it-source:${run}`;
  const admin = redisAt('l1-it-admin');
  const local = redisAt('l1-it-local');
  const caches: Cache[] = [];
  let peer: ServiceProcess;

  const newCache = (redis: Redis, cacheName = name, options: { generationCheckMs?: number } = {}) => {
    const cache = new Cache(redis, { name: cacheName, ttlSeconds: 60, beta: 0, l1: L1, ...options });
    caches.push(cache);
    return cache;
  };
  const live = (cache: Cache) => waitFor('the L1 to go live', () => Promise.resolve(cache.l1Active || undefined), { timeoutMs: 5_000 });
  const load = (id: string) => async () => (await admin.get(`${sourcePrefix}:${id}`)) ?? undefined;
  const commit = (id: string, value: string) => admin.set(`${sourcePrefix}:${id}`, value);
  /** Removes the Redis copy without telling anyone: only an L1 can still answer the old value. */
  const dropBehindTheCache = (cacheName: string, id: string, generation = '0') => admin.del(entryKey(cacheName, generation, id));

  async function peerRead(id: string, tags: string[] = []): Promise<string | undefined> {
    const query = new URLSearchParams({ id });
    for (const tag of tags) query.append('tag', tag);
    const response = await fetch(`${peer.url}/read?${query.toString()}`);
    return ((await response.json()) as { value?: string }).value;
  }

  /** Polls `read` until it answers `expected`; resolves with the milliseconds since `since`. */
  const msUntil = (what: string, read: () => Promise<string | undefined>, expected: string, since: number) =>
    waitFor(what, async () => ((await read()) === expected ? performance.now() - since : undefined), { timeoutMs: 3_000, intervalMs: 2 });

  beforeAll(async () => {
    for (const r of [admin, local]) if (r.status !== 'ready') await once(r, 'ready');
    peer = ServiceProcess.start(
      PEER,
      {
        REDIS_HOST: localStack.redis.host,
        REDIS_PORT: String(localStack.redis.port),
        CACHE_NAME: name,
        SOURCE_PREFIX: sourcePrefix,
      },
      await freePort(),
    );
    await peer.ready();
  });

  afterAll(async () => {
    await peer.stop();
    await Promise.all(caches.map((c) => c.close()));
    admin.disconnect();
    local.disconnect();
  });

  it('the peer process drops its L1 copy within 100 ms of an invalidation made here', async () => {
    const writer = newCache(local);
    await commit('o-1', 'v1');
    expect(await peerRead('o-1')).toBe('v1');
    await commit('o-1', 'v2');
    await dropBehindTheCache(name, 'o-1');
    expect(await peerRead('o-1')).toBe('v1'); // from the peer's L1

    const invalidatedAt = performance.now();
    await writer.invalidate('o-1');
    expect(await msUntil('the peer to answer v2', () => peerRead('o-1'), 'v2', invalidatedAt)).toBeLessThan(100);
  });

  it('this process drops its L1 copy within 100 ms of an invalidation made by the peer', async () => {
    const sut = newCache(local);
    await live(sut);
    await commit('o-2', 'v1');
    expect(await sut.getOrLoad('o-2', load('o-2'))).toBe('v1');
    await commit('o-2', 'v2');
    await dropBehindTheCache(name, 'o-2');
    expect(await sut.getOrLoad('o-2', load('o-2'))).toBe('v1'); // from this process's L1

    const invalidatedAt = performance.now();
    expect((await fetch(`${peer.url}/invalidate?id=o-2`, { method: 'POST' })).status).toBe(204);
    expect(await msUntil('this process to answer v2', () => sut.getOrLoad('o-2', load('o-2')), 'v2', invalidatedAt)).toBeLessThan(100);
  });

  it('tag and prefix invalidations reach the peer’s L1 within 100 ms', async () => {
    const invalidations = new CacheInvalidations(admin);
    const tag = `customer:${randomUUID()}`;
    await commit('o-3', 'v1');
    await commit('o-4', 'v1');
    expect(await peerRead('o-3', [tag])).toBe('v1');
    expect(await peerRead('o-4')).toBe('v1');
    await commit('o-3', 'v2');
    await commit('o-4', 'v2');
    await dropBehindTheCache(name, 'o-3');
    await dropBehindTheCache(name, 'o-4');
    expect([await peerRead('o-3', [tag]), await peerRead('o-4')]).toEqual(['v1', 'v1']);

    let at = performance.now();
    await invalidations.tag(tag);
    expect(await msUntil('the tagged entry', () => peerRead('o-3', [tag]), 'v2', at)).toBeLessThan(100);
    expect(await peerRead('o-4')).toBe('v1'); // not a dependent of the tag

    at = performance.now();
    await invalidations.prefix(name);
    expect(await msUntil('the whole cache', () => peerRead('o-4'), 'v2', at)).toBeLessThan(100);
  });

  it('flushes the L1 when its subscriber reconnects, so a broadcast missed meanwhile is not served stale', async () => {
    const connectionName = `l1-it-reconnect-${run}`;
    const redis = redisAt(connectionName);
    const cacheName = `l1-it:${randomUUID().slice(0, 8)}`;
    const sut = newCache(redis, cacheName);
    try {
      await live(sut);
      await commit('o-5', 'v1');
      expect(await sut.getOrLoad('o-5', load('o-5'))).toBe('v1');
      await commit('o-5', 'v2');
      await dropBehindTheCache(cacheName, 'o-5');
      expect(await sut.getOrLoad('o-5', load('o-5'))).toBe('v1'); // from the L1

      // Cut the subscriber's connection on the server, and invalidate while it is down:
      // that broadcast reaches nobody (ioredis reconnects after ≥ 100 ms).
      const subscriberId = async () =>
        /id=(\d+) .*name=(\S+) .*sub=1/
          .exec(((await admin.client('LIST')) as string).split('\n').find((l) => l.includes(`name=${connectionName}:invalidations `)) ?? '')
          ?.at(1);
      const before = await subscriberId();
      expect(before).toBeDefined();
      await admin.client('KILL', 'ID', before!);
      expect(await new CacheInvalidations(admin).keys(cacheName, ['o-5'])).toBe(0);

      await waitFor('a new subscription', async () => {
        const now = await subscriberId();
        return now !== undefined && now !== before ? now : undefined;
      });
      await live(sut);
      expect(await sut.getOrLoad('o-5', load('o-5'))).toBe('v2');
    } finally {
      await sut.close();
      redis.disconnect();
    }
  });

  it('notices a missed prefix broadcast by checking the generation', async () => {
    const cacheName = `l1-it:${randomUUID().slice(0, 8)}`;
    const sut = newCache(local, cacheName, { generationCheckMs: 50 });
    await live(sut);
    await commit('o-6', 'v1');
    expect(await sut.getOrLoad('o-6', load('o-6'))).toBe('v1');
    await commit('o-6', 'v2');
    await admin.incr(generationKey(cacheName)); // a new generation, but no broadcast
    const at = performance.now();
    expect(await msUntil('the new generation', () => sut.getOrLoad('o-6', load('o-6')), 'v2', at)).toBeLessThan(500);
  });
});
