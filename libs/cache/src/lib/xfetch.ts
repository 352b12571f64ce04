/**
 * XFetch (Vattani, Chierichetti, Lowenstein, "Optimal Probabilistic Cache Stampede
 * Prevention", VLDB 2015): recompute before expiry with a probability that grows as expiry
 * nears and with the cost of recomputing, so one reader usually refreshes an entry before the
 * crowd finds it expired.
 *
 * Recompute when `now − Δ·β·ln(r) ≥ expiry`, r uniform in (0, 1]. β = 0 is plain expiry.
 */
export function shouldRecompute(entry: { deltaMs: number; expiresAt: number }, now: number, beta: number, random: () => number): boolean {
  if (now >= entry.expiresAt) return true;
  if (beta <= 0 || entry.deltaMs <= 0) return false;
  return now - entry.deltaMs * beta * Math.log(random()) >= entry.expiresAt;
}

/** Uniform in (0, 1]: `Math.random()` can return 0, whose logarithm is −∞. */
export const uniformOpenZero = (): number => 1 - Math.random();
