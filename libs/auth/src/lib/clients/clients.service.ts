import { randomBytes, randomUUID } from 'node:crypto';
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

  /** Checks a client's credentials; every failure is the same `invalid_client`. */
  async authenticate(clientId: string, secret: string): Promise<OAuthClient> {
    const client = await this.dataSource.getRepository(OAuthClient).findOneBy({ clientId });
    this.decoyHash ??= this.hasher.hash(randomBytes(16).toString('hex'));
    const valid = await this.hasher.verify(client?.secretHash ?? (await this.decoyHash), secret);
    if (!client || !valid || client.disabled) throw new OAuthError('invalid_client', 'client authentication failed');
    return client;
  }
}
