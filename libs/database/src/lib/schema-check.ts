import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations, type ServiceDataSourceOptions } from './data-source';

/**
 * The SQL TypeORM would still run to make the schema built by the service's migrations
 * match its entities: empty when migrations and entities agree. Migrations run into a
 * throwaway schema (so they must qualify tables with the runner's configured schema),
 * which is dropped afterwards.
 */
export async function pendingSchemaChanges(options: ServiceDataSourceOptions): Promise<string[]> {
  const scratch = `${options.schema}_check_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
  const scratchOptions = { ...options, schema: scratch, applicationName: `${options.applicationName}-schema-check` };
  await runMigrations(scratchOptions);
  const dataSource = new DataSource(dataSourceOptions(scratchOptions));
  await dataSource.initialize();
  try {
    const sql = await dataSource.driver.createSchemaBuilder().log();
    return sql.upQueries.map((q) => q.query);
  } finally {
    await dataSource.query(`DROP SCHEMA "${scratch}" CASCADE`);
    await dataSource.destroy();
  }
}
