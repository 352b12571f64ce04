import type { EventEnvelope } from '../../lib/envelope';
import { defineReducer, EventFoldError, type AggregateReducer, type AggregateTracking } from '../aggregate-reducer';
import { paymentsTopic } from './payments.contract';

/**
 * A payment as its one event describes it. The orders service records a capture and a refund each
 * as its own payment (own id, version 1), so a payment never receives a second event.
 */
export interface PaymentState extends AggregateTracking {
  orderId: string;
  kind: 'capture' | 'refund';
  amountMinor: number;
  currency: string;
  /** The time of the event that recorded the payment. */
  createdAt: string;
}

export const paymentReducer: AggregateReducer<PaymentState> = defineReducer({
  aggregatetype: 'payment',
  contract: paymentsTopic,
  idOf: (event) => event.data.paymentId,
  apply(state: PaymentState | undefined, event, stamp): PaymentState {
    if (state) {
      throw new EventFoldError(
        'illegal-sequence',
        `payment ${state.id} was already recorded as a ${state.kind} at version ${state.version}; event ${stamp.lastEventId} (${event.type}) records it again`,
        stamp.lastEventId,
      );
    }
    const { data } = event;
    const common = { ...stamp, orderId: data.orderId, amountMinor: data.amount.amountMinor, currency: data.amount.currency };
    switch (event.type) {
      case 'payments.payment.captured.v1':
        return { ...common, kind: 'capture', createdAt: stamp.updatedAt };
      case 'payments.payment.refunded.v1':
        return { ...common, kind: 'refund', createdAt: stamp.updatedAt };
    }
  },
});

/** Folds one event of a payment into its state; see `AggregateReducer.reduce`. */
export function reduce(state: PaymentState | undefined, event: EventEnvelope): PaymentState {
  return paymentReducer.reduce(state, event);
}
