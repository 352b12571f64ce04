import { injectTraceContext } from '@keelson/observability';
import type { ContractRegistry, EventEnvelope } from '@keelson/messaging';
import type { EntityManager } from 'typeorm';
import { outboxChannel, routeFor, type OutboxRoutes } from './routes';

/** Outbox rows ready to insert: validated events with the trace context they were written in. */
export interface OutboxRows {
  readonly events: readonly EventEnvelope[];
  readonly headers: readonly string[];
}

/** An INSERT of outbox rows to embed as a data-modifying CTE in a caller's statement. */
export interface OutboxInsert {
  /** `INSERT INTO <schema>.outbox … RETURNING 1`, its parameters numbered from `firstParam`. */
  readonly sql: string;
  readonly params: unknown[];
  /** The NOTIFY channel; the statement should `pg_notify` it so relays wake at commit. */
  readonly channel: string;
}

/**
 * Writes events into the outbox inside the caller's transaction (or statement), so an event
 * exists if and only if the change it describes committed. Events are validated here, before
 * commit.
 */
export class OutboxWriter {
  private readonly table: string;
  private readonly insertSql: string;

  constructor(
    private readonly schema: string,
    private readonly routes: OutboxRoutes,
    private readonly registry: ContractRegistry,
  ) {
    this.table = `"${schema.replace(/"/g, '""')}".outbox`;
    // One round trip: the rows, and a NOTIFY that is delivered at commit and dropped on rollback.
    this.insertSql = `WITH inserted AS (${this.insertFragment(1)})
      SELECT pg_notify($7, count(*)::text) FROM inserted`;
  }

  /**
   * Validates events and captures the active trace context. Call it where the change is
   * decided (in the request's context) even when the rows are written later in a batch.
   */
  prepare(events: readonly EventEnvelope[]): OutboxRows {
    const headers = JSON.stringify(injectTraceContext({}));
    const valid = events.map((event) => this.registry.validate(routeFor(this.routes, event.aggregatetype).topic, event));
    return { events: valid, headers: valid.map(() => headers) };
  }

  async append(manager: EntityManager, events: readonly EventEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    if (!manager.queryRunner?.isTransactionActive) throw new Error('OutboxWriter.append needs an active transaction');
    const insert = this.insert([this.prepare(events)], 1);
    await manager.query(this.insertSql, [...insert.params, insert.channel]);
  }

  /** The INSERT for several prepared batches, positions in the order given. */
  insert(batches: readonly OutboxRows[], firstParam: number): OutboxInsert {
    const events = batches.flatMap((b) => b.events);
    return {
      sql: this.insertFragment(firstParam),
      params: [
        events.map((e) => e.id),
        events.map((e) => e.aggregatetype),
        events.map((e) => e.subject),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e)),
        batches.flatMap((b) => b.headers),
      ],
      channel: outboxChannel(this.schema),
    };
  }

  private insertFragment(first: number): string {
    const p = (i: number): string => `$${first + i}`;
    return `INSERT INTO ${this.table} (id, aggregatetype, aggregateid, type, payload, headers)
        SELECT * FROM unnest(${p(0)}::uuid[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::jsonb[], ${p(5)}::jsonb[])
        RETURNING 1`;
  }
}
