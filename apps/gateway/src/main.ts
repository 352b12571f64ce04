import './instrument'; // first: tracing must patch http, pg and ioredis before they load
import { runService } from '@keelson/runtime';
import { configSchema } from './config';

void runService({
  name: 'gateway',
  description: 'The public REST edge: authentication, rate limits, circuit breakers and routing to the services.',
  configSchema,
  appModule: async (config) => (await import('./app.module')).AppModule.register(config),
});
