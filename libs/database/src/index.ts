export { dataSourceOptions, runMigrations, type MigrationReport, type ServiceDataSourceOptions } from './lib/data-source';
export { DatabaseModule } from './lib/database.module';
export { DataSource } from 'typeorm';
