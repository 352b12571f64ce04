import type Redis from 'ioredis';
import { generationKey, INVALIDATION_CHANNEL as channel, tagMembersKey, tagVersionKey } from './keys';

// Every step whose atomicity matters is one Lua script (ioredis defineCommand: EVALSHA,
// falling back to EVAL once per connection). Entry keys are built inside the scripts from
// the generation read in the same script (`<name>:g<gen>:<id>`), so a reader, a fill and an
// invalidation always agree on the current generation. That, and tag sets naming their
// members, means scripts touch keys not passed in KEYS: fine on one Redis, not Cluster-safe.

/**
 * How long a version survives an invalidation (and an entry outlives its logical expiry).
 * A fill whose load took longer than this is not stored, because the version it read may
 * have expired and restarted at 0 (ABA).
 */
export const FILL_LEASE_MS = 60_000;

// KEYS: generation, tag versions…  ARGV: cache name, id.
// Returns { generation, version, data|nil, deltaMs|nil, expiresAt|nil, tag versions… }.
const READ = `
local gen = redis.call('GET', KEYS[1]) or '0'
local e = redis.call('HMGET', ARGV[1] .. ':g' .. gen .. ':' .. ARGV[2], 'v', 'd', 'dt', 'x')
local out = { gen, e[1] or '0', e[2] or false, e[3] or false, e[4] or false }
for i = 2, #KEYS do out[#out + 1] = redis.call('GET', KEYS[i]) or '0' end
return out
`;

// KEYS: generation, entry, then (tag members, tag version) pairs.
// ARGV: generation, version, data, deltaMs, expiresAt, ttl ms, expected tag versions…
// Stores only if nothing was invalidated since the reader took its snapshot: 1 stored, 0 refused.
const FILL = `
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
if (redis.call('HGET', KEYS[2], 'v') or '0') ~= ARGV[2] then return 0 end
local tags = (#KEYS - 2) / 2
for i = 1, tags do
  if (redis.call('GET', KEYS[2 + 2 * i]) or '0') ~= ARGV[6 + i] then return 0 end
end
local ttl = tonumber(ARGV[6])
redis.call('HSET', KEYS[2], 'd', ARGV[3], 'dt', ARGV[4], 'x', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ttl)
for i = 1, tags do
  local members = KEYS[1 + 2 * i]
  redis.call('SADD', members, KEYS[2])
  if redis.call('PTTL', members) < ttl then redis.call('PEXPIRE', members, ttl) end
end
return 1
`;

// Drops the value, keeps a bumped version for the lease so in-flight fills are refused.
const BUMP = `
local function bump(key, lease)
  local removed = redis.call('HDEL', key, 'd', 'dt', 'x')
  redis.call('HINCRBY', key, 'v', 1)
  redis.call('PEXPIRE', key, lease)
  if removed > 0 then return 1 end
  return 0
end
`;

// KEYS: generation.  ARGV: cache name, lease ms, channel, message, ids…  Returns entries removed.
const INVALIDATE_KEYS = `${BUMP}
local gen = redis.call('GET', KEYS[1]) or '0'
local removed = 0
for i = 5, #ARGV do removed = removed + bump(ARGV[1] .. ':g' .. gen .. ':' .. ARGV[i], ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return removed
`;

// KEYS: tag members, tag version.  ARGV: lease ms, channel, message.  Returns entries removed.
const INVALIDATE_TAG = `${BUMP}
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
local removed = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do removed = removed + bump(key, ARGV[1]) end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return removed
`;

// KEYS: generation.  ARGV: channel, message.  Returns the new generation.
const INVALIDATE_PREFIX = `
local gen = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return gen
`;

const COMMANDS = {
  keelsonCacheRead: READ,
  keelsonCacheFill: FILL,
  keelsonCacheInvalidateKeys: INVALIDATE_KEYS,
  keelsonCacheInvalidateTag: INVALIDATE_TAG,
  keelsonCacheInvalidatePrefix: INVALIDATE_PREFIX,
} as const;

type Command = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

export interface StoredEntry {
  generation: string;
  version: string;
  /** Present only while the entry holds a value. */
  value?: { data: string; deltaMs: number; expiresAt: number };
  tagVersions: string[];
}

export interface FillRequest {
  cache: string;
  entryKey: string;
  snapshot: StoredEntry;
  tags: readonly string[];
  data: string;
  deltaMs: number;
  expiresAt: number;
  ttlMs: number;
}

export interface CacheScripts {
  read(cache: string, id: string, tags: readonly string[]): Promise<StoredEntry>;
  fill(request: FillRequest): Promise<boolean>;
  invalidateKeys(cache: string, ids: readonly string[], message: string): Promise<number>;
  invalidateTag(tag: string, message: string): Promise<number>;
  invalidatePrefix(cache: string, message: string): Promise<number>;
}

/** The cache's Lua commands on a client (defined once per client). */
export function cacheScripts(redis: Redis): CacheScripts {
  for (const [name, lua] of Object.entries(COMMANDS)) {
    if (!(name in redis)) redis.defineCommand(name, { lua });
  }
  const command = (name: keyof typeof COMMANDS): Command => {
    const fn = (redis as unknown as Record<string, Command>)[name];
    if (!fn) throw new Error(`redis command ${name} is not defined`);
    return fn.bind(redis);
  };
  const read = command('keelsonCacheRead');
  const fill = command('keelsonCacheFill');
  const invalidateKeys = command('keelsonCacheInvalidateKeys');
  const invalidateTag = command('keelsonCacheInvalidateTag');
  const invalidatePrefix = command('keelsonCacheInvalidatePrefix');

  return {
    async read(cache, id, tags) {
      const reply = (await read(1 + tags.length, generationKey(cache), ...tags.map(tagVersionKey), cache, id)) as (string | null)[];
      const [generation, version, data, deltaMs, expiresAt, ...tagVersions] = reply;
      const held = typeof data === 'string' && typeof deltaMs === 'string' && typeof expiresAt === 'string';
      return {
        generation: generation ?? '0',
        version: version ?? '0',
        ...(held ? { value: { data, deltaMs: Number(deltaMs), expiresAt: Number(expiresAt) } } : {}),
        tagVersions: tagVersions.map((v) => v ?? '0'),
      };
    },
    async fill(r) {
      const tagKeys = r.tags.flatMap((tag) => [tagMembersKey(tag), tagVersionKey(tag)]);
      const stored = await fill(
        2 + tagKeys.length,
        generationKey(r.cache),
        r.entryKey,
        ...tagKeys,
        r.snapshot.generation,
        r.snapshot.version,
        r.data,
        Math.round(r.deltaMs),
        Math.round(r.expiresAt),
        Math.round(r.ttlMs),
        ...r.snapshot.tagVersions,
      );
      return stored === 1;
    },
    async invalidateKeys(cache, ids, message) {
      return Number(await invalidateKeys(1, generationKey(cache), cache, FILL_LEASE_MS, channel, message, ...ids));
    },
    async invalidateTag(tag, message) {
      return Number(await invalidateTag(2, tagMembersKey(tag), tagVersionKey(tag), FILL_LEASE_MS, channel, message));
    },
    async invalidatePrefix(cache, message) {
      return Number(await invalidatePrefix(1, generationKey(cache), channel, message));
    },
  };
}
