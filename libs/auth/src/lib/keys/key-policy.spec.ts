import { keyState, nextRotationStep, signingKeyAt, type KeyPolicy, type KeyTimes } from './key-policy';

const minute = 60_000;
const policy: KeyPolicy = { rotationIntervalMs: 60 * minute, jwksCacheMs: 5 * minute, verifyGraceMs: 16 * minute };
const t0 = new Date('2026-11-25T00:00:00Z');
const at = (minutes: number) => new Date(t0.getTime() + minutes * minute);
const key = (kid: string, activates: number, retires: number | null = null, expires: number | null = null): KeyTimes => ({
  kid,
  activatesAt: at(activates),
  retiresAt: retires === null ? null : at(retires),
  expiresAt: expires === null ? null : at(expires),
});

describe('key rotation policy', () => {
  it('bootstraps a key that signs at once when there is none', () => {
    expect(nextRotationStep([], t0, policy)).toEqual({ kind: 'bootstrap', activatesAt: t0 });
  });

  it('does nothing while the current key is not within one JWKS cache lifetime of rotation', () => {
    expect(nextRotationStep([key('a', 0)], at(54), policy)).toEqual({ kind: 'none' });
  });

  it('publishes the successor one cache lifetime before it signs, and plans the old key’s retirement', () => {
    expect(nextRotationStep([key('a', 0)], at(55), policy)).toEqual({
      kind: 'schedule-successor',
      current: 'a',
      activatesAt: at(60),
      currentRetiresAt: at(60),
      currentExpiresAt: at(76),
    });
  });

  it('never lets a late job sign with a key clients could not have fetched yet', () => {
    const step = nextRotationStep([key('a', 0)], at(200), policy);
    expect(step).toMatchObject({ kind: 'schedule-successor', activatesAt: at(205) });
  });

  it('waits while a successor is pending', () => {
    expect(nextRotationStep([key('a', 0, 60, 76), key('b', 60)], at(57), policy)).toEqual({ kind: 'none' });
  });

  it('moves keys through pending, active, retired and expired by time alone', () => {
    const old = key('a', 0, 60, 76);
    const next = key('b', 60);
    expect([keyState(next, at(59)), keyState(next, at(60))]).toEqual(['pending', 'active']);
    expect([keyState(old, at(59)), keyState(old, at(60)), keyState(old, at(76))]).toEqual(['active', 'retired', 'expired']);
    expect(signingKeyAt([old, next], at(59))?.kid).toBe('a');
    expect(signingKeyAt([old, next], at(60))?.kid).toBe('b');
  });
});
