import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { metricsRegistry } from '@keelson/observability';
import { freePort, localStack, waitFor } from '@keelson/testing';
import type Redis from 'ioredis';
import { Cache, type CacheOptions } from './cache';
import { CacheInvalidations } from './cache-invalidations';
import { entryKey } from './keys';
import { createRedis } from './redis.module';

// Cache-aside against the real Redis: the invalidate/refill race, single-flight, tags,
// generations and Redis outages. "Writers" use their own connection and Cache instance, as
// another service replica would.

const redisAt = (port: number, name: string): Redis =>
  createRedis({ REDIS_HOST: localStack.redis.host, REDIS_PORT: port, REDIS_PASSWORD: undefined }, name);

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

/** A source of truth the loaders read, counting loads. */
function source<T>(initial: T) {
  const state = { value: initial, loads: 0 };
  return Object.assign(state, {
    load: () => {
      state.loads += 1;
      return Promise.resolve(state.value);
    },
  });
}

describe('Cache against Redis', () => {
  const readerRedis = redisAt(localStack.redis.port, 'cache-it-reader');
  const writerRedis = redisAt(localStack.redis.port, 'cache-it-writer');
  const caches: Cache[] = [];
  const newName = () => `cache-it:${randomUUID().slice(0, 8)}`;
  const newCache = (redis: Redis, options: Partial<CacheOptions> & { name: string }) => {
    const cache = new Cache(redis, { ttlSeconds: 60, beta: 0, ...options });
    caches.push(cache);
    return cache;
  };

  beforeAll(async () => {
    // No offline queue: commands sent before the connection is up fail (and read through).
    for (const r of [readerRedis, writerRedis]) if (r.status !== 'ready') await once(r, 'ready');
  });

  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    readerRedis.disconnect();
    writerRedis.disconnect();
  });

  describe('versioned fills', () => {
    it('never stores v1 after a writer committed v2 and invalidated while the reader was loading', async () => {
      const name = newName();
      const reader = newCache(readerRedis, { name });
      const writer = newCache(writerRedis, { name });
      const db = { order: 'v1' };
      const loadStarted = deferred();
      const finishLoad = deferred();
      const rejectedBefore = await counter('cache_fill_rejected_total', { cache: name });

      // 1. The reader misses and loads v1; its load is held open.
      const read = reader.getOrLoad('o-1', async () => {
        const seen = db.order;
        loadStarted.resolve();
        await finishLoad.promise;
        return seen;
      });
      await loadStarted.promise;
      // 2. The writer commits v2 and invalidates.
      db.order = 'v2';
      await writer.invalidate('o-1');
      // 3. The reader's fill completes.
      finishLoad.resolve();
      expect(await read).toBe('v1'); // its own read overlapped the write: either answer is correct for it

      const stored = await readerRedis.hget(entryKey(name, '0', 'o-1'), 'd');
      expect(stored === null || stored === JSON.stringify('v2')).toBe(true);
      expect(await counter('cache_fill_rejected_total', { cache: name })).toBe(rejectedBefore + 1);
      // Every later read, from any instance, sees v2, and it is cached again.
      const loads = source('v2');
      expect(await reader.getOrLoad('o-1', loads.load)).toBe('v2');
      expect(await writer.getOrLoad('o-1', loads.load)).toBe('v2');
      expect(await reader.getOrLoad('o-1', loads.load)).toBe('v2');
      expect(loads.loads).toBe(1);
    });

    it('stores a fill that did not overlap an invalidation, and serves it', async () => {
      const sut = newCache(readerRedis, { name: newName() });
      const db = source({ id: 'c-1', name: 'Ada' });
      expect(await sut.getOrLoad('c-1', db.load)).toEqual({ id: 'c-1', name: 'Ada' });
      expect(await sut.getOrLoad('c-1', db.load)).toEqual({ id: 'c-1', name: 'Ada' });
      expect(db.loads).toBe(1);
      await sut.invalidate('c-1');
      db.value = { id: 'c-1', name: 'Grace' };
      expect(await sut.getOrLoad('c-1', db.load)).toEqual({ id: 'c-1', name: 'Grace' });
      expect(db.loads).toBe(2);
    });

    it('does not cache "not found"', async () => {
      const sut = newCache(readerRedis, { name: newName() });
      const db = source<string | undefined>(undefined);
      expect(await sut.getOrLoad('missing', db.load)).toBeUndefined();
      db.value = 'created';
      expect(await sut.getOrLoad('missing', db.load)).toBe('created');
    });
  });

  describe('single-flight', () => {
    it('shares one load among concurrent misses for the same id', async () => {
      const sut = newCache(readerRedis, { name: newName() });
      const finishLoad = deferred();
      let loads = 0;
      const load = async () => {
        loads += 1;
        await finishLoad.promise;
        return 'value';
      };
      const reads = Array.from({ length: 50 }, () => sut.getOrLoad('hot', load));
      const other = sut.getOrLoad('cold', () => Promise.resolve('other'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      finishLoad.resolve();
      expect(await Promise.all(reads)).toEqual(Array.from({ length: 50 }, () => 'value'));
      expect(await other).toBe('other');
      expect(loads).toBe(1);
    });

    it('gives a caller who joined a load that overlapped an invalidation the new value', async () => {
      const name = newName();
      const sut = newCache(readerRedis, { name });
      const writer = newCache(writerRedis, { name });
      const db = { value: 'v1' };
      const loadStarted = deferred();
      const finishLoad = deferred();
      const leader = sut.getOrLoad('k', async () => {
        const seen = db.value;
        loadStarted.resolve();
        await finishLoad.promise;
        return seen;
      });
      await loadStarted.promise;
      db.value = 'v2';
      await writer.invalidate('k'); // another replica: this process's flight is not told directly
      const joiner = sut.getOrLoad('k', () => Promise.resolve(db.value)); // started after the invalidation
      finishLoad.resolve();
      expect(await leader).toBe('v1');
      expect(await joiner).toBe('v2');
    });
  });

  describe('tags', () => {
    it('removes every dependent entry, in any cache, and only those; twice is harmless', async () => {
      const customerTag = `customer:${randomUUID()}`;
      const otherTag = `customer:${randomUUID()}`;
      const orders = newCache(readerRedis, { name: newName() });
      const lists = newCache(readerRedis, { name: newName() });
      const sut = new CacheInvalidations(writerRedis);
      const db = source('v1');
      await orders.getOrLoad('o-1', db.load, { tags: [customerTag] });
      await orders.getOrLoad('o-2', db.load, { tags: [customerTag, `product:${randomUUID()}`] });
      await lists.getOrLoad('by-customer', db.load, { tags: [customerTag] });
      await orders.getOrLoad('o-3', db.load, { tags: [otherTag] });
      await orders.getOrLoad('o-4', db.load);
      expect(db.loads).toBe(5);

      expect(await sut.tag(customerTag)).toBe(3);
      expect(await sut.tag(customerTag)).toBe(0);

      db.value = 'v2';
      expect(await orders.getOrLoad('o-1', db.load, { tags: [customerTag] })).toBe('v2');
      expect(await orders.getOrLoad('o-2', db.load, { tags: [customerTag] })).toBe('v2');
      expect(await lists.getOrLoad('by-customer', db.load, { tags: [customerTag] })).toBe('v2');
      expect(await orders.getOrLoad('o-3', db.load, { tags: [otherTag] })).toBe('v1');
      expect(await orders.getOrLoad('o-4', db.load)).toBe('v1');
      expect(db.loads).toBe(8);
      // The refilled entries depend on the tag again.
      expect(await sut.tag(customerTag)).toBe(3);
    });

    it('refuses a fill whose tag was invalidated while it loaded (the entry was not yet a dependent)', async () => {
      const tag = `customer:${randomUUID()}`;
      const name = newName();
      const reader = newCache(readerRedis, { name });
      const writer = newCache(writerRedis, { name });
      const db = { list: ['o-1'] };
      const loadStarted = deferred();
      const finishLoad = deferred();
      const read = reader.getOrLoad(
        'orders-of-customer',
        async () => {
          const seen = [...db.list];
          loadStarted.resolve();
          await finishLoad.promise;
          return seen;
        },
        { tags: [tag] },
      );
      await loadStarted.promise;
      db.list.push('o-2');
      await writer.invalidateTag(tag);
      finishLoad.resolve();
      expect(await read).toEqual(['o-1']);
      expect(await reader.getOrLoad('orders-of-customer', () => Promise.resolve([...db.list]), { tags: [tag] })).toEqual(['o-1', 'o-2']);
    });
  });

  describe('prefix invalidation by generation', () => {
    it('stops serving entries written before, refuses fills in flight, and never uses KEYS or SCAN', async () => {
      const name = newName();
      const sut = new CacheInvalidations(writerRedis);
      const reader = newCache(readerRedis, { name });
      const monitor = await readerRedis.monitor();
      const commands: string[][] = [];
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (args.some((a) => a.includes(name))) commands.push(args);
      });
      try {
        const db = source('before');
        for (const id of ['a', 'b', 'c']) await reader.getOrLoad(id, db.load);
        // A fill that is in flight while the prefix is invalidated ("created mid-scan").
        const loadStarted = deferred();
        const finishLoad = deferred();
        const during = reader.getOrLoad('d', async () => {
          loadStarted.resolve();
          await finishLoad.promise;
          return 'before';
        });
        await loadStarted.promise;
        await sut.prefix(name);
        finishLoad.resolve();
        await during;
        expect(await readerRedis.hget(entryKey(name, '0', 'd'), 'd')).toBeNull(); // nothing lands in the retired generation

        db.value = 'after';
        const loadsBefore = db.loads;
        for (const id of ['a', 'b', 'c', 'd']) expect(await reader.getOrLoad(id, db.load)).toBe('after');
        expect(db.loads).toBe(loadsBefore + 4);
        for (const id of ['a', 'b', 'c', 'd']) expect(await reader.getOrLoad(id, db.load)).toBe('after');
        expect(db.loads).toBe(loadsBefore + 4); // the new generation is cached
        expect(await readerRedis.get(`${name}:gen`)).toBe('1');
      } finally {
        await new Promise((resolve) => setTimeout(resolve, 100)); // let MONITOR deliver the tail
        monitor.disconnect();
      }
      const names = commands.map((args) => args[0]?.toLowerCase());
      expect(names).toContain('incr'); // MONITOR saw the commands run inside the scripts
      expect(names).not.toContain('keys');
      expect(names).not.toContain('scan');
    });
  });

  describe('when Redis fails', () => {
    it('answers every read from the loader when Redis is unreachable, and counts the errors', async () => {
      const offline = redisAt(await freePort(), 'cache-it-offline');
      offline.on('error', () => undefined);
      const name = newName();
      const sut = newCache(offline, { name, l1: { maxEntries: 10, ttlMs: 60_000 } });
      const db = source('from-db');
      const errorsBefore = await counter('cache_lookups_total', { cache: name, result: 'error' });
      try {
        expect(await sut.getOrLoad('a', db.load)).toBe('from-db');
        expect(await sut.getOrLoad('a', db.load)).toBe('from-db');
        await expect(sut.invalidate('a')).resolves.toBeUndefined();
        expect(db.loads).toBe(2);
        expect(await counter('cache_lookups_total', { cache: name, result: 'error' })).toBe(errorsBefore + 2);
        await expect(new CacheInvalidations(offline).keys(name, ['a'])).rejects.toThrow();
      } finally {
        await sut.close();
        offline.disconnect();
      }
    });

    it('keeps answering when its connection drops after entries were cached', async () => {
      const dropping = redisAt(localStack.redis.port, 'cache-it-dropping');
      dropping.on('error', () => undefined);
      const sut = newCache(dropping, { name: newName() });
      const db = source('v1');
      expect(await sut.getOrLoad('a', db.load)).toBe('v1');
      dropping.disconnect();
      db.value = 'v2';
      expect(await sut.getOrLoad('a', db.load)).toBe('v2');
    });
  });

  describe('hot-key ranking', () => {
    it('counts every read of a fully sampled cache, summed per id, and sends the sums when it closes', async () => {
      const name = newName();
      const sut = newCache(readerRedis, { name, hotKeySampleRate: 1, hotKeyFlushMs: 60_000 });
      const db = source('v');
      for (let i = 0; i < 5; i += 1) await sut.getOrLoad('a', db.load);
      for (let i = 0; i < 2; i += 1) await sut.getOrLoad('b', db.load);
      const ranking = new CacheInvalidations(writerRedis);
      expect(await ranking.topIds(name, 10)).toEqual([]); // not sent yet: the flush period is a minute

      await sut.close(); // closing sends what was counted

      await waitFor('the sums to be written', async () => ((await ranking.topIds(name, 10)).length === 2 ? true : undefined));
      expect(await ranking.topIds(name, 10)).toEqual([
        { id: 'a', reads: 5 },
        { id: 'b', reads: 2 },
      ]);
      expect(await ranking.hotIds(name, ['a', 'b', 'c'], 3)).toEqual(['a']);
    });

    it('sends the sums by itself within its flush period', async () => {
      const name = newName();
      const sut = newCache(readerRedis, { name, hotKeySampleRate: 1, hotKeyFlushMs: 50 });
      const db = source('v');
      for (let i = 0; i < 3; i += 1) await sut.getOrLoad('a', db.load);
      const ranking = new CacheInvalidations(writerRedis);

      const top = await waitFor('the flush', async () => {
        const ids = await ranking.topIds(name, 10);
        return ids.length > 0 ? ids : undefined;
      });
      expect(top).toEqual([{ id: 'a', reads: 3 }]);
    });
  });
});
