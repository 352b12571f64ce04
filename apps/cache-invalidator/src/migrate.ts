import { customersTopic, invoicesTopic, ordersTopic, paymentsTopic } from '@keelson/messaging';
import { migrateService } from '@keelson/runtime';
import { SCHEMA, type CacheInvalidatorConfig } from './config';
import { migrations } from './migrations';

export function migrate(config: CacheInvalidatorConfig): Promise<Record<string, unknown>> {
  return migrateService({
    name: 'cache-invalidator',
    postgres: { schema: SCHEMA, config, migrations },
    kafka: { config, produces: [], consumes: [ordersTopic, customersTopic, paymentsTopic, invoicesTopic] },
  });
}
