import { randomUUID } from 'node:crypto';
import { localPostgresConfig } from '@keelson/testing';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { dataSourceOptions, runMigrations } from './data-source';

const config = localPostgresConfig(2);

describe('runMigrations against PostgreSQL', () => {
  // A fresh schema per run; dropped afterwards.
  const schema = `it_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

  class CreateWidgets1700000000000 implements MigrationInterface {
    name = 'CreateWidgets1700000000000';
    async up(runner: QueryRunner): Promise<void> {
      await runner.query(`CREATE TABLE "${schema}".widgets (id uuid PRIMARY KEY, name text NOT NULL)`);
    }
    async down(runner: QueryRunner): Promise<void> {
      await runner.query(`DROP TABLE "${schema}".widgets`);
    }
  }

  const options = { schema, config, migrations: [CreateWidgets1700000000000], applicationName: 'database-it' };
  const admin = new DataSource(dataSourceOptions({ ...options, migrations: [] }));

  beforeAll(() => admin.initialize());
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.destroy();
  });

  it('creates the schema, applies pending migrations once, and records them', async () => {
    // Two replicas migrating at the same moment: the advisory lock serialises them.
    const [first, second] = await Promise.all([runMigrations(options), runMigrations(options)]);
    expect([...first.applied, ...second.applied]).toEqual(['CreateWidgets1700000000000']);

    const tables = await admin.query<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual(['migrations', 'widgets']);

    const again = await runMigrations(options);
    expect(again.applied).toEqual([]);
  });
});
