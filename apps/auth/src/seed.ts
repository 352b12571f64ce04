import { AUTH_SCHEMA, authEntities, ClientsService, PasswordHasher, PLATFORM_SCOPES } from '@keelson/auth';
import { dataSourceOptions, DataSource } from '@keelson/database';
import type { AuthConfig } from './config';

/** `main.js seed`: creates a client with every platform scope and prints how to use it. */
export async function seed(config: AuthConfig): Promise<Record<string, unknown>> {
  const dataSource = new DataSource(
    dataSourceOptions({ schema: AUTH_SCHEMA, config, entities: authEntities, applicationName: 'auth-seed' }),
  );
  await dataSource.initialize();
  try {
    const client = await new ClientsService(dataSource, new PasswordHasher()).create({
      name: 'local development',
      scopes: [...PLATFORM_SCOPES],
      grantTypes: ['client_credentials'],
    });
    return {
      client,
      try: `curl -s -u '${client.clientId}:${client.clientSecret}' -d grant_type=client_credentials http://127.0.0.1:${config.PORT}/api/v1/auth/token`,
    };
  } finally {
    await dataSource.destroy();
  }
}
