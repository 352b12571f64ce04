import type { EntityManager } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

/** The quoted schema of the manager's data source, for the few raw SQL statements. */
export function schemaOf(manager: EntityManager): string {
  const schema = (manager.connection.options as PostgresConnectionOptions).schema ?? 'orders';
  return `"${schema.replace(/"/g, '""')}"`;
}
