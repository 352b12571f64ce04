import { Column, CreateDateColumn, Entity, PrimaryColumn, Unique } from 'typeorm';

/** A person who signs in with the password grant. The password is stored only as an argon2id hash. */
@Entity({ name: 'users' })
@Unique('UQ_users_username', ['username'])
export class User {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_users' })
  id!: string;

  /** Lower-cased. */
  @Column('text')
  username!: string;

  @Column({ name: 'password_hash', type: 'text' })
  passwordHash!: string;

  /** Scopes this user may be granted (intersected with the client's). */
  @Column('text', { array: true })
  scopes!: string[];

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;
}
