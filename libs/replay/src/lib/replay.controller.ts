import {
  aggregateReducers,
  ContractRegistry,
  EventFoldError,
  foldEvents,
  isAggregateType,
  KAFKA,
  type EventEnvelope,
} from '@keelson/messaging';
import { DomainError } from '@keelson/runtime';
import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Kafka } from 'kafkajs';
import { readRange, type RangePlan } from './range';
import {
  JobIdParam,
  OffsetsQuery,
  ReconstructRequestDto,
  ReplayRequestDto,
  RestoreRequestDto,
  SnapshotRequestDto,
  TimelineQuery,
  TopicParam,
} from './replay.dto';
import { ReplayError, ReplayJobs, type OffsetSnapshot, type ReplayJobView, type ReplaySpeed, type ReplayTarget } from './replay-jobs';

/** Records a timeline request may read before it asks for a narrower range. */
const TIMELINE_SCAN_LIMIT = 10_000;
/** Records a reconstruction may read (no index by key: it scans the span). */
const RECONSTRUCT_SCAN_LIMIT = 500_000;

class ReplayRequestError extends DomainError<'invalid-replay'> {
  constructor(message: string) {
    super('invalid-replay', message);
  }
  problem(): { status: number; title: string } {
    return { status: 400, title: 'Bad Request' };
  }
}

function range(from: string, to: string): { fromMs: number; toMs: number } {
  const fromMs = Date.parse(from);
  const toMs = Date.parse(to);
  if (!(fromMs < toMs)) throw new ReplayRequestError(`from (${from}) must be before to (${to})`);
  return { fromMs, toMs };
}

@ApiTags('event-replay')
@Controller('api/v1/event-replay')
export class ReplayController {
  constructor(
    private readonly jobs: ReplayJobs,
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly registry: ContractRegistry,
  ) {}

  @Post('replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replay a time range of a topic into a topic or a consumer group (or plan it with dryRun)' })
  async replay(
    @Body() body: ReplayRequestDto,
    @Headers('x-client-id') clientId: string | undefined,
  ): Promise<ReplayJobView | { dryRun: true; plan: RangePlan }> {
    const { fromMs, toMs } = range(body.from, body.to);
    const targets = [body.target.topic, body.target.consumerGroup].filter((t) => t !== undefined);
    if (targets.length !== 1) throw new ReplayRequestError('target needs exactly one of topic or consumerGroup');
    const target: ReplayTarget = body.target.topic ? { topic: body.target.topic } : { consumerGroup: body.target.consumerGroup ?? '' };
    if (body.dryRun) return { dryRun: true, plan: await this.jobs.plan({ topic: body.topic, fromMs, toMs }) };
    return this.jobs.start(
      {
        topic: body.topic,
        fromMs,
        toMs,
        target,
        speed: (body.speed ?? 'max') as ReplaySpeed,
        ...(body.key === undefined ? {} : { key: body.key }),
        ...(body.types === undefined ? {} : { types: body.types }),
      },
      clientId ?? 'direct',
    );
  }

  @Get('replay/:id')
  @ApiOperation({ summary: 'A replay job: its plan, progress and outcome' })
  get(@Param() { id }: JobIdParam): Promise<ReplayJobView> {
    return this.jobs.get(id);
  }

  @Post('replay/:id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop a running replay' })
  cancel(@Param() { id }: JobIdParam): Promise<ReplayJobView> {
    return this.jobs.cancel(id);
  }

  @Post('reconstruct-state')
  @HttpCode(200)
  @ApiOperation({ summary: 'The state of one aggregate as of a moment, folded from its events' })
  async reconstruct(@Body() body: ReconstructRequestDto): Promise<Record<string, unknown>> {
    const atMs = Date.parse(body.at);
    const sinceMs = body.since === undefined ? 0 : Date.parse(body.since);
    if (!(sinceMs < atMs)) throw new ReplayRequestError(`since (${body.since ?? ''}) must be before at (${body.at})`);
    if (!isAggregateType(body.aggregateType)) throw new ReplayRequestError(`unknown aggregate type ${body.aggregateType}`);
    const topic = aggregateReducers[body.aggregateType].contract.topic;
    // Records are read up to the skew past `at` (they are stamped when published, after the change); events count by their own time.
    const plan = await this.jobs.plan({ topic, fromMs: sinceMs, toMs: atMs });
    if (plan.records > RECONSTRUCT_SCAN_LIMIT) {
      throw new ReplayRequestError(
        `${topic} holds up to ${plan.records} records in that span; give a later since (at most ${RECONSTRUCT_SCAN_LIMIT})`,
      );
    }
    const events: EventEnvelope[] = [];
    await readRange(
      this.kafka,
      { ...plan, toMs: atMs + this.jobs.maxTimestampSkewMs },
      {
        onBatch: (batch) => {
          for (const record of batch.records) {
            if (record.key !== body.id) continue;
            try {
              const event = this.registry.decode(topic, record.value);
              if (event.subject === body.id && Date.parse(event.time) <= atMs) events.push(event);
            } catch {
              // not a valid event of this topic: it has no part in the state
            }
          }
          return Promise.resolve();
        },
      },
    );
    let folded;
    try {
      folded = foldEvents(body.aggregateType, events);
    } catch (error) {
      if (error instanceof EventFoldError) throw new ReplayRequestError(`the events of ${body.id} do not fold: ${error.message}`);
      throw error;
    }
    if (folded.state === null) throw new ReplayError('no-events', `no events of ${body.aggregateType} ${body.id} up to ${body.at}`);
    return {
      aggregateType: body.aggregateType,
      id: body.id,
      at: body.at,
      state: folded.state,
      lastEventId: folded.lastEventId,
      events: [...events].sort((a, b) => a.aggregateversion - b.aggregateversion),
    };
  }

  @Post('snapshot')
  @HttpCode(201)
  @ApiOperation({ summary: "Save a consumer group's committed offsets" })
  snapshot(@Body() body: SnapshotRequestDto, @Headers('x-client-id') clientId: string | undefined): Promise<OffsetSnapshot> {
    return this.jobs.snapshot(body.consumerGroup, body.topics, clientId ?? 'direct');
  }

  @Post('restore')
  @HttpCode(200)
  @ApiOperation({ summary: 'Restore saved offsets (refused while the group has members; clamped to the log start)' })
  restore(@Body() body: RestoreRequestDto, @Headers('x-client-id') clientId: string | undefined): Promise<Record<string, unknown>> {
    return this.jobs.restore(body.snapshotId, clientId ?? 'direct');
  }

  @Get('offsets/:topic')
  @ApiOperation({ summary: 'Earliest, latest and (optionally) at-a-time offsets per partition' })
  async offsets(@Param() { topic }: TopicParam, @Query() query: OffsetsQuery): Promise<Record<string, unknown>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) throw new ReplayError('unknown-topic', `topic ${topic} does not exist`);
      const bounds = await admin.fetchTopicOffsets(topic);
      const at = query.at === undefined ? undefined : await admin.fetchTopicOffsetsByTimestamp(topic, Date.parse(query.at));
      return {
        topic,
        ...(query.at === undefined ? {} : { at: query.at }),
        partitions: bounds
          .map((b) => ({
            partition: b.partition,
            earliest: b.low,
            latest: b.high,
            ...(at ? { atTime: at.find((a) => a.partition === b.partition)?.offset ?? null } : {}),
          }))
          .sort((a, b) => a.partition - b.partition),
      };
    } finally {
      await admin.disconnect();
    }
  }

  @Get('timeline')
  @ApiOperation({ summary: 'Events of a topic (optionally one key) within a time range, oldest or newest first' })
  async timeline(@Query() query: TimelineQuery): Promise<{ items: unknown[]; total: number; next: number | null }> {
    const { fromMs, toMs } = range(query.from, query.to);
    const plan = await this.jobs.plan({ topic: query.topic, fromMs, toMs });
    if (plan.records > TIMELINE_SCAN_LIMIT) {
      throw new ReplayRequestError(`the range holds up to ${plan.records} records; narrow it to at most ${TIMELINE_SCAN_LIMIT}`);
    }
    const items: { partition: number; offset: string; timestamp: string; key: string | null; event: unknown }[] = [];
    await readRange(this.kafka, plan, {
      onBatch: (batch) => {
        for (const record of batch.records) {
          if (query.key !== undefined && record.key !== query.key) continue;
          const text = record.value?.toString() ?? null;
          let event: unknown = text;
          try {
            event = text === null ? null : JSON.parse(text);
          } catch {
            // shown as the raw text
          }
          items.push({
            partition: record.partition,
            offset: record.offset,
            timestamp: new Date(record.timestamp).toISOString(),
            key: record.key,
            event,
          });
        }
        return Promise.resolve();
      },
    });
    items.sort(
      (a, b) => a.timestamp.localeCompare(b.timestamp) || a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)),
    );
    if (query.order === 'newest') items.reverse();
    const skip = query.skip ?? 0;
    const limit = query.limit ?? 50;
    const page = items.slice(skip, skip + limit);
    return { items: page, total: items.length, next: skip + limit < items.length ? skip + limit : null };
  }
}
