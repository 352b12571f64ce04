import type Redis from 'ioredis';
import { assertCacheName, hotKeysKey, type CacheInvalidationMessage } from './keys';
import { cacheInvalidations } from './metrics';
import { cacheScripts, type CacheScripts } from './scripts';

/**
 * Invalidates cache entries without owning a cache: by cache name and ids, by tag, or a whole
 * cache by bumping its generation. Each call is one Lua script that bumps versions (so fills
 * in flight are refused), deletes the values and publishes the broadcast L1 caches listen to.
 * Errors propagate, so a caller (the cache-invalidator) can retry.
 */
export class CacheInvalidations {
  private readonly scripts: CacheScripts;

  constructor(private readonly redis: Redis) {
    this.scripts = cacheScripts(redis);
  }

  /** Invalidates `<cacheName>` entries by id; resolves with how many held a value. */
  async keys(cacheName: string, ids: readonly string[]): Promise<number> {
    assertCacheName(cacheName);
    if (ids.length === 0) return 0;
    const message: CacheInvalidationMessage = { cache: cacheName, kind: 'key', ids: [...ids] };
    const removed = await this.scripts.invalidateKeys(cacheName, ids, JSON.stringify(message));
    cacheInvalidations.inc({ kind: 'key' }, ids.length);
    return removed;
  }

  /** Invalidates every entry (in any cache) filled with this tag; resolves with how many held a value. */
  async tag(tag: string): Promise<number> {
    if (tag.length === 0) throw new Error('empty tag');
    const message: CacheInvalidationMessage = { cache: '*', kind: 'tag', tag };
    const removed = await this.scripts.invalidateTag(tag, JSON.stringify(message));
    cacheInvalidations.inc({ kind: 'tag' });
    return removed;
  }

  /**
   * Which of `ids` were read at least `minReads` times (sampled) in this minute and the last,
   * by the caches' hot-key ranking; for re-warming what was just evicted.
   */
  async hotIds(cacheName: string, ids: readonly string[], minReads = 1, now = Date.now()): Promise<string[]> {
    if (ids.length === 0) return [];
    const minute = Math.floor(now / 60_000);
    const [current, previous] = await Promise.all([
      this.redis.zmscore(hotKeysKey(cacheName, minute), ...ids),
      this.redis.zmscore(hotKeysKey(cacheName, minute - 1), ...ids),
    ]);
    return ids.filter((_, i) => Number(current[i] ?? 0) + Number(previous[i] ?? 0) >= minReads);
  }

  /** The `count` most read ids of a cache over this minute and the last, with their sampled reads. */
  async topIds(cacheName: string, count: number, now = Date.now()): Promise<{ id: string; reads: number }[]> {
    const minute = Math.floor(now / 60_000);
    const totals = new Map<string, number>();
    for (const key of [hotKeysKey(cacheName, minute), hotKeysKey(cacheName, minute - 1)]) {
      const flat = await this.redis.zrevrange(key, 0, count * 2 - 1, 'WITHSCORES');
      for (let i = 0; i + 1 < flat.length; i += 2)
        totals.set(flat[i] as string, (totals.get(flat[i] as string) ?? 0) + Number(flat[i + 1]));
    }
    return [...totals]
      .map(([id, reads]) => ({ id, reads }))
      .sort((a, b) => b.reads - a.reads)
      .slice(0, count);
  }

  /** Retires every entry of a cache at once (new generation); old entries expire by TTL. */
  async prefix(cacheName: string): Promise<void> {
    assertCacheName(cacheName);
    const message: CacheInvalidationMessage = { cache: cacheName, kind: 'prefix' };
    await this.scripts.invalidatePrefix(cacheName, JSON.stringify(message));
    cacheInvalidations.inc({ kind: 'prefix' });
  }
}
