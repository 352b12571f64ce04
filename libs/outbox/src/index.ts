export { OutboxRecord } from './lib/outbox-record.entity';
export { OutboxWriter, type OutboxInsert, type OutboxRows } from './lib/outbox-writer';
export { OutboxRelay, type OutboxRelayOptions } from './lib/outbox-relay';
export { createOutboxTable, dropOutboxTable } from './lib/outbox-migration';
export { OutboxModule, type OutboxModuleOptions } from './lib/outbox.module';
export { outboxChannel, type OutboxRoutes } from './lib/routes';
