import { IdempotencyStore, requestFingerprint, type Page } from '@keelson/database';
import { IdempotencyKey, sendOutcome } from '@keelson/runtime';
import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { IdParam } from '../customers/customers.dto';
import { OrdersService } from '../orders/orders.service';
import { CreatePaymentDto, ListPaymentsQuery, type PaymentView } from './payments.dto';
import { PaymentsService } from './payments.service';

const BASE = '/api/v1/payments';

@ApiTags('payments')
@Controller('api/v1/payments')
export class PaymentsController {
  constructor(
    private readonly payments: PaymentsService,
    private readonly orders: OrdersService,
    private readonly idempotency: IdempotencyStore,
  ) {}

  /** Capture or refund; a capture that settles the order marks it paid and issues its invoice. */
  @Post()
  @ApiOperation({ summary: 'Record a capture or refund against an order' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Strongly recommended: a retried capture must not charge twice' })
  async create(
    @Body() body: CreatePaymentDto,
    @IdempotencyKey() key: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const outcome = await this.idempotency.execute(key, requestFingerprint('POST', BASE, body), async (manager) => {
      const payment = await this.payments.record(manager, body);
      return { status: 201, body: payment, headers: { location: `${BASE}/${payment.id}` } };
    });
    await this.orders.invalidate(body.orderId);
    return sendOutcome(reply, outcome);
  }

  @Get()
  @ApiOperation({ summary: "List an order's payments" })
  list(@Query() query: ListPaymentsQuery): Promise<Page<Omit<PaymentView, 'balance'>>> {
    return this.payments.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a payment' })
  get(@Param() { id }: IdParam): Promise<Omit<PaymentView, 'balance'>> {
    return this.payments.get(id);
  }
}
