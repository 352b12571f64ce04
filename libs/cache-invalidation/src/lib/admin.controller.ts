import { Body, Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { DomainError } from '@keelson/runtime';
import { metricsRegistry } from '@keelson/observability';
import { ChangeListener } from './change-listener';
import { evict, type CacheEvictions } from './invalidator';
import { INVALIDATION_RULES } from './rules';
import type { HotKeys } from './warmer';

export const CACHE_EVICTIONS = Symbol('CACHE_EVICTIONS');
export const PREFIX_EVICTIONS = Symbol('PREFIX_EVICTIONS');

/** Drops a whole cache (every id) by bumping its generation. */
export interface PrefixEvictions {
  prefix(cache: string): Promise<void>;
}

const NAME = /^[\w:.-]{1,128}$/;
/** The caches whose hot keys the stats list. */
const HOT_KEY_CACHES = ['orders:order', 'orders:customer'];

export class InvalidateRequest {
  @ApiProperty({ example: 'orders:order', description: 'The cache, e.g. orders:order or orders:customer' })
  @IsString()
  @Matches(NAME, { message: 'cache must be 1–128 letters, digits or : . _ -' })
  cache!: string;

  @ApiPropertyOptional({ type: [String], description: 'Drop these entries' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1_000)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  ids?: string[];

  @ApiPropertyOptional({ description: 'Drop every entry that declared this tag' })
  @IsOptional()
  @IsString()
  @Matches(NAME, { message: 'tag must be 1–128 letters, digits or : . _ -' })
  tag?: string;

  @ApiPropertyOptional({ description: 'Drop every entry of the cache' })
  @IsOptional()
  @IsBoolean()
  all?: boolean;
}

class InvalidationRequestError extends DomainError<'invalid-invalidation'> {
  constructor(message: string) {
    super('invalid-invalidation', message);
  }
  problem() {
    return { status: 400, title: 'Bad Request' };
  }
}

@ApiTags('cache')
@Controller('api/v1/cache')
export class CacheAdminController {
  constructor(
    @Inject(CACHE_EVICTIONS) private readonly evictions: CacheEvictions & HotKeys,
    @Inject(PREFIX_EVICTIONS) private readonly prefixes: PrefixEvictions,
    private readonly listener: ChangeListener,
  ) {}

  @Post('invalidate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Invalidate cache entries by id, by tag, or the whole cache' })
  async invalidate(@Body() body: InvalidateRequest): Promise<{ invalidated: string }> {
    const chosen = [body.ids !== undefined, body.tag !== undefined, body.all === true].filter(Boolean).length;
    if (chosen !== 1) throw new InvalidationRequestError('give exactly one of ids, tag or all: true');
    if (body.ids) {
      await evict(this.evictions, new Map([[body.cache, new Set(body.ids)]]), new Set(), 'admin');
      return { invalidated: `${body.ids.length} entries of ${body.cache}` };
    }
    if (body.tag) {
      await evict(this.evictions, new Map(), new Set([body.tag]), 'admin');
      return { invalidated: `entries tagged ${body.tag}` };
    }
    await this.prefixes.prefix(body.cache);
    return { invalidated: `every entry of ${body.cache}` };
  }

  @Get('stats')
  @ApiOperation({ summary: 'Invalidation counts, lag and the rules in force' })
  async stats(): Promise<Record<string, unknown>> {
    const metrics = await metricsRegistry.getMetricsAsJSON();
    const pick = (name: string) => metrics.find((m) => m.name === name)?.values ?? [];
    return {
      staleReadsDetected: pick('cache_stale_reads_detected_total').reduce((sum, v) => sum + v.value, 0),
      events: Object.fromEntries(pick('cache_invalidator_events_total').map((v) => [String(v.labels.result), v.value])),
      invalidations: pick('cache_invalidator_invalidations_total').map((v) => ({ ...v.labels, count: v.value })),
      lookups: pick('cache_lookups_total').map((v) => ({ ...v.labels, count: v.value })),
      changeNotifications: { listening: this.listener.connected },
      // Sampled reads over this minute and the last (the orders service samples CACHE_HOT_KEY_SAMPLE_RATE of them).
      hotKeys: Object.fromEntries(
        await Promise.all(HOT_KEY_CACHES.map(async (cache) => [cache, await this.evictions.topIds(cache, 10).catch(() => [])] as const)),
      ),
      rules: INVALIDATION_RULES.map((r) => ({ events: r.events, invalidates: r.description })),
    };
  }
}
