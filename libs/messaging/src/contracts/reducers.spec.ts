import fc from 'fast-check';
import type { EventEnvelope } from '../lib/envelope';
import {
  customerCreated,
  customerDeleted,
  customerUpdated,
  foldError,
  invoiceIssued,
  minute,
  newId,
  orderCreated,
  orderStatusChanged,
  paymentCaptured,
  paymentRefunded,
} from './aggregate-events.factory';
import { platformContracts } from './index';
import { reduce as reduceCustomer } from './customers/customers.reducer';
import { reduce as reduceInvoice } from './invoices/invoices.reducer';
import { reduce as reduceOrder } from './orders/orders.reducer';
import { reduce as reducePayment } from './payments/payments.reducer';
import { aggregateReducers, foldEvents, isAggregateType, type AggregateState, type AggregateType } from './reducers';

const sut = foldEvents;

const orderLifecycle = (orderId: string): EventEnvelope[] => [
  orderCreated(orderId),
  orderStatusChanged(orderId, 2, 'pending', 'confirmed'),
  orderStatusChanged(orderId, 3, 'confirmed', 'paid'),
  orderStatusChanged(orderId, 4, 'paid', 'fulfilled'),
];

describe('aggregateReducers', () => {
  it('keys each reducer by the aggregate type it folds, with a topic of the platform', () => {
    const topics = platformContracts.map((c) => c.topic);
    for (const [aggregatetype, reducer] of Object.entries(aggregateReducers)) {
      expect(reducer.aggregatetype).toBe(aggregatetype);
      expect(topics).toContain(reducer.contract.topic);
    }
    expect(Object.keys(aggregateReducers).sort()).toEqual(['customer', 'invoice', 'order', 'payment']);
  });

  it('tells known aggregate types from others, including names every object has', () => {
    expect(isAggregateType('order')).toBe(true);
    expect(['shipment', 'constructor', '__proto__', 'toString'].filter(isAggregateType)).toEqual([]);
  });
});

describe('foldEvents', () => {
  it("folds an order's whole lifecycle", () => {
    const orderId = newId();
    const events = orderLifecycle(orderId);

    const result = sut('order', events);

    expect(result).toMatchObject({ state: { id: orderId, status: 'fulfilled', version: 4 }, eventsUsed: 4, lastEventId: events[3]!.id });
    expect(result.state?.lastEventId).toBe(events[3]!.id);
  });

  it("folds a customer's whole lifecycle", () => {
    const customerId = newId();
    const deleted = customerDeleted(customerId, 3);

    expect(sut('customer', [customerCreated(customerId), customerUpdated(customerId, 2, { status: 'suspended' }), deleted])).toMatchObject({
      state: { id: customerId, status: 'suspended', deleted: true, version: 3 },
      eventsUsed: 3,
      lastEventId: deleted.id,
    });
  });

  it('folds payments and invoices', () => {
    const [paymentId, invoiceId, orderId] = [newId(), newId(), newId()];

    expect(sut('payment', [paymentRefunded(paymentId, orderId, 700)]).state).toMatchObject({
      id: paymentId,
      kind: 'refund',
      amountMinor: 700,
    });
    expect(sut('invoice', [invoiceIssued(invoiceId, orderId, '2025-000001')]).state).toMatchObject({
      id: invoiceId,
      number: '2025-000001',
    });
  });

  it('sorts out-of-order input by version before folding, without touching the input', () => {
    const orderId = newId();
    const events = orderLifecycle(orderId);
    const shuffled = Object.freeze([events[2]!, events[0]!, events[3]!, events[1]!]);

    expect(sut('order', shuffled)).toEqual(sut('order', events));
    expect(shuffled.map((e) => e.aggregateversion)).toEqual([3, 1, 4, 2]);
  });

  it('sorts by version, not by time, when the clocks disagree', () => {
    const orderId = newId();
    // The status change was stamped by a clock behind the one that stamped the creation.
    const events = [
      orderStatusChanged(orderId, 2, 'pending', 'confirmed', { time: minute(0) }),
      orderCreated(orderId, { time: minute(5) }),
    ];

    expect(sut('order', events).state).toMatchObject({ status: 'confirmed', version: 2 });
  });

  it('ignores duplicates and does not count them as used', () => {
    const orderId = newId();
    const events = orderLifecycle(orderId);

    const result = sut('order', [...events, events[1]!, { ...events[3]! }, events[0]!]);

    expect(result).toEqual(sut('order', events));
    expect(result.eventsUsed).toBe(4);
  });

  it('of two events claiming one version, applies the earlier one whatever the input order', () => {
    const orderId = newId();
    const confirmed = orderStatusChanged(orderId, 2, 'pending', 'confirmed', { time: minute(2) });
    const cancelled = orderStatusChanged(orderId, 2, 'pending', 'cancelled', { time: minute(3) });

    for (const events of [
      [orderCreated(orderId), confirmed, cancelled],
      [cancelled, confirmed, orderCreated(orderId)],
    ]) {
      expect(sut('order', events)).toMatchObject({ state: { status: 'confirmed' }, eventsUsed: 2, lastEventId: confirmed.id });
    }
  });

  it('of two events claiming one version at the same time, applies the one with the lower id whatever the input order', () => {
    const orderId = newId();
    const at = { time: minute(2) };
    const confirmed = orderStatusChanged(orderId, 2, 'pending', 'confirmed', { ...at, id: 'ffffffff-0000-4000-8000-000000000002' });
    const cancelled = orderStatusChanged(orderId, 2, 'pending', 'cancelled', { ...at, id: '00000000-0000-4000-8000-000000000002' });

    for (const events of [
      [orderCreated(orderId), confirmed, cancelled],
      [cancelled, confirmed, orderCreated(orderId)],
      [confirmed, orderCreated(orderId), cancelled],
    ]) {
      expect(sut('order', events)).toMatchObject({ state: { status: 'cancelled' }, lastEventId: cancelled.id });
    }
  });

  it('gives the state as of a moment when the caller keeps only the events up to it', () => {
    const events = orderLifecycle(newId());
    const asOf = minute(2).getTime();

    const result = sut(
      'order',
      events.filter((e) => Date.parse(e.time) <= asOf),
    );

    expect(result).toMatchObject({ state: { status: 'confirmed', version: 2 }, eventsUsed: 2, lastEventId: events[1]!.id });
  });

  it('returns no state for no events', () => {
    expect(sut('customer', [])).toEqual({ state: null, eventsUsed: 0, lastEventId: null });
  });

  it('rejects an unknown aggregate type, naming the known ones', () => {
    for (const aggregatetype of ['shipment', 'constructor', '__proto__']) {
      const error = foldError(() => sut(aggregatetype, orderLifecycle(newId())));
      expect(error.code).toBe('unknown-aggregate-type');
      expect(error.message).toContain('known: order, customer, payment, invoice');
    }
  });

  it('rejects events of two aggregates, or of another aggregate type', () => {
    const [first, second] = [newId(), newId()];

    expect(foldError(() => sut('order', [orderCreated(first), orderStatusChanged(second, 2, 'pending', 'confirmed')])).code).toBe(
      'wrong-aggregate',
    );
    expect(foldError(() => sut('customer', orderLifecycle(first))).code).toBe('wrong-aggregate');
  });

  it('rejects a stream with a hole that changes the meaning of what follows', () => {
    const orderId = newId();
    const [created, , paid] = orderLifecycle(orderId);

    expect(foldError(() => sut('order', [paid!, created!])).code).toBe('illegal-sequence');
  });
});

// A valid stream for one aggregate, in version order, and the state its in-order fold gives.
interface Stream {
  aggregatetype: AggregateType;
  events: EventEnvelope[];
  expected: AggregateState;
}

const ORDER_ID = '6a1f7c52-0d3e-4b8a-9c6f-1e2d3c4b5a60';
const CUSTOMER_ID = '7b2a8d63-1e4f-4c9b-8d70-2f3e4d5c6b71';
const PAYMENT_ID = '8c3b9e74-2f5a-4dac-9e81-3a4f5e6d7c82';
const INVOICE_ID = '9d4cae85-3a6b-4ebd-8f92-4b5a6f7e8d93';
const eventId = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** Strictly increasing versions from 1 and non-decreasing times (equal times happen), one per event. */
const stamps = (count: number) =>
  fc
    .tuple(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: count, maxLength: count }),
      fc.array(fc.integer({ min: 0, max: 90 }), { minLength: count, maxLength: count }),
    )
    .map(([versionSteps, secondSteps]) => {
      let version = 0;
      let seconds = 0;
      return versionSteps.map((step, i) => {
        version += i === 0 ? 1 : step;
        seconds += secondSteps[i]!;
        return { version, time: new Date(minute(0).getTime() + seconds * 1000), id: eventId(i + 1) };
      });
    });

const foldInOrder = <S>(reduce: (state: S | undefined, event: EventEnvelope) => S, events: EventEnvelope[]): S =>
  events.reduce<S | undefined>((state, event) => reduce(state, event), undefined)!;

const orderPaths: (readonly ['pending', ...('confirmed' | 'paid' | 'fulfilled' | 'cancelled')[]])[] = [
  ['pending'],
  ['pending', 'cancelled'],
  ['pending', 'confirmed'],
  ['pending', 'confirmed', 'cancelled'],
  ['pending', 'confirmed', 'paid'],
  ['pending', 'confirmed', 'paid', 'fulfilled'],
];

const orderStream: fc.Arbitrary<Stream> = fc
  .constantFrom(...orderPaths)
  .chain((path) => stamps(path.length).map((at) => ({ path, at })))
  .map(({ path, at }) => {
    const events = path.map((status, i) =>
      i === 0 ? orderCreated(ORDER_ID, at[0]) : orderStatusChanged(ORDER_ID, at[i]!.version, path[i - 1]!, status, at[i]),
    );
    return { aggregatetype: 'order', events, expected: foldInOrder(reduceOrder, events) };
  });

const customerStream: fc.Arbitrary<Stream> = fc
  .record({
    updates: fc.array(
      fc.record({ status: fc.constantFrom('active' as const, 'suspended' as const), changed: fc.subarray(['email', 'name', 'status']) }),
      { maxLength: 5 },
    ),
    deleted: fc.boolean(),
  })
  .chain((plan) => stamps(1 + plan.updates.length + (plan.deleted ? 1 : 0)).map((at) => ({ plan, at })))
  .map(({ plan, at }) => {
    const events = [
      customerCreated(CUSTOMER_ID, at[0]),
      ...plan.updates.map((change, i) => customerUpdated(CUSTOMER_ID, at[i + 1]!.version, change, at[i + 1])),
      ...(plan.deleted ? [customerDeleted(CUSTOMER_ID, at.at(-1)!.version, at.at(-1))] : []),
    ];
    return { aggregatetype: 'customer', events, expected: foldInOrder(reduceCustomer, events) };
  });

const paymentStream: fc.Arbitrary<Stream> = fc
  .tuple(fc.boolean(), fc.integer({ min: 1, max: 100_000 }), stamps(1))
  .map(([capture, amount, [at]]) => {
    const events = [(capture ? paymentCaptured : paymentRefunded)(PAYMENT_ID, ORDER_ID, amount, at)];
    return { aggregatetype: 'payment', events, expected: foldInOrder(reducePayment, events) };
  });

const invoiceStream: fc.Arbitrary<Stream> = stamps(1).map(([at]) => {
  const events = [invoiceIssued(INVOICE_ID, ORDER_ID, '2025-000007', at)];
  return { aggregatetype: 'invoice', events, expected: foldInOrder(reduceInvoice, events) };
});

/** The stream with some events redelivered (exact copies), in an arbitrary order. */
const delivered = (stream: Stream) =>
  fc.array(fc.nat(), { maxLength: 4 }).chain((redelivered) => {
    const all = [...stream.events, ...redelivered.map((n) => ({ ...stream.events[n % stream.events.length]! }))];
    return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
  });

describe('foldEvents (property)', () => {
  it('gives the in-order state for any permutation of a valid stream, redeliveries included', () => {
    const streams = fc.oneof(orderStream, customerStream, paymentStream, invoiceStream);
    fc.assert(
      fc.property(
        streams.chain((stream) => delivered(stream).map((events) => ({ stream, events }))),
        ({ stream, events }) => {
          expect(sut(stream.aggregatetype, events)).toEqual({
            state: stream.expected,
            eventsUsed: stream.events.length,
            lastEventId: stream.events.at(-1)!.id,
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
