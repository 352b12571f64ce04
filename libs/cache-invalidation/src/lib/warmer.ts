import { Logger } from '@nestjs/common';
import { metricsRegistry } from '@keelson/observability';
import { Counter } from 'prom-client';
import { request } from 'undici';

/** Finds which just-evicted ids are hot (the cache library's sampled read ranking). */
export interface HotKeys {
  hotIds(cache: string, ids: readonly string[], minReads?: number): Promise<string[]>;
  topIds(cache: string, count: number): Promise<{ id: string; reads: number }[]>;
}

const warmed = new Counter({
  name: 'cache_keys_warmed_total',
  help: 'Hot entries re-read through their service after an eviction, by cache and result (ok, failed, skipped).',
  labelNames: ['cache', 'result'] as const,
  registers: [metricsRegistry],
});

export interface WarmerOptions {
  /** Per cache, the URL that reads (and so re-fills) one entry; `{id}` is replaced. */
  urls: Readonly<Record<string, string>>;
  /** Sampled reads in this minute and the last that make an entry hot. */
  minReads: number;
  /** Warm-up requests in flight at most; further ones are skipped (counted). */
  maxInFlight?: number;
}

/**
 * Re-warms hot entries after they were evicted: it asks the owning service to read them
 * again (e.g. `GET /api/v1/orders/{id}`), so the next client read is a hit on the new value.
 * The eviction is applied first and always; warming is best effort and never blocks it.
 */
export class Warmer {
  private readonly logger = new Logger(Warmer.name);
  private inFlight = 0;

  constructor(
    private readonly hotKeys: HotKeys,
    private readonly options: WarmerOptions,
  ) {}

  async warm(cache: string, ids: readonly string[]): Promise<void> {
    const template = this.options.urls[cache];
    if (!template || ids.length === 0) return;
    let hot: string[];
    try {
      hot = await this.hotKeys.hotIds(cache, ids, this.options.minReads);
    } catch (error) {
      this.logger.debug(`hot keys of ${cache} unavailable: ${(error as Error).message}`);
      return;
    }
    await Promise.all(hot.map((id) => this.warmOne(cache, template.replace('{id}', encodeURIComponent(id)))));
  }

  private async warmOne(cache: string, url: string): Promise<void> {
    if (this.inFlight >= (this.options.maxInFlight ?? 32)) {
      warmed.inc({ cache, result: 'skipped' });
      return;
    }
    this.inFlight += 1;
    try {
      const response = await request(url, { headersTimeout: 2_000, bodyTimeout: 2_000, headers: { 'x-cache-warm': '1' } });
      await response.body.dump();
      warmed.inc({ cache, result: response.statusCode < 400 ? 'ok' : 'failed' });
    } catch {
      warmed.inc({ cache, result: 'failed' });
    } finally {
      this.inFlight -= 1;
    }
  }
}
