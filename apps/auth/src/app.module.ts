import { platformModules } from '@keelson/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import { SCHEMA, type AuthConfig } from './config';

@Module({})
export class AppModule {
  static register(config: AuthConfig): DynamicModule {
    return {
      module: AppModule,
      imports: platformModules({
        name: 'auth',
        config,
        postgres: { schema: SCHEMA, config },
        redis: config,
        kafka: config,
      }),
    };
  }
}
