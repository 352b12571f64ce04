import type { EventEnvelope } from '../../lib/envelope';
import { defineReducer, EventFoldError, type AggregateReducer, type AggregateTracking } from '../aggregate-reducer';
import { invoicesTopic } from './invoices.contract';

/** An invoice as its issued event describes it; invoices are immutable once issued. */
export interface InvoiceState extends AggregateTracking {
  orderId: string;
  number: string;
  totalMinor: number;
  currency: string;
  issuedAt: string;
}

export const invoiceReducer: AggregateReducer<InvoiceState> = defineReducer({
  aggregatetype: 'invoice',
  contract: invoicesTopic,
  idOf: (event) => event.data.invoiceId,
  apply(state: InvoiceState | undefined, event, stamp): InvoiceState {
    if (state) {
      throw new EventFoldError(
        'illegal-sequence',
        `invoice ${state.id} was already issued at version ${state.version}; event ${stamp.lastEventId} issues it again`,
        stamp.lastEventId,
      );
    }
    const { data } = event;
    return {
      ...stamp,
      orderId: data.orderId,
      number: data.number,
      totalMinor: data.total.amountMinor,
      currency: data.total.currency,
      issuedAt: stamp.updatedAt,
    };
  },
});

/** Folds one event of an invoice into its state; see `AggregateReducer.reduce`. */
export function reduce(state: InvoiceState | undefined, event: EventEnvelope): InvoiceState {
  return invoiceReducer.reduce(state, event);
}
