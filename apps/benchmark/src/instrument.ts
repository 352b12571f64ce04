import { startTracingFromEnv } from '@keelson/observability';

startTracingFromEnv('benchmark');
