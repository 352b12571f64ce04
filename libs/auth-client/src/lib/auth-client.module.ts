import { REDIS, type Redis } from '@keelson/cache';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessTokenVerifier } from './access-token-verifier';
import { AuthGuard } from './auth.guard';

export interface AuthClientOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  clockToleranceSeconds?: number;
}

/** Installs the guard on every route (opt out with `@Public()`), checking the deny-list in Redis. */
@Module({})
export class AuthClientModule {
  static forRoot(options: AuthClientOptions): DynamicModule {
    return {
      module: AuthClientModule,
      providers: [
        {
          provide: AccessTokenVerifier,
          useFactory: (redis: Redis) =>
            new AccessTokenVerifier({
              keys: new URL(options.jwksUrl),
              issuer: options.issuer,
              audience: options.audience,
              redis,
              ...(options.clockToleranceSeconds === undefined ? {} : { clockToleranceSeconds: options.clockToleranceSeconds }),
            }),
          inject: [REDIS],
        },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
      exports: [AccessTokenVerifier],
    };
  }
}
