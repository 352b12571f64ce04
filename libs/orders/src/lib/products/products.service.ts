import { randomUUID } from 'node:crypto';
import { decodeCursor, toPage, type Page } from '@keelson/database';
import { Injectable } from '@nestjs/common';
import { DataSource, QueryFailedError, type EntityManager } from 'typeorm';
import { OrdersError, OrdersErrorCode } from '../errors';
import { Product } from './product.entity';
import type { CreateProductDto, ListProductsQuery, ProductView, UpdateProductDto } from './products.dto';

export const productView = (p: Product): ProductView => ({
  id: p.id,
  sku: p.sku,
  name: p.name,
  priceMinor: p.priceMinor,
  currency: p.currency,
  active: p.active,
  version: p.version,
});

@Injectable()
export class ProductsService {
  constructor(private readonly dataSource: DataSource) {}

  async create(manager: EntityManager, input: CreateProductDto): Promise<ProductView> {
    const product = manager.create(Product, {
      id: randomUUID(),
      sku: input.sku,
      name: input.name,
      priceMinor: input.priceMinor,
      currency: input.currency,
      active: true,
    });
    try {
      await manager.transaction((inner) => inner.insert(Product, product));
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505') {
        throw new OrdersError(OrdersErrorCode.ProductSkuTaken, `a product with sku ${input.sku} already exists`);
      }
      throw error;
    }
    return productView(await manager.findOneByOrFail(Product, { id: product.id }));
  }

  async update(manager: EntityManager, id: string, expectedVersion: number, changes: UpdateProductDto): Promise<ProductView> {
    const product = await manager.findOne(Product, { where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!product) throw new OrdersError(OrdersErrorCode.ProductNotFound, `product ${id} does not exist`);
    if (product.version !== expectedVersion) {
      throw new OrdersError(
        OrdersErrorCode.VersionMismatch,
        `product ${id} is at version ${product.version}, not ${expectedVersion}; read it again`,
      );
    }
    if (changes.name !== undefined) product.name = changes.name;
    if (changes.priceMinor !== undefined) product.priceMinor = changes.priceMinor;
    if (changes.active !== undefined) product.active = changes.active;
    return productView(await manager.save(Product, product));
  }

  async get(id: string): Promise<ProductView> {
    const product = await this.dataSource.getRepository(Product).findOneBy({ id });
    if (!product) throw new OrdersError(OrdersErrorCode.ProductNotFound, `product ${id} does not exist`);
    return productView(product);
  }

  /** Catalogue order: by sku. */
  async list(query: ListProductsQuery): Promise<Page<ProductView>> {
    const limit = query.limit ?? 50;
    const qb = this.dataSource.getRepository(Product).createQueryBuilder('p');
    if (query.cursor) {
      const [sku] = decodeCursor(query.cursor, 1);
      qb.where('p.sku > :sku', { sku });
    }
    const rows = await qb
      .orderBy('p.sku', 'ASC')
      .limit(limit + 1)
      .getMany();
    const page = toPage(rows, limit, (p) => [p.sku]);
    return { items: page.items.map(productView), nextCursor: page.nextCursor };
  }
}
