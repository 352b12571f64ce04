import { createEvent } from '@keelson/messaging';
import { INVALIDATION_RULES, invalidationForRow, invalidationsFor } from './rules';

const event = (type: string, subject: string, data: Record<string, unknown> = {}) =>
  createEvent({ type, source: 'spec', subject, aggregatetype: type.split('.')[1] ?? 'x', aggregateversion: 1, data });

describe('invalidation rules', () => {
  it('evicts the order for its own events and for payments and invoices of it', () => {
    expect(invalidationsFor(event('orders.order.status-changed.v1', 'o-1'))).toEqual([{ kind: 'key', cache: 'orders:order', id: 'o-1' }]);
    expect(invalidationsFor(event('payments.payment.captured.v1', 'p-1', { orderId: 'o-2' }))).toEqual([
      { kind: 'key', cache: 'orders:order', id: 'o-2' },
    ]);
    expect(invalidationsFor(event('invoices.invoice.issued.v1', 'i-1', { orderId: 'o-3' }))).toEqual([
      { kind: 'key', cache: 'orders:order', id: 'o-3' },
    ]);
  });

  it('evicts a customer and everything tagged with it', () => {
    expect(invalidationsFor(event('customers.customer.updated.v1', 'c-1'))).toEqual([
      { kind: 'key', cache: 'orders:customer', id: 'c-1' },
      { kind: 'tag', tag: 'customer:c-1' },
    ]);
  });

  it('asks for nothing for events no rule names, or without the id a rule needs', () => {
    expect(invalidationsFor(event('auth.token.revoked.v1', 'jti'))).toEqual([]);
    expect(invalidationsFor(event('payments.payment.refunded.v1', 'p-1', { orderId: 42 }))).toEqual([]);
  });

  it('covers every event type of the cached aggregates exactly once', () => {
    const types = INVALIDATION_RULES.flatMap((r) => r.events);
    expect(new Set(types).size).toBe(types.length);
  });

  it('maps row changes of cached tables to their cache, and ignores the others', () => {
    expect(invalidationForRow({ table: 'orders', op: 'UPDATE', id: 'o-1' })).toEqual({ kind: 'key', cache: 'orders:order', id: 'o-1' });
    expect(invalidationForRow({ table: 'customers', op: 'DELETE', id: 'c-1' })).toEqual({
      kind: 'key',
      cache: 'orders:customer',
      id: 'c-1',
    });
    expect(invalidationForRow({ table: 'products', op: 'UPDATE', id: 'p-1' })).toBeUndefined();
  });
});
