import { platformModules } from '@keelson/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import { SCHEMA, type OrdersConfig } from './config';

@Module({})
export class AppModule {
  static register(config: OrdersConfig): DynamicModule {
    return {
      module: AppModule,
      imports: platformModules({
        name: 'orders',
        config,
        postgres: { schema: SCHEMA, config },
        redis: config,
        kafka: config,
      }),
    };
  }
}
