import { createEvent } from '@keelson/messaging';
import type { OutboxWriter } from '@keelson/outbox';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, type KeyLike } from 'jose';
import type { DataSource, EntityManager } from 'typeorm';
import { nextRotationStep, signingKeyAt, keyState, type KeyPolicy } from './key-policy';
import { SigningKey } from './signing-key.entity';

export const SIGNING_ALG = 'ES256';
const ROTATION_LOCK = 'keelson:auth:key-rotation';

export interface PublishedKey extends JWK {
  kid: string;
  use: 'sig';
  alg: string;
}

export interface RotationResult {
  created?: string;
  retiring?: string;
  deleted: number;
}

/**
 * The auth service's signing keys: scheduled rotation (one replica at a time, under a
 * PostgreSQL advisory lock), the published JWKS, and the key that signs now.
 */
export class KeyRing {
  private cached: { readAt: number; keys: SigningKey[] } | undefined;
  private readonly imported = new Map<string, KeyLike | Uint8Array>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly policy: KeyPolicy,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Runs one rotation step if due; returns immediately (doing nothing) if another replica holds the lock. */
  async rotate(): Promise<RotationResult | 'locked'> {
    const result = await this.dataSource.transaction(async (manager): Promise<RotationResult | 'locked'> => {
      const [lock] = await manager.query<{ locked: boolean }[]>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [
        ROTATION_LOCK,
      ]);
      if (!lock?.locked) return 'locked';
      const now = this.clock();
      const keys = await manager.find(SigningKey);
      const expired = keys.filter((k) => keyState(k, now) === 'expired').map((k) => k.kid);
      if (expired.length > 0) await manager.delete(SigningKey, expired);
      const step = nextRotationStep(keys, now, this.policy);
      switch (step.kind) {
        case 'none':
          return { deleted: expired.length };
        case 'bootstrap': {
          const kid = await this.createKey(manager, now, step.activatesAt);
          await this.announce(manager, kid, null);
          return { created: kid, deleted: expired.length };
        }
        case 'schedule-successor': {
          const kid = await this.createKey(manager, now, step.activatesAt);
          await manager.update(SigningKey, { kid: step.current }, { retiresAt: step.currentRetiresAt, expiresAt: step.currentExpiresAt });
          await this.announce(manager, kid, step.current);
          return { created: kid, retiring: step.current, deleted: expired.length };
        }
      }
    });
    if (result !== 'locked' && result.created) this.cached = undefined; // committed: re-read on next use
    return result;
  }

  /** Public keys to publish: pending, active and retired (not expired). */
  async published(): Promise<PublishedKey[]> {
    const now = this.clock();
    const keys = await this.dataSource.getRepository(SigningKey).find({ order: { activatesAt: 'DESC' } });
    return keys.filter((k) => keyState(k, now) !== 'expired').map((k) => ({ ...k.publicJwk, kid: k.kid, use: 'sig', alg: k.alg }));
  }

  /**
   * The key that signs now, or undefined before the first rotation ran. The key list is
   * re-read at most every `cacheMs` (successors are planned a JWKS cache lifetime ahead,
   * so a few seconds of staleness never picks the wrong key); imported keys are kept.
   */
  async signingKey(cacheMs = 5_000): Promise<{ kid: string; key: KeyLike | Uint8Array } | undefined> {
    const now = this.clock();
    let cached = this.cached;
    if (!cached || cached.keys.length === 0 || now.getTime() - cached.readAt > cacheMs || now.getTime() < cached.readAt) {
      cached = { readAt: now.getTime(), keys: await this.dataSource.getRepository(SigningKey).find() };
      this.cached = cached;
    }
    const current = signingKeyAt(cached.keys, now);
    if (!current) return undefined;
    let key = this.imported.get(current.kid);
    if (!key) {
      key = await importJWK(current.privateJwk, current.alg);
      this.imported.set(current.kid, key);
    }
    return { kid: current.kid, key };
  }

  /** Key generation is asynchronous (libuv thread pool), so it never blocks the event loop. */
  private async createKey(manager: EntityManager, now: Date, activatesAt: Date): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
    await manager.insert(SigningKey, {
      kid,
      alg: SIGNING_ALG,
      publicJwk,
      privateJwk: await exportJWK(privateKey),
      createdAt: now,
      activatesAt,
      retiresAt: null,
      expiresAt: null,
    });
    return kid;
  }

  private announce(manager: EntityManager, activeKid: string, retiredKid: string | null): Promise<void> {
    return this.outbox.append(manager, [
      createEvent({
        type: 'auth.key.rotated.v1',
        source: 'auth',
        subject: activeKid,
        aggregatetype: 'signing-key',
        aggregateversion: 1,
        data: { activeKid, retiredKid },
      }),
    ]);
  }
}
