import { IdempotencyStore, requestFingerprint, type Page } from '@keelson/database';
import { etagOf, IdempotencyKey, sendOutcome } from '@keelson/runtime';
import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { IdParam } from '../customers/customers.dto';
import { CreateProductDto, ListProductsQuery, type ProductView } from './products.dto';
import { ProductsService } from './products.service';

const BASE = '/api/v1/products';

@ApiTags('products')
@Controller('api/v1/products')
export class ProductsController {
  constructor(
    private readonly products: ProductsService,
    private readonly idempotency: IdempotencyStore,
  ) {}

  @Post()
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async create(
    @Body() body: CreateProductDto,
    @IdempotencyKey() key: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const outcome = await this.idempotency.execute(key, requestFingerprint('POST', BASE, body), async (manager) => {
      const product = await this.products.create(manager, body);
      return { status: 201, body: product, headers: { location: `${BASE}/${product.id}`, etag: etagOf(product.version) } };
    });
    return sendOutcome(reply, outcome);
  }

  @Get()
  list(@Query() query: ListProductsQuery): Promise<Page<ProductView>> {
    return this.products.list(query);
  }

  @Get(':id')
  get(@Param() { id }: IdParam): Promise<ProductView> {
    return this.products.get(id);
  }
}
