import { STATUS_CODES } from 'node:http';
import { AccessTokenVerifier, InvalidTokenError, missingScopes } from '@keelson/auth-client';
import { currentTraceIds, injectTraceContext, metricsRegistry, outgoingTraceContext } from '@keelson/observability';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from '@keelson/runtime';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import type { EdgeRateLimits } from './rate-limits';
import { rateLimitHeaders } from './rate-limits';
import { accessFor, GATEWAY_ROUTES, routeFor, type GatewayRoute, type UpstreamName } from './route-table';
import { UpstreamFailure, type Upstream } from './upstream';

export interface EdgeOptions {
  upstreams: Readonly<Record<UpstreamName, Upstream>>;
  verifier: AccessTokenVerifier;
  rateLimits: EdgeRateLimits;
  bodyLimitBytes: number;
  routes?: readonly GatewayRoute[];
}

const authFailures = new Counter({
  name: 'gateway_auth_failures_total',
  help: 'Requests refused by the gateway’s token check, by reason (missing, invalid, insufficient_scope).',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

/** Request headers never forwarded: hop-by-hop (RFC 9110 §7.6.1) and what the gateway sets itself. */
const DROPPED_REQUEST_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
  'traceparent',
  'tracestate',
  'x-request-id',
  'x-client-id',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);
/** Response headers never passed back. */
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'server', 'x-powered-by']);

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;

interface EdgeState {
  keelsonRoute?: GatewayRoute;
  keelsonClientId?: string;
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  detail: string,
  extra: { type?: string; headers?: Record<string, string> } = {},
): FastifyReply {
  const problem: ProblemDetails = {
    type: extra.type ?? 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: request.url.split('?')[0] ?? request.url,
  };
  const ids = currentTraceIds();
  if (ids) problem.traceId = ids.traceId;
  return reply
    .status(status)
    .headers(extra.headers ?? {})
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem));
}

/**
 * The public edge on the gateway's Fastify instance: for every route in the table, in this
 * order — bearer token (verified locally, deny-list checked) and scopes, rate limits per IP
 * and per client (refusals count against the IP too), body checks, then the upstream call
 * through its resilience policies.
 * Answers stream back unbuffered (server-sent events included); upstream 5xx bodies are
 * replaced by the gateway's own problem document so upstream internals never leak.
 */
export async function registerEdge(fastify: FastifyInstance, options: EdgeOptions): Promise<void> {
  const routes = options.routes ?? GATEWAY_ROUTES;
  await fastify.register((scope, _opts, done) => {
    // Bodies are forwarded as received; the gateway only checks their type and, for JSON, syntax.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimitBytes }, (_request, body, next) => {
      next(null, body);
    });
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendProblem(request, reply, 413, `the request body is larger than ${options.bodyLimitBytes} bytes`);
      }
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return sendProblem(request, reply, error.statusCode, error.message);
      }
      request.log.error({ err: error }, 'gateway failure');
      return sendProblem(request, reply, 500, 'the gateway failed to handle the request');
    });

    scope.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      const route = routeFor(path, routes);
      if (!route) return sendProblem(request, reply, 404, `no route for ${path}`);
      (request as EdgeState).keelsonRoute = route;

      // Refusals still count against the IP, so failed tokens cannot be tried without limit.
      const refuse = async (status: 401 | 403, detail: string, challenge: string, reason: string) => {
        authFailures.inc({ reason });
        const byIp = await options.rateLimits.ip(request.ip);
        void reply.headers(rateLimitHeaders(byIp));
        if (!byIp.allowed) return tooMany(request, reply, byIp.resetSeconds, 'too many requests from this address');
        return sendProblem(request, reply, status, detail, { headers: { 'www-authenticate': challenge } });
      };

      const access = accessFor(route, request.method);
      if (access.public) {
        const byIp = await options.rateLimits.ip(request.ip);
        void reply.headers(rateLimitHeaders(byIp));
        if (!byIp.allowed) return tooMany(request, reply, byIp.resetSeconds, 'too many requests from this address');
        return;
      }
      const authorization = request.headers.authorization;
      const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
      if (!token) return refuse(401, 'a bearer access token is required', 'Bearer realm="keelson"', 'missing');
      let claims;
      try {
        claims = await options.verifier.verify(token); // local: cached, or one signature check
      } catch (error) {
        if (!(error instanceof InvalidTokenError)) throw error;
        return refuse(401, error.message, `Bearer realm="keelson", error="invalid_token", error_description="${error.message}"`, 'invalid');
      }
      const missing = missingScopes(claims, access.scopes);
      if (missing.length > 0) {
        return refuse(
          403,
          `this token lacks the scope ${missing.join(' ')}`,
          `Bearer realm="keelson", error="insufficient_scope", scope="${access.scopes.join(' ')}"`,
          'insufficient_scope',
        );
      }
      // Both budgets in one round trip (the Redis client pipelines commands issued together).
      const [byIp, byClient] = await Promise.all([options.rateLimits.ip(request.ip), options.rateLimits.client(claims.client_id)]);
      void reply.headers(rateLimitHeaders(byClient.remaining < byIp.remaining ? byClient : byIp));
      if (!byIp.allowed) return tooMany(request, reply, byIp.resetSeconds, 'too many requests from this address');
      if (!byClient.allowed) return tooMany(request, reply, byClient.resetSeconds, 'this client sent too many requests');
      (request as EdgeState).keelsonClientId = claims.client_id;
    });

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const route = (request as EdgeState).keelsonRoute;
      if (!route) return sendProblem(request, reply, 404, 'no route');
      const body = request.body instanceof Buffer ? request.body : undefined;
      if (body && body.length > 0) {
        const type = request.headers['content-type'] ?? '';
        const expected = route.body === 'form' ? FORM_TYPE : JSON_TYPE;
        if (!expected.test(type)) {
          return sendProblem(
            request,
            reply,
            415,
            `send ${route.body === 'form' ? 'application/x-www-form-urlencoded' : 'application/json'}`,
          );
        }
        if (route.body === 'json') {
          try {
            JSON.parse(body.toString('utf8'));
          } catch (error) {
            return sendProblem(request, reply, 400, `the body is not valid JSON: ${(error as Error).message}`);
          }
        }
      }
      return forward(options.upstreams[route.upstream], request, reply, body);
    };
    for (const route of routes) {
      scope.all(route.prefix, handler);
      scope.all(`${route.prefix}/*`, handler);
    }
    done();
  });
}

function tooMany(request: FastifyRequest, reply: FastifyReply, retryAfter: number, detail: string): FastifyReply {
  return sendProblem(request, reply, 429, detail, { headers: { 'retry-after': String(retryAfter) } });
}

async function forward(upstream: Upstream, request: FastifyRequest, reply: FastifyReply, body: Buffer | undefined): Promise<FastifyReply> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || DROPPED_REQUEST_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  headers['x-request-id'] = request.id;
  // Who is calling, as verified here (a client-sent value is dropped above): services audit with it.
  const clientId = (request as EdgeState).keelsonClientId;
  if (clientId) headers['x-client-id'] = clientId;
  headers['x-forwarded-for'] = request.ip;
  headers['x-forwarded-proto'] = request.protocol;
  if (request.headers.host) headers['x-forwarded-host'] = request.headers.host;
  injectTraceContext(headers, outgoingTraceContext(request.headers));

  const abort = new AbortController();
  // The response's close before it finished means the client went away (the request's close only means its body was read).
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  try {
    const answer = await upstream.call({ method: request.method, path: request.url, headers, body, abort });
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) void reply.header(name, value);
    }
    void reply.status(answer.statusCode);
    // Event streams and bodies of unknown length pass through as they arrive; a sized body was
    // read first and goes out in one write with its length.
    return await reply.send(answer.body);
  } catch (error) {
    if (!(error instanceof UpstreamFailure)) throw error;
    return sendFailure(request, reply, error);
  }
}

function sendFailure(request: FastifyRequest, reply: FastifyReply, failure: UpstreamFailure): FastifyReply {
  const retry: Record<string, string> = failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) };
  switch (failure.kind) {
    case 'breaker-open':
      return sendProblem(request, reply, 503, `${failure.upstream} is failing; requests to it are paused`, { headers: retry });
    case 'bulkhead-full':
      return sendProblem(request, reply, 503, `${failure.upstream} is at its concurrency limit`, { headers: retry });
    case 'timeout':
      return sendProblem(request, reply, 504, `${failure.upstream} did not answer in time`);
    case 'server-error':
      return failure.upstreamStatus === 503
        ? sendProblem(request, reply, 503, `${failure.upstream} is unavailable`, { headers: { 'retry-after': '1' } })
        : sendProblem(request, reply, 502, `${failure.upstream} failed to handle the request`);
    case 'unreachable':
      return sendProblem(request, reply, 502, `${failure.upstream} could not be reached`);
    case 'client-gone':
      return reply.status(499).send();
  }
}
