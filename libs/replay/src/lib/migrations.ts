import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

const schemaOf = (runner: QueryRunner) => `"${(runner.connection.options as PostgresConnectionOptions).schema ?? 'replay'}"`;

/** Replay jobs: what was asked, by whom, the plan and the progress (the audit trail of replays). */
export class ReplayJobs1764110000000 implements MigrationInterface {
  name = 'ReplayJobs1764110000000';

  async up(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`CREATE TABLE ${s}."jobs" (
      "id" uuid NOT NULL,
      "status" text NOT NULL,
      "topic" text NOT NULL,
      "from_time" TIMESTAMP(3) WITH TIME ZONE NOT NULL,
      "to_time" TIMESTAMP(3) WITH TIME ZONE NOT NULL,
      "target" jsonb NOT NULL,
      "speed" text NOT NULL,
      "filters" jsonb NOT NULL,
      "plan" jsonb NOT NULL,
      "read" bigint NOT NULL DEFAULT 0,
      "replayed" bigint NOT NULL DEFAULT 0,
      "error" text,
      "requested_by" text NOT NULL,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      "finished_at" TIMESTAMP(3) WITH TIME ZONE,
      CONSTRAINT "PK_jobs" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_jobs_status" CHECK ("status" IN ('running', 'done', 'failed', 'cancelled')))`);
    await runner.query(`CREATE INDEX "IDX_jobs_created" ON ${s}."jobs" ("created_at")`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE ${schemaOf(runner)}."jobs"`);
  }
}

/** Saved consumer-group offsets, restorable later. */
export class OffsetSnapshots1764120000000 implements MigrationInterface {
  name = 'OffsetSnapshots1764120000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE ${schemaOf(runner)}."snapshots" (
      "id" uuid NOT NULL,
      "group_id" text NOT NULL,
      "offsets" jsonb NOT NULL,
      "requested_by" text NOT NULL,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_snapshots" PRIMARY KEY ("id"))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE ${schemaOf(runner)}."snapshots"`);
  }
}

/** Applied in this order by `main.js migrate`; never edit one that has shipped, add a new one. */
export const replayMigrations = [ReplayJobs1764110000000, OffsetSnapshots1764120000000];
