import { KAFKA } from '@keelson/messaging';
import { Inject, Injectable, Module, type DynamicModule, type OnModuleDestroy } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { ReplayController } from './replay.controller';
import { ReplayJobs, type ReplaySettings } from './replay-jobs';

@Injectable()
class ReplayShutdown implements OnModuleDestroy {
  constructor(@Inject(ReplayJobs) private readonly jobs: ReplayJobs) {}

  async onModuleDestroy(): Promise<void> {
    await this.jobs.stop();
  }
}

/** The replay API under /api/v1/event-replay. */
@Module({})
export class ReplayModule {
  static forRoot(options: { schema: string; settings: ReplaySettings }): DynamicModule {
    return {
      module: ReplayModule,
      controllers: [ReplayController],
      providers: [
        {
          provide: ReplayJobs,
          useFactory: (dataSource: DataSource, kafka: Kafka) => new ReplayJobs(dataSource, kafka, options.schema, options.settings),
          inject: [DataSource, KAFKA],
        },
        ReplayShutdown,
      ],
    };
  }
}
