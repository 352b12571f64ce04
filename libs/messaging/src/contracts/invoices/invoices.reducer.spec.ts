import { foldError, invoiceIssued, minute, newId, paymentCaptured } from '../aggregate-events.factory';
import { reduce } from './invoices.reducer';

const sut = reduce;

describe('invoice reducer', () => {
  it('records an issued invoice', () => {
    const [invoiceId, orderId] = [newId(), newId()];
    const issued = invoiceIssued(invoiceId, orderId, '2025-000042');

    expect(sut(undefined, issued)).toEqual({
      id: invoiceId,
      orderId,
      number: '2025-000042',
      totalMinor: 3000,
      currency: 'EUR',
      issuedAt: minute(1).toISOString(),
      version: 1,
      lastEventId: issued.id,
      updatedAt: minute(1).toISOString(),
    });
  });

  it('ignores a redelivered event', () => {
    const issued = invoiceIssued(newId(), newId(), '2025-000042');
    const state = sut(undefined, issued);

    expect(sut(state, issued)).toBe(state);
  });

  it('rejects issuing the same invoice twice', () => {
    const [invoiceId, orderId] = [newId(), newId()];
    const state = sut(undefined, invoiceIssued(invoiceId, orderId, '2025-000042'));

    expect(foldError(() => sut(state, invoiceIssued(invoiceId, orderId, '2025-000043', { version: 2 }))).code).toBe('illegal-sequence');
  });

  it('rejects a version going backwards', () => {
    const [invoiceId, orderId] = [newId(), newId()];
    const state = sut(undefined, invoiceIssued(invoiceId, orderId, '2025-000042', { version: 2 }));

    expect(foldError(() => sut(state, invoiceIssued(invoiceId, orderId, '2025-000042', { version: 1 }))).code).toBe('version-regression');
  });

  it("rejects another invoice's event and a payment's event", () => {
    const state = sut(undefined, invoiceIssued(newId(), newId(), '2025-000042'));

    expect(foldError(() => sut(state, invoiceIssued(newId(), newId(), '2025-000043', { version: 2 }))).code).toBe('wrong-aggregate');
    expect(foldError(() => sut(undefined, paymentCaptured(newId(), newId(), 3000))).code).toBe('wrong-aggregate');
  });

  it('rejects a malformed invoice number, naming the field', () => {
    const error = foldError(() => sut(undefined, invoiceIssued(newId(), newId(), 'INV-42')));

    expect(error.code).toBe('invalid-data');
    expect(error.message).toContain('number');
  });
});
