import { authTopic } from '@keelson/messaging';
import { OutboxWriter, type OutboxRoutes } from '@keelson/outbox';
import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { KeyRing } from './keys/key-ring';
import type { KeyPolicy } from './keys/key-policy';
import { KeyRotationScheduler } from './keys/key-rotation.scheduler';
import { SigningKey } from './keys/signing-key.entity';
import { AUTH_SERVER_SETTINGS, WellKnownController, type AuthServerSettings } from './keys/well-known.controller';

/** The PostgreSQL schema the auth service owns. */
export const AUTH_SCHEMA = 'auth';

export const authEntities = [SigningKey];

export const authOutboxRoutes: OutboxRoutes = { 'signing-key': authTopic };

export interface AuthDomainOptions extends AuthServerSettings {
  keyPolicy: KeyPolicy;
  rotationCheckIntervalMs: number;
}

/** Signing keys with scheduled rotation, the JWKS and the authorization-server metadata. */
@Module({})
export class AuthDomainModule {
  static forRoot(options: AuthDomainOptions): DynamicModule {
    return {
      module: AuthDomainModule,
      controllers: [WellKnownController],
      providers: [
        { provide: AUTH_SERVER_SETTINGS, useValue: { issuer: options.issuer, jwksCacheSeconds: options.jwksCacheSeconds } },
        {
          provide: KeyRing,
          useFactory: (dataSource: DataSource, outbox: OutboxWriter) => new KeyRing(dataSource, outbox, options.keyPolicy),
          inject: [DataSource, OutboxWriter],
        },
        {
          provide: KeyRotationScheduler,
          useFactory: (keys: KeyRing) => new KeyRotationScheduler(keys, options.rotationCheckIntervalMs),
          inject: [KeyRing],
        },
      ],
      exports: [KeyRing],
    };
  }
}
