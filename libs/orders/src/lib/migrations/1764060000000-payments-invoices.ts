import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

const schemaOf = (runner: QueryRunner) => `"${(runner.connection.options as PostgresConnectionOptions).schema ?? 'orders'}"`;

/** Payments against orders, invoices with a per-year gapless counter. */
export class PaymentsInvoices1764060000000 implements MigrationInterface {
  name = 'PaymentsInvoices1764060000000';

  async up(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`CREATE TABLE ${s}."payments" (
      "id" uuid NOT NULL, "order_id" uuid NOT NULL, "kind" text NOT NULL, "amount_minor" bigint NOT NULL, "currency" character(3) NOT NULL,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_payments" PRIMARY KEY ("id"))`);
    await runner.query(`CREATE INDEX "IDX_payments_order" ON ${s}."payments" ("order_id", "created_at")`);
    await runner.query(
      `ALTER TABLE ${s}."payments" ADD CONSTRAINT "FK_payments_order" FOREIGN KEY ("order_id") REFERENCES ${s}."orders"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await runner.query(`CREATE TABLE ${s}."invoices" (
      "id" uuid NOT NULL, "order_id" uuid NOT NULL, "number" text NOT NULL, "year" integer NOT NULL, "sequence" integer NOT NULL,
      "total_minor" bigint NOT NULL, "currency" character(3) NOT NULL, "issued_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "UQ_invoices_order" UNIQUE ("order_id"), CONSTRAINT "UQ_invoices_number" UNIQUE ("number"),
      CONSTRAINT "PK_invoices" PRIMARY KEY ("id"))`);
    await runner.query(`CREATE INDEX "IDX_invoices_issued" ON ${s}."invoices" ("issued_at", "id")`);
    await runner.query(
      `ALTER TABLE ${s}."invoices" ADD CONSTRAINT "FK_invoices_order" FOREIGN KEY ("order_id") REFERENCES ${s}."orders"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await runner.query(
      `CREATE TABLE ${s}."invoice_counters" ("year" integer NOT NULL, "last" integer NOT NULL, CONSTRAINT "PK_invoice_counters" PRIMARY KEY ("year"))`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`DROP TABLE ${s}."invoice_counters"`);
    await runner.query(`DROP TABLE ${s}."invoices"`);
    await runner.query(`DROP TABLE ${s}."payments"`);
  }
}
