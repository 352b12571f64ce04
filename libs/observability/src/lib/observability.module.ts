import { Controller, Get, Header, Module, type DynamicModule } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { LoggerModule } from 'nestjs-pino';
import { loggerParams } from './logging';
import { collectProcessMetrics, metricsRegistry } from './metrics';

@ApiExcludeController()
@Controller()
class MetricsController {
  @Get('metrics')
  @Header('Content-Type', metricsRegistry.contentType)
  scrape(): Promise<string> {
    return metricsRegistry.metrics();
  }
}

export interface ObservabilityOptions {
  serviceName: string;
  logLevel: string;
}

/** Logging (pino JSON with request and trace ids) and the Prometheus `/metrics` endpoint. */
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    collectProcessMetrics(options.serviceName);
    return {
      module: ObservabilityModule,
      imports: [LoggerModule.forRoot(loggerParams(options.serviceName, options.logLevel))],
      controllers: [MetricsController],
    };
  }
}
