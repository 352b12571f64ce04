import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

const schemaOf = (runner: QueryRunner) => `"${(runner.connection.options as PostgresConnectionOptions).schema ?? 'orders'}"`;

/**
 * Change notifications (`orders_changes`) also carry `at`, the trigger's clock in epoch
 * seconds, so a listener can measure how long an eviction took after the change.
 * Payload: `{ "table", "op", "id", "version", "at" }`.
 */
export class ChangeNotificationTime1764100000000 implements MigrationInterface {
  name = 'ChangeNotificationTime1764100000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE OR REPLACE FUNCTION ${schemaOf(runner)}.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('orders_changes', json_build_object(
          'table', TG_TABLE_NAME, 'op', TG_OP, 'id', COALESCE(NEW.id, OLD.id), 'version', COALESCE(NEW.version, OLD.version),
          'at', extract(epoch from clock_timestamp()))::text);
        RETURN NULL;
      END $$`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE OR REPLACE FUNCTION ${schemaOf(runner)}.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('orders_changes', json_build_object(
          'table', TG_TABLE_NAME, 'op', TG_OP, 'id', COALESCE(NEW.id, OLD.id), 'version', COALESCE(NEW.version, OLD.version))::text);
        RETURN NULL;
      END $$`);
  }
}
