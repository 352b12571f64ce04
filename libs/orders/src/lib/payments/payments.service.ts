import { randomUUID } from 'node:crypto';
import { decodeCursor, toPage, type Page } from '@keelson/database';
import { createEvent } from '@keelson/messaging';
import { metricsRegistry } from '@keelson/observability';
import { OutboxWriter } from '@keelson/outbox';
import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource, type EntityManager } from 'typeorm';
import { OrdersError, OrdersErrorCode } from '../errors';
import { InvoicesService } from '../invoices/invoices.service';
import { Order } from '../orders/order.entity';
import { OrdersService } from '../orders/orders.service';
import { schemaOf } from '../schema';
import { Payment } from './payment.entity';
import type { CreatePaymentDto, ListPaymentsQuery, PaymentView } from './payments.dto';

const payments = new Counter({
  name: 'payments_total',
  help: 'Payments recorded, by kind (capture, refund).',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});

interface Balance {
  capturedMinor: number;
  refundedMinor: number;
}

@Injectable()
export class PaymentsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly orders: OrdersService,
    private readonly invoices: InvoicesService,
    private readonly outbox: OutboxWriter,
  ) {}

  /**
   * Captures or refunds against an order under its row lock, checked against what is owed
   * (captures) or what was captured and not yet refunded (refunds). The capture that
   * settles the order marks it paid and issues its invoice in the same transaction.
   */
  async record(manager: EntityManager, input: CreatePaymentDto): Promise<PaymentView> {
    const order = await manager.findOne(Order, { where: { id: input.orderId }, lock: { mode: 'pessimistic_write' } });
    if (!order) throw new OrdersError(OrdersErrorCode.OrderNotFound, `order ${input.orderId} does not exist`);
    if (input.currency !== order.currency) {
      throw new OrdersError(
        OrdersErrorCode.CurrencyMismatch,
        `order ${order.id} is in ${order.currency}, the payment is in ${input.currency}`,
      );
    }
    const balance = await this.balance(manager, order.id);
    const owed = order.totalMinor - balance.capturedMinor;
    const refundable = balance.capturedMinor - balance.refundedMinor;
    if (input.kind === 'capture') {
      if (order.status !== 'confirmed') {
        throw new OrdersError(
          OrdersErrorCode.PaymentNotAllowed,
          `cannot capture for an order that is ${order.status}; only confirmed orders take payment`,
        );
      }
      if (input.amountMinor > owed) {
        throw new OrdersError(
          OrdersErrorCode.AmountExceedsBalance,
          `capture of ${input.amountMinor} exceeds the ${owed} still owed on order ${order.id}`,
        );
      }
    } else {
      if (!['paid', 'fulfilled', 'confirmed'].includes(order.status)) {
        throw new OrdersError(OrdersErrorCode.PaymentNotAllowed, `cannot refund an order that is ${order.status}`);
      }
      if (input.amountMinor > refundable) {
        throw new OrdersError(
          OrdersErrorCode.AmountExceedsBalance,
          `refund of ${input.amountMinor} exceeds the ${refundable} refundable on order ${order.id}`,
        );
      }
    }
    const payment = manager.create(Payment, {
      id: randomUUID(),
      orderId: order.id,
      kind: input.kind,
      amountMinor: input.amountMinor,
      currency: input.currency,
    });
    await manager.insert(Payment, payment);
    const saved = await manager.findOneByOrFail(Payment, { id: payment.id });
    await this.outbox.append(manager, [
      createEvent({
        type: input.kind === 'capture' ? 'payments.payment.captured.v1' : 'payments.payment.refunded.v1',
        source: 'orders',
        subject: saved.id,
        aggregatetype: 'payment',
        aggregateversion: 1,
        data: { paymentId: saved.id, orderId: order.id, amount: { amountMinor: saved.amountMinor, currency: saved.currency } },
      }),
    ]);
    payments.inc({ kind: input.kind });

    let invoiceId: string | undefined;
    const settled = input.kind === 'capture' && input.amountMinor === owed;
    if (settled) {
      await this.orders.transition(manager, order.id, 'pay');
      invoiceId = (await this.invoices.issue(manager, order)).id;
    }
    const after =
      input.kind === 'capture'
        ? { owed: owed - input.amountMinor, refundable: refundable + input.amountMinor }
        : { owed, refundable: refundable - input.amountMinor };
    return {
      ...this.view(saved),
      balance: { owedMinor: after.owed, refundableMinor: after.refundable },
      ...(invoiceId ? { invoiceId } : {}),
    };
  }

  async get(id: string): Promise<Omit<PaymentView, 'balance'>> {
    const payment = await this.dataSource.getRepository(Payment).findOneBy({ id });
    if (!payment) throw new OrdersError(OrdersErrorCode.PaymentNotFound, `payment ${id} does not exist`);
    return this.view(payment);
  }

  /** An order's payments, oldest first. */
  async list(query: ListPaymentsQuery): Promise<Page<Omit<PaymentView, 'balance'>>> {
    const limit = query.limit ?? 50;
    const qb = this.dataSource.getRepository(Payment).createQueryBuilder('p').where('p.order_id = :orderId', { orderId: query.orderId });
    if (query.cursor) {
      const [createdAt, id] = decodeCursor(query.cursor, 2);
      qb.andWhere('(p.created_at, p.id) > (:createdAt, :id)', { createdAt, id });
    }
    const rows = await qb
      .orderBy('p.created_at', 'ASC')
      .addOrderBy('p.id', 'ASC')
      .limit(limit + 1)
      .getMany();
    const page = toPage(rows, limit, (p) => [p.createdAt.toISOString(), p.id]);
    return { items: page.items.map((p) => this.view(p)), nextCursor: page.nextCursor };
  }

  private async balance(manager: EntityManager, orderId: string): Promise<Balance> {
    const [row] = await manager.query<{ captured: string | null; refunded: string | null }[]>(
      `SELECT sum(amount_minor) FILTER (WHERE kind = 'capture') AS captured, sum(amount_minor) FILTER (WHERE kind = 'refund') AS refunded
         FROM ${schemaOf(manager)}.payments WHERE order_id = $1`,
      [orderId],
    );
    return { capturedMinor: Number(row?.captured ?? 0), refundedMinor: Number(row?.refunded ?? 0) };
  }

  private view(p: Payment): Omit<PaymentView, 'balance'> {
    return {
      id: p.id,
      orderId: p.orderId,
      kind: p.kind,
      amountMinor: p.amountMinor,
      currency: p.currency,
      createdAt: p.createdAt.toISOString(),
    };
  }
}
