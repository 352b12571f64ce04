import { REDIS, type Redis } from '@keelson/cache';
import { AccessTokenVerifier, recordRevocation } from '@keelson/auth-client';
import { createEvent } from '@keelson/messaging';
import { OutboxWriter } from '@keelson/outbox';
import { Body, Controller, Headers, HttpCode, Inject, Injectable, Post, Res } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { DataSource } from 'typeorm';
import { tokensRevoked } from '../auth-metrics';
import { ClientsService } from '../clients/clients.service';
import { KeyRing, SIGNING_ALG } from '../keys/key-ring';
import { AUTH_SERVER_SETTINGS, type AuthServerSettings } from '../keys/well-known.controller';
import { clientCredentials, param } from './form';
import { IntrospectionService } from './introspection';
import { OAuthError } from './oauth-error';

/**
 * Revokes access tokens: the jti goes on the Redis deny-list until the token would have
 * expired (every verifier checks it per request, through a copy refreshed every 250 ms),
 * and `auth.token.revoked.v1` is published.
 */
@Injectable()
export class RevocationService {
  constructor(
    private readonly keys: KeyRing,
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(AUTH_SERVER_SETTINGS) private readonly settings: AuthServerSettings,
    private readonly guardVerifier: AccessTokenVerifier,
    private readonly introspection: IntrospectionService,
  ) {}

  /** Returns false when there was nothing to revoke (invalid or expired token: not an error, RFC 7009 §2.2). */
  async revoke(token: string, clientId: string): Promise<boolean> {
    let claims: { jti?: string; exp?: number; client_id?: unknown };
    try {
      const jwks = createLocalJWKSet({ keys: await this.keys.published() });
      ({ payload: claims } = await jwtVerify(token, jwks, { issuer: this.settings.issuer, typ: 'at+jwt', algorithms: [SIGNING_ALG] }));
    } catch {
      return false;
    }
    if (claims.client_id !== clientId) throw new OAuthError('unauthorized_client', 'the token was not issued to this client');
    if (!claims.jti || !claims.exp) return false;
    const remainingMs = claims.exp * 1000 - Date.now();
    if (remainingMs <= 0) return false;
    const { jti, exp } = claims;
    await recordRevocation(this.redis, jti, exp * 1000);
    // This replica refuses the token at once; other replicas and gateways within their refresh interval.
    this.guardVerifier.noteRevoked(jti, exp * 1000);
    this.introspection.noteRevoked(jti, exp * 1000);
    await this.dataSource.transaction((manager) =>
      this.outbox.append(manager, [
        createEvent({
          type: 'auth.token.revoked.v1',
          source: 'auth',
          subject: jti,
          aggregatetype: 'access-token',
          aggregateversion: 1,
          data: { jti, expiresAt: new Date(exp * 1000).toISOString() },
        }),
      ]),
    );
    tokensRevoked.inc({ token_type: 'access_token' });
    return true;
  }
}

@ApiTags('auth')
@Controller('api/v1/auth')
export class RevocationController {
  constructor(
    private readonly clients: ClientsService,
    private readonly revocation: RevocationService,
  ) {}

  /** RFC 7009: 200 whether or not the token was valid; the client must own the token. */
  @Post('revoke')
  @ApiOperation({ summary: 'Revoke an access token (RFC 7009)' })
  @HttpCode(200)
  @ApiConsumes('application/x-www-form-urlencoded')
  async revoke(
    @Body() body: Record<string, unknown> | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const form = body ?? {};
    const credentials = clientCredentials(authorization, form);
    const client = await this.clients.authenticate(credentials.id, credentials.secret);
    const token = param(form, 'token');
    if (!token) throw new OAuthError('invalid_request', 'token is required');
    void reply.header('cache-control', 'no-store');
    await this.revocation.revoke(token, client.clientId);
  }
}
