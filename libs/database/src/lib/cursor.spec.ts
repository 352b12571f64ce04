import { decodeCursor, encodeCursor, InvalidCursorError, toPage } from './cursor';
import { requestFingerprint } from './idempotency';

describe('cursor pagination', () => {
  it('round-trips the sort key', () => {
    const cursor = encodeCursor(['2026-11-25T03:00:00.123Z', 'a-id']);
    expect(decodeCursor(cursor, 2)).toEqual(['2026-11-25T03:00:00.123Z', 'a-id']);
  });

  it.each(['garbage', encodeCursor(['only-one']), Buffer.from('{"a":1}').toString('base64url')])('rejects %s', (cursor) => {
    expect(() => decodeCursor(cursor, 2)).toThrow(InvalidCursorError);
  });

  it('gives a next cursor only when there is another row', () => {
    const key = (n: number) => [String(n)];
    expect(toPage([1, 2, 3], 2, key)).toEqual({ items: [1, 2], nextCursor: encodeCursor(['2']) });
    expect(toPage([1, 2], 2, key)).toEqual({ items: [1, 2], nextCursor: null });
  });
});

describe('requestFingerprint', () => {
  it('ignores key order but not values, method or path', () => {
    const base = requestFingerprint('POST', '/api/v1/orders', { a: 1, b: { c: 2, d: [1, 2] } });
    expect(requestFingerprint('POST', '/api/v1/orders', { b: { d: [1, 2], c: 2 }, a: 1 })).toBe(base);
    expect(requestFingerprint('POST', '/api/v1/orders', { a: 1, b: { c: 2, d: [2, 1] } })).not.toBe(base);
    expect(requestFingerprint('POST', '/api/v1/customers', { a: 1, b: { c: 2, d: [1, 2] } })).not.toBe(base);
  });
});
