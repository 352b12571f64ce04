import { foldError, minute, newId, orderCreated, paymentCaptured, paymentRefunded } from '../aggregate-events.factory';
import { reduce } from './payments.reducer';

const sut = reduce;

describe('payment reducer', () => {
  it('records a capture', () => {
    const [paymentId, orderId] = [newId(), newId()];
    const captured = paymentCaptured(paymentId, orderId, 3000);

    expect(sut(undefined, captured)).toEqual({
      id: paymentId,
      orderId,
      kind: 'capture',
      amountMinor: 3000,
      currency: 'EUR',
      createdAt: minute(1).toISOString(),
      version: 1,
      lastEventId: captured.id,
      updatedAt: minute(1).toISOString(),
    });
  });

  it('records a refund as its own payment', () => {
    const [paymentId, orderId] = [newId(), newId()];

    expect(sut(undefined, paymentRefunded(paymentId, orderId, 1200))).toMatchObject({
      id: paymentId,
      orderId,
      kind: 'refund',
      amountMinor: 1200,
    });
  });

  it('ignores a redelivered event', () => {
    const captured = paymentCaptured(newId(), newId(), 3000);
    const state = sut(undefined, captured);

    expect(sut(state, captured)).toBe(state);
  });

  it('rejects a second event for a payment already recorded', () => {
    const [paymentId, orderId] = [newId(), newId()];
    const state = sut(undefined, paymentCaptured(paymentId, orderId, 3000));

    const error = foldError(() => sut(state, paymentRefunded(paymentId, orderId, 3000, { version: 2 })));

    expect(error.code).toBe('illegal-sequence');
    expect(error.message).toContain('already recorded as a capture');
  });

  it('rejects a version going backwards', () => {
    const [paymentId, orderId] = [newId(), newId()];
    const state = sut(undefined, paymentCaptured(paymentId, orderId, 3000, { version: 2 }));

    expect(foldError(() => sut(state, paymentCaptured(paymentId, orderId, 3000, { version: 1 }))).code).toBe('version-regression');
  });

  it("rejects another payment's event, an order's event, and data naming another payment", () => {
    const state = sut(undefined, paymentCaptured(newId(), newId(), 3000));
    const misaddressed = { ...paymentCaptured(newId(), newId(), 3000), subject: newId() };

    expect(foldError(() => sut(state, paymentRefunded(newId(), newId(), 100, { version: 2 }))).code).toBe('wrong-aggregate');
    expect(foldError(() => sut(undefined, orderCreated(newId()))).code).toBe('wrong-aggregate');
    expect(foldError(() => sut(undefined, misaddressed)).code).toBe('wrong-aggregate');
  });
});
