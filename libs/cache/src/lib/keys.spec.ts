import { assertCacheName, entryKey, parseInvalidationMessage } from './keys';

describe('invalidation messages', () => {
  it('parses the three kinds', () => {
    expect(parseInvalidationMessage('{"cache":"orders:order","kind":"key","ids":["1","2"]}')).toEqual({
      cache: 'orders:order',
      kind: 'key',
      ids: ['1', '2'],
    });
    expect(parseInvalidationMessage('{"cache":"*","kind":"tag","tag":"customer:42"}')).toEqual({
      cache: '*',
      kind: 'tag',
      tag: 'customer:42',
    });
    expect(parseInvalidationMessage('{"cache":"orders:order","kind":"prefix"}')).toEqual({ cache: 'orders:order', kind: 'prefix' });
  });

  it('rejects malformed payloads', () => {
    for (const payload of ['not json', '{}', '{"cache":"c","kind":"key","ids":[]}', '{"cache":"c","kind":"tag"}', '{"kind":"prefix"}']) {
      expect(parseInvalidationMessage(payload)).toBeUndefined();
    }
  });
});

describe('cache names', () => {
  it('puts the generation between name and id', () => {
    expect(entryKey('orders:order', '3', 'abc')).toBe('orders:order:g3:abc');
  });

  it('refuses names that could collide with another cache’s entries', () => {
    expect(() => {
      assertCacheName('orders:order');
    }).not.toThrow();
    for (const name of ['', '*', 'a b', 'orders:g1', 'x:g0:y']) {
      expect(() => {
        assertCacheName(name);
      }).toThrow();
    }
  });
});
