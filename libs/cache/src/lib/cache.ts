import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { CacheInvalidations } from './cache-invalidations';
import { InvalidationSubscriber, type InvalidationListener } from './invalidation-subscriber';
import { assertCacheName, entryKey, generationKey, hotKeysKey, type CacheInvalidationMessage } from './keys';
import { L1Cache } from './l1-cache';
import { cacheEarlyRefreshes, cacheFillRejected, cacheLookups } from './metrics';
import { cacheScripts, FILL_LEASE_MS, type CacheScripts, type StoredEntry } from './scripts';
import { shouldRecompute, uniformOpenZero } from './xfetch';

export interface CacheOptions {
  /** Names the keys (`<name>:g<gen>:<id>`), the broadcasts and the `cache` metric label. */
  name: string;
  ttlSeconds: number;
  /** XFetch β: above 1 refreshes earlier, 0 turns early refresh off (plain expiry). Default 1. */
  beta?: number;
  /** An in-process L1 in front of Redis, kept coherent by the invalidation broadcast. Off by default. */
  l1?: { maxEntries: number; ttlMs: number };
  /** While the L1 serves, it checks the cache generation in Redis at most this often, in case a broadcast was missed. Default 1000. */
  generationCheckMs?: number;
  /** Epoch milliseconds, for expiry and the measured recompute time Δ. Default `Date.now`. */
  now?: () => number;
  /** Uniform in (0, 1], for XFetch. Default `1 - Math.random()`. */
  random?: () => number;
  /**
   * Share of reads counted towards the hot-key ranking (`cache:hot:<name>:<minute>`), which
   * the cache-invalidator uses to re-warm hot entries after evicting them. Default 0 (off).
   */
  hotKeySampleRate?: number;
  /** Counted reads are summed in process and sent to Redis in one write at most this often. Default 250. */
  hotKeyFlushMs?: number;
}

/** Distinct ids counted before the sums are sent early. */
const HOT_READS_MAX_IDS = 1_000;

export interface GetOrLoadOptions {
  /**
   * What the entry depends on (`customer:42`): `invalidateTag` removes it. A function of the
   * id: every caller of one id passes the same tags.
   */
  tags?: readonly string[];
}

interface FillOutcome {
  value: unknown;
  /** The load overlapped an invalidation, so its result was not stored. */
  refused: boolean;
}

interface Flight {
  tags: readonly string[];
  promise: Promise<FillOutcome>;
}

/**
 * Cache-aside over Redis with the races closed by design:
 * - fills are versioned: a value loaded before an invalidation is never stored after it;
 * - concurrent misses for one id in this process share one load (single-flight);
 * - XFetch refreshes an entry early, so its expiry does not send every reader to the loader;
 * - tags invalidate every dependent entry, generations retire a whole cache without a scan;
 * - an optional L1 answers in process while the invalidation broadcast is heard.
 * Redis failures never fail a read: it falls back to the loader.
 */
export class Cache implements OnApplicationShutdown {
  readonly name: string;
  private readonly logger: Logger;
  private readonly scripts: CacheScripts;
  private readonly invalidations: CacheInvalidations;
  private readonly ttlMs: number;
  private readonly beta: number;
  private readonly generationCheckMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly hotKeySampleRate: number;
  private readonly hotKeyFlushMs: number;
  /** Reads counted since the last write to the ranking of `hotMinute`. */
  private readonly hotReads = new Map<string, number>();
  private hotMinute = 0;
  private hotFlush: NodeJS.Timeout | undefined;
  private readonly l1: L1Cache | undefined;
  private readonly l1TtlMs: number;
  private readonly subscriber: InvalidationSubscriber | undefined;
  private readonly listener: InvalidationListener = {
    onInvalidation: (message) => {
      this.forget(message);
    },
    onReset: () => {
      this.l1?.clear();
    },
  };
  private readonly inflight = new Map<string, Flight>();
  private generation = -1;
  private generationCheckedAt = Number.NEGATIVE_INFINITY;
  private generationCheck: Promise<void> | undefined;
  private degraded = false;

  constructor(
    private readonly redis: Redis,
    options: CacheOptions,
  ) {
    assertCacheName(options.name);
    if (!(options.ttlSeconds > 0)) throw new Error(`cache ${options.name}: ttlSeconds must be positive`);
    this.name = options.name;
    this.logger = new Logger(`Cache(${options.name})`);
    this.scripts = cacheScripts(redis);
    this.invalidations = new CacheInvalidations(redis);
    this.ttlMs = options.ttlSeconds * 1000;
    this.beta = options.beta ?? 1;
    this.generationCheckMs = options.generationCheckMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? uniformOpenZero;
    this.hotKeySampleRate = options.hotKeySampleRate ?? 0;
    this.hotKeyFlushMs = options.hotKeyFlushMs ?? 250;
    this.l1TtlMs = options.l1?.ttlMs ?? 0;
    if (options.l1) {
      this.l1 = new L1Cache(options.l1.maxEntries, options.l1.ttlMs);
      this.subscriber = InvalidationSubscriber.acquire(redis, this.listener);
    }
  }

  /** True while the L1 answers (it is configured and the invalidation broadcast is subscribed). */
  get l1Active(): boolean {
    return this.activeL1() !== undefined;
  }

  /**
   * The cached value of `id`, or what `load` returns (stored unless undefined, or unless an
   * invalidation happened while it loaded). Values must survive JSON.
   */
  async getOrLoad<T>(id: string, load: () => Promise<T | undefined>, options: GetOrLoadOptions = {}): Promise<T | undefined> {
    const tags = [...new Set(options.tags ?? [])];
    this.countRead(id);
    const l1 = this.activeL1();
    const inL1 = l1?.get(id);
    if (inL1 !== undefined) {
      cacheLookups.inc({ cache: this.name, result: 'l1_hit' });
      this.checkGenerationSoon();
      return JSON.parse(inL1) as T;
    }
    const mark = this.l1?.mark() ?? 0;
    let stored: StoredEntry;
    try {
      stored = await this.scripts.read(this.name, id, tags);
      this.readRecovered();
    } catch (error) {
      this.readFailed(error);
      return (await this.singleFlight(id, load, tags, undefined, mark)) as T | undefined;
    }
    this.learnGeneration(Number(stored.generation));
    const now = this.now();
    const cached = stored.value;
    if (cached && now < cached.expiresAt) {
      cacheLookups.inc({ cache: this.name, result: 'hit' });
      if (!shouldRecompute(cached, now, this.beta, this.random)) {
        this.fillL1(id, cached.data, tags, cached.expiresAt, mark);
        return JSON.parse(cached.data) as T;
      }
      try {
        return (await this.singleFlight(id, load, tags, stored, mark, true)) as T | undefined;
      } catch (error) {
        // Recomputed early and failed: the entry has not expired, so it is still the answer.
        this.logger.debug(`early refresh of ${id} failed: ${(error as Error).message}`);
        return JSON.parse(cached.data) as T;
      }
    }
    cacheLookups.inc({ cache: this.name, result: 'miss' });
    return (await this.singleFlight(id, load, tags, stored, mark)) as T | undefined;
  }

  /**
   * Drops entries after the change that made them stale has committed. Best effort: a Redis
   * failure is logged, not thrown (the entry then lives until its TTL); use
   * `CacheInvalidations` where a failure must be retried.
   */
  async invalidate(...ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.invalidations.keys(this.name, ids);
    } catch (error) {
      this.invalidationFailed(`of ${ids.length} key(s)`, error);
    } finally {
      this.forget({ cache: this.name, kind: 'key', ids });
    }
  }

  /** Drops every entry (of any cache) filled with this tag. Best effort, like `invalidate`. */
  async invalidateTag(tag: string): Promise<void> {
    try {
      await this.invalidations.tag(tag);
    } catch (error) {
      this.invalidationFailed(`of tag ${tag}`, error);
    } finally {
      this.forget({ cache: '*', kind: 'tag', tag });
    }
  }

  /** Retires every entry of this cache by moving it to a new generation. Best effort, like `invalidate`. */
  async invalidatePrefix(): Promise<void> {
    try {
      await this.invalidations.prefix(this.name);
    } catch (error) {
      this.invalidationFailed('of the whole cache', error);
    } finally {
      this.forget({ cache: this.name, kind: 'prefix' });
    }
  }

  /** Stops listening for broadcasts (closing the shared subscriber with its last user). */
  async close(): Promise<void> {
    this.flushHotReads();
    this.l1?.clear();
    await this.subscriber?.release(this.listener);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /**
   * Samples reads into this minute's hot-key ranking; never waits for Redis, never fails a read.
   * Sums per id are sent together (one ZINCRBY per id in one MULTI) every `hotKeyFlushMs`, when
   * the minute changes, or when many ids have piled up — one write per sampled read cost about
   * 5% of a cached read's CPU.
   */
  private countRead(id: string): void {
    if (this.hotKeySampleRate <= 0 || Math.random() >= this.hotKeySampleRate) return;
    const minute = Math.floor(this.now() / 60_000);
    if (minute !== this.hotMinute) {
      this.flushHotReads();
      this.hotMinute = minute;
    }
    this.hotReads.set(id, (this.hotReads.get(id) ?? 0) + 1);
    if (this.hotReads.size >= HOT_READS_MAX_IDS) this.flushHotReads();
    else
      this.hotFlush ??= setTimeout(() => {
        this.flushHotReads();
      }, this.hotKeyFlushMs).unref();
  }

  private flushHotReads(): void {
    clearTimeout(this.hotFlush);
    this.hotFlush = undefined;
    if (this.hotReads.size === 0) return;
    const key = hotKeysKey(this.name, this.hotMinute);
    const write = this.redis.multi();
    for (const [id, reads] of this.hotReads) write.zincrby(key, reads, id);
    this.hotReads.clear();
    write
      .expire(key, 180)
      .exec()
      .catch(() => undefined);
  }

  private activeL1(): L1Cache | undefined {
    return this.subscriber?.live ? this.l1 : undefined;
  }

  private async singleFlight(
    id: string,
    load: () => Promise<unknown>,
    tags: readonly string[],
    snapshot: StoredEntry | undefined,
    mark: number,
    early = false,
  ): Promise<unknown> {
    const running = this.inflight.get(id);
    if (running) {
      const outcome = await running.promise;
      // The shared load overlapped an invalidation, possibly of a write this caller must see.
      return outcome.refused ? load() : outcome.value;
    }
    if (early) cacheEarlyRefreshes.inc({ cache: this.name });
    const flight: Flight = { tags, promise: this.loadAndFill(id, load, tags, snapshot, mark) };
    this.inflight.set(id, flight);
    try {
      return (await flight.promise).value;
    } finally {
      if (this.inflight.get(id) === flight) this.inflight.delete(id);
    }
  }

  private async loadAndFill(
    id: string,
    load: () => Promise<unknown>,
    tags: readonly string[],
    snapshot: StoredEntry | undefined,
    mark: number,
  ): Promise<FillOutcome> {
    const startedAt = this.now();
    const startedTimer = performance.now();
    const value = await load();
    if (value === undefined || !snapshot) return { value, refused: false };
    // Past the lease the version read before loading may have expired and restarted (ABA).
    if (performance.now() - startedTimer >= FILL_LEASE_MS) return { value, refused: true };
    const now = this.now();
    const data = JSON.stringify(value);
    const expiresAt = now + this.ttlMs;
    try {
      const stored = await this.scripts.fill({
        cache: this.name,
        entryKey: entryKey(this.name, snapshot.generation, id),
        snapshot,
        tags,
        data,
        deltaMs: Math.max(0, now - startedAt),
        expiresAt,
        ttlMs: this.ttlMs + FILL_LEASE_MS,
      });
      if (!stored) {
        cacheFillRejected.inc({ cache: this.name });
        return { value, refused: true };
      }
    } catch (error) {
      this.logger.debug(`fill of ${id} failed: ${(error as Error).message}`);
      return { value, refused: false };
    }
    this.fillL1(id, data, tags, expiresAt, mark);
    return { value, refused: false };
  }

  private fillL1(id: string, data: string, tags: readonly string[], expiresAt: number, mark: number): void {
    this.activeL1()?.set(id, data, tags, Math.min(this.l1TtlMs, expiresAt - this.now()), mark);
  }

  /** Applies an invalidation in this process: L1 entries and loads in flight that it makes stale. */
  private forget(message: CacheInvalidationMessage): void {
    switch (message.kind) {
      case 'key':
        if (message.cache !== this.name) return;
        this.l1?.invalidateIds(message.ids);
        for (const id of message.ids) this.inflight.delete(id);
        return;
      case 'tag':
        this.l1?.invalidateTag(message.tag);
        for (const [id, flight] of this.inflight) if (flight.tags.includes(message.tag)) this.inflight.delete(id);
        return;
      case 'prefix':
        if (message.cache !== this.name) return;
        this.l1?.clear();
        this.inflight.clear();
        return;
    }
  }

  /** Generations only grow; a newer one means a prefix invalidation this L1 may have missed. */
  private learnGeneration(generation: number): void {
    this.generationCheckedAt = performance.now();
    if (generation <= this.generation) return;
    if (this.generation >= 0) this.l1?.clear();
    this.generation = generation;
  }

  private checkGenerationSoon(): void {
    if (this.generationCheck || performance.now() - this.generationCheckedAt < this.generationCheckMs) return;
    this.generationCheck = this.redis
      .get(generationKey(this.name))
      .then(
        (generation) => {
          this.learnGeneration(Number(generation ?? '0'));
        },
        () => undefined,
      )
      .finally(() => {
        this.generationCheck = undefined;
      });
  }

  private readFailed(error: unknown): void {
    cacheLookups.inc({ cache: this.name, result: 'error' });
    if (this.degraded) return;
    this.degraded = true;
    this.logger.warn(`Redis unavailable, reading through to the source: ${(error as Error).message}`);
  }

  private readRecovered(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.logger.log('Redis available again');
  }

  private invalidationFailed(what: string, error: unknown): void {
    this.logger.warn(`invalidation ${what} failed (entries expire by TTL): ${(error as Error).message}`);
  }
}
