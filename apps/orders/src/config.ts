import { baseConfigSchema, healthConfigSchema, postgresConfigSchema, redisConfigSchema, kafkaConfigSchema } from '@keelson/config';
import type { z } from 'zod';

export const configSchema = baseConfigSchema(3002)
  .extend(healthConfigSchema.shape)
  .extend(postgresConfigSchema.shape)
  .extend(redisConfigSchema.shape)
  .extend(kafkaConfigSchema.shape);

/** The PostgreSQL schema this service owns. */
export const SCHEMA = 'orders';

export type OrdersConfig = z.output<typeof configSchema>;
