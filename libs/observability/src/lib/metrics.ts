import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * The process-wide Prometheus registry. One per process: default Node metrics plus
 * whatever the service's libraries register on it.
 */
export const metricsRegistry = new Registry();
let defaultsCollected = false;

export function collectProcessMetrics(serviceName: string): void {
  if (defaultsCollected) return;
  metricsRegistry.setDefaultLabels({ service: serviceName });
  collectDefaultMetrics({ register: metricsRegistry });
  defaultsCollected = true;
}

/** RED histogram per route template (never the raw URL, so cardinality stays bounded). */
export const httpRequestDuration = new Histogram({
  name: 'http_server_request_duration_seconds',
  help: 'Duration of HTTP server requests, by method, route template and status code.',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});
