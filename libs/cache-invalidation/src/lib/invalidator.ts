import { metricsRegistry } from '@keelson/observability';
import type { DecodedEvent } from '@keelson/messaging';
import type Redis from 'ioredis';
import { Counter, Histogram } from 'prom-client';
import { invalidationsFor, type Invalidation } from './rules';
import type { Warmer } from './warmer';

/** What the invalidator needs from the cache library: drop entries by cache and id, or by tag. */
export interface CacheEvictions {
  keys(cache: string, ids: readonly string[]): Promise<number>;
  tag(tag: string): Promise<number>;
}

export const invalidationLag = new Histogram({
  name: 'cache_invalidation_lag_seconds',
  help: 'From the change (event time, or the database trigger’s clock) to the eviction in Redis, by source.',
  labelNames: ['source'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});
export const invalidatorEvents = new Counter({
  name: 'cache_invalidator_events_total',
  help: 'Events the invalidator consumed, by result (applied, duplicate, ignored = no rule).',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});
export const invalidatorEvictions = new Counter({
  name: 'cache_invalidator_invalidations_total',
  help: 'Invalidations issued, by kind (key, tag) and source (kafka, notify, admin).',
  labelNames: ['kind', 'source'] as const,
  registers: [metricsRegistry],
});

export const staleReadsDetected = new Counter({
  name: 'cache_stale_reads_detected_total',
  help: 'Sampled checks that found a cache entry older than an event already applied to it (should stay 0).',
  labelNames: ['cache'] as const,
  registers: [metricsRegistry],
});

const SEEN_TTL_SECONDS = 7 * 24 * 3600;

/** Reads what a cache holds for an id, without filling it. */
export type CachedValueReader = (cache: string, id: string) => Promise<unknown>;

export interface StaleCheckOptions {
  /** Share of applied events checked (default 0.01). */
  sampleRate?: number;
  /** How long after the eviction the entry is looked at (default 1000 ms). */
  delayMs?: number;
  read: CachedValueReader;
}

/**
 * Applies domain events to the caches: each event is mapped by the rules, duplicates (same
 * event id, e.g. an outbox relay republishing after a crash) are applied once, and a batch of
 * events costs three Redis round trips (which are new, the evictions, mark them seen).
 * An event is marked seen only after its evictions, so a crash in between re-applies it
 * (harmless) instead of losing it.
 */
export class EventInvalidator {
  constructor(
    private readonly redis: Redis,
    private readonly evictions: CacheEvictions,
    private readonly consumerName = 'cache-invalidator',
    private readonly warmer?: Warmer,
    private readonly staleCheck?: StaleCheckOptions,
  ) {}

  async apply(batch: readonly DecodedEvent[]): Promise<void> {
    const fresh = await this.unseen(batch.map((e) => e.event.id));
    const keys = new Map<string, Set<string>>();
    const tags = new Set<string>();
    const applied: DecodedEvent[] = [];
    for (const decoded of batch) {
      if (!fresh.has(decoded.event.id)) {
        invalidatorEvents.inc({ result: 'duplicate' });
        continue;
      }
      fresh.delete(decoded.event.id); // a duplicate inside the same batch counts once
      const wanted = invalidationsFor(decoded.event);
      if (wanted.length === 0) {
        invalidatorEvents.inc({ result: 'ignored' });
        continue;
      }
      applied.push(decoded);
      for (const invalidation of wanted) collect(invalidation, keys, tags);
    }
    await evict(this.evictions, keys, tags, 'kafka');
    const evictedAt = Date.now();
    // Hot entries are read again through their service, in the background: evicting never waits for it.
    if (this.warmer) for (const [cache, ids] of keys) void this.warmer.warm(cache, [...ids]);
    for (const { event } of applied) {
      invalidatorEvents.inc({ result: 'applied' });
      invalidationLag.observe({ source: 'kafka' }, Math.max(0, evictedAt - Date.parse(event.time)) / 1_000);
      if (this.staleCheck && Math.random() < (this.staleCheck.sampleRate ?? 0.01)) this.scheduleStaleCheck(event);
    }
    await this.markSeen(batch.map((e) => e.event.id));
  }

  /**
   * The canary for the whole design: some time after an event of version N evicted its
   * aggregate's entry, whatever the cache holds for it (a re-fill) must be at version N or
   * later. An older value means a stale read was possible; it is counted, never repaired here.
   */
  private scheduleStaleCheck(event: DecodedEvent['event']): void {
    const check = this.staleCheck;
    if (!check) return;
    const targets = invalidationsFor(event).filter(
      (i): i is Extract<Invalidation, { kind: 'key' }> => i.kind === 'key' && i.id === event.subject,
    );
    setTimeout(() => {
      for (const target of targets) {
        check
          .read(target.cache, target.id)
          .then((value) => {
            const version = (value as { version?: unknown } | undefined)?.version;
            if (typeof version === 'number' && version < event.aggregateversion) staleReadsDetected.inc({ cache: target.cache });
          })
          .catch(() => undefined);
      }
    }, check.delayMs ?? 1_000).unref();
  }

  private async unseen(ids: readonly string[]): Promise<Set<string>> {
    const results = await this.pipeline(ids.map((id) => ['exists', this.seenKey(id)]));
    return new Set(ids.filter((_, i) => results[i] === 0));
  }

  private async markSeen(ids: readonly string[]): Promise<void> {
    await this.pipeline(ids.map((id) => ['set', this.seenKey(id), '1', 'EX', String(SEEN_TTL_SECONDS)]));
  }

  private async pipeline(commands: string[][]): Promise<unknown[]> {
    if (commands.length === 0) return [];
    const results = (await this.redis.pipeline(commands).exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
  }

  private seenKey(eventId: string): string {
    return `${this.consumerName}:seen:${eventId}`;
  }
}

function collect(invalidation: Invalidation, keys: Map<string, Set<string>>, tags: Set<string>): void {
  if (invalidation.kind === 'tag') tags.add(invalidation.tag);
  else keys.set(invalidation.cache, (keys.get(invalidation.cache) ?? new Set()).add(invalidation.id));
}

/** Issues grouped evictions: one call per cache and per tag. */
export async function evict(
  evictions: CacheEvictions,
  keys: ReadonlyMap<string, ReadonlySet<string>>,
  tags: ReadonlySet<string>,
  source: 'kafka' | 'notify' | 'admin',
): Promise<void> {
  await Promise.all([
    ...[...keys].map(async ([cache, ids]) => {
      await evictions.keys(cache, [...ids]);
      invalidatorEvictions.inc({ kind: 'key', source }, ids.size);
    }),
    ...[...tags].map(async (tag) => {
      await evictions.tag(tag);
      invalidatorEvictions.inc({ kind: 'tag', source });
    }),
  ]);
}
