import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import type { KeyRing } from './key-ring';

/** The key set of this service, re-read at most every 5 s (successors are published minutes ahead). */
export function ownKeys(keys: KeyRing): JWTVerifyGetKey {
  let cached: { at: number; getKey: JWTVerifyGetKey } | undefined;
  return async (header, token) => {
    if (!cached || Date.now() - cached.at > 5_000) cached = { at: Date.now(), getKey: createLocalJWKSet({ keys: await keys.published() }) };
    return cached.getKey(header, token);
  };
}
