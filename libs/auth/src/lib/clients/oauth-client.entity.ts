import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type GrantType = 'client_credentials' | 'password' | 'refresh_token';

/** An OAuth client. Its secret is stored only as an argon2id hash. */
@Entity({ name: 'clients' })
export class OAuthClient {
  @PrimaryColumn('text', { name: 'client_id', primaryKeyConstraintName: 'PK_clients' })
  clientId!: string;

  @Column({ name: 'secret_hash', type: 'text' })
  secretHash!: string;

  @Column('text')
  name!: string;

  /** Scopes this client may ask for. */
  @Column('text', { array: true })
  scopes!: string[];

  @Column({ name: 'grant_types', type: 'text', array: true })
  grantTypes!: GrantType[];

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;
}
