import type { EventEnvelope } from '../lib/envelope';
import { EventFoldError, type AggregateReducer, type AggregateTracking } from './aggregate-reducer';
import { customerReducer, type CustomerState } from './customers/customers.reducer';
import { invoiceReducer, type InvoiceState } from './invoices/invoices.reducer';
import { orderReducer, type OrderState } from './orders/orders.reducer';
import { paymentReducer, type PaymentState } from './payments/payments.reducer';

export type { CustomerState, InvoiceState, OrderState, PaymentState };
export { EventFoldError, type AggregateReducer, type AggregateTracking, type EventFoldErrorCode } from './aggregate-reducer';

/** The platform's stateful aggregates, keyed by the envelope's `aggregatetype`. */
export const aggregateReducers = {
  order: orderReducer,
  customer: customerReducer,
  payment: paymentReducer,
  invoice: invoiceReducer,
} as const;

export type AggregateType = keyof typeof aggregateReducers;

export interface AggregateStates {
  order: OrderState;
  customer: CustomerState;
  payment: PaymentState;
  invoice: InvoiceState;
}

export type AggregateState = AggregateStates[AggregateType];

export interface FoldResult<S> {
  /** The aggregate's state after the last event, or null when there were no events. */
  state: S | null;
  /** How many events changed the state (duplicates are not counted). */
  eventsUsed: number;
  lastEventId: string | null;
}

export function isAggregateType(candidate: string): candidate is AggregateType {
  return Object.hasOwn(aggregateReducers, candidate);
}

/**
 * Folds one aggregate's events into its state. The events may come in any order: they are sorted
 * by aggregateversion, then time, then id, so the result does not depend on how they were read.
 * Filter by time before calling to get the state as of a moment.
 * Throws `EventFoldError` for an unknown aggregate type, or an event the reducer refuses.
 */
export function foldEvents<K extends AggregateType>(aggregatetype: K, events: readonly EventEnvelope[]): FoldResult<AggregateStates[K]>;
export function foldEvents(aggregatetype: string, events: readonly EventEnvelope[]): FoldResult<AggregateState>;
export function foldEvents(aggregatetype: string, events: readonly EventEnvelope[]): FoldResult<AggregateTracking> {
  if (!isAggregateType(aggregatetype)) {
    throw new EventFoldError(
      'unknown-aggregate-type',
      `no reducer for aggregate type "${aggregatetype}"; known: ${Object.keys(aggregateReducers).join(', ')}`,
    );
  }
  const reducer: AggregateReducer<AggregateState> = aggregateReducers[aggregatetype];
  let state: AggregateState | undefined;
  let eventsUsed = 0;
  for (const event of [...events].sort(inStreamOrder)) {
    const next = reducer.reduce(state, event);
    // A reducer hands back the same object for a duplicate.
    if (next !== state) eventsUsed++;
    state = next;
  }
  return { state: state ?? null, eventsUsed, lastEventId: state?.lastEventId ?? null };
}

function inStreamOrder(a: EventEnvelope, b: EventEnvelope): number {
  // The id breaks ties so two events claiming one version fold the same way whatever the input order.
  return a.aggregateversion - b.aggregateversion || Date.parse(a.time) - Date.parse(b.time) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
