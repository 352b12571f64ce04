import { Column, CreateDateColumn, DeleteDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn, VersionColumn } from 'typeorm';

export type CustomerStatus = 'active' | 'suspended';

@Entity({ name: 'customers' })
@Index('UQ_customers_email_live', ['email'], { unique: true, where: 'deleted_at IS NULL' })
@Index('IDX_customers_created', ['createdAt', 'id'])
export class Customer {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_customers' })
  id!: string;

  /** Stored lower-cased; unique among customers that are not deleted. */
  @Column('text')
  email!: string;

  @Column('text')
  name!: string;

  @Column('text')
  status!: CustomerStatus;

  @VersionColumn()
  version!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt!: Date;

  @DeleteDateColumn({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;
}
