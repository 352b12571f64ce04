import { z } from 'zod';
import type { TopicContract } from '../lib/contract';
import type { EventEnvelope } from '../lib/envelope';

export type EventFoldErrorCode =
  /** No reducer is registered for the aggregate type. */
  | 'unknown-aggregate-type'
  /** The event belongs to another aggregate (aggregate type, subject, or the id in its data). */
  | 'wrong-aggregate'
  /** The event's aggregateversion is below the version already applied. */
  | 'version-regression'
  /** The aggregate's topic does not carry this event type. */
  | 'unknown-event-type'
  /** The event's data breaks its contract. */
  | 'invalid-data'
  /** The event cannot follow the state: created twice, changed before creation or after deletion, a gap. */
  | 'illegal-sequence';

/** Why a stream of events cannot be folded into an aggregate's state; `reason` is readable by an operator. */
export class EventFoldError extends Error {
  constructor(
    readonly code: EventFoldErrorCode,
    readonly reason: string,
    readonly eventId?: string,
  ) {
    super(`${code}: ${reason}`);
    this.name = 'EventFoldError';
  }
}

/** What every aggregate state records about the last event folded into it. */
export interface AggregateTracking {
  /** The aggregate id (the events' subject). */
  id: string;
  /** The aggregateversion of the last event applied. */
  version: number;
  lastEventId: string;
  /** The time of the last event applied (RFC 3339, as the event carried it). */
  updatedAt: string;
}

/** One event of a topic, narrowed by its type to the data its contract describes. */
export type TopicEvent<T extends TopicContract> = {
  [K in keyof T['events'] & string]: { type: K; data: z.output<T['events'][K]> };
}[keyof T['events'] & string];

/** Folds one aggregate type's events into its state. */
export interface AggregateReducer<S extends AggregateTracking> {
  readonly aggregatetype: string;
  /** The topic the aggregate's events are published to. */
  readonly contract: TopicContract;
  /**
   * Applies one event and returns the new state; never mutates its arguments. A duplicate (the
   * event id or the version already applied) returns `state` itself, so callers can count what was used.
   * Throws `EventFoldError` for an event of another aggregate, a version going backwards, or an event
   * the state cannot accept.
   */
  reduce(state: S | undefined, event: EventEnvelope): S;
}

interface ReducerSpec<T extends TopicContract, S extends AggregateTracking> {
  aggregatetype: string;
  contract: T;
  /** The aggregate id an event's data names; it must equal the envelope's subject. */
  idOf(event: TopicEvent<T>): string;
  /** The domain step; `stamp` is the tracking the new state must carry. Throws `EventFoldError` ('illegal-sequence'). */
  apply(state: S | undefined, event: TopicEvent<T>, stamp: AggregateTracking): S;
}

/** Wraps a domain step with the checks every aggregate shares: identity, ordering, duplicates, contract. */
export function defineReducer<T extends TopicContract, S extends AggregateTracking>(spec: ReducerSpec<T, S>): AggregateReducer<S> {
  const { aggregatetype, contract } = spec;
  return {
    aggregatetype,
    contract,
    reduce(state, envelope) {
      if (envelope.aggregatetype !== aggregatetype) {
        throw new EventFoldError(
          'wrong-aggregate',
          `event ${envelope.id} is of aggregate type "${envelope.aggregatetype}", not "${aggregatetype}"`,
          envelope.id,
        );
      }
      if (state) {
        if (envelope.subject !== state.id) {
          throw new EventFoldError(
            'wrong-aggregate',
            `event ${envelope.id} is about ${aggregatetype} ${envelope.subject}, not ${state.id}`,
            envelope.id,
          );
        }
        if (envelope.id === state.lastEventId || envelope.aggregateversion === state.version) return state;
        if (envelope.aggregateversion < state.version) {
          throw new EventFoldError(
            'version-regression',
            `event ${envelope.id} has version ${envelope.aggregateversion}, but ${aggregatetype} ${state.id} is already at version ${state.version}`,
            envelope.id,
          );
        }
      }
      const event = decode(contract, envelope);
      if (spec.idOf(event) !== envelope.subject) {
        throw new EventFoldError(
          'wrong-aggregate',
          `event ${envelope.id} has subject ${envelope.subject} but its data names ${aggregatetype} ${spec.idOf(event)}`,
          envelope.id,
        );
      }
      const stamp = { id: envelope.subject, version: envelope.aggregateversion, lastEventId: envelope.id, updatedAt: envelope.time };
      return spec.apply(state, event, stamp);
    },
  };
}

function decode<T extends TopicContract>(contract: T, envelope: EventEnvelope): TopicEvent<T> {
  const events: Record<string, z.ZodType> = contract.events;
  const schema = Object.hasOwn(events, envelope.type) ? events[envelope.type] : undefined;
  if (!schema) {
    throw new EventFoldError('unknown-event-type', `topic "${contract.topic}" does not carry event type "${envelope.type}"`, envelope.id);
  }
  const data = schema.safeParse(envelope.data);
  if (!data.success) {
    throw new EventFoldError('invalid-data', `${envelope.type} ${envelope.id}: ${z.prettifyError(data.error)}`, envelope.id);
  }
  // The schema was looked up by this very type, so the pair matches one member of the union.
  return { type: envelope.type, data: data.data } as TopicEvent<T>;
}
