import type { PostgresConfig } from '@keelson/config';
import { DataSource, type DataSourceOptions, type MixedList, type EntitySchema } from 'typeorm';

export interface ServiceDataSourceOptions {
  /** The PostgreSQL schema the service owns; no service reads another's. */
  schema: string;
  config: PostgresConfig;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own type for entity classes
  entities?: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own type for migration classes
  migrations?: MixedList<Function | string>;
  applicationName: string;
}

/** TypeORM options for one service's schema. Schemas change only through migrations. */
export function dataSourceOptions(options: ServiceDataSourceOptions): DataSourceOptions {
  const { config } = options;
  return {
    type: 'postgres',
    host: config.DATABASE_HOST,
    port: config.DATABASE_PORT,
    username: config.DATABASE_USER,
    password: config.DATABASE_PASSWORD,
    database: config.DATABASE_NAME,
    schema: options.schema,
    entities: options.entities ?? [],
    migrations: options.migrations ?? [],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    applicationName: options.applicationName,
    extra: { max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 5_000 },
  };
}

export interface MigrationReport {
  schema: string;
  applied: string[];
}

/**
 * Creates the service's schema if needed, then applies pending migrations, each in its
 * own transaction. Safe to run concurrently from several replicas: a PostgreSQL
 * advisory lock keyed on the schema serialises them.
 */
export async function runMigrations(options: ServiceDataSourceOptions): Promise<MigrationReport> {
  const dataSource = new DataSource(dataSourceOptions(options));
  await dataSource.initialize();
  try {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`keelson-migrations:${options.schema}`]);
      await runner.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema.replace(/"/g, '""')}"`);
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`keelson-migrations:${options.schema}`]);
      return { schema: options.schema, applied: applied.map((m) => m.name) };
    } finally {
      await runner.release();
    }
  } finally {
    await dataSource.destroy();
  }
}
