import type { EventEnvelope } from '@keelson/messaging';

/** One thing to drop from a cache. */
export type Invalidation = { kind: 'key'; cache: string; id: string } | { kind: 'tag'; tag: string };

export interface InvalidationRule {
  /** Event types the rule applies to. */
  events: readonly string[];
  /** Why, in one line (the README's table). */
  description: string;
  invalidations: (event: EventEnvelope) => Invalidation[];
}

const data = (event: EventEnvelope, field: string): string | undefined => {
  const value = (event.data as Record<string, unknown> | undefined)?.[field];
  return typeof value === 'string' ? value : undefined;
};
const orderEntry = (id: string | undefined): Invalidation[] => (id ? [{ kind: 'key', cache: 'orders:order', id }] : []);

/**
 * Which cache entries each domain event makes stale. The caches are the orders service's
 * read caches (`orders:order`, `orders:customer`; keys `<cache>:g<generation>:<id>`); a rule
 * names an entry by cache and id, or a tag every dependent entry declared.
 */
export const INVALIDATION_RULES: readonly InvalidationRule[] = [
  {
    events: ['orders.order.created.v1', 'orders.order.status-changed.v1'],
    description: 'the order itself (its status, version and allowed actions changed)',
    invalidations: (event) => orderEntry(event.subject),
  },
  {
    events: ['payments.payment.captured.v1', 'payments.payment.refunded.v1'],
    description: 'the order the payment is for (a capture can mark it paid)',
    invalidations: (event) => orderEntry(data(event, 'orderId')),
  },
  {
    events: ['invoices.invoice.issued.v1'],
    description: 'the order the invoice is for',
    invalidations: (event) => orderEntry(data(event, 'orderId')),
  },
  {
    events: ['customers.customer.created.v1', 'customers.customer.updated.v1', 'customers.customer.deleted.v1'],
    description: 'the customer, and every entry tagged with it',
    invalidations: (event) => [
      { kind: 'key', cache: 'orders:customer', id: event.subject },
      { kind: 'tag', tag: `customer:${event.subject}` },
    ],
  },
];

const byType = new Map<string, InvalidationRule[]>();
for (const rule of INVALIDATION_RULES) {
  for (const type of rule.events) byType.set(type, [...(byType.get(type) ?? []), rule]);
}

/** The invalidations an event calls for (none for event types no rule names). */
export function invalidationsFor(event: EventEnvelope): Invalidation[] {
  return (byType.get(event.type) ?? []).flatMap((rule) => rule.invalidations(event));
}

/** A row change announced by the orders database's `orders_changes` NOTIFY channel. */
export interface RowChange {
  table: string;
  op: 'INSERT' | 'UPDATE' | 'DELETE';
  id: string;
  version?: number;
  /** Commit-side clock, epoch seconds (fractional), when the trigger ran. */
  at?: number;
}

const TABLE_CACHES: Record<string, string> = { orders: 'orders:order', customers: 'orders:customer' };

/** The invalidation a row change calls for, if its table is cached. */
export function invalidationForRow(change: RowChange): Invalidation | undefined {
  const cache = TABLE_CACHES[change.table];
  return cache ? { kind: 'key', cache, id: change.id } : undefined;
}
