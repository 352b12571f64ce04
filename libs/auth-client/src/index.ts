export {
  AccessTokenVerifier,
  InvalidTokenError,
  missingScopes,
  type AccessTokenClaims,
  type VerifierOptions,
} from './lib/access-token-verifier';
export { AuthGuard, Public, Scopes, type AuthenticatedRequest } from './lib/auth.guard';
export { AuthClientModule, type AuthClientOptions } from './lib/auth-client.module';
export { DenyListMirror, denyListKey, recordRevocation, type DenyListMirrorOptions } from './lib/deny-list';
