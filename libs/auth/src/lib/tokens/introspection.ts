import { REDIS, type Redis } from '@keelson/cache';
import { AccessTokenVerifier, InvalidTokenError } from '@keelson/auth-client';
import { Body, Controller, Headers, HttpCode, Inject, Injectable, Post, Res, type OnModuleDestroy } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ClientsService } from '../clients/clients.service';
import { KeyRing } from '../keys/key-ring';
import { ownKeys } from '../keys/own-keys';
import { AUTH_SERVER_SETTINGS, type AuthServerSettings } from '../keys/well-known.controller';
import { clientCredentials, param } from './form';
import { OAuthError } from './oauth-error';

export const INTROSPECTION_AUDIENCE = Symbol('INTROSPECTION_AUDIENCE');

/**
 * RFC 7662 introspection with the same verifier the gateways use: verified tokens are kept
 * in an LRU (a hot token is not re-verified), the deny-list is checked every time.
 */
@Injectable()
export class IntrospectionService implements OnModuleDestroy {
  private readonly verifier: AccessTokenVerifier;

  constructor(
    keys: KeyRing,
    @Inject(REDIS) redis: Redis,
    @Inject(AUTH_SERVER_SETTINGS) settings: AuthServerSettings,
    @Inject(INTROSPECTION_AUDIENCE) audience: string,
  ) {
    this.verifier = new AccessTokenVerifier({ keys: ownKeys(keys), issuer: settings.issuer, audience, redis, clockToleranceSeconds: 0 });
  }

  onModuleDestroy(): void {
    this.verifier.close();
  }

  noteRevoked(jti: string, expiresAtMs: number): void {
    this.verifier.noteRevoked(jti, expiresAtMs);
  }

  async introspect(token: string): Promise<Record<string, unknown>> {
    try {
      const claims = await this.verifier.verify(token);
      return { active: true, token_type: 'Bearer', ...claims };
    } catch (error) {
      if (error instanceof InvalidTokenError) return { active: false };
      throw error;
    }
  }
}

@ApiTags('auth')
@Controller('api/v1/auth')
export class IntrospectionController {
  constructor(
    private readonly clients: ClientsService,
    private readonly introspection: IntrospectionService,
  ) {}

  /** `{ "active": false }` for anything not currently valid: expired, revoked, foreign or garbage. */
  @Post('introspect')
  @ApiOperation({ summary: 'Introspect a token (RFC 7662)' })
  @HttpCode(200)
  @ApiConsumes('application/x-www-form-urlencoded')
  async introspect(
    @Body() body: Record<string, unknown> | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Record<string, unknown>> {
    const form = body ?? {};
    const credentials = clientCredentials(authorization, form);
    await this.clients.authenticate(credentials.id, credentials.secret);
    const token = param(form, 'token');
    if (!token) throw new OAuthError('invalid_request', 'token is required');
    void reply.header('cache-control', 'no-store');
    return this.introspection.introspect(token);
  }
}
