import { startTracingFromEnv } from '@keelson/observability';

startTracingFromEnv('gateway');
