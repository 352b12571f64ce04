import { migrateService } from '@keelson/runtime';
import { SCHEMA, type BenchmarkConfig } from './config';
import { migrations } from './migrations';

export function migrate(config: BenchmarkConfig): Promise<Record<string, unknown>> {
  return migrateService({
    name: 'benchmark',
    postgres: { schema: SCHEMA, config, migrations },
  });
}
