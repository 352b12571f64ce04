import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const repoRoot = path.resolve(__dirname, '../../../..');

/** Connection settings of the local stack started by tools/stack (the services' defaults). */
export const localStack = {
  postgres: { host: '127.0.0.1', port: 5432, user: 'keelson', password: 'keelson', database: 'keelson' },
  redis: { host: '127.0.0.1', port: 6379 },
  kafka: { brokers: ['127.0.0.1:9092'] },
} as const;

/** The local PostgreSQL as the services' `DATABASE_*` config. */
export const localPostgresConfig = (poolSize = 4) => ({
  DATABASE_HOST: localStack.postgres.host,
  DATABASE_PORT: localStack.postgres.port,
  DATABASE_USER: localStack.postgres.user,
  DATABASE_PASSWORD: localStack.postgres.password,
  DATABASE_NAME: localStack.postgres.database,
  DATABASE_POOL_SIZE: poolSize,
});

export type StackComponent = 'postgres' | 'redis' | 'kafka' | 'prometheus';

/** Runs `tools/stack/stack.sh <command> <components>` (the same script `npm start` uses). */
export async function stack(command: 'up' | 'down' | 'status', ...components: StackComponent[]): Promise<string> {
  const { stdout } = await run('bash', [path.join(repoRoot, 'tools/stack/stack.sh'), command, ...components], {
    cwd: repoRoot,
    timeout: 120_000,
  });
  return stdout;
}
