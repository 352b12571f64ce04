import { Logger } from '@nestjs/common';
import { Client, type ClientConfig } from 'pg';
import { evict, invalidationLag, type CacheEvictions } from './invalidator';
import { invalidationForRow, type RowChange } from './rules';

export const CHANGES_CHANNEL = 'orders_changes';

/**
 * Low-latency path: LISTENs to the orders database's row-change notifications and evicts at
 * once. NOTIFY is only a wake-up (lost while nobody listens), so correctness rests on the
 * Kafka path, which resumes from its committed offsets after any outage; this listener just
 * makes most evictions faster. It reconnects with backoff.
 */
export class ChangeListener {
  private readonly logger = new Logger(ChangeListener.name);
  private client: Client | undefined;
  private stopped = false;
  private retryMs = 100;
  private readonly retired = new WeakSet<Client>();
  connected = false;

  constructor(
    private readonly connection: ClientConfig,
    private readonly evictions: CacheEvictions,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ ...this.connection, application_name: 'cache-invalidator-listener' });
    client.on('error', (error) => {
      this.logger.warn(`change notifications lost: ${error.message}; reconnecting`);
      this.reconnect(client);
    });
    client.on('end', () => {
      this.reconnect(client);
    });
    client.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload) void this.onChange(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      this.client = client;
      this.connected = true;
      this.retryMs = 100;
    } catch (error) {
      this.logger.warn(`cannot listen for change notifications: ${(error as Error).message}`);
      this.reconnect(client);
    }
  }

  private reconnect(client: Client): void {
    if (this.retired.has(client)) return; // 'error' and 'end' both arrive for one failure
    this.retired.add(client);
    this.connected = false;
    this.client = undefined;
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
    setTimeout(() => void this.connect(), delay).unref();
  }

  private async onChange(payload: string): Promise<void> {
    let change: RowChange;
    try {
      change = JSON.parse(payload) as RowChange;
    } catch {
      this.logger.warn(`ignoring a malformed change notification: ${payload.slice(0, 200)}`);
      return;
    }
    const invalidation = invalidationForRow(change);
    if (invalidation?.kind !== 'key') return;
    try {
      await evict(this.evictions, new Map([[invalidation.cache, new Set([invalidation.id])]]), new Set(), 'notify');
      if (typeof change.at === 'number') invalidationLag.observe({ source: 'notify' }, Math.max(0, Date.now() / 1_000 - change.at));
    } catch (error) {
      // The Kafka path applies the same change; nothing is lost.
      this.logger.warn(`eviction from a change notification failed: ${(error as Error).message}`);
    }
  }
}
