import { seededRandom } from '@keelson/testing';
import { shouldRecompute, uniformOpenZero } from './xfetch';

describe('shouldRecompute (XFetch)', () => {
  const entry = { deltaMs: 100, expiresAt: 10_000 };

  it('always recomputes at and after expiry', () => {
    expect(shouldRecompute(entry, 10_000, 1, () => 1)).toBe(true);
    expect(shouldRecompute(entry, 12_000, 0, () => 1)).toBe(true);
  });

  it('recomputes early exactly when now − Δ·β·ln(r) reaches expiry', () => {
    // 50 ms before expiry with Δ = 100, β = 1: recompute iff r ≤ e^(−0.5) ≈ 0.6065.
    expect(shouldRecompute(entry, 9_950, 1, () => 0.6)).toBe(true);
    expect(shouldRecompute(entry, 9_950, 1, () => 0.61)).toBe(false);
    // β = 2 doubles the reach: r = 0.61 now recomputes (iff r ≤ e^(−0.25) ≈ 0.7788).
    expect(shouldRecompute(entry, 9_950, 2, () => 0.61)).toBe(true);
    expect(shouldRecompute(entry, 9_950, 2, () => 0.8)).toBe(false);
  });

  it('with β = 0 behaves as plain expiry', () => {
    expect(shouldRecompute(entry, 9_999, 0, () => 1e-12)).toBe(false);
    expect(shouldRecompute(entry, 10_000, 0, () => 1e-12)).toBe(true);
  });

  it('never recomputes early an entry that cost nothing to compute', () => {
    expect(shouldRecompute({ deltaMs: 0, expiresAt: 10_000 }, 9_999, 1, () => 1e-12)).toBe(false);
  });

  it('recomputes with probability e^(−gap / (Δ·β)) at a gap before expiry', () => {
    const random = seededRandom(7);
    const draws = 20_000;
    for (const [gap, beta] of [
      [100, 1],
      [200, 1],
      [200, 2],
    ] as const) {
      let recomputes = 0;
      for (let i = 0; i < draws; i += 1) if (shouldRecompute(entry, entry.expiresAt - gap, beta, random)) recomputes += 1;
      expect(recomputes / draws).toBeCloseTo(Math.exp(-gap / (entry.deltaMs * beta)), 1);
    }
  });

  it('draws r from (0, 1], never 0 (whose logarithm is −∞)', () => {
    const spy = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      expect(uniformOpenZero()).toBe(1);
    } finally {
      spy.mockRestore();
    }
  });
});
