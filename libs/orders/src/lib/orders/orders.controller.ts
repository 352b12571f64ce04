import { IdempotencyStore, requestFingerprint, type Page } from '@keelson/database';
import { etagOf, expectedVersion, IdempotencyKey, IfMatch, sendOutcome } from '@keelson/runtime';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { IdParam } from '../customers/customers.dto';
import { CreateOrderDto, ListOrdersQuery, TransitionParams, type OrderView } from './orders.dto';
import { OrderPlacement } from './order-placement';
import { OrdersService } from './orders.service';

const BASE = '/api/v1/orders';

@ApiTags('orders')
@Controller('api/v1/orders')
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly placement: OrderPlacement,
    private readonly idempotency: IdempotencyStore,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an order from catalogue prices' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async create(@Body() body: CreateOrderDto, @IdempotencyKey() key: string | undefined, @Res() reply: FastifyReply): Promise<FastifyReply> {
    const created = (order: OrderView) => ({
      status: 201,
      body: order,
      headers: { location: `${BASE}/${order.id}`, etag: etagOf(order.version) },
    });
    if (key === undefined) return sendOutcome(reply, { ...created(await this.placement.place(body)), replayed: false });
    const outcome = await this.idempotency.execute(key, requestFingerprint('POST', BASE, body), async (manager) =>
      created(await this.placement.placeIn(manager, body)),
    );
    return sendOutcome(reply, outcome);
  }

  @Get()
  @ApiOperation({ summary: 'List orders, filtered by customer or status' })
  list(@Query() query: ListOrdersQuery): Promise<Page<OrderView>> {
    return this.orders.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get an order, its allowed actions and its ETag' })
  async get(@Param() { id }: IdParam, @Res({ passthrough: true }) reply: FastifyReply): Promise<OrderView> {
    const order = await this.orders.get(id);
    void reply.header('etag', etagOf(order.version));
    return order;
  }

  /** confirm, fulfil or cancel; `If-Match` is optional here (the state machine already refuses stale moves). */
  @Post(':id/:action')
  @ApiOperation({ summary: 'Confirm, fulfil or cancel an order' })
  @HttpCode(200)
  @ApiOkResponse({ description: 'The order after the transition' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiHeader({ name: 'If-Match', required: false })
  async transition(
    @Param() { id, action }: TransitionParams,
    @IdempotencyKey() key: string | undefined,
    @IfMatch() ifMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const version = ifMatch === undefined ? undefined : expectedVersion(ifMatch);
    const outcome = await this.idempotency.execute(
      key,
      requestFingerprint('POST', `${BASE}/${id}/${action}`, { ifMatch: ifMatch ?? null }),
      async (manager) => {
        const order = await this.orders.transition(manager, id, action, version);
        return { status: 200, body: order, headers: { etag: etagOf(order.version) } };
      },
    );
    await this.orders.invalidate(id);
    return sendOutcome(reply, outcome);
  }
}
