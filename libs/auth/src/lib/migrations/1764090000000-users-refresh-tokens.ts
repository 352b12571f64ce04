import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

const schemaOf = (runner: QueryRunner) => `"${(runner.connection.options as PostgresConnectionOptions).schema ?? 'auth'}"`;

/** Users for the password grant, and rotating refresh tokens. */
export class UsersRefreshTokens1764090000000 implements MigrationInterface {
  name = 'UsersRefreshTokens1764090000000';

  async up(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`CREATE TABLE ${s}."users" (
      "id" uuid NOT NULL, "username" text NOT NULL, "password_hash" text NOT NULL, "scopes" text array NOT NULL,
      "disabled" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "UQ_users_username" UNIQUE ("username"), CONSTRAINT "PK_users" PRIMARY KEY ("id"))`);
    await runner.query(`CREATE TABLE ${s}."refresh_tokens" (
      "id" uuid NOT NULL, "family" uuid NOT NULL, "token_hash" text NOT NULL, "user_id" uuid NOT NULL, "client_id" text NOT NULL,
      "scope" text NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL,
      "consumed_at" TIMESTAMP(3) WITH TIME ZONE, "revoked_at" TIMESTAMP(3) WITH TIME ZONE,
      CONSTRAINT "UQ_refresh_tokens_hash" UNIQUE ("token_hash"), CONSTRAINT "PK_refresh_tokens" PRIMARY KEY ("id"))`);
    await runner.query(`CREATE INDEX "IDX_refresh_tokens_family" ON ${s}."refresh_tokens" ("family")`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`DROP TABLE ${s}."refresh_tokens"`);
    await runner.query(`DROP TABLE ${s}."users"`);
  }
}
