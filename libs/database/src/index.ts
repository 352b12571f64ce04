export { dataSourceOptions, runMigrations, type MigrationReport, type ServiceDataSourceOptions } from './lib/data-source';
export { DatabaseModule } from './lib/database.module';
export { DataSource } from 'typeorm';
export { decodeCursor, encodeCursor, InvalidCursorError, toPage, type Page } from './lib/cursor';
export {
  createIdempotencyTable,
  IdempotencyKeyReusedError,
  IdempotencyStore,
  requestFingerprint,
  type IdempotentOutcome,
  type StoredResponse,
} from './lib/idempotency';
export { pendingSchemaChanges } from './lib/schema-check';
