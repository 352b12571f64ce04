import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource, IsNull, type EntityManager } from 'typeorm';
import { refreshReuseDetected, tokensRevoked } from '../auth-metrics';
import { OAuthError } from './oauth-error';
import { RefreshToken } from './refresh-token.entity';

export interface RefreshPolicy {
  lifetimeMs: number;
  /** A consumed token may be used again this long (≤ 60 s) without alarm: concurrent refreshes. */
  reuseGraceMs: number;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('base64url');

export interface Rotated {
  refreshToken: string;
  userId: string;
  scope: string;
}

/** Opaque refresh tokens, rotated on every use, with family-wide revocation on reuse. */
export class RefreshTokens {
  constructor(
    private readonly dataSource: DataSource,
    private readonly policy: RefreshPolicy,
  ) {}

  /** A new token; `family` continues a login, or starts one when absent. */
  async issue(manager: EntityManager, userId: string, clientId: string, scope: string, family: string = randomUUID()): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    await manager.insert(RefreshToken, {
      id: randomUUID(),
      family,
      tokenHash: hashOf(token),
      userId,
      clientId,
      scope,
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.policy.lifetimeMs),
      consumedAt: null,
      revokedAt: null,
    });
    return token;
  }

  /**
   * Consumes `token` and returns its successor. A token consumed within the grace period is
   * accepted again (two tabs refreshing at once both succeed); after it, reuse means the token
   * leaked: the whole family is revoked and the caller gets `invalid_grant`.
   */
  async rotate(token: string, clientId: string): Promise<Rotated> {
    const outcome = await this.dataSource.transaction(async (manager) => {
      const current = await manager.findOne(RefreshToken, { where: { tokenHash: hashOf(token) }, lock: { mode: 'pessimistic_write' } });
      const now = new Date();
      if (!current || current.clientId !== clientId || current.revokedAt !== null || current.expiresAt <= now) return 'invalid' as const;
      if (current.consumedAt !== null && now.getTime() - current.consumedAt.getTime() >= this.policy.reuseGraceMs) {
        const { affected } = await manager.update(RefreshToken, { family: current.family, revokedAt: IsNull() }, { revokedAt: now });
        return { reused: affected ?? 0 };
      }
      if (current.consumedAt === null) await manager.update(RefreshToken, { id: current.id }, { consumedAt: now });
      return {
        refreshToken: await this.issue(manager, current.userId, clientId, current.scope, current.family),
        userId: current.userId,
        scope: current.scope,
      };
    });
    if (outcome === 'invalid') throw new OAuthError('invalid_grant', 'the refresh token is not valid');
    if ('reused' in outcome) {
      refreshReuseDetected.inc();
      tokensRevoked.inc({ token_type: 'refresh_token' }, outcome.reused);
      throw new OAuthError('invalid_grant', 'the refresh token was already used; its whole family is revoked');
    }
    return outcome;
  }
}
