import './instrument'; // first: tracing must patch http, pg and ioredis before they load
import { runService } from '@keelson/runtime';
import { configSchema } from './config';

void runService({
  name: 'orders',
  description: 'Customers, products, orders, payments and invoices, published through a transactional outbox.',
  configSchema,
  appModule: async (config) => (await import('./app.module')).AppModule.register(config),
  migrate: async (config) => (await import('./migrate')).migrate(config),
});
