import { PageQuery } from '../page-query';
import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsUUID, Max, Min } from 'class-validator';
import { IsCurrency, MAX_AMOUNT_MINOR } from '../money';
import type { PaymentKind } from './payment.entity';

export class CreatePaymentDto {
  @ApiProperty()
  @IsUUID('all', { message: 'orderId must be a UUID' })
  orderId!: string;

  @ApiProperty({ enum: ['capture', 'refund'] })
  @IsIn(['capture', 'refund'], { message: 'kind must be capture or refund' })
  kind!: PaymentKind;

  @ApiProperty({ description: 'Amount in minor units (cents)', example: 2599 })
  @IsInt({ message: 'amountMinor must be an integer number of minor units (e.g. cents)' })
  @Min(1, { message: 'amountMinor must be at least 1' })
  @Max(MAX_AMOUNT_MINOR)
  amountMinor!: number;

  @ApiProperty({ example: 'EUR' })
  @IsCurrency()
  currency!: string;
}

export class ListPaymentsQuery extends PageQuery {
  @ApiProperty()
  @IsUUID('all', { message: 'orderId must be a UUID' })
  orderId!: string;
}

export interface PaymentView {
  id: string;
  orderId: string;
  kind: PaymentKind;
  amountMinor: number;
  currency: string;
  createdAt: string;
  /** What the order still owes after this payment, and what can still be refunded. */
  balance: { owedMinor: number; refundableMinor: number };
  /** Set when this capture settled the order: the invoice it issued. */
  invoiceId?: string;
}
