import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { bigintMoney } from '../money';
import { Order } from '../orders/order.entity';

export type PaymentKind = 'capture' | 'refund';

@Entity({ name: 'payments' })
@Index('IDX_payments_order', ['orderId', 'createdAt'])
export class Payment {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_payments' })
  id!: string;

  @Column({ name: 'order_id', type: 'uuid' })
  orderId!: string;

  @ManyToOne(() => Order, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'order_id', foreignKeyConstraintName: 'FK_payments_order' })
  order?: Order;

  @Column('text')
  kind!: PaymentKind;

  @Column({ name: 'amount_minor', type: 'bigint', transformer: bigintMoney })
  amountMinor!: number;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;
}
