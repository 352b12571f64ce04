import type { JWK } from 'jose';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * An ES256 signing key. Its life is given by times, not a status column, so a key starts
 * and stops signing exactly when planned even if the rotation job is late:
 * pending (now < activates_at) → active → retired (retires_at ≤ now < expires_at) → deleted.
 * Pending and retired keys are published in the JWKS; only the active one signs.
 */
@Entity({ name: 'signing_keys' })
@Index('IDX_signing_keys_activates', ['activatesAt'])
export class SigningKey {
  /** RFC 7638 JWK thumbprint of the public key. */
  @PrimaryColumn('text', { primaryKeyConstraintName: 'PK_signing_keys' })
  kid!: string;

  @Column('text')
  alg!: string;

  @Column({ name: 'public_jwk', type: 'jsonb' })
  publicJwk!: JWK;

  /** Never leaves the auth service; stored unencrypted in its own schema for now (see ADR 0006). */
  @Column({ name: 'private_jwk', type: 'jsonb' })
  privateJwk!: JWK;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'activates_at', type: 'timestamptz', precision: 3 })
  activatesAt!: Date;

  @Column({ name: 'retires_at', type: 'timestamptz', precision: 3, nullable: true })
  retiresAt!: Date | null;

  @Column({ name: 'expires_at', type: 'timestamptz', precision: 3, nullable: true })
  expiresAt!: Date | null;
}
