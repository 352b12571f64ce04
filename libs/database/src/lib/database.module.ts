import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { dataSourceOptions, type ServiceDataSourceOptions } from './data-source';

/** The service's TypeORM data source (closed by @nestjs/typeorm on application shutdown). */
@Module({})
export class DatabaseModule {
  static forRoot(options: ServiceDataSourceOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [TypeOrmModule.forRoot({ ...dataSourceOptions(options), retryAttempts: 0 })],
      exports: [TypeOrmModule],
    };
  }
}
