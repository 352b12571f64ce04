import { decodeCursor, toPage, type Page } from '@keelson/database';
import { createEvent } from '@keelson/messaging';
import { metricsRegistry } from '@keelson/observability';
import { OutboxWriter } from '@keelson/outbox';
import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, type EntityManager } from 'typeorm';
import { OrdersError, OrdersErrorCode } from '../errors';
import { OrderCache } from '../read-caches';
import { Order } from './order.entity';
import { allowedActions, nextStatus, type OrderAction } from './order-state';
import type { ListOrdersQuery, OrderView } from './orders.dto';

const orderTransitions = new Counter({
  name: 'order_transitions_total',
  help: 'Order state transitions, by source and target status.',
  labelNames: ['from', 'to'] as const,
  registers: [metricsRegistry],
});

export function orderView(order: Order): OrderView {
  return {
    id: order.id,
    customerId: order.customerId,
    status: order.status,
    currency: order.currency,
    totalMinor: order.totalMinor,
    lines: [...order.lines]
      .sort((a, b) => a.position - b.position)
      .map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceMinor: l.unitPriceMinor })),
    allowedActions: allowedActions(order.status).filter((a) => a !== 'pay'),
    version: order.version,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

@Injectable()
export class OrdersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly cache: OrderCache,
  ) {}

  async get(id: string): Promise<OrderView> {
    const view = await this.cache.getOrLoad(id, async () => {
      const order = await this.dataSource.getRepository(Order).findOne({ where: { id }, relations: { lines: true } });
      return order ? orderView(order) : undefined;
    });
    if (!view) throw new OrdersError(OrdersErrorCode.OrderNotFound, `order ${id} does not exist`);
    return view;
  }

  /**
   * Applies a state-machine action under a row lock, so of two concurrent transitions
   * exactly one wins; the other sees the new state (409) or a stale version (412).
   */
  async transition(manager: EntityManager, id: string, action: OrderAction, expectedVersion?: number): Promise<OrderView> {
    const locked = await manager.findOne(Order, { where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!locked) throw new OrdersError(OrdersErrorCode.OrderNotFound, `order ${id} does not exist`);
    if (expectedVersion !== undefined && locked.version !== expectedVersion) {
      throw new OrdersError(
        OrdersErrorCode.VersionMismatch,
        `order ${id} is at version ${locked.version}, not ${expectedVersion}; read it again`,
      );
    }
    const to = nextStatus(locked.status, action);
    if (!to) {
      const allowed = allowedActions(locked.status).filter((a) => a !== 'pay');
      throw new OrdersError(
        OrdersErrorCode.IllegalTransition,
        `cannot ${action} an order that is ${locked.status}${allowed.length ? `; allowed: ${allowed.join(', ')}` : '; it is final'}`,
      );
    }
    const from = locked.status;
    await manager.update(Order, { id }, { status: to }); // TypeORM bumps the version column
    const order = await this.load(manager, id);
    await this.outbox.append(manager, [
      createEvent({
        type: 'orders.order.status-changed.v1',
        source: 'orders',
        subject: id,
        aggregatetype: 'order',
        aggregateversion: order.version,
        // The change's time as the row records it, so the order folded from its events matches the row.
        time: order.updatedAt,
        data: { orderId: id, customerId: order.customerId, from, to },
      }),
    ]);
    orderTransitions.inc({ from, to });
    return orderView(order);
  }

  /** Newest first, keyset-paginated on (created_at, id); filter by customer and status. */
  async list(query: ListOrdersQuery): Promise<Page<OrderView>> {
    const limit = query.limit ?? 50;
    const qb = this.dataSource.getRepository(Order).createQueryBuilder('o').leftJoinAndSelect('o.lines', 'l');
    const ids = this.dataSource.getRepository(Order).createQueryBuilder('o').select('o.id', 'id').addSelect('o.created_at', 'created_at');
    if (query.customerId) ids.andWhere('o.customer_id = :customerId', { customerId: query.customerId });
    if (query.status) ids.andWhere('o.status = :status', { status: query.status });
    if (query.cursor) {
      const [createdAt, id] = decodeCursor(query.cursor, 2);
      ids.andWhere('(o.created_at, o.id) < (:createdAt, :id)', { createdAt, id });
    }
    const page = await ids
      .orderBy('o.created_at', 'DESC')
      .addOrderBy('o.id', 'DESC')
      .limit(limit + 1)
      .getRawMany<{ id: string; created_at: Date }>();
    const orders = page.length === 0 ? [] : await qb.where('o.id IN (:...ids)', { ids: page.map((r) => r.id) }).getMany();
    const byId = new Map(orders.map((o) => [o.id, o]));
    const sorted = page.map((r) => byId.get(r.id)).filter((o): o is Order => o !== undefined);
    const result = toPage(sorted, limit, (o) => [o.createdAt.toISOString(), o.id]);
    return { items: result.items.map(orderView), nextCursor: result.nextCursor };
  }

  invalidate(id: string): Promise<void> {
    return this.cache.invalidate(id);
  }

  private load(manager: EntityManager, id: string): Promise<Order> {
    return manager.findOneOrFail(Order, { where: { id }, relations: { lines: true } });
  }
}
