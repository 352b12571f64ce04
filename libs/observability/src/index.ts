export {
  currentTraceIds,
  extractTraceContext,
  injectTraceContext,
  noteHttpRoute,
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
export {
  acceptsOpenMetrics,
  collectProcessMetrics,
  httpRequestDuration,
  metricsRegistry,
  observeWithExemplar,
  renderMetrics,
  traceExemplar,
} from './lib/metrics';
export { REDACTED, redactQuery, redactUrl, redisStatement } from './lib/redaction';
export { logRequest, loggerParams, REQUEST_ID_HEADER, requestIdFor, serviceLogger, type AccessLogEntry } from './lib/logging';
export { ObservabilityModule, type ObservabilityOptions } from './lib/observability.module';
