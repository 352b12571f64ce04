import { z } from 'zod';

/** Thrown when the environment does not satisfy a service's config schema. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`invalid configuration: ${issues.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const SECRET = 'keelson:secret';

/** Marks a config field as a secret: it is shown as "[redacted]" by `redactConfig`. */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ description: SECRET });
}

function isSecret(schema: z.ZodType): boolean {
  return schema.meta()?.description === SECRET || schema.description === SECRET;
}

function describeIssue(issue: z.core.$ZodIssue, env: NodeJS.ProcessEnv): string {
  const variable = issue.path.map(String).join('.');
  const raw = env[variable];
  const shown = raw === undefined ? 'unset' : `got "${raw}"`;
  return `${variable}: ${issue.message} (${shown})`;
}

/**
 * Parses environment variables into a typed config object. Field names are the
 * variable names. Fails with a ConfigError naming every bad variable; secret values
 * are never echoed back.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const field = schema.shape[String(issue.path[0])] as z.ZodType | undefined;
    return field && isSecret(field) ? `${String(issue.path[0])}: ${issue.message}` : describeIssue(issue, env);
  });
  throw new ConfigError(issues);
}

/** A copy of the config safe to log: secret fields replaced by "[redacted]". */
export function redactConfig<S extends z.ZodObject>(schema: S, config: z.output<S>): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    const field = schema.shape[key] as z.ZodType | undefined;
    shown[key] = field && isSecret(field) ? '[redacted]' : value;
  }
  return shown;
}
