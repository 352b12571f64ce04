import { Algorithm, hash, verify } from '@node-rs/argon2';
import { bulkhead, type BulkheadPolicy } from 'cockatiel';

/** OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane (~10–35 ms here). */
const OWASP = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * argon2id hashing with a cap on concurrent hashes (cockatiel bulkhead), so a burst of logins
 * queues instead of exhausting memory and the libuv pool; beyond the queue it fails fast.
 */
export class PasswordHasher {
  private readonly limit: BulkheadPolicy;

  constructor(maxConcurrent = 4, maxQueued = 256) {
    this.limit = bulkhead(maxConcurrent, maxQueued);
  }

  hash(secret: string): Promise<string> {
    return this.limit.execute(() => hash(secret, OWASP));
  }

  /** False for a wrong secret or a malformed hash; never throws on bad input. */
  verify(hashed: string, secret: string): Promise<boolean> {
    return this.limit.execute(() => verify(hashed, secret).catch(() => false));
  }
}
