import { Column, CreateDateColumn, Entity, Index, JoinColumn, OneToOne, PrimaryColumn, Unique } from 'typeorm';
import { bigintMoney } from '../money';
import { Order } from '../orders/order.entity';

@Entity({ name: 'invoices' })
@Unique('UQ_invoices_order', ['orderId'])
@Unique('UQ_invoices_number', ['number'])
@Index('IDX_invoices_issued', ['issuedAt', 'id'])
export class Invoice {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'PK_invoices' })
  id!: string;

  @Column({ name: 'order_id', type: 'uuid' })
  orderId!: string;

  @OneToOne(() => Order, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'order_id', foreignKeyConstraintName: 'FK_invoices_order' })
  order?: Order;

  /** `YYYY-NNNNNN`: per-year sequence without gaps. */
  @Column('text')
  number!: string;

  @Column('integer')
  year!: number;

  @Column('integer')
  sequence!: number;

  @Column({ name: 'total_minor', type: 'bigint', transformer: bigintMoney })
  totalMinor!: number;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @CreateDateColumn({ name: 'issued_at', type: 'timestamptz', precision: 3 })
  issuedAt!: Date;
}

/** The last number issued per year; its row lock serialises numbering, its rollback leaves no gap. */
@Entity({ name: 'invoice_counters' })
export class InvoiceCounter {
  @PrimaryColumn('integer', { primaryKeyConstraintName: 'PK_invoice_counters' })
  year!: number;

  @Column('integer')
  last!: number;
}
