import { customersTopic, invoicesTopic, ordersTopic, paymentsTopic } from '@keelson/messaging';
import { ORDERS_SCHEMA, ordersMigrations } from '@keelson/orders';
import { migrateService } from '@keelson/runtime';
import type { OrdersConfig } from './config';

export function migrate(config: OrdersConfig): Promise<Record<string, unknown>> {
  return migrateService({
    name: 'orders',
    postgres: { schema: ORDERS_SCHEMA, config, migrations: ordersMigrations },
    kafka: { config, produces: [ordersTopic, customersTopic, paymentsTopic, invoicesTopic] },
  });
}
