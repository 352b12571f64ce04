export { AUTH_SCHEMA, AuthDomainModule, authEntities, authOutboxRoutes, type AuthDomainOptions } from './lib/auth-domain.module';
export { authMigrations } from './lib/migrations';
export { KeyRing, SIGNING_ALG, type PublishedKey, type RotationResult } from './lib/keys/key-ring';
export { keyState, nextRotationStep, signingKeyAt, type KeyPolicy, type KeyState } from './lib/keys/key-policy';
export { SigningKey } from './lib/keys/signing-key.entity';
