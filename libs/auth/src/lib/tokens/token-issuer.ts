import { KeyObject, randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import type { KeyLike } from 'jose';
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

type Signer = (payload: Record<string, unknown>) => string;

/**
 * Signs RFC 9068 access tokens (`typ: at+jwt`) with the key that signs now. Signing uses
 * fast-jwt with one prepared signer per key (4× jose's signing rate here, see ADR 0007);
 * verification everywhere stays on jose.
 */
export class TokenIssuer {
  private readonly signers = new Map<string, Signer>();

  constructor(
    private readonly keys: KeyRing,
    private readonly settings: AccessTokenSettings,
  ) {}

  async issue(subject: string, clientId: string, scopes: readonly string[]): Promise<IssuedToken> {
    const current = await this.keys.signingKey();
    if (!current) throw new Error('no signing key is active yet');
    const scope = scopes.join(' ');
    const accessToken = this.signerFor(current.kid, current.key)({ sub: subject, client_id: clientId, scope, jti: randomUUID() });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: this.settings.ttlSeconds, scope };
  }

  private signerFor(kid: string, key: KeyLike | Uint8Array): Signer {
    let signer = this.signers.get(kid);
    if (!signer) {
      if (!(key instanceof KeyObject)) throw new Error(`signing key ${kid} is not a private key object`);
      signer = createSigner({
        key: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
        algorithm: SIGNING_ALG,
        kid,
        header: { alg: SIGNING_ALG, typ: 'at+jwt' },
        iss: this.settings.issuer,
        aud: this.settings.audience,
        expiresIn: this.settings.ttlSeconds * 1000,
      });
      this.signers.clear(); // one key signs at a time; the previous signer is not needed again
      this.signers.set(kid, signer);
    }
    return signer;
  }
}
