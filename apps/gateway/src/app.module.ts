import { platformModules } from '@keelson/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import type { GatewayConfig } from './config';

@Module({})
export class AppModule {
  static register(config: GatewayConfig): DynamicModule {
    return {
      module: AppModule,
      imports: platformModules({
        name: 'gateway',
        config,
        redis: config,
      }),
      providers: [{ provide: 'GATEWAY_CONFIG', useValue: config }],
    };
  }
}
