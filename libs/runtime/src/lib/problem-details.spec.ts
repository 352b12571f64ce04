import { ConflictException, NotFoundException } from '@nestjs/common';
import { RequestValidationError, toProblem } from './problem-details';

describe('toProblem', () => {
  it('maps HTTP exceptions to their status and message', () => {
    expect(toProblem(new NotFoundException('order 42 not found'))).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'order 42 not found',
    });
    expect(toProblem(new ConflictException()).status).toBe(409);
  });

  it('lists each invalid field', () => {
    const problem = toProblem(new RequestValidationError([{ field: 'email', message: 'email must be an email' }]));
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([{ field: 'email', message: 'email must be an email' }]);
  });

  it('keeps Fastify client errors (body too large) as they are', () => {
    const error = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(toProblem(error)).toMatchObject({ status: 413, title: 'Payload Too Large', detail: 'Request body is too large' });
  });

  it('hides the message of unknown errors', () => {
    const problem = toProblem(new Error('password authentication failed for user "keelson"'));
    expect(problem.status).toBe(500);
    expect(JSON.stringify(problem)).not.toContain('keelson');
  });
});
