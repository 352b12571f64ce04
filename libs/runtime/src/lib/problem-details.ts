import { STATUS_CODES } from 'node:http';
import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import { IdempotencyKeyReusedError, InvalidCursorError } from '@keelson/database';
import { currentTraceIds } from '@keelson/observability';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** RFC 9457 problem document. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  traceId?: string;
  errors?: readonly { field: string; message: string }[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Base of the coded errors a service's domain throws. Each service maps its own codes to
 * a status with an exhaustive switch in `problem()`; the HTTP edge only reads the result.
 */
export abstract class DomainError<TCode extends string = string> extends Error {
  constructor(
    readonly code: TCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  abstract problem(): { status: number; title: string };

  /** Extra members for the problem document (RFC 9457 §3.2), e.g. OAuth's `error`. */
  extensions(): Record<string, unknown> {
    return {};
  }

  /** Extra response headers, e.g. `WWW-Authenticate` on a 401. */
  headers(): Record<string, string> {
    return {};
  }
}

/** A validation failure carrying per-field messages (thrown by the global validation pipe). */
export class RequestValidationError extends HttpException {
  constructor(readonly errors: readonly { field: string; message: string }[]) {
    super('request validation failed', 400);
  }
}

interface FastifyLikeError {
  statusCode: number;
  code?: string;
  message: string;
}

function isFastifyError(error: unknown): error is FastifyLikeError {
  return typeof error === 'object' && error !== null && typeof (error as FastifyLikeError).statusCode === 'number' && 'code' in error;
}

function httpExceptionDetail(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

/** Maps any error to a problem document; stack traces and unknown errors' messages never reach clients. */
export function toProblem(error: unknown): ProblemDetails {
  if (error instanceof DomainError) {
    const { status, title } = error.problem();
    return { type: `urn:keelson:problem:${error.code}`, title, status, detail: error.message, ...error.extensions() };
  }
  if (error instanceof InvalidCursorError) {
    return { type: 'urn:keelson:problem:invalid-cursor', title: 'Bad Request', status: 400, detail: error.message };
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return { type: 'urn:keelson:problem:idempotency-key-reused', title: 'Unprocessable Content', status: 422, detail: error.message };
  }
  if (error instanceof RequestValidationError) {
    return { type: 'about:blank', title: 'Bad Request', status: 400, detail: 'request validation failed', errors: error.errors };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail: httpExceptionDetail(error) };
  }
  if (isFastifyError(error) && error.statusCode >= 400 && error.statusCode < 500) {
    return { type: 'about:blank', title: STATUS_CODES[error.statusCode] ?? 'Error', status: error.statusCode, detail: error.message };
  }
  return { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'the server failed to handle the request' };
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const ids = currentTraceIds();
    const problem: ProblemDetails = { ...toProblem(exception), instance: request.url, ...(ids ? { traceId: ids.traceId } : {}) };
    if (problem.status >= 500) this.logger.error({ err: exception, traceId: ids?.traceId }, 'unhandled error');
    if (exception instanceof DomainError) void reply.headers(exception.headers());
    void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
  }
}
