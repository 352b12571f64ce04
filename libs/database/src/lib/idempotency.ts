import { createHash } from 'node:crypto';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

export interface StoredResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export type IdempotentOutcome = StoredResponse & { replayed: boolean };

/** Same key, different request: the client reused a key for something else. */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
}

/** A fingerprint of what was asked: method, route and canonical body. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  const canonical = (value: unknown): unknown =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(
          Object.entries(value as Record<string, unknown>)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => [k, canonical(v)]),
        )
      : Array.isArray(value)
        ? value.map(canonical)
        : value;
  return createHash('sha256')
    .update(`${method} ${path}\n${JSON.stringify(canonical(body ?? null))}`)
    .digest('hex');
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

/**
 * Makes a POST safe to retry. The key's row, the business change and the stored response
 * commit in one transaction: a concurrent duplicate waits on the key's unique index and
 * then replays the stored response; a failed attempt leaves no key behind.
 */
export class IdempotencyStore {
  private readonly table: string;

  constructor(
    private readonly dataSource: DataSource,
    schema: string,
  ) {
    this.table = `${quote(schema)}.idempotency_keys`;
  }

  async execute(
    key: string | undefined,
    fingerprint: string,
    work: (manager: EntityManager) => Promise<StoredResponse>,
  ): Promise<IdempotentOutcome> {
    if (key === undefined) return { ...(await this.dataSource.transaction(work)), replayed: false };
    return this.dataSource.transaction(async (manager) => {
      const inserted = await manager.query<{ key: string }[]>(
        `INSERT INTO ${this.table} (key, fingerprint) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key`,
        [key, fingerprint],
      );
      if (inserted.length === 0) {
        const [stored] = await manager.query<{ fingerprint: string; status: number; body: unknown; headers: Record<string, string> }[]>(
          `SELECT fingerprint, status, body, headers FROM ${this.table} WHERE key = $1`,
          [key],
        );
        if (!stored) throw new Error(`idempotency key ${key} vanished`);
        if (stored.fingerprint !== fingerprint)
          throw new IdempotencyKeyReusedError('this Idempotency-Key was already used with a different request');
        return { status: stored.status, body: stored.body, headers: stored.headers, replayed: true };
      }
      const response = await work(manager);
      await manager.query(`UPDATE ${this.table} SET status = $2, body = $3, headers = $4 WHERE key = $1`, [
        key,
        response.status,
        JSON.stringify(response.body),
        JSON.stringify(response.headers),
      ]);
      return { ...response, replayed: false };
    });
  }
}

/** DDL for a service's migration. Keys older than a day may be deleted. */
export async function createIdempotencyTable(runner: QueryRunner): Promise<void> {
  const schema = (runner.connection.options as PostgresConnectionOptions).schema ?? 'public';
  await runner.query(`CREATE TABLE ${quote(schema)}."idempotency_keys" (
    "key" text NOT NULL,
    "fingerprint" text NOT NULL,
    "status" integer,
    "body" jsonb,
    "headers" jsonb,
    "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT "PK_idempotency_keys" PRIMARY KEY ("key"))`);
}
