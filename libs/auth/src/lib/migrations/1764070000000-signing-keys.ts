import { createOutboxTable } from '@keelson/outbox';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

const schemaOf = (runner: QueryRunner) => `"${(runner.connection.options as PostgresConnectionOptions).schema ?? 'auth'}"`;

/** Signing keys and the outbox for auth events. */
export class SigningKeys1764070000000 implements MigrationInterface {
  name = 'SigningKeys1764070000000';

  async up(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`CREATE TABLE ${s}."signing_keys" (
      "kid" text NOT NULL, "alg" text NOT NULL, "public_jwk" jsonb NOT NULL, "private_jwk" jsonb NOT NULL,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "activates_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL,
      "retires_at" TIMESTAMP(3) WITH TIME ZONE, "expires_at" TIMESTAMP(3) WITH TIME ZONE,
      CONSTRAINT "PK_signing_keys" PRIMARY KEY ("kid"))`);
    await runner.query(`CREATE INDEX "IDX_signing_keys_activates" ON ${s}."signing_keys" ("activates_at")`);
    await createOutboxTable(runner);
  }

  async down(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`DROP TABLE ${s}."outbox"`);
    await runner.query(`DROP TABLE ${s}."signing_keys"`);
  }
}
