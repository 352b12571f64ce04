import { IdempotencyStore, requestFingerprint, type Page } from '@keelson/database';
import { etagOf, expectedVersion, IdempotencyKey, IfMatch, sendOutcome } from '@keelson/runtime';
import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { IdParam } from '../customers/customers.dto';
import { DataSource } from 'typeorm';
import { CreateProductDto, ListProductsQuery, UpdateProductDto, type ProductView } from './products.dto';
import { ProductsService } from './products.service';

const BASE = '/api/v1/products';

@ApiTags('products')
@Controller('api/v1/products')
export class ProductsController {
  constructor(
    private readonly products: ProductsService,
    private readonly idempotency: IdempotencyStore,
    private readonly dataSource: DataSource,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Add a product to the catalogue' })
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
  @ApiOperation({ summary: 'List catalogue products' })
  list(@Query() query: ListProductsQuery): Promise<Page<ProductView>> {
    return this.products.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a product and its ETag' })
  async get(@Param() { id }: IdParam, @Res({ passthrough: true }) reply: FastifyReply): Promise<ProductView> {
    const product = await this.products.get(id);
    void reply.header('etag', etagOf(product.version));
    return product;
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename, reprice or take a product off sale' })
  @ApiHeader({ name: 'If-Match', required: true, description: 'ETag from your last read' })
  async update(
    @Param() { id }: IdParam,
    @Body() body: UpdateProductDto,
    @IfMatch() ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProductView> {
    const version = expectedVersion(ifMatch);
    const product = await this.dataSource.transaction((manager) => this.products.update(manager, id, version, body));
    void reply.header('etag', etagOf(product.version));
    return product;
  }
}
