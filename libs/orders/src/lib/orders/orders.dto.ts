import { PageQuery } from '../page-query';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsIn, IsInt, IsOptional, IsUUID, Max, Min, ValidateNested } from 'class-validator';
import { IsCurrency } from '../money';
import type { OrderAction, OrderStatus } from './order-state';

export class OrderLineInput {
  @ApiProperty()
  @IsUUID('all', { message: 'productId must be a UUID' })
  productId!: string;

  @ApiProperty({ minimum: 1, maximum: 10000 })
  @IsInt({ message: 'quantity must be a whole number' })
  @Min(1)
  @Max(10_000)
  quantity!: number;
}

export class CreateOrderDto {
  @ApiProperty()
  @IsUUID('all', { message: 'customerId must be a UUID' })
  customerId!: string;

  @ApiProperty({ example: 'EUR', description: 'Every product on the order must be priced in this currency' })
  @IsCurrency()
  currency!: string;

  @ApiProperty({ type: [OrderLineInput] })
  @ValidateNested({ each: true })
  @Type(() => OrderLineInput)
  @ArrayMinSize(1, { message: 'an order needs at least one line' })
  @ArrayMaxSize(100)
  lines!: OrderLineInput[];
}

export class ListOrdersQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID('all', { message: 'customerId must be a UUID' })
  customerId?: string;

  @ApiPropertyOptional({ enum: ['pending', 'confirmed', 'paid', 'fulfilled', 'cancelled'] })
  @IsOptional()
  @IsIn(['pending', 'confirmed', 'paid', 'fulfilled', 'cancelled'])
  status?: OrderStatus;
}

export class TransitionParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a UUID' })
  id!: string;

  @ApiProperty({ enum: ['confirm', 'fulfil', 'cancel'] })
  @IsIn(['confirm', 'fulfil', 'cancel'], { message: 'action must be one of confirm, fulfil, cancel (payment marks an order paid)' })
  action!: Exclude<OrderAction, 'pay'>;
}

export interface OrderView {
  id: string;
  customerId: string;
  status: OrderStatus;
  currency: string;
  totalMinor: number;
  lines: { productId: string; quantity: number; unitPriceMinor: number }[];
  allowedActions: OrderAction[];
  version: number;
  createdAt: string;
  updatedAt: string;
}
