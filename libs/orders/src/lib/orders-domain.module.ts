import { IdempotencyStore } from '@keelson/database';
import { customersTopic, invoicesTopic, ordersTopic, paymentsTopic } from '@keelson/messaging';
import type { OutboxRoutes } from '@keelson/outbox';
import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Customer } from './customers/customer.entity';
import { CustomersController } from './customers/customers.controller';
import { CustomersService } from './customers/customers.service';
import { Order, OrderLine } from './orders/order.entity';
import { OrdersController } from './orders/orders.controller';
import { OrderPlacement } from './orders/order-placement';
import { OrdersService } from './orders/orders.service';
import { Product } from './products/product.entity';
import { ProductsController } from './products/products.controller';
import { ProductsService } from './products/products.service';
import { readCacheProviders } from './read-caches';
import { Invoice, InvoiceCounter } from './invoices/invoice.entity';
import { InvoicesController } from './invoices/invoices.controller';
import { InvoicesService } from './invoices/invoices.service';
import { Payment } from './payments/payment.entity';
import { PaymentsController } from './payments/payments.controller';
import { PaymentsService } from './payments/payments.service';

/** The PostgreSQL schema the orders service owns. */
export const ORDERS_SCHEMA = 'orders';

export const ordersEntities = [Customer, Product, Order, OrderLine, Payment, Invoice, InvoiceCounter];

/** Which topic each aggregate's events go to. */
export const ordersOutboxRoutes: OutboxRoutes = {
  customer: customersTopic,
  order: ordersTopic,
  payment: paymentsTopic,
  invoice: invoicesTopic,
};

export interface OrdersDomainOptions {
  cacheTtlSeconds: number;
  /** Share of cached reads counted for the hot-key ranking (0 = off). */
  cacheHotKeySampleRate: number;
  /** An in-process copy in front of Redis for both read caches; none when undefined. */
  cacheL1?: { maxEntries: number; ttlMs: number };
}

/** Customers, products, orders, payments and invoices: REST under /api/v1, writes through the outbox. */
@Module({})
export class OrdersDomainModule {
  static forRoot(options: OrdersDomainOptions): DynamicModule {
    return {
      module: OrdersDomainModule,
      controllers: [CustomersController, ProductsController, OrdersController, PaymentsController, InvoicesController],
      providers: [
        CustomersService,
        ProductsService,
        OrdersService,
        OrderPlacement,
        PaymentsService,
        InvoicesService,
        ...readCacheProviders(options),
        {
          provide: IdempotencyStore,
          useFactory: (dataSource: DataSource) => new IdempotencyStore(dataSource, ORDERS_SCHEMA),
          inject: [DataSource],
        },
      ],
    };
  }
}
