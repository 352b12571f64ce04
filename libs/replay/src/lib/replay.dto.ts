import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

/** RFC 3339 with a zone: a time without one is refused, never guessed. */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/i;
const ZONED = 'must be an RFC 3339 time with a zone (Z or ±hh:mm), e.g. 2026-11-25T14:03:00Z';
const TOPIC = /^[\w.-]{1,249}$/;

export class ReplayTargetDto {
  @ApiPropertyOptional({ description: 'Copy the records to this topic' })
  @IsOptional()
  @Matches(TOPIC, { message: 'target.topic must be a Kafka topic name' })
  topic?: string;

  @ApiPropertyOptional({ description: 'Or move this consumer group to the range start' })
  @IsOptional()
  @Matches(TOPIC, { message: 'target.consumerGroup must be 1–249 letters, digits, . _ -' })
  consumerGroup?: string;
}

export class ReplayRequestDto {
  @ApiProperty({ example: 'orders.events.v1' })
  @Matches(TOPIC, { message: 'topic must be a Kafka topic name' })
  topic!: string;

  @ApiProperty({ example: '2026-11-25T14:00:00Z' })
  @Matches(RFC3339, { message: `from ${ZONED}` })
  from!: string;

  @ApiProperty({ example: '2026-11-25T14:05:00Z' })
  @Matches(RFC3339, { message: `to ${ZONED}` })
  to!: string;

  @ApiPropertyOptional({ description: 'Only records with this key (an aggregate id)' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  key?: string;

  @ApiPropertyOptional({ type: [String], description: 'Only these event types' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  types?: string[];

  @ApiProperty({ type: ReplayTargetDto })
  @ValidateNested()
  @Type(() => ReplayTargetDto)
  target!: ReplayTargetDto;

  @ApiPropertyOptional({ example: 'max', description: "'max', 'realtime' or a multiple such as '10x'" })
  @IsOptional()
  @Matches(/^(?:max|realtime|\d{1,4}(?:\.\d{1,2})?x)$/, { message: "speed must be 'max', 'realtime' or a multiple such as '10x'" })
  speed?: string;

  @ApiPropertyOptional({ description: 'Return the plan (offsets and record counts per partition) without replaying' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class TimelineQuery {
  @ApiProperty()
  @Matches(TOPIC, { message: 'topic must be a Kafka topic name' })
  topic!: string;

  @ApiProperty()
  @Matches(RFC3339, { message: `from ${ZONED}` })
  from!: string;

  @ApiProperty()
  @Matches(RFC3339, { message: `to ${ZONED}` })
  to!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  key?: string;

  @ApiPropertyOptional({ enum: ['oldest', 'newest'] })
  @IsOptional()
  @IsIn(['oldest', 'newest'])
  order?: 'oldest' | 'newest';

  @ApiPropertyOptional({ minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'Records to skip (from the previous page’s next)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  skip?: number;
}

export class OffsetsQuery {
  @ApiPropertyOptional({ description: 'Also the offsets at this time' })
  @IsOptional()
  @Matches(RFC3339, { message: `at ${ZONED}` })
  at?: string;
}

export class TopicParam {
  @ApiProperty()
  @Matches(TOPIC, { message: 'topic must be a Kafka topic name' })
  topic!: string;
}

export class JobIdParam {
  @ApiProperty({ format: 'uuid' })
  @Matches(/^[0-9a-f-]{36}$/i, { message: 'id must be a UUID' })
  id!: string;
}

export class ReconstructRequestDto {
  @ApiProperty({ enum: ['order', 'customer', 'payment', 'invoice'] })
  @IsIn(['order', 'customer', 'payment', 'invoice'], { message: 'aggregateType must be one of order, customer, payment, invoice' })
  aggregateType!: string;

  @ApiProperty({ description: 'The aggregate id (its events’ key and subject)' })
  @IsString()
  @MaxLength(256)
  id!: string;

  @ApiProperty({ example: '2026-11-25T14:03:00Z', description: 'The state as of this moment (event time)' })
  @Matches(RFC3339, { message: `at ${ZONED}` })
  at!: string;

  @ApiPropertyOptional({ description: 'Read events from this moment on (default: the oldest retained)' })
  @IsOptional()
  @Matches(RFC3339, { message: `since ${ZONED}` })
  since?: string;
}

export class SnapshotRequestDto {
  @ApiProperty()
  @Matches(TOPIC, { message: 'consumerGroup must be 1–249 letters, digits, . _ -' })
  consumerGroup!: string;

  @ApiPropertyOptional({ type: [String], description: 'Only these topics (default: every topic the group has offsets for)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(TOPIC, { each: true, message: 'topics must be Kafka topic names' })
  topics?: string[];
}

export class RestoreRequestDto {
  @ApiProperty({ format: 'uuid' })
  @Matches(/^[0-9a-f-]{36}$/i, { message: 'snapshotId must be a UUID' })
  snapshotId!: string;
}

export class DebugSessionRequestDto {
  @ApiProperty({ example: 'orders.events.v1' })
  @Matches(TOPIC, { message: 'topic must be a Kafka topic name' })
  topic!: string;

  @ApiProperty({ example: '2026-11-25T14:03:00Z', description: 'Start at the first record stamped at or after this moment' })
  @Matches(RFC3339, { message: `at ${ZONED}` })
  at!: string;

  @ApiPropertyOptional({ minimum: 1, description: 'Lifetime in seconds (default and maximum set by the service)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  ttlSeconds?: number;
}

export class DebugStepQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  count?: number;
}
