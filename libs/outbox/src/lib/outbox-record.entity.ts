import { Column, Entity, Generated, Index, PrimaryColumn, Unique } from 'typeorm';

/**
 * One event waiting to be published (Debezium outbox columns). `payload` is the full
 * CloudEvents envelope; `headers` holds the W3C trace context of the transaction that
 * wrote it. `position` orders events; a partial index keeps the unpublished scan cheap.
 */
@Entity({ name: 'outbox' })
@Unique('UQ_outbox_position', ['position'])
@Index('IDX_outbox_unpublished', ['aggregatetype', 'aggregateid', 'position'], { where: 'published_at IS NULL' })
export class OutboxRecord {
  /** The event id: a retried publish carries the same id, so consumers can dedupe. */
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_outbox' })
  id!: string;

  @Column({ type: 'bigint' })
  @Generated('increment')
  position!: string;

  @Column('text')
  aggregatetype!: string;

  @Column('text')
  aggregateid!: string;

  @Column('text')
  type!: string;

  @Column('jsonb')
  payload!: Record<string, unknown>;

  @Column('jsonb')
  headers!: Record<string, string>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'published_at', type: 'timestamptz', nullable: true })
  publishedAt!: Date | null;
}
