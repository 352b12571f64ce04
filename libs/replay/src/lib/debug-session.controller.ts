import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DebugSessions, type DebugRecord, type DebugSessionView } from './debug-sessions';
import { DebugSessionRequestDto, DebugStepQuery, JobIdParam } from './replay.dto';

/** Step through a topic from a moment on, a few records at a time. */
@ApiTags('event-replay')
@Controller('api/v1/event-replay/debug-session')
export class DebugSessionController {
  constructor(private readonly sessions: DebugSessions) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Open a debug session: a throwaway consumer group positioned on a topic at a moment' })
  create(@Body() body: DebugSessionRequestDto, @Headers('x-client-id') clientId: string | undefined): Promise<DebugSessionView> {
    return this.sessions.create(
      { topic: body.topic, atMs: Date.parse(body.at), ...(body.ttlSeconds === undefined ? {} : { ttlMs: body.ttlSeconds * 1_000 }) },
      clientId ?? 'direct',
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'A debug session: its positions per partition and expiry' })
  get(@Param() { id }: JobIdParam): Promise<DebugSessionView> {
    return this.sessions.get(id);
  }

  @Post(':id/next')
  @HttpCode(200)
  @ApiOperation({ summary: 'The next records of a debug session (earliest first), moving it past them' })
  next(
    @Param() { id }: JobIdParam,
    @Query() query: DebugStepQuery,
    @Headers('x-client-id') clientId: string | undefined,
  ): Promise<{ records: DebugRecord[]; session: DebugSessionView }> {
    return this.sessions.next(id, query.count ?? 1, clientId ?? 'direct');
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Close a debug session (its consumer group is deleted)' })
  remove(@Param() { id }: JobIdParam, @Headers('x-client-id') clientId: string | undefined): Promise<void> {
    return this.sessions.remove(id, clientId ?? 'direct');
  }
}
