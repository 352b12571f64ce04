import type { RequestOptions } from 'node:http';
import { context, propagation, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { getRPCMetadata, RPCType, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { tracingConfigSchema } from '@keelson/config';
import { redactQuery, redactUrl, redisStatement } from './redaction';

export type TraceExporterKind = 'none' | 'console' | 'otlp';

export interface TracingOptions {
  serviceName: string;
  exporter: TraceExporterKind;
  otlpEndpoint?: string;
  /** Share of new root traces recorded (default 1). */
  samplerRatio?: number;
}

export interface TracingHandle {
  shutdown(): Promise<void>;
}

function spanProcessors(options: TracingOptions): SpanProcessor[] {
  switch (options.exporter) {
    case 'none':
      // Spans still get ids and propagate (logs and Kafka headers carry them); nothing is exported.
      return [];
    case 'console':
      return [new BatchSpanProcessor(new ConsoleSpanExporter())];
    case 'otlp':
      return [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.otlpEndpoint ?? 'http://127.0.0.1:4318'}/v1/traces` }))];
  }
}

/** `url.full` of an outgoing request with its query values redacted (only when it has a query). */
function outgoingUrl(options: RequestOptions): Record<string, string> {
  const path = options.path ?? '/';
  if (!path.includes('?')) return {};
  const host = options.host ?? options.hostname ?? 'localhost';
  const port = options.port !== undefined && options.port !== null && !host.includes(':') ? `:${String(options.port)}` : '';
  return { 'url.full': `${options.protocol ?? 'http:'}//${host}${port}${redactUrl(path)}` };
}

/**
 * Registers the OpenTelemetry tracer provider, W3C trace-context propagation and the
 * HTTP, PostgreSQL and Redis instrumentations. Call before the app module is loaded.
 *
 * No personal data reaches a span: HTTP query values are redacted (`url.query`, `url.full`;
 * names kept), PostgreSQL spans carry the parameterised statement and never its values, Redis
 * spans only the command and key prefix. Database spans need a parent, so background loops
 * (the outbox poll, the deny-list refresh) do not start a trace every second.
 */
export function startTracing(options: TracingOptions): TracingHandle {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: spanProcessors(options),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.samplerRatio ?? 1) }),
  });
  provider.register();
  const unregister = registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => /^\/(health|metrics)/.test(req.url ?? ''),
        // Hook attributes overwrite the instrumentation's own, which redacts only a few signature parameters.
        startIncomingSpanHook: (req) => {
          const url = req.url ?? '/';
          const query = url.indexOf('?');
          return query === -1 ? {} : { 'url.query': redactQuery(url.slice(query + 1)) };
        },
        startOutgoingSpanHook: outgoingUrl,
      }),
      new PgInstrumentation({ enhancedDatabaseReporting: false, requireParentSpan: true }),
      new IORedisInstrumentation({ dbStatementSerializer: redisStatement, requireParentSpan: true }),
    ],
  });
  return {
    async shutdown() {
      unregister();
      await provider.shutdown();
    },
  };
}

/**
 * Tells the active HTTP server span which route template matched, so the instrumentation names
 * it `POST /api/v1/orders` and sets `http.route` (the raw path would be unbounded). A no-op
 * without tracing.
 */
export function noteHttpRoute(route: string): void {
  const rpc = getRPCMetadata(context.active());
  if (rpc?.type === RPCType.HTTP) rpc.route = route;
}

export function tracer(name = 'keelson'): Tracer {
  return trace.getTracer(name);
}

/** The active span's ids, for log lines and problem documents. */
export function currentTraceIds(ctx: Context = context.active()): { traceId: string; spanId: string } | undefined {
  const spanContext = trace.getSpanContext(ctx);
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  return { traceId: spanContext.traceId, spanId: spanContext.spanId };
}

/**
 * The context to propagate downstream from a request with these headers: the active one when
 * tracing recorded a span for it, otherwise the caller's own trace context, passed on as received.
 */
export function outgoingTraceContext(incoming: Record<string, string | string[] | undefined>): Context {
  const active = context.active();
  if (trace.getSpan(active)) return active;
  return propagation.extract(active, incoming, {
    get: (c, key) => c[key],
    keys: (c) => Object.keys(c),
  });
}

/** Writes the context's W3C `traceparent` (and `tracestate`) into a string carrier. */
export function injectTraceContext(carrier: Record<string, string>, ctx: Context = context.active()): Record<string, string> {
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Reads a W3C trace context from a carrier into a new context (the root context if absent). */
export function extractTraceContext(carrier: Record<string, string | undefined>): Context {
  return propagation.extract(context.active(), carrier, {
    get: (c, key) => c[key],
    keys: (c) => Object.keys(c),
  });
}

export type { Span };

let active: TracingHandle | undefined;

/**
 * Starts tracing from the environment (`OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_TRACES_SAMPLER_RATIO`). A service's `instrument.ts` calls this as its very first import,
 * so HTTP, PostgreSQL and Redis clients are patched before anything loads them. An invalid value
 * leaves tracing off; the service's own config check then reports it and stops the process.
 *
 * With no exporter, nothing would read a span, so no instrumentation is installed at all (even
 * unsampled, the HTTP, pg and ioredis instrumentations and their context propagation cost about
 * a fifth of a proxied request's CPU in profiles). Only the W3C propagator is registered, so the
 * gateway still passes a caller's `traceparent` on unchanged.
 */
export function startTracingFromEnv(serviceName: string, env: NodeJS.ProcessEnv = process.env): void {
  const parsed = tracingConfigSchema.safeParse(env);
  if (!parsed.success || active) return;
  const { OTEL_TRACES_EXPORTER: exporter, OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint, OTEL_TRACES_SAMPLER_RATIO: ratio } = parsed.data;
  if (exporter === 'none') {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    return;
  }
  active = startTracing({ serviceName, exporter, otlpEndpoint, samplerRatio: ratio });
}

/** Flushes and stops the tracing started by `startTracingFromEnv` (no-op if none). */
export async function stopTracing(): Promise<void> {
  await active?.shutdown();
  active = undefined;
}
