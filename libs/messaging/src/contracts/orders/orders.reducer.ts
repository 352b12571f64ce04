import type { z } from 'zod';
import type { EventEnvelope } from '../../lib/envelope';
import { defineReducer, EventFoldError, type AggregateReducer, type AggregateTracking } from '../aggregate-reducer';
import { orderStatus, ordersTopic } from './orders.contract';

/** An order as its events describe it; the fields mirror the orders service's order view. */
export interface OrderState extends AggregateTracking {
  customerId: string;
  status: z.output<typeof orderStatus>;
  currency: string;
  totalMinor: number;
  lines: { productId: string; quantity: number; unitPriceMinor: number }[];
  /** The time of the created event. */
  createdAt: string;
}

export const orderReducer: AggregateReducer<OrderState> = defineReducer({
  aggregatetype: 'order',
  contract: ordersTopic,
  idOf: (event) => event.data.orderId,
  apply(state: OrderState | undefined, event, stamp): OrderState {
    switch (event.type) {
      case 'orders.order.created.v1': {
        if (state) {
          throw new EventFoldError(
            'illegal-sequence',
            `order ${state.id} already exists at version ${state.version}; event ${stamp.lastEventId} creates it again`,
            stamp.lastEventId,
          );
        }
        const { data } = event;
        return {
          ...stamp,
          customerId: data.customerId,
          status: data.status,
          currency: data.total.currency,
          totalMinor: data.total.amountMinor,
          lines: data.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceMinor: l.unitPrice.amountMinor })),
          createdAt: stamp.updatedAt,
        };
      }
      case 'orders.order.status-changed.v1': {
        if (!state) {
          throw new EventFoldError(
            'illegal-sequence',
            `event ${stamp.lastEventId} changes the status of order ${stamp.id}, which has not been created`,
            stamp.lastEventId,
          );
        }
        // A mismatch means an event between the two is missing; folding on would hide it.
        if (event.data.from !== state.status) {
          throw new EventFoldError(
            'illegal-sequence',
            `event ${stamp.lastEventId} moves order ${state.id} from ${event.data.from}, but it is ${state.status} at version ${state.version}`,
            stamp.lastEventId,
          );
        }
        return { ...state, ...stamp, status: event.data.to };
      }
    }
  },
});

/** Folds one event of an order into its state; see `AggregateReducer.reduce`. */
export function reduce(state: OrderState | undefined, event: EventEnvelope): OrderState {
  return orderReducer.reduce(state, event);
}
