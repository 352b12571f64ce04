import { migrateService } from '@keelson/runtime';
import { ordersTopic, customersTopic, paymentsTopic, invoicesTopic } from '@keelson/messaging';
import { SCHEMA, type OrdersConfig } from './config';
import { migrations } from './migrations';

export function migrate(config: OrdersConfig): Promise<Record<string, unknown>> {
  return migrateService({
    name: 'orders',
    postgres: { schema: SCHEMA, config, migrations },
    kafka: { config, produces: [ordersTopic, customersTopic, paymentsTopic, invoicesTopic] },
  });
}
