import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino, { type Logger } from 'pino';
import { redactUrl } from './redaction';
import { currentTraceIds } from './tracing';

export const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;
/** Probes and scrapes are not access-logged. */
const UNLOGGED_PATHS = /^\/(health|metrics)/;

/** Accepts a caller's X-Request-Id when it is well-formed, otherwise makes one. */
export function requestIdFor(req: IncomingMessage, res?: ServerResponse): string {
  const given = req.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  res?.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

let root: Logger | undefined;

/**
 * The process's pino logger: JSON lines with service, trace id and span id, on stdout. Lines
 * are buffered (up to 8 KiB or 250 ms) instead of one write per line, which halved the
 * throughput of a busy service in profiles; the buffer is flushed on exit, so only a SIGKILL
 * can lose the last quarter second.
 */
export function serviceLogger(serviceName: string, level: string): Logger {
  if (root) return root;
  const stream = pino.destination({ dest: 1, minLength: 8_192, sync: false });
  setInterval(() => {
    stream.flush();
  }, 250).unref();
  root = pino(
    {
      level,
      base: { service: serviceName },
      mixin: () => {
        const ids = currentTraceIds();
        return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
      },
    },
    stream,
  );
  return root;
}

/**
 * nestjs-pino settings: Nest's logger writes through the service logger. Its per-request
 * middleware (pino-http, a child logger and an async-local store per request) is not
 * installed — it cost about a tenth of a proxied request's CPU; `logRequest` writes the
 * access log from a Fastify hook instead, and log lines join up by trace id.
 */
export function loggerParams(serviceName: string, level: string): Params {
  return { pinoHttp: { logger: serviceLogger(serviceName, level) }, forRoutes: [] };
}

export interface AccessLogEntry {
  id: string;
  method: string;
  url: string;
  statusCode: number;
  responseTimeMs: number;
}

/**
 * One access-log line per request: request id, method, URL, status and time only — no headers
 * (credentials, cookies) and no bodies ever reach a line. Query values are redacted (names
 * kept): `GET /api/v1/customers?email=…` must not write the e-mail. Server errors log at
 * `error`, everything else at `info`; the line carries the request's trace and span ids.
 */
export function logRequest(entry: AccessLogEntry): void {
  if (!root || UNLOGGED_PATHS.test(entry.url)) return;
  const line = {
    req: { id: entry.id, method: entry.method, url: redactUrl(entry.url) },
    res: { statusCode: entry.statusCode },
    responseTime: Math.round(entry.responseTimeMs * 1_000) / 1_000,
  };
  if (entry.statusCode >= 500) root.error(line, 'request errored');
  else root.info(line, 'request completed');
}
