import { platformContracts } from '@keelson/messaging';
import { ReplayModule } from '@keelson/replay';
import { platformModules } from '@keelson/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import { SCHEMA, type ReplayConfig } from './config';

@Module({})
export class AppModule {
  static register(config: ReplayConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...platformModules({
          name: 'replay',
          config,
          postgres: { schema: SCHEMA, config },
          kafka: config,
        }),
        ReplayModule.forRoot({
          schema: SCHEMA,
          settings: {
            allowDomainTargets: config.REPLAY_ALLOW_DOMAIN_TARGETS,
            domainTopics: platformContracts.map((c) => c.topic),
            maxTimestampSkewMs: config.REPLAY_MAX_TIMESTAMP_SKEW_MS,
            readerSessionTimeoutMs: config.REPLAY_READER_SESSION_TIMEOUT_MS,
            leaseMs: config.REPLAY_LEASE_MS,
            debugSessionTtlMs: config.REPLAY_DEBUG_SESSION_TTL_MS,
            debugSessionMaxTtlMs: config.REPLAY_DEBUG_SESSION_MAX_TTL_MS,
            sweepIntervalMs: config.REPLAY_SWEEP_INTERVAL_MS,
            progressHeartbeatMs: config.REPLAY_PROGRESS_HEARTBEAT_MS,
          },
        }),
      ],
    };
  }
}
