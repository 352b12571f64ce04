import { REDIS, type Redis } from '@keelson/cache';
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { JWTVerifyGetKey } from 'jose';
import { AccessTokenVerifier } from './access-token-verifier';
import { AuthGuard } from './auth.guard';

export interface AuthClientOptions {
  /** The auth service's JWKS URL, or a key lookup (the auth service uses its own keys). */
  keys: string | JWTVerifyGetKey;
  issuer: string;
  audience: string;
  clockToleranceSeconds?: number;
  /** Guard every route (opt out with `@Public()`); otherwise use `@UseGuards(AuthGuard)` where needed. */
  guardAllRoutes: boolean;
}

/** The token verifier (deny-list in Redis) and the guard. */
@Module({})
export class AuthClientModule {
  static forRoot(options: AuthClientOptions): DynamicModule {
    const providers: Provider[] = [
      {
        provide: AccessTokenVerifier,
        useFactory: (redis: Redis) =>
          new AccessTokenVerifier({
            keys: typeof options.keys === 'string' ? new URL(options.keys) : options.keys,
            issuer: options.issuer,
            audience: options.audience,
            redis,
            ...(options.clockToleranceSeconds === undefined ? {} : { clockToleranceSeconds: options.clockToleranceSeconds }),
          }),
        inject: [REDIS],
      },
      AuthGuard,
    ];
    if (options.guardAllRoutes) providers.push({ provide: APP_GUARD, useExisting: AuthGuard });
    return { module: AuthClientModule, global: true, providers, exports: [AccessTokenVerifier, AuthGuard] };
  }
}
