export {
  OrdersDomainModule,
  ORDERS_SCHEMA,
  ordersEntities,
  ordersOutboxRoutes,
  type OrdersDomainOptions,
} from './lib/orders-domain.module';
export { ordersMigrations } from './lib/migrations';
export { OrdersError, OrdersErrorCode } from './lib/errors';
export { nextStatus, allowedActions, type OrderAction, type OrderStatus } from './lib/orders/order-state';
export type { CustomerView } from './lib/customers/customers.dto';
export type { OrderView } from './lib/orders/orders.dto';
export type { ProductView } from './lib/products/products.dto';
