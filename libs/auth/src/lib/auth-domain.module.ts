import { authTopic } from '@keelson/messaging';
import { OutboxWriter, type OutboxRoutes } from '@keelson/outbox';
import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { KeyRing } from './keys/key-ring';
import type { KeyPolicy } from './keys/key-policy';
import { KeyRotationScheduler } from './keys/key-rotation.scheduler';
import { SigningKey } from './keys/signing-key.entity';
import { ClientsController } from './clients/clients.controller';
import { RefreshToken } from './tokens/refresh-token.entity';
import { RefreshTokens, type RefreshPolicy } from './tokens/refresh-tokens';
import { User } from './users/user.entity';
import { UsersController } from './users/users.controller';
import { UsersService } from './users/users.service';
import { LoginThrottle, type LoginLimits } from './users/login-throttle';
import { ClientsService } from './clients/clients.service';
import { ownKeys } from './keys/own-keys';
import { AccessTokenVerifier, AuthGuard } from '@keelson/auth-client';
import { REDIS, type Redis } from '@keelson/cache';
import { OAuthClient } from './clients/oauth-client.entity';
import { PasswordHasher } from './clients/password-hasher';
import { INTROSPECTION_AUDIENCE, IntrospectionController, IntrospectionService } from './tokens/introspection';
import { RevocationController, RevocationService } from './tokens/revocation';
import { TokenController } from './tokens/token.controller';
import { TokenIssuer, type AccessTokenSettings } from './tokens/token-issuer';
import { AUTH_SERVER_SETTINGS, WellKnownController, type AuthServerSettings } from './keys/well-known.controller';

/** The PostgreSQL schema the auth service owns. */
export const AUTH_SCHEMA = 'auth';

export const authEntities = [SigningKey, OAuthClient, User, RefreshToken];

export const authOutboxRoutes: OutboxRoutes = { 'signing-key': authTopic, 'access-token': authTopic, login: authTopic };

export interface AuthDomainOptions extends AuthServerSettings {
  keyPolicy: KeyPolicy;
  rotationCheckIntervalMs: number;
  accessTokens: Omit<AccessTokenSettings, 'issuer'>;
  refreshTokens: RefreshPolicy;
  loginLimits: LoginLimits;
  /** Most argon2id hashes computed at once; more wait in a queue. */
  maxConcurrentHashes: number;
}

/** Signing keys with scheduled rotation, the JWKS, the metadata, clients and the token endpoint. */
@Module({})
export class AuthDomainModule {
  static forRoot(options: AuthDomainOptions): DynamicModule {
    return {
      module: AuthDomainModule,
      controllers: [
        WellKnownController,
        TokenController,
        RevocationController,
        IntrospectionController,
        ClientsController,
        UsersController,
      ],
      providers: [
        { provide: AUTH_SERVER_SETTINGS, useValue: { issuer: options.issuer, jwksCacheSeconds: options.jwksCacheSeconds } },
        {
          provide: KeyRing,
          useFactory: (dataSource: DataSource, outbox: OutboxWriter) => new KeyRing(dataSource, outbox, options.keyPolicy),
          inject: [DataSource, OutboxWriter],
        },
        { provide: PasswordHasher, useFactory: () => new PasswordHasher(options.maxConcurrentHashes) },
        ClientsService,
        RevocationService,
        UsersService,
        { provide: LoginThrottle, useFactory: (redis: Redis) => new LoginThrottle(redis, options.loginLimits), inject: [REDIS] },
        {
          provide: RefreshTokens,
          useFactory: (dataSource: DataSource) => new RefreshTokens(dataSource, options.refreshTokens),
          inject: [DataSource],
        },
        {
          // The guard of the admin routes verifies against this service's own keys, not over HTTP.
          provide: AccessTokenVerifier,
          useFactory: (keys: KeyRing, redis: Redis) =>
            new AccessTokenVerifier({ keys: ownKeys(keys), issuer: options.issuer, audience: options.accessTokens.audience, redis }),
          inject: [KeyRing, REDIS],
        },
        AuthGuard,
        IntrospectionService,
        { provide: INTROSPECTION_AUDIENCE, useValue: options.accessTokens.audience },
        {
          provide: TokenIssuer,
          useFactory: (keys: KeyRing) => new TokenIssuer(keys, { issuer: options.issuer, ...options.accessTokens }),
          inject: [KeyRing],
        },
        {
          provide: KeyRotationScheduler,
          useFactory: (keys: KeyRing) => new KeyRotationScheduler(keys, options.rotationCheckIntervalMs),
          inject: [KeyRing],
        },
      ],
      exports: [KeyRing, ClientsService],
    };
  }
}
