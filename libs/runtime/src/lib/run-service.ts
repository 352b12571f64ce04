import { ConfigError, loadConfig, type BaseConfig } from '@keelson/config';
import type { DynamicModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { z } from 'zod';

export interface ServiceDefinition<S extends z.ZodObject> {
  name: string;
  description: string;
  configSchema: S;
  /** Loaded after tracing starts, so instrumented libraries are patched before first use. */
  appModule: (config: z.output<S>) => Promise<DynamicModule>;
  /** Applies the service's migrations and provisions its topics (the `migrate` command). */
  migrate?: (config: z.output<S>) => Promise<Record<string, unknown>>;
  /** Further one-shot commands (`main.js <name>`), e.g. a seed; each prints its JSON result. */
  commands?: Record<string, (config: z.output<S>) => Promise<Record<string, unknown>>>;
  /** Serve this service's own OpenAPI document at `/openapi.json` (default); the gateway serves a merged one instead. */
  ownOpenApi?: boolean;
  /** Adjusts the HTTP server before it listens, e.g. registers a body parser. */
  configure?: (app: NestFastifyApplication) => Promise<void>;
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
      return oneShot(definition.name, 'migrate', () => (definition.migrate ? definition.migrate(config) : Promise.resolve({})));
    default: {
      const run = definition.commands?.[command];
      if (!run)
        fail(
          definition.name,
          `unknown command "${command}" (expected ${['serve', 'migrate', ...Object.keys(definition.commands ?? {})].join(', ')})`,
        );
      return oneShot(definition.name, command, () => run(config));
    }
  }
}

async function oneShot(name: string, command: string, run: () => Promise<Record<string, unknown>>): Promise<void> {
  try {
    const report = await run();
    process.stdout.write(`${JSON.stringify({ service: name, msg: `${command} done`, ...report })}\n`);
    process.exit(0);
  } catch (error) {
    fail(name, `${command} failed: ${(error as Error).message}`);
  }
}
