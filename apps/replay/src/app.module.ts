import { platformModules } from '@keelson/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import { SCHEMA, type ReplayConfig } from './config';

@Module({})
export class AppModule {
  static register(config: ReplayConfig): DynamicModule {
    return {
      module: AppModule,
      imports: platformModules({
        name: 'replay',
        config,
        postgres: { schema: SCHEMA, config },
        kafka: config,
      }),
    };
  }
}
