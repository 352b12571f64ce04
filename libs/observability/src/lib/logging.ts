import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino from 'pino';
import { currentTraceIds } from './tracing';

export const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

/** Accepts a caller's X-Request-Id when it is well-formed, otherwise makes one. */
export function requestIdFor(req: IncomingMessage, res?: ServerResponse): string {
  const given = req.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  res?.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/**
 * nestjs-pino settings: JSON lines with service, request id, trace id and span id, on stdout.
 * Lines are buffered (up to 8 KiB or 250 ms) instead of one write per line, which halved the
 * throughput of a busy service in profiles; the buffer is flushed on exit, so only a SIGKILL
 * can lose the last quarter second.
 */
export function loggerParams(serviceName: string, level: string): Params {
  const stream = pino.destination({ dest: 1, minLength: 8_192, sync: false });
  setInterval(() => {
    stream.flush();
  }, 250).unref();
  return {
    pinoHttp: [
      {
        level,
        base: { service: serviceName },
        genReqId: (req, res) => requestIdFor(req, res),
        mixin: () => {
          const ids = currentTraceIds();
          return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
        },
        autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
        // Requests and responses are logged as these few fields only: no headers (credentials,
        // cookies) and no bodies ever reach a line, so there is nothing left to redact.
        serializers: {
          req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
          res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        },
      },
      stream,
    ],
  };
}
