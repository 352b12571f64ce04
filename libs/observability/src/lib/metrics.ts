import { context, trace, TraceFlags, type Context } from '@opentelemetry/api';
import {
  collectDefaultMetrics,
  Histogram,
  Registry,
  type LabelValues,
  type MetricObject,
  type OpenMetricsContentType,
  type PrometheusContentType,
  type RegistryContentType,
} from 'prom-client';

/**
 * The process-wide Prometheus registry: default Node metrics plus whatever the service's
 * libraries register on it. It is an OpenMetrics registry only because prom-client lets a
 * metric with exemplars register on no other kind; it is never rendered directly — `/metrics`
 * goes through `renderMetrics`, which serves either format from it.
 */
export const metricsRegistry = registryOf(Registry.OPENMETRICS_CONTENT_TYPE);

// prom-client's constructor takes the content type, its typings do not.
function registryOf<T extends RegistryContentType>(contentType: T, registry = new Registry<T>()): Registry<T> {
  registry.setContentType(contentType);
  return registry;
}

/**
 * Renders `metricsRegistry` in one exposition format. prom-client's OpenMetrics renderer strips
 * `_total` from counter names by assigning the metric's `name` (prometheus/client_js#829), so
 * rendering the shared metrics would rename every counter in all later classic scrapes. A view
 * renders per-scrape children of the metrics (`Object.create`): reads and collects go to the
 * real metric, the rename lands on the throwaway child.
 */
class ExpositionView<T extends RegistryContentType> extends Registry<T> {
  override getMetricsAsArray(): MetricObject[] {
    return metricsRegistry.getMetricsAsArray().map((metric) => Object.create(metric) as MetricObject);
  }
}

const classicView = registryOf(Registry.PROMETHEUS_CONTENT_TYPE, new ExpositionView<PrometheusContentType>());
const openMetricsView = registryOf(Registry.OPENMETRICS_CONTENT_TYPE, new ExpositionView<OpenMetricsContentType>());
let defaultsCollected = false;

export function collectProcessMetrics(serviceName: string): void {
  if (defaultsCollected) return;
  for (const registry of [metricsRegistry, classicView, openMetricsView]) registry.setDefaultLabels({ service: serviceName });
  collectDefaultMetrics({ register: metricsRegistry });
  defaultsCollected = true;
}

/** True when an Accept header asks for OpenMetrics (any `application/openmetrics-text` range with q > 0). */
export function acceptsOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((range) => {
    const [type = '', ...params] = range.split(';').map((part) => part.trim());
    if (type.toLowerCase() !== 'application/openmetrics-text') return false;
    const q = params.find((param) => /^q=/i.test(param));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * The `/metrics` answer for a scraper's Accept header: OpenMetrics (with exemplars) when it asks
 * for it, the classic text format (no exemplars) otherwise.
 */
export async function renderMetrics(accept: string | undefined): Promise<{ contentType: string; body: string }> {
  const view = acceptsOpenMetrics(accept) ? openMetricsView : classicView;
  return { contentType: view.contentType, body: await view.metrics() };
}

/** `{ trace_id }` of the context's span when it is sampled — what an exemplar links to — else undefined. */
export function traceExemplar(ctx: Context = context.active()): { trace_id: string } | undefined {
  const spanContext = trace.getSpanContext(ctx);
  if (!spanContext || !trace.isSpanContextValid(spanContext) || (spanContext.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  return { trace_id: spanContext.traceId };
}

/**
 * Observes a value in a histogram created with `enableExemplars: true`, with the trace id of
 * `ctx` (default: the active context) as exemplar when its span is sampled. Such histograms
 * take only this object form of `observe`.
 */
export function observeWithExemplar<T extends string>(histogram: Histogram<T>, labels: LabelValues<T>, value: number, ctx?: Context): void {
  const exemplar = traceExemplar(ctx);
  // prom-client types exemplar labels as the metric's own label names; exemplars have their own.
  histogram.observe(exemplar ? { labels, value, exemplarLabels: exemplar as unknown as LabelValues<T> } : { labels, value });
}

/** RED histogram per route template (never the raw URL, so cardinality stays bounded). */
export const httpRequestDuration = new Histogram({
  name: 'http_server_request_duration_seconds',
  help: 'Duration of HTTP server requests, by method, route template and status code.',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  enableExemplars: true,
  registers: [metricsRegistry],
});
