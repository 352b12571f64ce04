import type { TopicContract } from '@keelson/messaging';

/** Which topic carries each aggregate type's events (the Debezium outbox "router"). */
export type OutboxRoutes = Readonly<Record<string, TopicContract>>;

export function routeFor(routes: OutboxRoutes, aggregatetype: string): TopicContract {
  const contract = routes[aggregatetype];
  if (!contract) throw new Error(`no outbox route for aggregate type "${aggregatetype}"`);
  return contract;
}

/** The LISTEN/NOTIFY channel that wakes a schema's relay (a wake-up only; the relay also polls). */
export const outboxChannel = (schema: string): string => `${schema}_outbox`;
