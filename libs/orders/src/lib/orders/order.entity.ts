import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  OneToMany,
  PrimaryColumn,
  UpdateDateColumn,
  VersionColumn,
} from 'typeorm';
import { Customer } from '../customers/customer.entity';
import { bigintMoney } from '../money';
import { Product } from '../products/product.entity';
import type { OrderStatus } from './order-state';

@Entity({ name: 'orders' })
@Index('IDX_orders_customer_created', ['customerId', 'createdAt', 'id'])
@Index('IDX_orders_status_created', ['status', 'createdAt', 'id'])
export class Order {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_orders' })
  id!: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId!: string;

  @ManyToOne(() => Customer, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'FK_orders_customer' })
  customer?: Customer;

  @Column('text')
  status!: OrderStatus;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ name: 'total_minor', type: 'bigint', transformer: bigintMoney })
  totalMinor!: number;

  @OneToMany(() => OrderLine, (line) => line.order, { cascade: ['insert'] })
  lines!: OrderLine[];

  @VersionColumn()
  version!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt!: Date;
}

@Entity({ name: 'order_lines' })
@Index('IDX_order_lines_order', ['orderId'])
export class OrderLine {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_order_lines' })
  id!: string;

  @Column({ name: 'order_id', type: 'uuid' })
  orderId!: string;

  @ManyToOne(() => Order, (order) => order.lines, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'order_id', foreignKeyConstraintName: 'FK_order_lines_order' })
  order?: Order;

  @Column({ name: 'product_id', type: 'uuid' })
  productId!: string;

  @ManyToOne(() => Product, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'product_id', foreignKeyConstraintName: 'FK_order_lines_product' })
  product?: Product;

  @Column('integer')
  quantity!: number;

  @Column({ name: 'unit_price_minor', type: 'bigint', transformer: bigintMoney })
  unitPriceMinor!: number;

  @Column({ name: 'position', type: 'integer' })
  position!: number;
}
