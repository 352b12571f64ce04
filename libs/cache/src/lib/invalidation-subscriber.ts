import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { INVALIDATION_CHANNEL, parseInvalidationMessage, type CacheInvalidationMessage } from './keys';

export interface InvalidationListener {
  onInvalidation(message: CacheInvalidationMessage): void;
  /** Broadcasts may have been missed: the subscription was lost, or has just been (re)established. */
  onReset(): void;
}

/**
 * One pub/sub connection per Redis client (a duplicate: a subscribed connection can do
 * nothing else), shared by every L1 cache on that client. It subscribes itself on every
 * (re)connect and tells listeners to reset both when the connection drops and once the
 * subscription is back, because whatever was published in between is lost.
 */
export class InvalidationSubscriber {
  private static readonly byClient = new WeakMap<Redis, InvalidationSubscriber>();
  private readonly logger = new Logger('CacheInvalidationSubscriber');
  private readonly listeners = new Set<InvalidationListener>();
  private readonly connection: Redis;
  private subscribed = false;

  private constructor(private readonly redis: Redis) {
    this.connection = redis.duplicate({
      connectionName: `${redis.options.connectionName ?? 'keelson'}:invalidations`,
      autoResubscribe: false, // resubscribed by hand on 'ready', so we know when it is done
      lazyConnect: false,
    });
    this.connection.on('ready', () => {
      void this.subscribe();
    });
    this.connection.on('close', () => {
      if (!this.subscribed) return;
      this.subscribed = false;
      this.logger.warn('invalidation broadcast subscription lost; L1 caches bypassed until it is back');
      this.resetAll();
    });
    this.connection.on('error', (error: Error) => {
      this.logger.debug(`invalidation subscriber: ${error.message}`);
    });
    this.connection.on('message', (channel: string, payload: string) => {
      if (channel !== INVALIDATION_CHANNEL) return;
      const message = parseInvalidationMessage(payload);
      if (!message) {
        this.logger.warn(`ignoring malformed invalidation broadcast: ${payload.slice(0, 200)}`);
        return;
      }
      for (const listener of this.listeners) listener.onInvalidation(message);
    });
  }

  static acquire(redis: Redis, listener: InvalidationListener): InvalidationSubscriber {
    let subscriber = InvalidationSubscriber.byClient.get(redis);
    if (!subscriber) {
      subscriber = new InvalidationSubscriber(redis);
      InvalidationSubscriber.byClient.set(redis, subscriber);
    }
    subscriber.listeners.add(listener);
    return subscriber;
  }

  /** True while subscribed: only then may an L1 answer, since only then does it hear invalidations. */
  get live(): boolean {
    return this.subscribed;
  }

  async release(listener: InvalidationListener): Promise<void> {
    if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
    InvalidationSubscriber.byClient.delete(this.redis);
    this.subscribed = false;
    await this.connection.quit().catch(() => {
      this.connection.disconnect();
    });
  }

  private async subscribe(): Promise<void> {
    try {
      await this.connection.subscribe(INVALIDATION_CHANNEL);
    } catch (error) {
      this.logger.warn(`cannot subscribe to ${INVALIDATION_CHANNEL}, reconnecting: ${(error as Error).message}`);
      this.connection.disconnect(true);
      return;
    }
    this.subscribed = true;
    this.resetAll();
  }

  private resetAll(): void {
    for (const listener of this.listeners) listener.onReset();
  }
}
