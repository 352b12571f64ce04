import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

/**
 * An opaque refresh token, stored as a SHA-256 of its 256 random bits. Tokens descending from
 * one login share a `family`; reusing a consumed one (after the grace period) revokes it all.
 */
@Entity({ name: 'refresh_tokens' })
@Unique('UQ_refresh_tokens_hash', ['tokenHash'])
@Index('IDX_refresh_tokens_family', ['family'])
export class RefreshToken {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_refresh_tokens' })
  id!: string;

  @Column('uuid')
  family!: string;

  @Column({ name: 'token_hash', type: 'text' })
  tokenHash!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @Column('text')
  scope!: string;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', precision: 3 })
  expiresAt!: Date;

  @Column({ name: 'consumed_at', type: 'timestamptz', precision: 3, nullable: true })
  consumedAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', precision: 3, nullable: true })
  revokedAt!: Date | null;
}
