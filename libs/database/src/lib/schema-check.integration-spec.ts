import { randomUUID } from 'node:crypto';
import { localPostgresConfig } from '@keelson/testing';
import { Column, DataSource, Entity, PrimaryColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { dataSourceOptions } from './data-source';
import { pendingSchemaChanges } from './schema-check';

@Entity({ name: 'gadgets' })
class Gadget {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_gadgets' })
  id!: string;

  @Column('text')
  name!: string;

  @Column('integer')
  weight!: number;
}

const schemaOf = (runner: QueryRunner) => `"${String((runner.connection.options as PostgresConnectionOptions).schema)}"`;

class CreateGadgets1700000000001 implements MigrationInterface {
  name = 'CreateGadgets1700000000001';
  async up(runner: QueryRunner) {
    await runner.query(
      `CREATE TABLE ${schemaOf(runner)}."gadgets" ("id" uuid NOT NULL, "name" text NOT NULL, "weight" integer NOT NULL, CONSTRAINT "PK_gadgets" PRIMARY KEY ("id"))`,
    );
  }
  async down(runner: QueryRunner) {
    await runner.query(`DROP TABLE ${schemaOf(runner)}."gadgets"`);
  }
}

class CreateGadgetsWithoutWeight1700000000002 implements MigrationInterface {
  name = 'CreateGadgetsWithoutWeight1700000000002';
  async up(runner: QueryRunner) {
    await runner.query(
      `CREATE TABLE ${schemaOf(runner)}."gadgets" ("id" uuid NOT NULL, "name" text NOT NULL, CONSTRAINT "PK_gadgets" PRIMARY KEY ("id"))`,
    );
  }
  async down(runner: QueryRunner) {
    await runner.query(`DROP TABLE ${schemaOf(runner)}."gadgets"`);
  }
}

const config = localPostgresConfig(2);

describe('pendingSchemaChanges', () => {
  const schema = `it_check_${randomUUID().replace(/-/g, '').slice(0, 8)}`;

  it('is empty when the migrations build exactly what the entities describe', async () => {
    expect(
      await pendingSchemaChanges({
        schema,
        config,
        entities: [Gadget],
        migrations: [CreateGadgets1700000000001],
        applicationName: 'check-it',
      }),
    ).toEqual([]);
  });

  it('lists what a migration forgot', async () => {
    const pending = await pendingSchemaChanges({
      schema,
      config,
      entities: [Gadget],
      migrations: [CreateGadgetsWithoutWeight1700000000002],
      applicationName: 'check-it',
    });
    expect(pending).toEqual([expect.stringMatching(/ALTER TABLE "it_check_\w+"\."gadgets" ADD "weight" integer NOT NULL/)]);
  });

  it('leaves no scratch schema behind', async () => {
    const admin = new DataSource(dataSourceOptions({ schema: 'public', config, applicationName: 'check-it' }));
    await admin.initialize();
    const left = await admin.query<{ schema_name: string }[]>(
      `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE $1`,
      [`${schema}_check_%`],
    );
    await admin.destroy();
    expect(left).toEqual([]);
  });
});
