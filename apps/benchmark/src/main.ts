import './instrument'; // first: tracing must patch http, pg and ioredis before they load
import { runService } from '@keelson/runtime';
import { configSchema } from './config';

void runService({
  name: 'benchmark',
  description: 'Benchmark runs, baselines and verdicts against the platform.',
  configSchema,
  appModule: async (config) => (await import('./app.module')).AppModule.register(config),
  migrate: async (config) => (await import('./migrate')).migrate(config),
});
