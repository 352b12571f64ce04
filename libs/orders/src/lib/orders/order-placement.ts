import { randomUUID } from 'node:crypto';
import { createEvent } from '@keelson/messaging';
import { metricsRegistry } from '@keelson/observability';
import { OutboxWriter, type OutboxRows } from '@keelson/outbox';
import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { Counter } from 'prom-client';
import type { Pool } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { OrdersError, OrdersErrorCode } from '../errors';
import { MAX_AMOUNT_MINOR } from '../money';
import { allowedActions } from './order-state';
import type { CreateOrderDto, OrderView } from './orders.dto';

interface CustomerRow {
  id: string;
  status: string;
}

interface ProductRow {
  id: string;
  sku: string;
  price_minor: string;
  currency: string;
  active: boolean;
}

/** An order priced and ready to write: its rows, its event and the response it produces. */
interface PlannedOrder {
  view: OrderView;
  lineIds: string[];
  events: OutboxRows;
}

const ordersCreated = new Counter({ name: 'orders_created_total', help: 'Orders created.', registers: [metricsRegistry] });

type Query = <T>(sql: string, params: unknown[]) => Promise<T>;

/** Most orders one statement writes; larger bursts become several statements. */
const MAX_BATCH = 200;

/**
 * Prices an order from the catalogue (never from the client): the customer must exist and
 * be active, every product must exist, be for sale and be priced in the order's currency.
 */
export function priceOrder(
  input: CreateOrderDto,
  customer: CustomerRow | undefined,
  catalogue: ReadonlyMap<string, ProductRow>,
  writer: OutboxWriter,
  now = new Date(),
): PlannedOrder {
  if (!customer) throw new OrdersError(OrdersErrorCode.CustomerNotFound, `customer ${input.customerId} does not exist`);
  if (customer.status !== 'active')
    throw new OrdersError(OrdersErrorCode.CustomerNotActive, `customer ${customer.id} is ${customer.status}`);
  let total = 0;
  const lines = input.lines.map((line, position) => {
    const product = catalogue.get(line.productId);
    if (!product) throw new OrdersError(OrdersErrorCode.ProductNotFound, `line ${position + 1}: product ${line.productId} does not exist`);
    if (!product.active)
      throw new OrdersError(OrdersErrorCode.ProductNotActive, `line ${position + 1}: product ${product.sku} is not for sale`);
    if (product.currency !== input.currency) {
      throw new OrdersError(
        OrdersErrorCode.CurrencyMismatch,
        `line ${position + 1}: product ${product.sku} is priced in ${product.currency}, the order is in ${input.currency}`,
      );
    }
    const unitPriceMinor = Number(product.price_minor);
    total += unitPriceMinor * line.quantity;
    return { productId: product.id, quantity: line.quantity, unitPriceMinor };
  });
  if (total > MAX_AMOUNT_MINOR)
    throw new OrdersError(OrdersErrorCode.AmountOverflow, `the order total ${total} exceeds ${MAX_AMOUNT_MINOR} minor units`);

  const id = randomUUID();
  const at = now.toISOString();
  const view: OrderView = {
    id,
    customerId: customer.id,
    status: 'pending',
    currency: input.currency,
    totalMinor: total,
    lines,
    allowedActions: allowedActions('pending').filter((a) => a !== 'pay'),
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  const event = createEvent({
    type: 'orders.order.created.v1',
    source: 'orders',
    subject: id,
    aggregatetype: 'order',
    aggregateversion: 1,
    time: now, // the order's createdAt, so the order folded from its events matches the row
    data: {
      orderId: id,
      customerId: customer.id,
      status: 'pending',
      lines: lines.map((l) => ({
        productId: l.productId,
        quantity: l.quantity,
        unitPrice: { amountMinor: l.unitPriceMinor, currency: input.currency },
      })),
      total: { amountMinor: total, currency: input.currency },
    },
  });
  return { view, lineIds: lines.map(() => randomUUID()), events: writer.prepare([event]) };
}

/**
 * Places orders. Placements that arrive together are coalesced (group commit): the
 * customers and products of every order that reaches this point in one event-loop turn are
 * read with one query each, and the orders, their lines and their outbox events are written
 * with one statement. A statement is atomic, so each order commits with its event or not at
 * all, and no response is sent before its commit. If a combined write fails, each order of
 * it is retried alone so one bad order never fails its neighbours.
 *
 * Inside a caller's transaction (idempotent requests), `placeIn` does the same for one order
 * on the caller's connection.
 */
@Injectable()
export class OrderPlacement {
  private readonly customers: DataLoader<string, CustomerRow | undefined>;
  private readonly products: DataLoader<string, ProductRow | undefined>;
  private readonly writes: DataLoader<PlannedOrder, true>;
  private readonly pool: Query;

  constructor(
    dataSource: DataSource,
    private readonly outbox: OutboxWriter,
  ) {
    // The driver's pg pool directly: on this path TypeORM's query runner per statement costs more than the statement.
    const pool = (dataSource.driver as PostgresDriver).master as Pool;
    this.pool = async <T>(sql: string, params: unknown[]) => (await pool.query(sql, params)).rows as T;
    // Batches are dispatched after the I/O of the current turn, so requests read together batch together.
    const schedule = { batchScheduleFn: (dispatch: () => void) => setImmediate(dispatch), cache: false, maxBatchSize: MAX_BATCH };
    this.customers = new DataLoader((ids) => this.readCustomers(this.pool, ids), schedule);
    this.products = new DataLoader((ids) => this.readProducts(this.pool, ids), schedule);
    this.writes = new DataLoader((plans) => this.writeAll(plans), schedule);
  }

  async place(input: CreateOrderDto): Promise<OrderView> {
    const [customer, products] = await Promise.all([
      this.customers.load(input.customerId),
      this.products.loadMany([...new Set(input.lines.map((l) => l.productId))]),
    ]);
    const plan = priceOrder(input, customer, catalogueOf(products), this.outbox);
    await this.writes.load(plan);
    ordersCreated.inc();
    return plan.view;
  }

  async placeIn(manager: EntityManager, input: CreateOrderDto): Promise<OrderView> {
    const query: Query = (sql, params) => manager.query(sql, params);
    const [[customer], products] = await Promise.all([
      this.readCustomers(query, [input.customerId]),
      this.readProducts(query, [...new Set(input.lines.map((l) => l.productId))]),
    ]);
    const plan = priceOrder(input, customer, catalogueOf(products), this.outbox);
    await this.write(query, [plan]);
    ordersCreated.inc(); // counted before the caller's commit; a rollback after this point is a failed request
    return plan.view;
  }

  private async readCustomers(query: Query, ids: readonly string[]): Promise<(CustomerRow | undefined)[]> {
    const rows = await query<CustomerRow[]>(`SELECT id, status FROM orders.customers WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`, [
      ids,
    ]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  private async readProducts(query: Query, ids: readonly string[]): Promise<(ProductRow | undefined)[]> {
    const rows = await query<ProductRow[]>(
      `SELECT id, sku, price_minor, currency, active FROM orders.products WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  private async writeAll(plans: readonly PlannedOrder[]): Promise<(true | Error)[]> {
    try {
      await this.write(this.pool, plans);
      return plans.map(() => true);
    } catch (error) {
      if (plans.length === 1) return [error instanceof Error ? error : new Error(String(error))];
      return Promise.all(
        plans.map((plan) =>
          this.write(this.pool, [plan]).then(
            () => true as const,
            (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
          ),
        ),
      );
    }
  }

  /** One statement: the orders, their lines, their outbox rows and the relay's wake-up. */
  private async write(query: Query, plans: readonly PlannedOrder[]): Promise<void> {
    const orders = plans.map((p) => p.view);
    const lines = plans.flatMap((p) =>
      p.view.lines.map((line, position) => ({ ...line, position, id: p.lineIds[position], orderId: p.view.id })),
    );
    const outbox = this.outbox.insert(
      plans.map((p) => p.events),
      12,
    );
    await query(
      `WITH new_orders AS (
          INSERT INTO orders.orders (id, customer_id, status, currency, total_minor, version, created_at, updated_at)
          SELECT id, customer_id, 'pending', currency, total_minor, 1, at, at
          FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::timestamptz[]) AS o(id, customer_id, currency, total_minor, at)
          RETURNING 1),
        new_lines AS (
          INSERT INTO orders.order_lines (id, order_id, product_id, quantity, unit_price_minor, position)
          SELECT * FROM unnest($6::uuid[], $7::uuid[], $8::uuid[], $9::int[], $10::bigint[], $11::int[])
          RETURNING 1),
        events AS (${outbox.sql})
      SELECT pg_notify($18, count(*)::text) FROM events`,
      [
        orders.map((o) => o.id),
        orders.map((o) => o.customerId),
        orders.map((o) => o.currency),
        orders.map((o) => o.totalMinor),
        orders.map((o) => o.createdAt),
        lines.map((l) => l.id),
        lines.map((l) => l.orderId),
        lines.map((l) => l.productId),
        lines.map((l) => l.quantity),
        lines.map((l) => l.unitPriceMinor),
        lines.map((l) => l.position),
        ...outbox.params,
        outbox.channel,
      ],
    );
  }
}

function catalogueOf(rows: readonly (ProductRow | undefined | Error)[]): Map<string, ProductRow> {
  const catalogue = new Map<string, ProductRow>();
  for (const row of rows) {
    if (row instanceof Error) throw row;
    if (row) catalogue.set(row.id, row);
  }
  return catalogue;
}
