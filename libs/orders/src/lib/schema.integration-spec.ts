import { pendingSchemaChanges } from '@keelson/database';
import { OutboxRecord } from '@keelson/outbox';
import { localPostgresConfig } from '@keelson/testing';
import { ordersMigrations } from './migrations';
import { ORDERS_SCHEMA, ordersEntities } from './orders-domain.module';

// The CI check that entities and migrations agree: generating a migration from the
// entities after applying ours must produce nothing.
describe('orders schema', () => {
  it('is fully described by its migrations', async () => {
    const pending = await pendingSchemaChanges({
      schema: ORDERS_SCHEMA,
      applicationName: 'orders-schema-check',
      entities: [...ordersEntities, OutboxRecord],
      migrations: ordersMigrations,
      config: localPostgresConfig(2),
    });
    expect(pending).toEqual([]);
  });
});
