export {
  currentTraceIds,
  extractTraceContext,
  injectTraceContext,
  startTracing,
  startTracingFromEnv,
  stopTracing,
  tracer,
  type Span,
  type TraceExporterKind,
  type TracingHandle,
  type TracingOptions,
} from './lib/tracing';
export { collectProcessMetrics, httpRequestDuration, metricsRegistry } from './lib/metrics';
export { loggerParams, REQUEST_ID_HEADER, requestIdFor } from './lib/logging';
export { ObservabilityModule, type ObservabilityOptions } from './lib/observability.module';
