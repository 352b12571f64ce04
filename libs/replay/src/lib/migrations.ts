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

/** Debug sessions: a throwaway consumer group per session, its positions kept here so any replica serves the next step. */
export class DebugSessions1764130000000 implements MigrationInterface {
  name = 'DebugSessions1764130000000';

  async up(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`CREATE TABLE ${s}."debug_sessions" (
      "id" uuid NOT NULL,
      "topic" text NOT NULL,
      "group_id" text NOT NULL,
      "at_time" TIMESTAMP(3) WITH TIME ZONE NOT NULL,
      "positions" jsonb NOT NULL,
      "steps" integer NOT NULL DEFAULT 0,
      "records_read" bigint NOT NULL DEFAULT 0,
      "requested_by" text NOT NULL,
      "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
      "expires_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_debug_sessions" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_debug_sessions_group" UNIQUE ("group_id"))`);
    await runner.query(`CREATE INDEX "IDX_debug_sessions_expires" ON ${s}."debug_sessions" ("expires_at")`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE ${schemaOf(runner)}."debug_sessions"`);
  }
}

/**
 * Leases on running jobs (the replica working on one renews `lease_until`; another claims it
 * once it lapses) and the progress a claimant resumes from: the next offset per partition.
 * Nullable, so rows written before it (and by older replicas) stay valid; a job without a
 * lease is never claimed.
 */
export class ReplayJobLeases1764140000000 implements MigrationInterface {
  name = 'ReplayJobLeases1764140000000';

  async up(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`ALTER TABLE ${s}."jobs"
      ADD COLUMN "claimed_by" text,
      ADD COLUMN "lease_until" TIMESTAMP(3) WITH TIME ZONE,
      ADD COLUMN "progress" jsonb`);
    await runner.query(`CREATE INDEX "IDX_jobs_running_lease" ON ${s}."jobs" ("lease_until") WHERE "status" = 'running'`);
  }

  async down(runner: QueryRunner): Promise<void> {
    const s = schemaOf(runner);
    await runner.query(`DROP INDEX ${s}."IDX_jobs_running_lease"`);
    await runner.query(`ALTER TABLE ${s}."jobs" DROP COLUMN "progress", DROP COLUMN "lease_until", DROP COLUMN "claimed_by"`);
  }
}

/** Applied in this order by `main.js migrate`; never edit one that has shipped, add a new one. */
export const replayMigrations = [
  ReplayJobs1764110000000,
  OffsetSnapshots1764120000000,
  DebugSessions1764130000000,
  ReplayJobLeases1764140000000,
];
