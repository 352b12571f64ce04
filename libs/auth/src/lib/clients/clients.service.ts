import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OAuthError } from '../tokens/oauth-error';
import { OAuthClient, type GrantType } from './oauth-client.entity';
import { PasswordHasher } from './password-hasher';

export interface NewClient {
  name: string;
  scopes: string[];
  grantTypes: GrantType[];
}

/** A client as created: the only time its secret is visible. */
export interface IssuedClient {
  clientId: string;
  clientSecret: string;
  name: string;
  scopes: string[];
  grantTypes: GrantType[];
}

@Injectable()
export class ClientsService {
  /** Verified against when the client id is unknown, so both failures take the same time. */
  private decoyHash: Promise<string> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
  ) {}

  async create(input: NewClient): Promise<IssuedClient> {
    const clientId = `kc_${randomUUID().replace(/-/g, '')}`;
    const clientSecret = randomBytes(32).toString('base64url');
    await this.dataSource.getRepository(OAuthClient).insert({
      clientId,
      secretHash: await this.hasher.hash(clientSecret),
      name: input.name,
      scopes: input.scopes,
      grantTypes: input.grantTypes,
      disabled: false,
    });
    return { clientId, clientSecret, ...input };
  }

  /**
   * Successful authentications, keyed by a SHA-256 of id and secret, for 30 s: argon2id costs
   * ~30 ms of a capped pool per check, which would bound token issuance to ~100/s. A client
   * disabled meanwhile is refused at the latest 30 s later. Failures are never cached.
   */
  private readonly recent = new LRUCache<string, OAuthClient>({ max: 10_000, ttl: 30_000 });

  /** Checks a client's credentials; every failure is the same `invalid_client`. */
  async authenticate(clientId: string, secret: string): Promise<OAuthClient> {
    const cacheKey = createHash('sha256').update(`${clientId}\0${secret}`).digest('base64url');
    const known = this.recent.get(cacheKey);
    if (known) return known;
    const client = await this.dataSource.getRepository(OAuthClient).findOneBy({ clientId });
    this.decoyHash ??= this.hasher.hash(randomBytes(16).toString('hex'));
    const valid = await this.hasher.verify(client?.secretHash ?? (await this.decoyHash), secret);
    if (!client || !valid || client.disabled) throw new OAuthError('invalid_client', 'client authentication failed');
    this.recent.set(cacheKey, client);
    return client;
  }
}
