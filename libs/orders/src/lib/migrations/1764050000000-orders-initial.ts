import { createIdempotencyTable } from '@keelson/database';
import { createOutboxTable } from '@keelson/outbox';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

const schemaOf = (runner: QueryRunner) => `"${(runner.connection.options as PostgresConnectionOptions).schema ?? 'orders'}"`;

/** Customers, products, orders and their lines, the outbox, idempotency keys, change notifications. */
export class OrdersInitial1764050000000 implements MigrationInterface {
  name = 'OrdersInitial1764050000000';

  async up(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`CREATE TABLE ${s}."customers" (
      "id" uuid NOT NULL, "email" text NOT NULL, "name" text NOT NULL, "status" text NOT NULL, "version" integer NOT NULL,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      "deleted_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_customers" PRIMARY KEY ("id"))`);
    await runner.query(`CREATE INDEX "IDX_customers_created" ON ${s}."customers" ("created_at", "id")`);
    await runner.query(`CREATE UNIQUE INDEX "UQ_customers_email_live" ON ${s}."customers" ("email") WHERE deleted_at IS NULL`);
    await runner.query(`CREATE TABLE ${s}."products" (
      "id" uuid NOT NULL, "sku" text NOT NULL, "name" text NOT NULL, "price_minor" bigint NOT NULL, "currency" character(3) NOT NULL,
      "active" boolean NOT NULL DEFAULT true, "version" integer NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "UQ_products_sku" UNIQUE ("sku"), CONSTRAINT "PK_products" PRIMARY KEY ("id"))`);
    await runner.query(`CREATE TABLE ${s}."orders" (
      "id" uuid NOT NULL, "customer_id" uuid NOT NULL, "status" text NOT NULL, "currency" character(3) NOT NULL, "total_minor" bigint NOT NULL,
      "version" integer NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_orders" PRIMARY KEY ("id"))`);
    await runner.query(`CREATE INDEX "IDX_orders_status_created" ON ${s}."orders" ("status", "created_at", "id")`);
    await runner.query(`CREATE INDEX "IDX_orders_customer_created" ON ${s}."orders" ("customer_id", "created_at", "id")`);
    await runner.query(`CREATE TABLE ${s}."order_lines" (
      "id" uuid NOT NULL, "order_id" uuid NOT NULL, "product_id" uuid NOT NULL, "quantity" integer NOT NULL, "unit_price_minor" bigint NOT NULL,
      "position" integer NOT NULL,
      CONSTRAINT "PK_order_lines" PRIMARY KEY ("id"))`);
    await runner.query(`CREATE INDEX "IDX_order_lines_order" ON ${s}."order_lines" ("order_id")`);
    await runner.query(
      `ALTER TABLE ${s}."orders" ADD CONSTRAINT "FK_orders_customer" FOREIGN KEY ("customer_id") REFERENCES ${s}."customers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await runner.query(
      `ALTER TABLE ${s}."order_lines" ADD CONSTRAINT "FK_order_lines_order" FOREIGN KEY ("order_id") REFERENCES ${s}."orders"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await runner.query(
      `ALTER TABLE ${s}."order_lines" ADD CONSTRAINT "FK_order_lines_product" FOREIGN KEY ("product_id") REFERENCES ${s}."products"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await createOutboxTable(runner);
    await createIdempotencyTable(runner);
    // Change notifications for the cache-invalidator (see libs/orders/README.md): a wake-up, not a log.
    await runner.query(`CREATE FUNCTION ${s}.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('orders_changes', json_build_object(
          'table', TG_TABLE_NAME, 'op', TG_OP, 'id', COALESCE(NEW.id, OLD.id), 'version', COALESCE(NEW.version, OLD.version))::text);
        RETURN NULL;
      END $$`);
    for (const table of ['customers', 'products', 'orders']) {
      await runner.query(
        `CREATE TRIGGER "${table}_notify_change" AFTER INSERT OR UPDATE OR DELETE ON ${s}."${table}" FOR EACH ROW EXECUTE FUNCTION ${s}.notify_change()`,
      );
    }
  }

  async down(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    for (const table of ['order_lines', 'orders', 'products', 'customers', 'outbox', 'idempotency_keys']) {
      await runner.query(`DROP TABLE ${s}."${table}" CASCADE`);
    }
    await runner.query(`DROP FUNCTION ${s}.notify_change()`);
  }
}
