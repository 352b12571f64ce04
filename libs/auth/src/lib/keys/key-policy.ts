/** The timing rules of key rotation (all in milliseconds). */
export interface KeyPolicy {
  /** How long a key signs before its successor takes over. */
  rotationIntervalMs: number;
  /** How long clients may cache the JWKS: a new key is published at least this long before it signs. */
  jwksCacheMs: number;
  /** Access-token lifetime plus allowed clock skew: a retired key stays published this long. */
  verifyGraceMs: number;
}

export interface KeyTimes {
  kid: string;
  activatesAt: Date;
  retiresAt: Date | null;
  expiresAt: Date | null;
}

export type KeyState = 'pending' | 'active' | 'retired' | 'expired';

export function keyState(key: KeyTimes, now: Date): KeyState {
  if (now < key.activatesAt) return 'pending';
  if (key.retiresAt === null || now < key.retiresAt) return 'active';
  if (key.expiresAt === null || now < key.expiresAt) return 'retired';
  return 'expired';
}

/** The key that signs at `now`: the latest one to have activated and not retired. */
export function signingKeyAt<K extends KeyTimes>(keys: readonly K[], now: Date): K | undefined {
  return keys.filter((k) => keyState(k, now) === 'active').sort((a, b) => b.activatesAt.getTime() - a.activatesAt.getTime())[0];
}

export type RotationStep =
  | { kind: 'bootstrap'; activatesAt: Date }
  | { kind: 'schedule-successor'; current: string; activatesAt: Date; currentRetiresAt: Date; currentExpiresAt: Date }
  | { kind: 'none' };

/**
 * What the rotation job should do at `now`. A successor is scheduled when the current key
 * is within one JWKS cache lifetime of its rotation, to start signing exactly then.
 */
export function nextRotationStep(keys: readonly KeyTimes[], now: Date, policy: KeyPolicy): RotationStep {
  const live = keys.filter((k) => keyState(k, now) !== 'expired');
  const current = signingKeyAt(live, now);
  const upcoming = live.filter((k) => keyState(k, now) === 'pending');
  if (!current && upcoming.length === 0) return { kind: 'bootstrap', activatesAt: now };
  if (!current || upcoming.length > 0) return { kind: 'none' };
  const rotateAt = new Date(Math.max(current.activatesAt.getTime() + policy.rotationIntervalMs, now.getTime() + policy.jwksCacheMs));
  if (now.getTime() < rotateAt.getTime() - policy.jwksCacheMs) return { kind: 'none' };
  return {
    kind: 'schedule-successor',
    current: current.kid,
    activatesAt: rotateAt,
    currentRetiresAt: rotateAt,
    currentExpiresAt: new Date(rotateAt.getTime() + policy.verifyGraceMs),
  };
}
