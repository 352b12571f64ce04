import type { QueryRunner } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

const schemaOf = (runner: QueryRunner) => {
  const schema = (runner.connection.options as PostgresConnectionOptions).schema;
  if (!schema) throw new Error('outbox migrations need the data source schema to be set');
  return `"${schema.replace(/"/g, '""')}"`;
};

/** DDL for the outbox table, for a service's own migration (matches `OutboxRecord`). */
export async function createOutboxTable(runner: QueryRunner): Promise<void> {
  const s = schemaOf(runner);
  await runner.query(`CREATE TABLE ${s}."outbox" (
    "id" uuid NOT NULL,
    "position" bigserial NOT NULL,
    "aggregatetype" text NOT NULL,
    "aggregateid" text NOT NULL,
    "type" text NOT NULL,
    "payload" jsonb NOT NULL,
    "headers" jsonb NOT NULL,
    "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    "published_at" TIMESTAMP WITH TIME ZONE,
    CONSTRAINT "UQ_outbox_position" UNIQUE ("position"),
    CONSTRAINT "PK_outbox" PRIMARY KEY ("id"))`);
  await runner.query(
    `CREATE INDEX "IDX_outbox_unpublished" ON ${s}."outbox" ("aggregatetype", "aggregateid", "position") WHERE published_at IS NULL`,
  );
}

export async function dropOutboxTable(runner: QueryRunner): Promise<void> {
  await runner.query(`DROP TABLE ${schemaOf(runner)}."outbox"`);
}
