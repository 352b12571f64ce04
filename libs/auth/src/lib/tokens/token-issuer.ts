import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { KeyRing } from '../keys/key-ring';
import { SIGNING_ALG } from '../keys/key-ring';

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** Signs RFC 9068 access tokens (`typ: at+jwt`) with the key that signs now. */
export class TokenIssuer {
  constructor(
    private readonly keys: KeyRing,
    private readonly settings: AccessTokenSettings,
  ) {}

  async issue(subject: string, clientId: string, scopes: readonly string[]): Promise<IssuedToken> {
    const key = await this.keys.signingKey();
    if (!key) throw new Error('no signing key is active yet');
    const now = Math.floor(Date.now() / 1000);
    const scope = scopes.join(' ');
    const accessToken = await new SignJWT({ client_id: clientId, scope })
      .setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(this.settings.issuer)
      .setSubject(subject)
      .setAudience(this.settings.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.settings.ttlSeconds)
      .setJti(randomUUID())
      .sign(key.key);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: this.settings.ttlSeconds, scope };
  }
}
