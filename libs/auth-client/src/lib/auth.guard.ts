import { HttpException, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AccessTokenVerifier, InvalidTokenError, missingScopes, type AccessTokenClaims } from './access-token-verifier';

const SCOPES = 'keelson:scopes';
const PUBLIC = 'keelson:public';

/** The scopes a route needs; the guard answers 403 `insufficient_scope` without them. */
export const Scopes = (...scopes: string[]) => SetMetadata(SCOPES, scopes);

/** A route that needs no token (health, discovery, the token endpoint). */
export const Public = () => SetMetadata(PUBLIC, true);

/** Claims of the verified token, set on the request by the guard. */
export type AuthenticatedRequest = FastifyRequest & { auth?: AccessTokenClaims };

/** RFC 6750 §3 challenge: 401 `invalid_token` or 403 `insufficient_scope`. */
class BearerChallenge extends HttpException {
  constructor(
    status: 401 | 403,
    readonly challenge: string,
    message: string,
  ) {
    super(message, status);
  }
}

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: AccessTokenVerifier,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC, targets)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const reply = http.getResponse<{ header(name: string, value: string): unknown }>();
    try {
      if (!header?.startsWith('Bearer ')) throw new BearerChallenge(401, 'Bearer realm="keelson"', 'a bearer access token is required');
      let claims: AccessTokenClaims;
      try {
        claims = await this.verifier.verify(header.slice(7).trim());
      } catch (error) {
        if (error instanceof InvalidTokenError) {
          throw new BearerChallenge(
            401,
            `Bearer realm="keelson", error="invalid_token", error_description="${error.message}"`,
            error.message,
          );
        }
        throw error;
      }
      const required = this.reflector.getAllAndOverride<string[] | undefined>(SCOPES, targets) ?? [];
      const missing = missingScopes(claims, required);
      if (missing.length > 0) {
        throw new BearerChallenge(
          403,
          `Bearer realm="keelson", error="insufficient_scope", scope="${required.join(' ')}"`,
          `this route needs scope ${missing.join(' ')}`,
        );
      }
      request.auth = claims;
      return true;
    } catch (error) {
      if (error instanceof BearerChallenge) reply.header('www-authenticate', error.challenge);
      throw error;
    }
  }
}
