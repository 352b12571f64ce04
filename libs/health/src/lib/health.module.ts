import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Res,
  ServiceUnavailableException,
  type DynamicModule,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiExcludeController } from '@nestjs/swagger';
import {
  HealthCheckService,
  HealthIndicatorService,
  TerminusModule,
  type HealthCheckResult,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { probeFor, withTimeout, type Dependency } from './dependency-probes';

export interface HealthOptions {
  /** Exactly the dependencies this service needs to serve traffic. */
  dependencies: readonly Dependency[];
  timeoutMs: number;
}

const HEALTH_OPTIONS = Symbol('HEALTH_OPTIONS');

/** Set when the process starts shutting down, so readiness fails and traffic moves away. */
@Injectable()
export class ReadinessState {
  draining = false;
}

@ApiExcludeController()
@Controller('health')
class HealthController implements OnModuleInit {
  private probes: { name: Dependency; probe: () => Promise<Record<string, unknown>> }[] = [];

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly state: ReadinessState,
    private readonly moduleRef: ModuleRef,
    @Inject(HEALTH_OPTIONS) private readonly options: HealthOptions,
  ) {}

  onModuleInit(): void {
    this.probes = this.options.dependencies.map((name) => ({ name, probe: probeFor(name, this.moduleRef) }));
  }

  /** The process is alive: answers without touching any dependency. */
  @Get('live')
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** 200 when every dependency answered; 503 with terminus's per-check details otherwise. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.checkDraining(),
        ...this.probes.map(
          ({ name, probe }) =>
            () =>
              this.checkDependency(name, probe),
        ),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }

  private checkDraining(): HealthIndicatorResult {
    const check = this.indicator.check('process');
    return this.state.draining ? check.down({ message: 'shutting down' }) : check.up();
  }

  private async checkDependency(name: Dependency, probe: () => Promise<Record<string, unknown>>): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(name);
    try {
      return check.up(await withTimeout(probe(), this.options.timeoutMs, name));
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }
}

/** `GET /health/live` and `GET /health/ready` (terminus), ready checking the given dependencies. */
@Module({})
export class HealthModule {
  static forRoot(options: HealthOptions): DynamicModule {
    return {
      module: HealthModule,
      global: true,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [ReadinessState, { provide: HEALTH_OPTIONS, useValue: options }],
      exports: [ReadinessState],
    };
  }
}
