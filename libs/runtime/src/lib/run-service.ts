import { ConfigError, loadConfig, type BaseConfig } from '@keelson/config';
import type { DynamicModule } from '@nestjs/common';
import type { z } from 'zod';

export interface ServiceDefinition<S extends z.ZodObject> {
  name: string;
  description: string;
  configSchema: S;
  /** Loaded after tracing starts, so instrumented libraries are patched before first use. */
  appModule: (config: z.output<S>) => Promise<DynamicModule>;
  /** Applies the service's migrations and provisions its topics (the `migrate` command). */
  migrate?: (config: z.output<S>) => Promise<Record<string, unknown>>;
}

export function fail(name: string, message: string): never {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(1);
}

/** Entry point of every Keelson service: `main.js [serve|migrate]`. */
export async function runService<S extends z.ZodObject>(definition: ServiceDefinition<S>): Promise<void> {
  const command = process.argv[2] ?? 'serve';
  let config: z.output<S> & BaseConfig;
  try {
    config = loadConfig(definition.configSchema) as z.output<S> & BaseConfig;
  } catch (error) {
    if (error instanceof ConfigError) fail(definition.name, error.message);
    throw error;
  }
  switch (command) {
    case 'serve':
      // Loaded only now, after instrument.ts started tracing, so Fastify's http is patched.
      return (await import('./serve')).serve(definition, config);
    case 'migrate':
      return migrate(definition, config);
    default:
      fail(definition.name, `unknown command "${command}" (expected serve or migrate)`);
  }
}

async function migrate<S extends z.ZodObject>(definition: ServiceDefinition<S>, config: z.output<S>): Promise<void> {
  try {
    const report = definition.migrate ? await definition.migrate(config) : {};
    process.stdout.write(`${JSON.stringify({ service: definition.name, msg: 'migrate done', ...report })}\n`);
    process.exit(0);
  } catch (error) {
    fail(definition.name, `migrate failed: ${(error as Error).message}`);
  }
}
