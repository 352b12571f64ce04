import { platformModules } from '@keelson/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import { SCHEMA, type CacheInvalidatorConfig } from './config';

@Module({})
export class AppModule {
  static register(config: CacheInvalidatorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: platformModules({
        name: 'cache-invalidator',
        config,
        postgres: { schema: SCHEMA, config },
        redis: config,
        kafka: config,
      }),
    };
  }
}
