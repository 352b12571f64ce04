import { LRUCache } from 'lru-cache';

interface L1Entry {
  /** The JSON text: every hit parses its own copy, so callers cannot change each other's value. */
  data: string;
  tags: readonly string[];
}

/** Invalidations remembered for fills in flight; past this many, in-flight fills are all refused. */
const LOG_LIMIT = 10_000;

/**
 * The in-process copy in front of Redis. Besides the entries it keeps a short log of
 * recent invalidations, so that a value read from Redis before an invalidation arrived is
 * not put back after it (the same refill race as in Redis, one level up): `mark()` before
 * reading Redis, `set(..., mark)` refuses if the id, one of its tags or everything was
 * invalidated since.
 */
export class L1Cache {
  private readonly entries: LRUCache<string, L1Entry>;
  private readonly idsByTag = new Map<string, Set<string>>();
  private readonly invalidatedIds = new Map<string, number>();
  private readonly invalidatedTags = new Map<string, number>();
  private seq = 0;
  private floor = 0;

  constructor(maxEntries: number, ttlMs: number) {
    this.entries = new LRUCache<string, L1Entry>({
      max: maxEntries,
      ttl: ttlMs,
      dispose: (entry, id) => {
        for (const tag of entry.tags) {
          const ids = this.idsByTag.get(tag);
          ids?.delete(id);
          if (ids?.size === 0) this.idsByTag.delete(tag);
        }
      },
    });
  }

  get(id: string): string | undefined {
    return this.entries.get(id)?.data;
  }

  get size(): number {
    return this.entries.size;
  }

  mark(): number {
    return this.seq;
  }

  /** Stores unless something relevant was invalidated after `mark`; says whether it stored. */
  set(id: string, data: string, tags: readonly string[], ttlMs: number, mark: number): boolean {
    if (mark < this.floor || (this.invalidatedIds.get(id) ?? -1) > mark) return false;
    if (tags.some((tag) => (this.invalidatedTags.get(tag) ?? -1) > mark)) return false;
    if (ttlMs <= 0) return false;
    this.entries.set(id, { data, tags }, { ttl: ttlMs });
    for (const tag of tags) {
      let ids = this.idsByTag.get(tag);
      if (!ids) this.idsByTag.set(tag, (ids = new Set()));
      ids.add(id);
    }
    return true;
  }

  invalidateIds(ids: readonly string[]): void {
    this.seq += 1;
    for (const id of ids) {
      this.entries.delete(id);
      this.invalidatedIds.set(id, this.seq);
    }
    this.trimLog();
  }

  invalidateTag(tag: string): void {
    this.seq += 1;
    for (const id of [...(this.idsByTag.get(tag) ?? [])]) this.entries.delete(id);
    this.invalidatedTags.set(tag, this.seq);
    this.trimLog();
  }

  clear(): void {
    this.entries.clear();
    this.idsByTag.clear();
    this.seq += 1;
    this.forgetLog();
  }

  private trimLog(): void {
    if (this.invalidatedIds.size + this.invalidatedTags.size > LOG_LIMIT) this.forgetLog();
  }

  /** Without the log, no fill that started before now can be checked, so all of them are refused. */
  private forgetLog(): void {
    this.invalidatedIds.clear();
    this.invalidatedTags.clear();
    this.floor = this.seq;
  }
}
