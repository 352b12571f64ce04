import type { IncomingMessage } from 'node:http';
import { requestIdFor } from './logging';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('requestIdFor', () => {
  it('keeps a well-formed caller id', () => {
    expect(requestIdFor(request({ 'x-request-id': 'abc-123' }))).toBe('abc-123');
  });

  it('replaces a malformed or oversized id with a fresh uuid', () => {
    expect(requestIdFor(request({ 'x-request-id': 'bad id\nwith newline' }))).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFor(request({ 'x-request-id': 'x'.repeat(200) }))).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFor(request({}))).toMatch(/^[0-9a-f-]{36}$/);
  });
});
