import { IdempotencyStore, requestFingerprint, type Page } from '@keelson/database';
import { etagOf, expectedVersion, IdempotencyKey, IfMatch, sendOutcome } from '@keelson/runtime';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { CreateCustomerDto, IdParam, ListCustomersQuery, UpdateCustomerDto, type CustomerView } from './customers.dto';
import { CustomersService } from './customers.service';

const BASE = '/api/v1/customers';

@ApiTags('customers')
@Controller('api/v1/customers')
export class CustomersController {
  constructor(
    private readonly customers: CustomersService,
    private readonly idempotency: IdempotencyStore,
    private readonly dataSource: DataSource,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a customer' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async create(
    @Body() body: CreateCustomerDto,
    @IdempotencyKey() key: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const outcome = await this.idempotency.execute(key, requestFingerprint('POST', BASE, body), async (manager) => {
      const customer = await this.customers.create(manager, body);
      return { status: 201, body: customer, headers: { location: `${BASE}/${customer.id}`, etag: etagOf(customer.version) } };
    });
    return sendOutcome(reply, outcome);
  }

  @Get()
  @ApiOperation({ summary: 'List customers, filtered by e-mail or status' })
  list(@Query() query: ListCustomersQuery): Promise<Page<CustomerView>> {
    return this.customers.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a customer and its ETag' })
  async get(@Param() { id }: IdParam, @Res({ passthrough: true }) reply: FastifyReply): Promise<CustomerView> {
    const customer = await this.customers.get(id);
    void reply.header('etag', etagOf(customer.version));
    return customer;
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Update a customer at the version you last read' })
  @ApiHeader({ name: 'If-Match', required: true, description: 'ETag from your last read' })
  async update(
    @Param() { id }: IdParam,
    @Body() body: UpdateCustomerDto,
    @IfMatch() ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CustomerView> {
    const version = expectedVersion(ifMatch);
    const view = await this.dataSource.transaction((manager) => this.customers.update(manager, id, version, body));
    await this.customers.invalidate(id);
    void reply.header('etag', etagOf(view.version));
    return view;
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a customer (soft delete)' })
  @HttpCode(204)
  async remove(@Param() { id }: IdParam, @IfMatch() ifMatch: string | undefined): Promise<void> {
    const version = ifMatch === undefined ? undefined : expectedVersion(ifMatch);
    await this.dataSource.transaction((manager) => this.customers.remove(manager, id, version));
    await this.customers.invalidate(id);
  }
}
