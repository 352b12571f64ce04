import { baseConfigSchema, healthConfigSchema, postgresConfigSchema } from '@keelson/config';
import type { z } from 'zod';

export const configSchema = baseConfigSchema(3005).extend(healthConfigSchema.shape).extend(postgresConfigSchema.shape);

/** The PostgreSQL schema this service owns. */
export const SCHEMA = 'benchmark';

export type BenchmarkConfig = z.output<typeof configSchema>;
