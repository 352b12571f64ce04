import { KAFKA } from '@keelson/messaging';
import { Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { DebugSessionController } from './debug-session.controller';
import { DebugSessions } from './debug-sessions';
import { ReplayController } from './replay.controller';
import { ReplayEventsController } from './replay-events.controller';
import { ReplayJobs, type ReplaySettings } from './replay-jobs';
import { ReplayProgressStreams } from './replay-progress';

const SETTINGS = Symbol('ReplaySettings');
/** How often a progress stream reads its job's row. */
const PROGRESS_POLL_MS = 500;

/**
 * Every replica renews its jobs' leases and claims lapsed ones every third of the lease, and
 * sweeps expired debug sessions. At shutdown the rounds stop, progress streams end and the
 * jobs running here are handed over.
 */
@Injectable()
class ReplayScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReplayScheduler.name);
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(ReplayJobs) private readonly jobs: ReplayJobs,
    @Inject(DebugSessions) private readonly sessions: DebugSessions,
    @Inject(ReplayProgressStreams) private readonly streams: ReplayProgressStreams,
    @Inject(SETTINGS) private readonly settings: ReplaySettings,
  ) {}

  onApplicationBootstrap(): void {
    this.every(Math.max(100, Math.floor(this.settings.leaseMs / 3)), 'lease round', () => this.jobs.maintainLeases());
    this.every(this.settings.sweepIntervalMs, 'debug-session sweep', async () => {
      await this.sessions.sweep();
    });
  }

  async onModuleDestroy(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.streams.close();
    await Promise.all(this.inFlight);
    await this.jobs.stop();
  }

  /** Runs `task` now and every `ms`, never two at once; a failure is logged and retried next time. */
  private every(ms: number, what: string, task: () => Promise<void>): void {
    let busy = false;
    const tick = () => {
      if (busy) return;
      busy = true;
      const running: Promise<void> = task()
        .catch((error: unknown) => {
          this.logger.warn(`${what} failed (retried in ${ms} ms): ${(error as Error).message}`);
        })
        .finally(() => {
          busy = false;
          this.inFlight.delete(running);
        });
      this.inFlight.add(running);
    };
    tick();
    const timer = setInterval(tick, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

/** The replay API under /api/v1/event-replay. */
@Module({})
export class ReplayModule {
  static forRoot(options: { schema: string; settings: ReplaySettings }): DynamicModule {
    const { schema, settings } = options;
    return {
      module: ReplayModule,
      controllers: [ReplayController, DebugSessionController, ReplayEventsController],
      providers: [
        { provide: SETTINGS, useValue: settings },
        {
          provide: ReplayJobs,
          useFactory: (dataSource: DataSource, kafka: Kafka) => new ReplayJobs(dataSource, kafka, schema, settings),
          inject: [DataSource, KAFKA],
        },
        {
          provide: DebugSessions,
          useFactory: (dataSource: DataSource, kafka: Kafka) =>
            new DebugSessions(dataSource, kafka, schema, { ttlMs: settings.debugSessionTtlMs, maxTtlMs: settings.debugSessionMaxTtlMs }),
          inject: [DataSource, KAFKA],
        },
        {
          provide: ReplayProgressStreams,
          useFactory: (jobs: ReplayJobs) =>
            new ReplayProgressStreams(jobs, { pollMs: PROGRESS_POLL_MS, heartbeatMs: settings.progressHeartbeatMs }),
          inject: [ReplayJobs],
        },
        ReplayScheduler,
      ],
    };
  }
}
