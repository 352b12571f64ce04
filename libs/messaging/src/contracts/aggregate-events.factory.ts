import { randomUUID } from 'node:crypto';
import { createEvent, type EventEnvelope } from '../lib/envelope';
import { EventFoldError } from './aggregate-reducer';

// Test-data builders for the reducer specs (not exported from the library). Each builds one
// valid event; unless told otherwise an event's time is `minute(version)`.

const START = Date.UTC(2025, 2, 1, 14, 0);
export const minute = (n: number): Date => new Date(START + n * 60_000);
export const newId = (): string => randomUUID();

export interface EventOptions {
  version?: number;
  time?: Date;
  id?: string;
}

function event<T>(type: string, aggregatetype: string, subject: string, data: T, version: number, options: EventOptions): EventEnvelope<T> {
  const aggregateversion = options.version ?? version;
  return createEvent({
    type,
    source: 'spec',
    subject,
    aggregatetype,
    aggregateversion,
    data,
    time: options.time ?? minute(aggregateversion),
    ...(options.id ? { id: options.id } : {}),
  });
}

export const CUSTOMER_ID = '5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f';
export const PRODUCT_A = '0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d';
export const PRODUCT_B = '1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e';

type OrderStatus = 'pending' | 'confirmed' | 'paid' | 'fulfilled' | 'cancelled';

/** An order for 2 × A at 12.50 EUR and 1 × B at 5.00 EUR: 30.00 EUR. */
export const orderCreated = (orderId: string, options: EventOptions = {}) =>
  event(
    'orders.order.created.v1',
    'order',
    orderId,
    {
      orderId,
      customerId: CUSTOMER_ID,
      status: 'pending',
      lines: [
        { productId: PRODUCT_A, quantity: 2, unitPrice: { amountMinor: 1250, currency: 'EUR' } },
        { productId: PRODUCT_B, quantity: 1, unitPrice: { amountMinor: 500, currency: 'EUR' } },
      ],
      total: { amountMinor: 3000, currency: 'EUR' },
    },
    1,
    options,
  );

export const orderStatusChanged = (orderId: string, version: number, from: OrderStatus, to: OrderStatus, options: EventOptions = {}) =>
  event('orders.order.status-changed.v1', 'order', orderId, { orderId, customerId: CUSTOMER_ID, from, to }, version, options);

export const customerCreated = (customerId: string, options: EventOptions = {}) =>
  event('customers.customer.created.v1', 'customer', customerId, { customerId, status: 'active' }, 1, options);

export const customerUpdated = (
  customerId: string,
  version: number,
  change: { status?: 'active' | 'suspended'; changed?: string[] } = {},
  options: EventOptions = {},
) =>
  event(
    'customers.customer.updated.v1',
    'customer',
    customerId,
    { customerId, status: change.status ?? 'active', changed: change.changed ?? ['name'] },
    version,
    options,
  );

export const customerDeleted = (customerId: string, version: number, options: EventOptions = {}) =>
  event('customers.customer.deleted.v1', 'customer', customerId, { customerId }, version, options);

export const paymentCaptured = (paymentId: string, orderId: string, amountMinor: number, options: EventOptions = {}) =>
  event('payments.payment.captured.v1', 'payment', paymentId, { paymentId, orderId, amount: { amountMinor, currency: 'EUR' } }, 1, options);

export const paymentRefunded = (paymentId: string, orderId: string, amountMinor: number, options: EventOptions = {}) =>
  event('payments.payment.refunded.v1', 'payment', paymentId, { paymentId, orderId, amount: { amountMinor, currency: 'EUR' } }, 1, options);

export const invoiceIssued = (invoiceId: string, orderId: string, number: string, options: EventOptions = {}) =>
  event(
    'invoices.invoice.issued.v1',
    'invoice',
    invoiceId,
    { invoiceId, orderId, number, total: { amountMinor: 3000, currency: 'EUR' } },
    1,
    options,
  );

/** The EventFoldError `fn` throws; fails if it throws anything else or nothing. */
export function foldError(fn: () => unknown): EventFoldError {
  try {
    fn();
  } catch (error) {
    if (error instanceof EventFoldError) return error;
    throw error;
  }
  throw new Error('expected an EventFoldError');
}

/** Freezes a value and everything reachable from it, so a reducer that mutates its input throws. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
