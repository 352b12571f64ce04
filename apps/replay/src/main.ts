import './instrument'; // first: tracing must patch http, pg and ioredis before they load
import { runService } from '@keelson/runtime';
import { configSchema } from './config';

void runService({
  name: 'replay',
  description: 'Time travel over Kafka: replays, state reconstruction, timelines and offset snapshots.',
  configSchema,
  appModule: async (config) => (await import('./app.module')).AppModule.register(config),
  migrate: async (config) => (await import('./migrate')).migrate(config),
});
