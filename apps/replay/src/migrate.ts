import { customersTopic, invoicesTopic, ordersTopic, paymentsTopic } from '@keelson/messaging';
import { migrateService } from '@keelson/runtime';
import { SCHEMA, type ReplayConfig } from './config';
import { migrations } from './migrations';

export function migrate(config: ReplayConfig): Promise<Record<string, unknown>> {
  return migrateService({
    name: 'replay',
    postgres: { schema: SCHEMA, config, migrations },
    // State reconstruction reads the aggregates' topics: they exist even before their producer first ran.
    kafka: { config, produces: [], consumes: [ordersTopic, customersTopic, paymentsTopic, invoicesTopic] },
  });
}
