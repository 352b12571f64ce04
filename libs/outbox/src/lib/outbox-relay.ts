import { Logger } from '@nestjs/common';
import { extractTraceContext, observeWithExemplar } from '@keelson/observability';
import type { EventEnvelope, EventPublisher } from '@keelson/messaging';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { observeBacklog, outboxBatchDuration, outboxPublished, outboxPublishFailures } from './outbox-metrics';
import { outboxChannel, routeFor, type OutboxRoutes } from './routes';

export interface OutboxRelayOptions {
  schema: string;
  routes: OutboxRoutes;
  publisher: EventPublisher;
  /** Most events claimed per transaction. */
  batchSize?: number;
  /** Poll interval when no NOTIFY arrives (NOTIFY is only a wake-up; it is lost while nobody listens). */
  pollIntervalMs?: number;
  /** Upper bound of the back-off while Kafka or PostgreSQL fail. */
  maxBackoffMs?: number;
}

interface ClaimedRow {
  id: string;
  aggregateid: string;
  aggregatetype: string;
  payload: EventEnvelope;
  headers: Record<string, string>;
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

/**
 * Publishes outbox rows to Kafka and marks them published only after the broker acked.
 *
 * - `published_at IS NULL` (not `id > last seen`), so a row whose transaction commits after
 *   a later one is still found.
 * - `FOR UPDATE SKIP LOCKED`, so several replicas can relay at once without publishing a
 *   row twice in the normal case.
 * - A row is claimed only when no earlier unpublished row of the same aggregate exists, so
 *   one aggregate's events reach Kafka in order even with several relays.
 * - A crash after the ack and before the commit leaves the row unpublished: it is sent
 *   again with the same event id (at-least-once; consumers dedupe).
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly claimSql: string;
  private readonly markSql: string;
  private running = false;
  private loop: Promise<void> | undefined;
  private listener: Client | undefined;
  private wakeRequested = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: OutboxRelayOptions,
  ) {
    const table = `${quote(options.schema)}.outbox`;
    this.claimSql = `
      SELECT o.id, o.aggregateid, o.aggregatetype, o.payload, o.headers
        FROM ${table} o
       WHERE o.published_at IS NULL
         AND NOT EXISTS (
               SELECT 1 FROM ${table} e
                WHERE e.published_at IS NULL
                  AND e.aggregatetype = o.aggregatetype
                  AND e.aggregateid = o.aggregateid
                  AND e.position < o.position)
       ORDER BY o.position
       LIMIT $1
         FOR UPDATE OF o SKIP LOCKED`;
    this.markSql = `UPDATE ${table} SET published_at = now() WHERE id = ANY($1::uuid[])`;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    observeBacklog({ backlog: () => this.backlog() });
    void this.listen();
    this.loop = this.run();
  }

  /** Finishes the batch in hand, then stops listening and polling. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
  }

  /** Claims, publishes and marks one batch in one transaction; returns how many were published. */
  async relayOnce(): Promise<number> {
    const started = performance.now();
    const published = await this.dataSource.transaction(async (manager) => {
      const rows = await manager.query<ClaimedRow[]>(this.claimSql, [this.options.batchSize ?? 500]);
      if (rows.length === 0) return [];
      await this.options.publisher.publishBatch(
        rows.map((row) => ({
          topic: routeFor(this.options.routes, row.aggregatetype).topic,
          event: row.payload,
          key: row.aggregateid,
          context: extractTraceContext(row.headers),
        })),
      );
      await manager.query(this.markSql, [rows.map((r) => r.id)]);
      return rows;
    });
    const [first] = published;
    // The batch has no trace of its own; its first event's trace shows the publish it waited for.
    if (first) observeWithExemplar(outboxBatchDuration, {}, (performance.now() - started) / 1_000, extractTraceContext(first.headers));
    for (const row of published) outboxPublished.inc({ topic: routeFor(this.options.routes, row.aggregatetype).topic });
    return published.length;
  }

  async backlog(): Promise<{ count: number; oldestAgeSeconds: number }> {
    const [row] = await this.dataSource.query<{ count: string; age: number | null }[]>(
      `SELECT count(*) AS count, extract(epoch FROM now() - min(created_at))::float8 AS age
         FROM ${quote(this.options.schema)}.outbox WHERE published_at IS NULL`,
    );
    return { count: Number(row?.count ?? 0), oldestAgeSeconds: row?.age ?? 0 };
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const published = await this.relayOnce();
        failures = 0;
        if (published > 0) continue; // there may be more
      } catch (error) {
        failures += 1;
        outboxPublishFailures.inc();
        this.logger.warn(`outbox relay batch failed (attempt ${failures}), will retry: ${(error as Error).message}`);
      }
      const backoff = Math.min(this.options.maxBackoffMs ?? 5_000, 100 * 2 ** Math.min(failures, 10));
      await this.pause(failures > 0 ? backoff : (this.options.pollIntervalMs ?? 1_000));
    }
  }

  /** Sleeps until the timeout or a NOTIFY, whichever comes first (a NOTIFY during a batch is kept). */
  private pause(ms: number): Promise<void> {
    if (this.wakeRequested || !this.running) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.wakeRequested = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private requestWake(): void {
    this.wakeRequested = true;
    this.wake?.();
  }

  /** A dedicated connection for LISTEN; reconnects while running, and catches up on reconnect. */
  private async listen(): Promise<void> {
    if (!this.running) return;
    const options = this.dataSource.options as PostgresConnectionOptions;
    const client = new Client({
      host: options.host,
      port: options.port,
      user: options.username,
      password: typeof options.password === 'string' ? options.password : undefined,
      database: options.database,
      application_name: `${options.applicationName ?? 'keelson'}-outbox-listener`,
    });
    let retried = false;
    const retry = () => {
      if (retried) return;
      retried = true;
      if (this.listener === client) this.listener = undefined;
      if (this.running) setTimeout(() => void this.listen(), 1_000).unref();
    };
    client.on('error', (error) => {
      this.logger.warn(`outbox listener lost its connection: ${error.message}`);
      client.end().catch(() => undefined);
    });
    client.on('end', retry);
    client.on('notification', () => {
      this.requestWake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quote(outboxChannel(this.options.schema))}`);
      this.listener = client;
      this.requestWake(); // rows committed while nobody listened
    } catch (error) {
      this.logger.warn(`outbox listener could not connect: ${(error as Error).message}`);
      await client.end().catch(() => undefined);
      retry();
    }
  }
}
