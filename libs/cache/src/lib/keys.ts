import { z } from 'zod';

// The Redis key layout of every cache (README.md, "Key layout"). The Lua scripts build
// entry keys the same way: `<name>:g<gen>:<id>`.

/** Pub/sub channel every invalidation is published on (by the same Lua that invalidates). */
export const INVALIDATION_CHANNEL = 'cache:invalidations';

/** Generation counter of a cache; part of every entry key, so bumping it retires them all. */
export const generationKey = (cache: string): string => `${cache}:gen`;

/** One cached entry: a hash { v: version, d: JSON value, dt: recompute ms, x: expiry epoch ms }. */
export const entryKey = (cache: string, generation: string, id: string): string => `${cache}:g${generation}:${id}`;

/** Sampled read counts of a cache's ids in one minute (a sorted set, kept 3 minutes): its hot keys. */
export const hotKeysKey = (cache: string, minute: number): string => `cache:hot:${cache}:${minute}`;

/** The set of entry keys that depend on a tag. */
export const tagMembersKey = (tag: string): string => `cache:tags:${tag}`;

/** A tag's version counter: bumped by tag invalidation, checked by fills that declare the tag. */
export const tagVersionKey = (tag: string): string => `cache:tagv:${tag}`;

/**
 * Cache names end up in keys next to the generation (`<name>:g<gen>:<id>`); a name with a
 * segment that looks like a generation (`g12`) could collide with another cache's entries.
 */
export function assertCacheName(name: string): void {
  if (name.length === 0 || name === '*' || /\s/.test(name) || name.split(':').some((part) => /^g\d+$/.test(part))) {
    throw new Error(`invalid cache name "${name}": non-empty, no whitespace, not "*", no ":g<digits>" segment`);
  }
}

const cacheName = z.string().min(1);
const invalidationMessageSchema = z.discriminatedUnion('kind', [
  z.object({ cache: cacheName, kind: z.literal('key'), ids: z.array(z.string()).min(1) }),
  // A tag can have dependents in any cache.
  z.object({ cache: z.literal('*'), kind: z.literal('tag'), tag: z.string().min(1) }),
  z.object({ cache: cacheName, kind: z.literal('prefix') }),
]);

/** What is published on {@link INVALIDATION_CHANNEL} after an invalidation took effect in Redis. */
export type CacheInvalidationMessage = z.output<typeof invalidationMessageSchema>;

/** Parses a broadcast payload; undefined when it is not a valid invalidation message. */
export function parseInvalidationMessage(payload: string): CacheInvalidationMessage | undefined {
  try {
    const parsed = invalidationMessageSchema.safeParse(JSON.parse(payload));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
