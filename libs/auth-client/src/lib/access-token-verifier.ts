import { Logger } from '@nestjs/common';
import { metricsRegistry } from '@keelson/observability';
import type Redis from 'ioredis';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { Counter } from 'prom-client';
import { DenyListMirror, denyListKey } from './deny-list';

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  jti: string;
  exp: number;
  client_id: string;
  scope: string;
}

export interface VerifierOptions {
  issuer: string;
  audience: string;
  /** Where the keys come from: the auth service's JWKS URL, or a key-lookup function. */
  keys: URL | JWTVerifyGetKey;
  clockToleranceSeconds?: number;
  /** How many verified tokens to keep; a hot token is verified once, not per request. */
  cacheSize?: number;
  /** For the deny-list; without it revocation is not checked. */
  redis?: Redis;
  /**
   * Keep an in-process copy of the deny-list, polled every `refreshMs` (default on, 250 ms):
   * a check is then a map lookup, and Redis is asked per token only while the copy is stale.
   */
  denyListMirror?: false | { refreshMs?: number };
  /** How long a fetched JWKS is trusted: at most the auth service's `JWKS_CACHE_SECONDS` (default 300 s). */
  jwksCacheMs?: number;
  /** Least time between two JWKS fetches triggered by unknown `kid`s (default 30 s). */
  jwksCooldownMs?: number;
}

/** Why a token was refused; safe to return to the client. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

const denyListUnavailable = new Counter({
  name: 'auth_denylist_unavailable_total',
  help: 'Token checks that could not reach the revocation deny-list (the token was accepted).',
  registers: [metricsRegistry],
});

/**
 * Verifies RFC 9068 access tokens locally: ES256 only, `typ: at+jwt`, issuer, audience, time
 * claims with a small tolerance. Keys come from the JWKS, cached by jose and refetched (with
 * a cooldown) when an unknown `kid` appears. A verified token is cached until it expires, but
 * the deny-list is consulted on every call (its in-process copy, or Redis while the copy is
 * stale), so a revocation takes effect within the copy's refresh interval (250 ms).
 */
export class AccessTokenVerifier {
  private readonly logger = new Logger(AccessTokenVerifier.name);
  private readonly keys: JWTVerifyGetKey;
  private readonly verified: LRUCache<string, AccessTokenClaims>;
  private readonly mirror: DenyListMirror | undefined;
  private lastDenyListWarning = 0;

  /** Only a string `kid` selects a key (RFC 7515 §4.1.4); jose alone would fall back to any key of the right type. */
  private readonly keyFor: JWTVerifyGetKey = (header, token) => {
    if (typeof header.kid !== 'string') throw new InvalidTokenError('token is not valid');
    return this.keys(header, token);
  };

  constructor(private readonly options: VerifierOptions) {
    this.keys =
      options.keys instanceof URL
        ? createRemoteJWKSet(options.keys, {
            cooldownDuration: options.jwksCooldownMs ?? 30_000,
            cacheMaxAge: options.jwksCacheMs ?? 300_000,
          })
        : options.keys;
    this.verified = new LRUCache({ max: options.cacheSize ?? 10_000 });
    if (options.redis && options.denyListMirror !== false) {
      this.mirror = new DenyListMirror(options.redis, options.denyListMirror ?? {});
      this.mirror.start();
    }
  }

  /** A revocation made in this process: refused here at once, elsewhere within the refresh interval. */
  noteRevoked(jti: string, expiresAtMs: number): void {
    this.mirror?.add(jti, expiresAtMs);
  }

  /** Stops the deny-list polling. */
  close(): void {
    this.mirror?.stop();
  }

  onModuleDestroy(): void {
    this.close();
  }

  async verify(token: string): Promise<AccessTokenClaims> {
    const claims = this.verified.get(token) ?? (await this.verifySignature(token));
    if (claims.exp * 1000 <= Date.now() - (this.options.clockToleranceSeconds ?? 30) * 1000) {
      this.verified.delete(token);
      throw new InvalidTokenError('token expired');
    }
    await this.checkDenyList(claims.jti);
    return claims;
  }

  private async verifySignature(token: string): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.keyFor, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
      });
      if (typeof payload.scope !== 'string' && payload.scope !== undefined) throw new InvalidTokenError('scope claim must be a string');
      // jose checks `iat` only against `maxTokenAge`; a token issued in the future is refused like one not yet valid.
      if (payload.iat !== undefined && payload.iat > Math.floor(Date.now() / 1000) + (this.options.clockToleranceSeconds ?? 30))
        throw new InvalidTokenError('token is not valid');
      const claims = { ...payload, scope: payload.scope ?? '' } as AccessTokenClaims;
      this.verified.set(token, claims, { ttl: Math.max(1, claims.exp * 1000 - Date.now()) });
      return claims;
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (error instanceof errors.JOSEError)
        throw new InvalidTokenError(error.code === 'ERR_JWT_EXPIRED' ? 'token expired' : 'token is not valid');
      throw error;
    }
  }

  /** Fails open when Redis is unreachable: tokens are short-lived, and an outage must not stop all traffic. */
  private async checkDenyList(jti: string): Promise<void> {
    if (!this.options.redis) return;
    const known = this.mirror?.isRevoked(jti);
    if (known === true) throw new InvalidTokenError('token has been revoked');
    if (known === false) return;
    let revoked: number;
    try {
      revoked = await this.options.redis.exists(denyListKey(jti));
    } catch (error) {
      denyListUnavailable.inc();
      // One line per 10 s, not one per request, while Redis is away.
      if (Date.now() - this.lastDenyListWarning > 10_000) {
        this.lastDenyListWarning = Date.now();
        this.logger.warn(`deny-list unavailable, tokens accepted until it is back: ${(error as Error).message}`);
      }
      return;
    }
    if (revoked === 1) throw new InvalidTokenError('token has been revoked');
  }
}

/** The scopes a token lacks for a route (empty when it has them all). */
export function missingScopes(claims: Pick<AccessTokenClaims, 'scope'>, required: readonly string[]): string[] {
  const granted = new Set(claims.scope.split(' ').filter(Boolean));
  return required.filter((s) => !granted.has(s));
}
