import {
  BadRequestException,
  createParamDecorator,
  HttpException,
  PreconditionFailedException,
  type ExecutionContext,
} from '@nestjs/common';
import type { IdempotentOutcome } from '@keelson/database';
import type { FastifyReply, FastifyRequest } from 'fastify';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The `Idempotency-Key` header (optional), validated: 1–255 visible ASCII characters. */
export const IdempotencyKey = createParamDecorator((_: unknown, ctx: ExecutionContext): string | undefined => {
  const value = ctx.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY_PATTERN.test(value)) {
    throw new BadRequestException('Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  return value;
});

/** The raw `If-Match` header. */
export const IfMatch = createParamDecorator((_: unknown, ctx: ExecutionContext): string | undefined => {
  const value = ctx.switchToHttp().getRequest<FastifyRequest>().headers['if-match'];
  return typeof value === 'string' ? value : undefined;
});

/** Strong entity tag for a row version. */
export const etagOf = (version: number): string => `"${version}"`;

/**
 * The version a conditional update expects. Updates require `If-Match` (428 without it), so
 * a client cannot overwrite a change it has not seen.
 */
export function expectedVersion(ifMatch: string | undefined): number {
  if (ifMatch === undefined) {
    throw new HttpException('this update requires an If-Match header with the ETag from your last read', 428);
  }
  const match = /^(?:W\/)?"(\d{1,15})"$/.exec(ifMatch.trim());
  if (!match?.[1]) throw new PreconditionFailedException(`If-Match "${ifMatch}" is not an ETag this API issued`);
  return Number(match[1]);
}

/** Sends a (possibly replayed) idempotent outcome as the response. */
export function sendOutcome(reply: FastifyReply, outcome: IdempotentOutcome): FastifyReply {
  void reply.status(outcome.status).headers(outcome.headers);
  if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
  return reply.send(outcome.body);
}
