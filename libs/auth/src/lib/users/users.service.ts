import { randomBytes, randomUUID } from 'node:crypto';
import { createEvent } from '@keelson/messaging';
import { OutboxWriter } from '@keelson/outbox';
import { Injectable } from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';
import { countFailedLogin, type LoginFailureReason } from '../auth-metrics';
import { PasswordHasher } from '../clients/password-hasher';
import { OAuthError } from '../tokens/oauth-error';
import { User } from './user.entity';

export interface UserView {
  id: string;
  username: string;
  scopes: string[];
}

/** A duplicate username; mapped to 409 at the edge. */
export class UsernameTakenError extends Error {
  override readonly name = 'UsernameTakenError';
}

@Injectable()
export class UsersService {
  private decoyHash: Promise<string> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly outbox: OutboxWriter,
  ) {}

  async create(username: string, password: string, scopes: string[]): Promise<UserView> {
    const user = {
      id: randomUUID(),
      username: username.toLowerCase(),
      passwordHash: await this.hasher.hash(password),
      scopes,
      disabled: false,
    };
    try {
      await this.dataSource.getRepository(User).insert(user);
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505')
        throw new UsernameTakenError(`username ${user.username} is taken`);
      throw error;
    }
    return { id: user.id, username: user.username, scopes };
  }

  /**
   * Checks a username and password for the password grant. Every failure is the same
   * `invalid_grant` (no hint which part was wrong), takes the same time, and is recorded as a
   * `auth.login.failed.v1` audit event without the username or password.
   */
  async authenticate(username: string, password: string, clientId: string): Promise<User> {
    const user = await this.dataSource.getRepository(User).findOneBy({ username: username.toLowerCase() });
    this.decoyHash ??= this.hasher.hash(randomBytes(16).toString('hex'));
    const valid = await this.hasher.verify(user?.passwordHash ?? (await this.decoyHash), password);
    if (user && valid && !user.disabled) return user;
    await this.recordFailedLogin(clientId, user?.disabled ? 'locked' : 'bad-credentials');
    throw new OAuthError('invalid_grant', 'the username or password is wrong, or the account is disabled');
  }

  /** The audit trail of refused logins: client id and reason, never the username or password. */
  recordFailedLogin(clientId: string, reason: LoginFailureReason): Promise<void> {
    countFailedLogin(reason);
    return this.dataSource.transaction((manager) =>
      this.outbox.append(manager, [
        createEvent({
          type: 'auth.login.failed.v1',
          source: 'auth',
          subject: clientId,
          aggregatetype: 'login',
          aggregateversion: 1,
          data: { clientId, reason },
        }),
      ]),
    );
  }

  async find(id: string): Promise<User | null> {
    return this.dataSource.getRepository(User).findOneBy({ id });
  }
}
