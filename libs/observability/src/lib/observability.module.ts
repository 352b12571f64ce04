import { Controller, Get, Headers, Module, Res, type DynamicModule } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { LoggerModule } from 'nestjs-pino';
import { loggerParams } from './logging';
import { collectProcessMetrics, renderMetrics } from './metrics';

@ApiExcludeController()
@Controller()
class MetricsController {
  /** OpenMetrics (with trace exemplars) when the scraper asks for it, the classic text format otherwise. */
  @Get('metrics')
  async scrape(@Headers('accept') accept: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { contentType, body } = await renderMetrics(accept);
    void reply.header('content-type', contentType).header('vary', 'accept');
    return body;
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
