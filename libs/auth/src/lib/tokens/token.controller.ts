import { Body, Controller, Headers, HttpCode, Ip, Post, Res } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { countIssued } from '../auth-metrics';
import { ClientsService } from '../clients/clients.service';
import type { GrantType, OAuthClient } from '../clients/oauth-client.entity';
import { LoginRateLimitedError, LoginThrottle } from '../users/login-throttle';
import { UsersService } from '../users/users.service';
import { DataSource } from 'typeorm';
import { RefreshTokens } from './refresh-tokens';
import { clientCredentials, param, SCOPE_TOKEN } from './form';
import { OAuthError } from './oauth-error';
import { TokenIssuer, type IssuedToken } from './token-issuer';

function allowGrant(client: OAuthClient, grant: GrantType): void {
  if (!client.grantTypes.includes(grant)) throw new OAuthError('unauthorized_client', `this client may not use the ${grant} grant`);
}

/** The requested scopes if all are allowed; all allowed ones when none are requested. */
function grantedScopes(requested: string | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined || requested.trim() === '') return [...allowed];
  const scopes = [...new Set(requested.trim().split(/ +/))];
  const bad = scopes.filter((s) => !SCOPE_TOKEN.test(s) || !allowed.includes(s));
  if (bad.length > 0) throw new OAuthError('invalid_scope', `scope not allowed: ${bad.join(' ')}`);
  return scopes;
}

function required(form: Record<string, unknown>, name: string): string {
  const value = param(form, name);
  if (value === undefined || value === '') throw new OAuthError('invalid_request', `${name} is required`);
  return value;
}

/** The OAuth 2.0 token endpoint (form-encoded). Unknown parameters are ignored, as RFC 6749 requires. */
@ApiTags('auth')
@Controller('api/v1/auth')
export class TokenController {
  constructor(
    private readonly clients: ClientsService,
    private readonly users: UsersService,
    private readonly refreshTokens: RefreshTokens,
    private readonly tokens: TokenIssuer,
    private readonly dataSource: DataSource,
    private readonly throttle: LoginThrottle,
  ) {}

  @Post('token')
  @ApiOperation({ summary: 'Issue tokens (RFC 6749 token endpoint)' })
  @HttpCode(200)
  @ApiConsumes('application/x-www-form-urlencoded')
  async token(
    @Body() body: Record<string, unknown> | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Ip() ip: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<IssuedToken & { refresh_token?: string }> {
    const form = body ?? {};
    const grantType = param(form, 'grant_type');
    if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
    const credentials = clientCredentials(authorization, form);
    const client = await this.clients.authenticate(credentials.id, credentials.secret);
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    switch (grantType) {
      case 'client_credentials': {
        allowGrant(client, 'client_credentials');
        const issued = await this.tokens.issue(client.clientId, client.clientId, grantedScopes(param(form, 'scope'), client.scopes));
        countIssued('client_credentials');
        return issued;
      }
      case 'password': {
        allowGrant(client, 'password');
        const username = required(form, 'username');
        await this.throttle.beforeAttempt(ip, username).catch(async (error: unknown) => {
          if (error instanceof LoginRateLimitedError) await this.users.recordFailedLogin(client.clientId, 'rate-limited');
          throw error;
        });
        const user = await this.users.authenticate(username, required(form, 'password'), client.clientId).catch(async (error: unknown) => {
          await this.throttle.onFailure(ip, username);
          throw error;
        });
        await this.throttle.onSuccess(ip, username);
        const scopes = grantedScopes(
          param(form, 'scope'),
          user.scopes.filter((s) => client.scopes.includes(s)),
        );
        const access = await this.tokens.issue(user.id, client.clientId, scopes);
        countIssued('password');
        if (!client.grantTypes.includes('refresh_token')) return access;
        const refresh = await this.dataSource.transaction((manager) =>
          this.refreshTokens.issue(manager, user.id, client.clientId, scopes.join(' ')),
        );
        return { ...access, refresh_token: refresh };
      }
      case 'refresh_token': {
        allowGrant(client, 'refresh_token');
        const rotated = await this.refreshTokens.rotate(required(form, 'refresh_token'), client.clientId);
        const user = await this.users.find(rotated.userId);
        if (!user || user.disabled) throw new OAuthError('invalid_grant', 'the account is disabled');
        const scopes = grantedScopes(param(form, 'scope'), rotated.scope.split(' ').filter(Boolean));
        const issued = await this.tokens.issue(user.id, client.clientId, scopes);
        countIssued('refresh_token');
        return { ...issued, refresh_token: rotated.refreshToken };
      }
      default:
        throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported`);
    }
  }
}
