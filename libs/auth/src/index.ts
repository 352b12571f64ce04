export { AUTH_SCHEMA, AuthDomainModule, authEntities, authOutboxRoutes, type AuthDomainOptions } from './lib/auth-domain.module';
export { authMigrations } from './lib/migrations';
export { KeyRing, SIGNING_ALG, type PublishedKey, type RotationResult } from './lib/keys/key-ring';
export { keyState, nextRotationStep, signingKeyAt, type KeyPolicy, type KeyState } from './lib/keys/key-policy';
export { SigningKey } from './lib/keys/signing-key.entity';
export { ClientsService, type IssuedClient, type NewClient } from './lib/clients/clients.service';
export { OAuthError, type OAuthErrorCode } from './lib/tokens/oauth-error';
export { PasswordHasher } from './lib/clients/password-hasher';
export { PLATFORM_SCOPES, type PlatformScope } from './lib/scopes';
