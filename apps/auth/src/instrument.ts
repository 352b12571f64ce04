import { startTracingFromEnv } from '@keelson/observability';

startTracingFromEnv('auth');
