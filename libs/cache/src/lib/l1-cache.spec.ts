import { L1Cache } from './l1-cache';

// The L1's guard against its own refill race: a value read from Redis before an
// invalidation arrived must not be put back after it.

describe('L1Cache', () => {
  const newSut = () => new L1Cache(100, 60_000);

  it('stores and serves a value read with no invalidation in between', () => {
    const sut = newSut();
    expect(sut.set('a', '"v1"', [], 1_000, sut.mark())).toBe(true);
    expect(sut.get('a')).toBe('"v1"');
  });

  it('refuses a value read before that id was invalidated, but not other ids', () => {
    const sut = newSut();
    const mark = sut.mark();
    sut.invalidateIds(['a']);
    expect(sut.set('a', '"v1"', [], 1_000, mark)).toBe(false);
    expect(sut.get('a')).toBeUndefined();
    expect(sut.set('b', '"b"', [], 1_000, mark)).toBe(true);
    expect(sut.set('a', '"v2"', [], 1_000, sut.mark())).toBe(true);
  });

  it('refuses a value read before one of its tags was invalidated', () => {
    const sut = newSut();
    const mark = sut.mark();
    sut.invalidateTag('customer:1');
    expect(sut.set('a', '"v1"', ['customer:1'], 1_000, mark)).toBe(false);
    expect(sut.set('b', '"b"', ['customer:2'], 1_000, mark)).toBe(true);
  });

  it('drops the dependents of a tag and only those', () => {
    const sut = newSut();
    sut.set('a', '"a"', ['customer:1'], 1_000, sut.mark());
    sut.set('b', '"b"', ['customer:1', 'product:9'], 1_000, sut.mark());
    sut.set('c', '"c"', ['customer:2'], 1_000, sut.mark());
    sut.invalidateTag('customer:1');
    expect([sut.get('a'), sut.get('b'), sut.get('c')]).toEqual([undefined, undefined, '"c"']);
    sut.invalidateTag('customer:1'); // twice is harmless
    expect(sut.get('c')).toBe('"c"');
  });

  it('refuses every value read before a flush', () => {
    const sut = newSut();
    sut.set('a', '"a"', [], 1_000, sut.mark());
    const mark = sut.mark();
    sut.clear();
    expect(sut.size).toBe(0);
    expect(sut.set('b', '"b"', [], 1_000, mark)).toBe(false);
    expect(sut.set('b', '"b"', [], 1_000, sut.mark())).toBe(true);
  });

  it('stays correct when its invalidation log overflows', () => {
    const sut = newSut();
    const mark = sut.mark();
    for (let i = 0; i < 10_050; i += 1) sut.invalidateIds([`id-${i}`]);
    expect(sut.set('unrelated', '"x"', [], 1_000, mark)).toBe(false); // cannot tell any more, so refuses
    expect(sut.set('unrelated', '"x"', [], 1_000, sut.mark())).toBe(true);
  });
});
