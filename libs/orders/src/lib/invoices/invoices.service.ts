import { randomUUID } from 'node:crypto';
import { decodeCursor, toPage, type Page } from '@keelson/database';
import { createEvent } from '@keelson/messaging';
import { metricsRegistry } from '@keelson/observability';
import { OutboxWriter } from '@keelson/outbox';
import { Injectable } from '@nestjs/common';
import { PageQuery } from '../page-query';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { Counter } from 'prom-client';
import { DataSource, type EntityManager } from 'typeorm';
import { OrdersError, OrdersErrorCode } from '../errors';
import type { Order } from '../orders/order.entity';
import { Invoice } from './invoice.entity';
import { schemaOf } from '../schema';

const invoicesIssued = new Counter({ name: 'invoices_issued_total', help: 'Invoices issued.', registers: [metricsRegistry] });

export interface InvoiceView {
  id: string;
  orderId: string;
  number: string;
  totalMinor: number;
  currency: string;
  issuedAt: string;
}

export class ListInvoicesQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID('all', { message: 'orderId must be a UUID' })
  orderId?: string;
}

export class InvoiceIdParam {
  @ApiProperty()
  @IsUUID('all', { message: 'id must be a UUID' })
  id!: string;
}

const invoiceView = (i: Invoice): InvoiceView => ({
  id: i.id,
  orderId: i.orderId,
  number: i.number,
  totalMinor: i.totalMinor,
  currency: i.currency,
  issuedAt: i.issuedAt.toISOString(),
});

@Injectable()
export class InvoicesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
  ) {}

  /**
   * Issues the invoice of a paid order inside the payment's transaction. The per-year
   * counter row is locked until commit, and rolls back with it: numbers have no gaps.
   */
  async issue(manager: EntityManager, order: Order): Promise<InvoiceView> {
    const [{ year } = { year: new Date().getUTCFullYear() }] = await manager.query<{ year: number }[]>(
      `SELECT extract(year FROM now() AT TIME ZONE 'UTC')::int AS year`,
    );
    const counters = `${schemaOf(manager)}.invoice_counters`;
    const [counter] = await manager.query<{ last: number }[]>(
      `INSERT INTO ${counters} AS c (year, last) VALUES ($1, 1)
       ON CONFLICT (year) DO UPDATE SET last = c.last + 1 RETURNING last`,
      [year],
    );
    if (!counter) throw new Error('invoice counter did not return a number');
    const invoice = manager.create(Invoice, {
      id: randomUUID(),
      orderId: order.id,
      year,
      sequence: counter.last,
      number: `${year}-${String(counter.last).padStart(6, '0')}`,
      totalMinor: order.totalMinor,
      currency: order.currency,
    });
    await manager.insert(Invoice, invoice);
    const saved = await manager.findOneByOrFail(Invoice, { id: invoice.id });
    await this.outbox.append(manager, [
      createEvent({
        type: 'invoices.invoice.issued.v1',
        source: 'orders',
        subject: saved.id,
        aggregatetype: 'invoice',
        aggregateversion: 1,
        data: {
          invoiceId: saved.id,
          orderId: order.id,
          number: saved.number,
          total: { amountMinor: saved.totalMinor, currency: saved.currency },
        },
      }),
    ]);
    invoicesIssued.inc();
    return invoiceView(saved);
  }

  async get(id: string): Promise<InvoiceView> {
    const invoice = await this.dataSource.getRepository(Invoice).findOneBy({ id });
    if (!invoice) throw new OrdersError(OrdersErrorCode.InvoiceNotFound, `invoice ${id} does not exist`);
    return invoiceView(invoice);
  }

  /** Newest first, keyset-paginated on (issued_at, id). */
  async list(query: ListInvoicesQuery): Promise<Page<InvoiceView>> {
    const limit = query.limit ?? 50;
    const qb = this.dataSource.getRepository(Invoice).createQueryBuilder('i');
    if (query.orderId) qb.andWhere('i.order_id = :orderId', { orderId: query.orderId });
    if (query.cursor) {
      const [issuedAt, id] = decodeCursor(query.cursor, 2);
      qb.andWhere('(i.issued_at, i.id) < (:issuedAt, :id)', { issuedAt, id });
    }
    const rows = await qb
      .orderBy('i.issued_at', 'DESC')
      .addOrderBy('i.id', 'DESC')
      .limit(limit + 1)
      .getMany();
    const page = toPage(rows, limit, (i) => [i.issuedAt.toISOString(), i.id]);
    return { items: page.items.map(invoiceView), nextCursor: page.nextCursor };
  }
}
