import { startTracingFromEnv } from '@keelson/observability';

startTracingFromEnv('cache-invalidator');
