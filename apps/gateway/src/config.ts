import { baseConfigSchema, healthConfigSchema, redisConfigSchema } from '@keelson/config';
import type { z } from 'zod';

export const configSchema = baseConfigSchema(8080).extend(healthConfigSchema.shape).extend(redisConfigSchema.shape);

export type GatewayConfig = z.output<typeof configSchema>;
