import type { EventEnvelope } from '../../lib/envelope';
import {
  CUSTOMER_ID,
  PRODUCT_A,
  PRODUCT_B,
  customerCreated,
  deepFreeze,
  foldError,
  minute,
  newId,
  orderCreated,
  orderStatusChanged,
} from '../aggregate-events.factory';
import { reduce, type OrderState } from './orders.reducer';

const sut = reduce;
const fold = (events: EventEnvelope[], from?: OrderState): OrderState | undefined =>
  events.reduce<OrderState | undefined>((state, event) => sut(state, event), from);

describe('order reducer', () => {
  it('builds the order from its created event', () => {
    const orderId = newId();
    const created = orderCreated(orderId);

    expect(sut(undefined, created)).toEqual({
      id: orderId,
      customerId: CUSTOMER_ID,
      status: 'pending',
      currency: 'EUR',
      totalMinor: 3000,
      lines: [
        { productId: PRODUCT_A, quantity: 2, unitPriceMinor: 1250 },
        { productId: PRODUCT_B, quantity: 1, unitPriceMinor: 500 },
      ],
      createdAt: minute(1).toISOString(),
      version: 1,
      lastEventId: created.id,
      updatedAt: minute(1).toISOString(),
    });
  });

  it('follows the whole lifecycle, tracking version, last event and time', () => {
    const orderId = newId();
    const fulfilled = orderStatusChanged(orderId, 4, 'paid', 'fulfilled');

    const state = fold([
      orderCreated(orderId),
      orderStatusChanged(orderId, 2, 'pending', 'confirmed'),
      orderStatusChanged(orderId, 3, 'confirmed', 'paid'),
      fulfilled,
    ]);

    expect(state).toMatchObject({
      status: 'fulfilled',
      totalMinor: 3000,
      version: 4,
      lastEventId: fulfilled.id,
      createdAt: minute(1).toISOString(),
      updatedAt: minute(4).toISOString(),
    });
  });

  it('accepts gaps in the version (other changes bump it without an event)', () => {
    const orderId = newId();
    expect(fold([orderCreated(orderId), orderStatusChanged(orderId, 5, 'pending', 'cancelled')])).toMatchObject({
      status: 'cancelled',
      version: 5,
    });
  });

  it('never mutates the state or the event it is given', () => {
    const orderId = newId();
    const created = deepFreeze(sut(undefined, deepFreeze(orderCreated(orderId))));

    const confirmed = sut(created, deepFreeze(orderStatusChanged(orderId, 2, 'pending', 'confirmed')));

    expect(created.status).toBe('pending');
    expect(confirmed.status).toBe('confirmed');
  });

  it('ignores a redelivered event and another event claiming the version already applied', () => {
    const orderId = newId();
    const confirmed = orderStatusChanged(orderId, 2, 'pending', 'confirmed');
    const state = fold([orderCreated(orderId), confirmed]);

    expect(sut(state, confirmed)).toBe(state);
    expect(sut(state, orderStatusChanged(orderId, 2, 'pending', 'cancelled'))).toBe(state);
  });

  it('ignores an event carrying the id already applied, whatever version it claims', () => {
    const orderId = newId();
    const confirmed = orderStatusChanged(orderId, 2, 'pending', 'confirmed');
    const state = fold([orderCreated(orderId), confirmed]);

    expect(sut(state, { ...orderStatusChanged(orderId, 3, 'confirmed', 'paid'), id: confirmed.id })).toBe(state);
  });

  it('rejects a version going backwards', () => {
    const orderId = newId();
    const state = fold([orderCreated(orderId), orderStatusChanged(orderId, 3, 'pending', 'confirmed')]);
    const late = orderStatusChanged(orderId, 2, 'pending', 'cancelled');

    const error = foldError(() => sut(state, late));

    expect(error.code).toBe('version-regression');
    expect(error.eventId).toBe(late.id);
    expect(error.message).toContain(`version 2, but order ${orderId} is already at version 3`);
  });

  it("rejects another order's event", () => {
    const state = fold([orderCreated(newId())]);
    const other = newId();

    const error = foldError(() => sut(state, orderStatusChanged(other, 2, 'pending', 'confirmed')));

    expect(error.code).toBe('wrong-aggregate');
    expect(error.message).toContain(other);
  });

  it('rejects an event whose data names another order than its subject', () => {
    const orderId = newId();
    const event = { ...orderCreated(orderId), subject: newId() };

    expect(foldError(() => sut(undefined, event)).code).toBe('wrong-aggregate');
  });

  it('rejects an event of another aggregate type', () => {
    const customerId = newId();
    expect(foldError(() => sut(undefined, customerCreated(customerId))).code).toBe('wrong-aggregate');
    const mislabelled = { ...customerCreated(customerId), aggregatetype: 'order' };
    expect(foldError(() => sut(undefined, mislabelled)).code).toBe('unknown-event-type');
  });

  it('rejects a second created event', () => {
    const orderId = newId();
    const state = fold([orderCreated(orderId), orderStatusChanged(orderId, 2, 'pending', 'confirmed')]);

    const error = foldError(() => sut(state, orderCreated(orderId, { version: 3 })));

    expect(error.code).toBe('illegal-sequence');
    expect(error.message).toContain('already exists');
  });

  it('rejects a status change before the order exists', () => {
    expect(foldError(() => sut(undefined, orderStatusChanged(newId(), 2, 'pending', 'confirmed'))).code).toBe('illegal-sequence');
  });

  it('rejects a status change from a status the order is not in (an event is missing)', () => {
    const orderId = newId();
    const state = fold([orderCreated(orderId)]);

    const error = foldError(() => sut(state, orderStatusChanged(orderId, 3, 'confirmed', 'paid')));

    expect(error.code).toBe('illegal-sequence');
    expect(error.message).toContain('from confirmed, but it is pending');
  });

  it('rejects data that breaks the contract, naming the field', () => {
    const orderId = newId();
    const created = orderCreated(orderId);
    const broken = { ...created, data: { ...created.data, lines: [] } };

    const error = foldError(() => sut(undefined, broken));

    expect(error.code).toBe('invalid-data');
    expect(error.message).toContain('lines');
  });
});
