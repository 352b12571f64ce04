import { migrateService } from '@keelson/runtime';
import { authTopic } from '@keelson/messaging';
import { SCHEMA, type AuthConfig } from './config';
import { migrations } from './migrations';

export function migrate(config: AuthConfig): Promise<Record<string, unknown>> {
  return migrateService({
    name: 'auth',
    postgres: { schema: SCHEMA, config, migrations },
    kafka: { config, produces: [authTopic] },
  });
}
