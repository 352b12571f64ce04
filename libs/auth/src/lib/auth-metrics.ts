import { metricsRegistry } from '@keelson/observability';
import { Counter } from 'prom-client';
import type { GrantType } from './clients/oauth-client.entity';

export const tokensIssued = new Counter({
  name: 'auth_tokens_issued_total',
  help: 'Access tokens issued by the token endpoint, by grant type (client_credentials, password, refresh_token).',
  labelNames: ['grant_type'] as const,
  registers: [metricsRegistry],
});

export type LoginFailureReason = 'bad-credentials' | 'locked' | 'rate-limited';

export const loginsFailed = new Counter({
  name: 'auth_logins_failed_total',
  help: 'Password-grant logins refused, by reason (bad_credentials, locked, rate_limited).',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

export const refreshReuseDetected = new Counter({
  name: 'auth_refresh_token_reuse_detected_total',
  help: 'Consumed refresh tokens presented again after the grace period (a leak signal); each revoked its whole family.',
  registers: [metricsRegistry],
});

export const tokensRevoked = new Counter({
  name: 'auth_tokens_revoked_total',
  help: 'Tokens revoked, by token type: access_token (RFC 7009 revocation), refresh_token (families revoked on reuse, one per token).',
  labelNames: ['token_type'] as const,
  registers: [metricsRegistry],
});

export function countIssued(grantType: GrantType): void {
  tokensIssued.inc({ grant_type: grantType });
}

export function countFailedLogin(reason: LoginFailureReason): void {
  loginsFailed.inc({ reason: reason.replace('-', '_') });
}
