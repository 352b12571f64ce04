import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** CloudEvents 1.0 attribute names plus Keelson's extensions (see ARCHITECTURE.md, Events). */
export const envelopeSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.uuid(),
  type: z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+\.v\d+$/, 'expected <domain>.<aggregate>.<event>.v<N>'),
  source: z.string().min(1),
  subject: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  data: z.unknown(),
  aggregatetype: z.string().min(1),
  aggregateversion: z.number().int().nonnegative(),
  correlationid: z.string().min(1),
  causationid: z.string().min(1).optional(),
  traceparent: z.string().optional(),
});

export type EventEnvelope<TData = unknown> = Omit<z.output<typeof envelopeSchema>, 'data'> & { data: TData };

export interface NewEvent<TData> {
  type: string;
  source: string;
  subject: string;
  aggregatetype: string;
  aggregateversion: number;
  data: TData;
  id?: string;
  time?: Date;
  correlationid?: string;
  causationid?: string;
}

/** Builds an envelope with a fresh id and time; the correlation id defaults to the event's own id. */
export function createEvent<TData>(event: NewEvent<TData>): EventEnvelope<TData> {
  const id = event.id ?? randomUUID();
  return {
    specversion: '1.0',
    id,
    type: event.type,
    source: event.source,
    subject: event.subject,
    time: (event.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    data: event.data,
    aggregatetype: event.aggregatetype,
    aggregateversion: event.aggregateversion,
    correlationid: event.correlationid ?? id,
    ...(event.causationid ? { causationid: event.causationid } : {}),
  };
}
