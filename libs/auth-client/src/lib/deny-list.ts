/** Redis key of a revoked access token's jti; it expires when the token would have. */
export const denyListKey = (jti: string): string => `auth:deny:${jti}`;
