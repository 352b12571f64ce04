export {
  currentTraceIds,
  extractTraceContext,
  injectTraceContext,
  outgoingTraceContext,
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
export { logRequest, loggerParams, REQUEST_ID_HEADER, requestIdFor, serviceLogger, type AccessLogEntry } from './lib/logging';
export { ObservabilityModule, type ObservabilityOptions } from './lib/observability.module';
