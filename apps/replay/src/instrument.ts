import { startTracingFromEnv } from '@keelson/observability';

startTracingFromEnv('replay');
