import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { Counter, Histogram } from 'prom-client';
import { acceptsOpenMetrics, metricsRegistry, observeWithExemplar, renderMetrics } from './metrics';

const OPENMETRICS = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const spanContext = (traceFlags: number) => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: '00f067aa0ba902b7', traceFlags });

describe('metrics exposition', () => {
  const sut = new Histogram({
    name: 'metrics_spec_duration_seconds',
    help: 'test histogram',
    labelNames: ['route'] as const,
    buckets: [0.1, 1],
    enableExemplars: true,
    registers: [metricsRegistry],
  });
  const counter = new Counter({ name: 'metrics_spec_things_total', help: 'test counter', registers: [metricsRegistry] });

  it('serves OpenMetrics with a trace exemplar to a scraper that asks for it', async () => {
    observeWithExemplar(sut, { route: '/sampled' }, 0.05, spanContext(TraceFlags.SAMPLED));
    counter.inc();
    const { contentType, body } = await renderMetrics(OPENMETRICS);
    expect(contentType).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(body).toMatch(
      new RegExp(`metrics_spec_duration_seconds_bucket\\{le="0.1",route="/sampled"\\} 1 # \\{trace_id="${traceId}"\\} 0.05 `),
    );
    expect(body).toContain('# TYPE metrics_spec_things counter');
    expect(body).toMatch(/^metrics_spec_things_total 1$/m);
    expect(body.endsWith('# EOF\n')).toBe(true);
  });

  it('adds no exemplar for an unsampled or absent span', async () => {
    observeWithExemplar(sut, { route: '/unsampled' }, 0.05, spanContext(TraceFlags.NONE));
    observeWithExemplar(sut, { route: '/untraced' }, 0.05);
    const { body } = await renderMetrics(OPENMETRICS);
    expect(body).toMatch(/metrics_spec_duration_seconds_bucket\{le="0.1",route="\/unsampled"\} 1\n/);
    expect(body).toMatch(/metrics_spec_duration_seconds_bucket\{le="0.1",route="\/untraced"\} 1\n/);
  });

  it('serves the classic format otherwise, without exemplars and with counter names intact after an OpenMetrics scrape', async () => {
    await renderMetrics(OPENMETRICS);
    const { contentType, body } = await renderMetrics('*/*');
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('# TYPE metrics_spec_things_total counter');
    expect(body).toMatch(/^metrics_spec_things_total 1$/m);
    expect(body).toMatch(/^metrics_spec_duration_seconds_bucket\{le="0.1",route="\/sampled"\} 1$/m);
    expect(body).not.toContain('trace_id');
  });

  it.each([
    [undefined, false],
    ['*/*', false],
    ['text/plain;version=0.0.4', false],
    ['application/openmetrics-text;version=1.0.0;q=0', false],
    ['application/openmetrics-text; version=0.0.1; q=0.75, text/plain;q=0.5', true],
    ['Application/OpenMetrics-Text', true],
  ])('Accept %p asks for OpenMetrics: %p', (accept, expected) => {
    expect(acceptsOpenMetrics(accept)).toBe(expected);
  });
});
