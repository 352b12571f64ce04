import { Column, CreateDateColumn, Entity, PrimaryColumn, Unique, VersionColumn } from 'typeorm';
import { bigintMoney } from '../money';

@Entity({ name: 'products' })
@Unique('UQ_products_sku', ['sku'])
export class Product {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_products' })
  id!: string;

  @Column('text')
  sku!: string;

  @Column('text')
  name!: string;

  @Column({ name: 'price_minor', type: 'bigint', transformer: bigintMoney })
  priceMinor!: number;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @VersionColumn()
  version!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;
}
