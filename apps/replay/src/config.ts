import { baseConfigSchema, healthConfigSchema, postgresConfigSchema, kafkaConfigSchema } from '@keelson/config';
import type { z } from 'zod';

export const configSchema = baseConfigSchema(3003)
  .extend(healthConfigSchema.shape)
  .extend(postgresConfigSchema.shape)
  .extend(kafkaConfigSchema.shape);

/** The PostgreSQL schema this service owns. */
export const SCHEMA = 'replay';

export type ReplayConfig = z.output<typeof configSchema>;
