import { metricsRegistry, observeWithExemplar } from '@keelson/observability';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  wrap,
  type IPolicy,
} from 'cockatiel';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { IDEMPOTENT_METHODS, type UpstreamName } from './route-table';

export interface ResilienceSettings {
  /** Budget for an answer's headers, retries included. */
  timeoutMs: number;
  /** Consecutive failures (errors, timeouts, 5xx) that open the breaker. */
  breakerFailures: number;
  /** How long an open breaker refuses before it lets one trial request through. */
  breakerHalfOpenAfterMs: number;
  /** Requests in flight at once; more are refused at once. */
  maxConcurrent: number;
  /** Attempts for idempotent methods (1 = no retry). */
  maxAttempts: number;
}

export interface UpstreamRequest {
  method: string;
  /** Path and query, as received. */
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /**
   * The call's one abort switch: the caller aborts it when the client goes away; the call
   * aborts it (reason `BUDGET_SPENT`) when the timeout budget runs out.
   */
  abort: AbortController;
}

/** An upstream's answer below 500. */
export interface UpstreamAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /**
   * The whole body when the upstream gave its length; otherwise (event streams, bodies of
   * unknown length) a stream of it as it arrives, paced by its reader.
   */
  body: Buffer | Readable;
}

/** The abort reason of a call whose timeout budget ran out. */
export const BUDGET_SPENT = Symbol('the upstream timeout budget is spent');

/** Why an upstream call produced no usable answer; mapped to 502/503/504 at the edge. */
export class UpstreamFailure extends Error {
  constructor(
    readonly upstream: UpstreamName,
    readonly kind: 'breaker-open' | 'bulkhead-full' | 'timeout' | 'unreachable' | 'server-error' | 'client-gone',
    readonly retryAfterSeconds?: number,
    readonly upstreamStatus?: number,
  ) {
    super(`${upstream}: ${kind}`);
  }
}

class UpstreamStatusError extends Error {
  constructor(readonly status: number) {
    super(`upstream answered ${status}`);
  }
}

const upstreamDuration = new Histogram({
  name: 'gateway_upstream_request_duration_seconds',
  help: 'Time to an upstream answer’s headers, retries included, by upstream and outcome.',
  labelNames: ['upstream', 'outcome'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  enableExemplars: true,
  registers: [metricsRegistry],
});
const upstreamRejections = new Counter({
  name: 'gateway_upstream_rejections_total',
  help: 'Requests refused without calling the upstream, by reason (breaker_open, bulkhead_full).',
  labelNames: ['upstream', 'reason'] as const,
  registers: [metricsRegistry],
});
const upstreamTimeouts = new Counter({
  name: 'gateway_upstream_timeouts_total',
  help: 'Upstream calls abandoned at the timeout budget.',
  labelNames: ['upstream'] as const,
  registers: [metricsRegistry],
});
const upstreamRetries = new Counter({
  name: 'gateway_upstream_retries_total',
  help: 'Repeated attempts of idempotent requests.',
  labelNames: ['upstream'] as const,
  registers: [metricsRegistry],
});
const breakerState = new Gauge({
  name: 'gateway_circuit_breaker_state',
  help: 'Circuit breaker per upstream: 0 closed, 1 half-open, 2 open.',
  labelNames: ['upstream'] as const,
  registers: [metricsRegistry],
});

const STATE_VALUE: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.HalfOpen]: 1,
  [CircuitState.Open]: 2,
  [CircuitState.Isolated]: 2,
};

/** The client went away mid-call: says nothing about the upstream's health. */
class ClientGoneError extends Error {}
/** The budget ran out while the upstream was being called: a failure of the upstream. */
class TimedOutError extends Error {}
/** The budget ran out before an attempt started (during a retry's backoff): no call was made. */
class BudgetSpentError extends Error {}

/**
 * Why a call's signal was aborted, as the error an attempt ends with (one refused `before` it
 * started, or cut off `during` it); undefined while it is not aborted.
 */
const abortedBy = (signal: AbortSignal, when: 'before' | 'during'): Error | undefined => {
  if (!signal.aborted) return undefined;
  if (signal.reason !== BUDGET_SPENT) return new ClientGoneError('the client went away');
  return when === 'before' ? new BudgetSpentError('no budget left for an attempt') : new TimedOutError('the timeout budget is spent');
};

const isFailure = (error: Error): boolean =>
  !(error instanceof BrokenCircuitError) &&
  !(error instanceof BulkheadRejectedError) &&
  !(error instanceof ClientGoneError) &&
  !(error instanceof BudgetSpentError);

/**
 * One service behind the gateway: a keep-alive connection pool (undici) and cockatiel
 * policies — bulkhead (outermost, so a saturated upstream is refused at once), retries with
 * decorrelated jitter for idempotent methods only, and a consecutive-failure circuit breaker
 * with half-open trials — all inside one timeout budget per call. Errors, timeouts and 5xx
 * answers count as failures; an open breaker refuses without touching the network.
 *
 * The budget is one timer per call that aborts the call's own abort switch (the one the
 * client's departure also aborts) and answers at once, even during a retry's backoff.
 * cockatiel's TimeoutPolicy would add an AbortController, a timer and listeners of its own
 * to every call (about 4% of a proxied request's CPU); undici's own timeouts count only from
 * the request's write, not connecting or queueing.
 */
export class Upstream {
  private readonly pool: Pool;
  private readonly idempotent: IPolicy;
  private readonly unsafe: IPolicy;
  private openedAt = 0;

  constructor(
    readonly name: UpstreamName,
    readonly origin: string,
    private readonly settings: ResilienceSettings,
  ) {
    this.pool = new Pool(origin, { connections: settings.maxConcurrent, keepAliveTimeout: 30_000 });
    const breaker = circuitBreaker(handleWhen(isFailure), {
      halfOpenAfter: settings.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(settings.breakerFailures),
    });
    breakerState.set({ upstream: name }, 0);
    breaker.onStateChange((state) => {
      breakerState.set({ upstream: name }, STATE_VALUE[state]);
      if (state === CircuitState.Open) this.openedAt = Date.now();
    });
    const retries = retry(handleWhen(isFailure), {
      maxAttempts: Math.max(0, settings.maxAttempts - 1),
      backoff: new ExponentialBackoff({ initialDelay: 25, maxDelay: 250 }),
    });
    retries.onRetry(() => {
      upstreamRetries.inc({ upstream: name });
    });
    const limit = bulkhead(settings.maxConcurrent, 0);
    this.idempotent = wrap(limit, retries, breaker);
    this.unsafe = wrap(limit, breaker);
  }

  /** Calls the upstream; resolves with its answer (status < 500) or rejects with an UpstreamFailure. */
  async call(request: UpstreamRequest): Promise<UpstreamAnswer> {
    const policy = IDEMPOTENT_METHODS.has(request.method) ? this.idempotent : this.unsafe;
    const { signal } = request.abort;
    const started = performance.now();
    let outcome = 'ok';
    let spend!: (error: Error) => void;
    const budget = new Promise<never>((_resolve, reject) => {
      spend = reject;
    });
    const timer = setTimeout(() => {
      request.abort.abort(BUDGET_SPENT);
      spend(new TimedOutError('the timeout budget is spent'));
    }, this.settings.timeoutMs);
    const attempts = policy.execute(() => this.attempt(request, signal), signal);
    try {
      return await Promise.race([attempts, budget]);
    } catch (error) {
      // If the budget answered first, the attempt was aborted and ends on its own; an answer that still arrives is discarded.
      attempts.then(
        (late) => {
          if (late.body instanceof Readable) late.body.destroy();
        },
        () => undefined,
      );
      const failure =
        signal.aborted && signal.reason !== BUDGET_SPENT ? new UpstreamFailure(this.name, 'client-gone') : this.failureOf(error);
      outcome = failure.kind;
      throw failure;
    } finally {
      clearTimeout(timer);
      observeWithExemplar(upstreamDuration, { upstream: this.name, outcome }, (performance.now() - started) / 1_000);
    }
  }

  private async attempt(request: UpstreamRequest, signal: AbortSignal): Promise<UpstreamAnswer> {
    const refused = abortedBy(signal, 'before');
    if (refused) throw refused;
    let answer: UpstreamAnswer;
    try {
      answer = await exchange(this.pool, request, signal);
    } catch (error) {
      // Aborted by the client: neither a failure for the breaker nor worth a retry. By the budget: a failure, not retried.
      throw abortedBy(signal, 'during') ?? error;
    }
    if (answer.statusCode >= 500) throw new UpstreamStatusError(answer.statusCode);
    return answer;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private failureOf(error: unknown): UpstreamFailure {
    if (error instanceof BrokenCircuitError) {
      upstreamRejections.inc({ upstream: this.name, reason: 'breaker_open' });
      const remainingMs = Math.max(0, this.openedAt + this.settings.breakerHalfOpenAfterMs - Date.now());
      return new UpstreamFailure(this.name, 'breaker-open', Math.max(1, Math.ceil(remainingMs / 1_000)));
    }
    if (error instanceof BulkheadRejectedError) {
      upstreamRejections.inc({ upstream: this.name, reason: 'bulkhead_full' });
      return new UpstreamFailure(this.name, 'bulkhead-full', 1);
    }
    if (error instanceof TimedOutError || error instanceof BudgetSpentError) {
      upstreamTimeouts.inc({ upstream: this.name });
      return new UpstreamFailure(this.name, 'timeout');
    }
    if (error instanceof UpstreamStatusError) return new UpstreamFailure(this.name, 'server-error', undefined, error.status);
    return new UpstreamFailure(this.name, 'unreachable');
  }
}

/**
 * One HTTP exchange on undici's dispatcher API: a sized body is gathered into one buffer, any
 * other body (and no 5xx body) is handed over as a stream that pauses the upstream connection
 * while its reader is behind. Compared with undici's `request` (a Readable and an async
 * resource per response, then gathering the stream) this was about 5% of a proxied request's
 * CPU. Aborting `signal` aborts the exchange, a streamed body included.
 */
function exchange(pool: Pool, request: UpstreamRequest, signal: AbortSignal): Promise<UpstreamAnswer> {
  return new Promise<UpstreamAnswer>((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    let head: { statusCode: number; headers: IncomingHttpHeaders } | undefined;
    let stream: Readable | undefined;
    const chunks: Buffer[] = [];
    const done = () => {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        if (signal.aborted) {
          controller.abort(new Error('aborted before it was sent'));
          return;
        }
        onAbort = () => {
          controller.abort(new Error('aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      },
      onResponseStart(controller, statusCode, headers) {
        const sized = headers['content-length'] !== undefined && !String(headers['content-type']).startsWith('text/event-stream');
        if (sized || statusCode >= 500) {
          head = { statusCode, headers };
          return;
        }
        stream = new Readable({
          read() {
            controller.resume();
          },
          destroy(error, callback) {
            if (!controller.aborted) controller.abort(error ?? new Error('the reader stopped'));
            done();
            callback(error);
          },
        });
        resolve({ statusCode, headers, body: stream });
      },
      onResponseData(controller, chunk) {
        if (!stream) chunks.push(chunk);
        else if (!stream.push(chunk)) controller.pause();
      },
      onResponseEnd() {
        done();
        if (stream) stream.push(null);
        else if (head) resolve({ ...head, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) });
      },
      onResponseError(_controller, error) {
        done();
        if (stream) stream.destroy(error);
        else reject(error);
      },
    };
    pool.dispatch(
      {
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: request.body ?? null,
      },
      handler,
    );
  });
}
