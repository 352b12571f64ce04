import type { ServiceName } from '@keelson/testing';
import type { z } from 'zod';
import { configSchema as authConfig } from '../../apps/auth/src/config';
import { configSchema as benchmarkConfig } from '../../apps/benchmark/src/config';
import { configSchema as cacheInvalidatorConfig } from '../../apps/cache-invalidator/src/config';
import { configSchema as gatewayConfig } from '../../apps/gateway/src/config';
import { configSchema as ordersConfig } from '../../apps/orders/src/config';
import { configSchema as replayConfig } from '../../apps/replay/src/config';

/** What each service reads from its environment (apps/<service>/src/config.ts): the chart's env must match. */
export const CONFIG_SCHEMAS: Record<ServiceName, z.ZodObject> = {
  gateway: gatewayConfig,
  auth: authConfig,
  orders: ordersConfig,
  replay: replayConfig,
  'cache-invalidator': cacheInvalidatorConfig,
  benchmark: benchmarkConfig,
};
