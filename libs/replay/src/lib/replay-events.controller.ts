import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { JobIdParam } from './replay.dto';
import { ReplayJobs } from './replay-jobs';
import { EVENT_STREAM_HEADERS, ReplayProgressStreams } from './replay-progress';

/** A replay's progress as server-sent events. */
@ApiTags('event-replay')
@Controller('api/v1/event-replay')
export class ReplayEventsController {
  constructor(
    private readonly jobs: ReplayJobs,
    private readonly streams: ReplayProgressStreams,
  ) {}

  @Get('replay/:id/events')
  @ApiProduces('text/event-stream')
  @ApiOperation({ summary: "A replay's progress as server-sent events: progress, then done, failed or cancelled" })
  async events(@Param() { id }: JobIdParam, @Res() reply: FastifyReply): Promise<void> {
    const job = await this.jobs.get(id); // an unknown id is a 404 problem before the stream opens
    // The stream outlives Fastify's request/reply cycle: write to the raw response from here on.
    reply.hijack();
    const headers = Object.fromEntries(Object.entries(reply.getHeaders()).filter(([, value]) => value !== undefined)) as Record<
      string,
      string | number | string[]
    >;
    reply.raw.writeHead(200, { ...headers, ...EVENT_STREAM_HEADERS });
    await this.streams.stream(job, reply.raw);
  }
}
