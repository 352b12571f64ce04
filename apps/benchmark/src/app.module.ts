import { platformModules } from '@keelson/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import { SCHEMA, type BenchmarkConfig } from './config';

@Module({})
export class AppModule {
  static register(config: BenchmarkConfig): DynamicModule {
    return {
      module: AppModule,
      imports: platformModules({
        name: 'benchmark',
        config,
        postgres: { schema: SCHEMA, config },
      }),
    };
  }
}
