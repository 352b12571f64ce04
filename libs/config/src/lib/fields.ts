import { z } from 'zod';

/** A TCP port given as a decimal string. */
export const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

/** A positive integer in milliseconds. */
export const millis = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** "true"/"false" (also 1/0, yes/no); anything else is rejected rather than guessed. */
export const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A comma-separated list of host:port pairs. */
export const hostPorts = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((list) => list.length > 0 && list.every((hp) => /^[\w.-]+:\d{1,5}$/.test(hp)), {
      message: 'expected a comma-separated list of host:port',
    });

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
