import './instrument'; // first: tracing must patch http, pg and ioredis before they load
import { runService } from '@keelson/runtime';
import { configSchema } from './config';

void runService({
  name: 'auth',
  description: 'Users, OAuth clients, tokens, refresh rotation, introspection, revocation and JWKS.',
  configSchema,
  appModule: async (config) => (await import('./app.module')).AppModule.register(config),
  migrate: async (config) => (await import('./migrate')).migrate(config),
  commands: { seed: async (config) => (await import('./seed')).seed(config) },
});
