import { startTracingFromEnv } from '@keelson/observability';

startTracingFromEnv('orders');
