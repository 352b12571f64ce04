import { AUTH_SCHEMA, authMigrations } from '@keelson/auth';
import { authTopic } from '@keelson/messaging';
import { migrateService } from '@keelson/runtime';
import type { AuthConfig } from './config';

export function migrate(config: AuthConfig): Promise<Record<string, unknown>> {
  return migrateService({
    name: 'auth',
    postgres: { schema: AUTH_SCHEMA, config, migrations: authMigrations },
    kafka: { config, produces: [authTopic] },
  });
}
