import { injectTraceContext } from '@keelson/observability';
import type { ContractRegistry, EventEnvelope } from '@keelson/messaging';
import type { EntityManager } from 'typeorm';
import { outboxChannel, routeFor, type OutboxRoutes } from './routes';

/**
 * Writes events into the outbox inside the caller's transaction, so an event exists if and
 * only if the change it describes committed. Events are validated here, before commit.
 */
export class OutboxWriter {
  private readonly insertSql: string;

  constructor(
    private readonly schema: string,
    private readonly routes: OutboxRoutes,
    private readonly registry: ContractRegistry,
  ) {
    // One round trip: the rows, and a NOTIFY that is delivered at commit and dropped on rollback.
    this.insertSql = `WITH inserted AS (
        INSERT INTO "${schema.replace(/"/g, '""')}".outbox (id, aggregatetype, aggregateid, type, payload, headers)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[])
        RETURNING 1)
      SELECT pg_notify($7, count(*)::text) FROM inserted`;
  }

  async append(manager: EntityManager, events: readonly EventEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    if (!manager.queryRunner?.isTransactionActive) throw new Error('OutboxWriter.append needs an active transaction');
    const headers = injectTraceContext({});
    const rows = events.map((event) => this.registry.validate(routeFor(this.routes, event.aggregatetype).topic, event));
    // One statement for the whole batch; positions follow the order given.
    await manager.query(this.insertSql, [
      rows.map((e) => e.id),
      rows.map((e) => e.aggregatetype),
      rows.map((e) => e.subject),
      rows.map((e) => e.type),
      rows.map((e) => JSON.stringify(e)),
      rows.map(() => JSON.stringify(headers)),
      outboxChannel(this.schema),
    ]);
  }
}
