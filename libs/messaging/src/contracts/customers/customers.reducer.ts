import type { EventEnvelope } from '../../lib/envelope';
import { defineReducer, EventFoldError, type AggregateReducer, type AggregateTracking } from '../aggregate-reducer';
import { customersTopic } from './customers.contract';

/** A customer as its events describe it. The events carry no e-mail or name, so neither does the state. */
export interface CustomerState extends AggregateTracking {
  status: 'active' | 'suspended';
  /** The fields the last update changed (empty until the first update). */
  lastChanged: string[];
  deleted: boolean;
  /** The time of the deleted event, or null while the customer exists. */
  deletedAt: string | null;
  /** The time of the created event. */
  createdAt: string;
}

export const customerReducer: AggregateReducer<CustomerState> = defineReducer({
  aggregatetype: 'customer',
  contract: customersTopic,
  idOf: (event) => event.data.customerId,
  apply(state: CustomerState | undefined, event, stamp): CustomerState {
    if (event.type === 'customers.customer.created.v1') {
      if (state) {
        throw new EventFoldError(
          'illegal-sequence',
          `customer ${state.id} already exists at version ${state.version}; event ${stamp.lastEventId} creates it again`,
          stamp.lastEventId,
        );
      }
      return { ...stamp, status: event.data.status, lastChanged: [], deleted: false, deletedAt: null, createdAt: stamp.updatedAt };
    }
    if (!state) {
      throw new EventFoldError(
        'illegal-sequence',
        `event ${stamp.lastEventId} (${event.type}) is about customer ${stamp.id}, which has not been created`,
        stamp.lastEventId,
      );
    }
    if (state.deleted) {
      throw new EventFoldError(
        'illegal-sequence',
        `event ${stamp.lastEventId} (${event.type}) follows the deletion of customer ${state.id} at version ${state.version}`,
        stamp.lastEventId,
      );
    }
    switch (event.type) {
      case 'customers.customer.updated.v1':
        return { ...state, ...stamp, status: event.data.status, lastChanged: [...event.data.changed] };
      case 'customers.customer.deleted.v1':
        return { ...state, ...stamp, deleted: true, deletedAt: stamp.updatedAt };
    }
  },
});

/** Folds one event of a customer into its state; see `AggregateReducer.reduce`. */
export function reduce(state: CustomerState | undefined, event: EventEnvelope): CustomerState {
  return customerReducer.reduce(state, event);
}
