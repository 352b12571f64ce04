import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ClientsService } from '../clients/clients.service';
import type { OAuthClient } from '../clients/oauth-client.entity';
import { clientCredentials, param, SCOPE_TOKEN } from './form';
import { OAuthError } from './oauth-error';
import { TokenIssuer, type IssuedToken } from './token-issuer';

function grantedScopes(requested: string | undefined, client: OAuthClient): string[] {
  if (requested === undefined || requested.trim() === '') return client.scopes;
  const scopes = [...new Set(requested.trim().split(/ +/))];
  const bad = scopes.filter((s) => !SCOPE_TOKEN.test(s) || !client.scopes.includes(s));
  if (bad.length > 0) throw new OAuthError('invalid_scope', `scope not allowed for this client: ${bad.join(' ')}`);
  return scopes;
}

/** The OAuth 2.0 token endpoint (form-encoded). Unknown parameters are ignored, as RFC 6749 requires. */
@ApiTags('auth')
@Controller('api/v1/auth')
export class TokenController {
  constructor(
    private readonly clients: ClientsService,
    private readonly tokens: TokenIssuer,
  ) {}

  @Post('token')
  @HttpCode(200)
  @ApiConsumes('application/x-www-form-urlencoded')
  async token(
    @Body() body: Record<string, unknown> | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<IssuedToken> {
    const form = body ?? {};
    const grantType = param(form, 'grant_type');
    if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
    const credentials = clientCredentials(authorization, form);
    const client = await this.clients.authenticate(credentials.id, credentials.secret);
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    switch (grantType) {
      case 'client_credentials': {
        if (!client.grantTypes.includes('client_credentials')) {
          throw new OAuthError('unauthorized_client', 'this client may not use the client_credentials grant');
        }
        return this.tokens.issue(client.clientId, client.clientId, grantedScopes(param(form, 'scope'), client));
      }
      default:
        throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported`);
    }
  }
}
