import { REDIS, type Redis } from '@keelson/cache';
import { customersTopic, invoicesTopic, Messaging, ordersTopic, paymentsTopic } from '@keelson/messaging';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ClientConfig } from 'pg';
import { CACHE_EVICTIONS, CacheAdminController, PREFIX_EVICTIONS, type PrefixEvictions } from './admin.controller';
import { ChangeListener } from './change-listener';
import { EventInvalidator, type CacheEvictions, type CachedValueReader, type StaleCheckOptions } from './invalidator';
import { Warmer, type HotKeys, type WarmerOptions } from './warmer';

export interface CacheInvalidationOptions {
  /** Kafka consumer group (replicas share the partitions). */
  groupId: string;
  /** The orders database, for its `orders_changes` notifications; omit to rely on Kafka alone. */
  changeNotifications?: ClientConfig;
  /** The cache library's evictions on this service's Redis connection. */
  evictions: (redis: Redis) => CacheEvictions & PrefixEvictions & HotKeys;
  /** Re-warm hot entries after evicting them (omit to only evict). */
  warm?: Omit<WarmerOptions, 'maxInFlight'>;
  /** Look at a sample of evicted entries later for values older than the event (default: 1% after 1 s). */
  staleCheck?: Omit<StaleCheckOptions, 'read'>;
  /** Reads a cache's entry without filling it (the cache library's reader). */
  reader: (redis: Redis) => CachedValueReader;
}

export const INVALIDATED_TOPICS = [ordersTopic.topic, customersTopic.topic, paymentsTopic.topic, invoicesTopic.topic] as const;

const OPTIONS = Symbol('CACHE_INVALIDATION_OPTIONS');

@Injectable()
class InvalidationRunner implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(OPTIONS) private readonly options: CacheInvalidationOptions,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CACHE_EVICTIONS) private readonly evictions: CacheEvictions & HotKeys,
    private readonly messaging: Messaging,
    private readonly listener: ChangeListener,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const warmer = this.options.warm ? new Warmer(this.evictions, this.options.warm) : undefined;
    const invalidator = new EventInvalidator(this.redis, this.evictions, this.options.groupId, warmer, {
      ...this.options.staleCheck,
      read: this.options.reader(this.redis),
    });
    await this.messaging
      .consumer({
        groupId: this.options.groupId,
        topics: INVALIDATED_TOPICS,
        // A partition without a committed offset starts at the log start, not its end: otherwise a
        // restart before a partition's first commit would skip what was published while down.
        // A new group replays the retained history once (evictions are idempotent).
        fromBeginning: true,
        // Replayed events evict too: an eviction has no side effect worth protecting.
        acceptReplays: true,
        batchHandler: (events) => invalidator.apply(events),
        handler: (event, meta) => invalidator.apply([{ event, meta }]),
      })
      .start();
    if (this.options.changeNotifications) await this.listener.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.listener.stop();
  }
}

/** Kafka domain events and PostgreSQL change notifications in, Redis evictions out; admin REST. */
@Module({})
export class CacheInvalidationModule {
  static forRoot(options: CacheInvalidationOptions): DynamicModule {
    return {
      module: CacheInvalidationModule,
      controllers: [CacheAdminController],
      providers: [
        { provide: OPTIONS, useValue: options },
        { provide: CACHE_EVICTIONS, useFactory: (redis: Redis) => options.evictions(redis), inject: [REDIS] },
        { provide: PREFIX_EVICTIONS, useExisting: CACHE_EVICTIONS },
        {
          provide: ChangeListener,
          useFactory: (evictions: CacheEvictions) => new ChangeListener(options.changeNotifications ?? {}, evictions),
          inject: [CACHE_EVICTIONS],
        },
        InvalidationRunner,
      ],
    };
  }
}
