import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

const schemaOf = (runner: QueryRunner) => `"${(runner.connection.options as PostgresConnectionOptions).schema ?? 'auth'}"`;

/** OAuth clients (secrets stored as argon2id hashes). */
export class Clients1764080000000 implements MigrationInterface {
  name = 'Clients1764080000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE ${schemaOf(runner)}."clients" (
      "client_id" text NOT NULL, "secret_hash" text NOT NULL, "name" text NOT NULL, "scopes" text array NOT NULL,
      "grant_types" text array NOT NULL, "disabled" boolean NOT NULL DEFAULT false,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_clients" PRIMARY KEY ("client_id"))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE ${schemaOf(runner)}."clients"`);
  }
}
