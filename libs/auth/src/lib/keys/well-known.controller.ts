import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { KeyRing, SIGNING_ALG, type PublishedKey } from './key-ring';

export const AUTH_SERVER_SETTINGS = Symbol('AUTH_SERVER_SETTINGS');

export interface AuthServerSettings {
  /** The `iss` of every token, and the base of the metadata URLs (the public gateway URL). */
  issuer: string;
  jwksCacheSeconds: number;
}

@ApiTags('discovery')
@Controller('.well-known')
export class WellKnownController {
  constructor(
    private readonly keys: KeyRing,
    @Inject(AUTH_SERVER_SETTINGS) private readonly settings: AuthServerSettings,
  ) {}

  /** Pending, active and retired public keys; clients may cache them for `jwksCacheSeconds`. */
  @Get('jwks.json')
  @ApiOperation({ summary: 'Publish the signing keys (JWKS)' })
  async jwks(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ keys: PublishedKey[] }> {
    void reply.header('cache-control', `public, max-age=${this.settings.jwksCacheSeconds}`);
    return { keys: await this.keys.published() };
  }

  /** RFC 8414 authorization server metadata (also served under the OpenID discovery name). */
  @Get('openid-configuration')
  @ApiOperation({ summary: 'Describe the authorization server (RFC 8414 metadata)' })
  metadata(): Record<string, unknown> {
    const base = this.settings.issuer.replace(/\/$/, '');
    return {
      issuer: this.settings.issuer,
      token_endpoint: `${base}/api/v1/auth/token`,
      introspection_endpoint: `${base}/api/v1/auth/introspect`,
      revocation_endpoint: `${base}/api/v1/auth/revoke`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials', 'password', 'refresh_token'],
      response_types_supported: ['token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      token_endpoint_auth_signing_alg_values_supported: [SIGNING_ALG],
    };
  }
}
