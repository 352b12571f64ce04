import { metricsRegistry } from '@keelson/observability';
import { Counter } from 'prom-client';

export const cacheLookups = new Counter({
  name: 'cache_lookups_total',
  help: 'Cache lookups by cache and result: l1_hit (in-process), hit (Redis), miss, error (Redis failed; read through).',
  labelNames: ['cache', 'result'] as const,
  registers: [metricsRegistry],
});

export const cacheInvalidations = new Counter({
  name: 'cache_invalidations_total',
  help: 'Invalidations applied in Redis by kind: key (one per id), tag, prefix (one per call).',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});

export const cacheEarlyRefreshes = new Counter({
  name: 'cache_early_refreshes_total',
  help: 'Entries recomputed before expiry by XFetch probabilistic early refresh.',
  labelNames: ['cache'] as const,
  registers: [metricsRegistry],
});

export const cacheFillRejected = new Counter({
  name: 'cache_fill_rejected_total',
  help: 'Fills refused because the entry, its tags or its cache generation were invalidated while loading (stale writes prevented).',
  labelNames: ['cache'] as const,
  registers: [metricsRegistry],
});
