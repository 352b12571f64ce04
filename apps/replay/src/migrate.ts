import { migrateService } from '@keelson/runtime';
import { SCHEMA, type ReplayConfig } from './config';
import { migrations } from './migrations';

export function migrate(config: ReplayConfig): Promise<Record<string, unknown>> {
  return migrateService({
    name: 'replay',
    postgres: { schema: SCHEMA, config, migrations },
  });
}
