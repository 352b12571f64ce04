import { randomUUID } from 'node:crypto';
import { decodeCursor, toPage, type Page } from '@keelson/database';
import { createEvent } from '@keelson/messaging';
import { OutboxWriter } from '@keelson/outbox';
import { Injectable } from '@nestjs/common';
import { DataSource, IsNull, QueryFailedError, type EntityManager } from 'typeorm';
import { OrdersError, OrdersErrorCode } from '../errors';
import { CustomerCache } from '../read-caches';
import { Customer } from './customer.entity';
import type { CreateCustomerDto, CustomerView, ListCustomersQuery, UpdateCustomerDto } from './customers.dto';

const UNIQUE_VIOLATION = '23505';

export function customerView(c: Customer): CustomerView {
  return {
    id: c.id,
    email: c.email,
    name: c.name,
    status: c.status,
    version: c.version,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

function emailTaken(error: unknown): boolean {
  return error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION;
}

@Injectable()
export class CustomersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly cache: CustomerCache,
  ) {}

  async create(manager: EntityManager, input: CreateCustomerDto): Promise<CustomerView> {
    const customer = manager.create(Customer, { id: randomUUID(), email: input.email, name: input.name, status: 'active' });
    try {
      // A savepoint, so a duplicate e-mail does not abort the surrounding transaction.
      await manager.transaction((inner) => inner.insert(Customer, customer));
    } catch (error) {
      if (emailTaken(error))
        throw new OrdersError(OrdersErrorCode.CustomerEmailTaken, `a customer with e-mail ${input.email} already exists`);
      throw error;
    }
    const saved = await manager.findOneByOrFail(Customer, { id: customer.id });
    await this.outbox.append(manager, [
      createEvent({
        type: 'customers.customer.created.v1',
        source: 'orders',
        subject: saved.id,
        aggregatetype: 'customer',
        aggregateversion: saved.version,
        data: { customerId: saved.id, status: saved.status },
      }),
    ]);
    return customerView(saved);
  }

  async get(id: string): Promise<CustomerView> {
    const view = await this.cache.getOrLoad(id, async () => {
      const found = await this.dataSource.getRepository(Customer).findOneBy({ id, deletedAt: IsNull() });
      return found ? customerView(found) : undefined;
    });
    if (!view) throw new OrdersError(OrdersErrorCode.CustomerNotFound, `customer ${id} does not exist`);
    return view;
  }

  async update(manager: EntityManager, id: string, expectedVersion: number, changes: UpdateCustomerDto): Promise<CustomerView> {
    const customer = await this.lockLive(manager, id);
    if (customer.version !== expectedVersion) {
      throw new OrdersError(
        OrdersErrorCode.VersionMismatch,
        `customer ${id} is at version ${customer.version}, not ${expectedVersion}; read it again`,
      );
    }
    const changed = (Object.keys(changes) as (keyof UpdateCustomerDto)[]).filter(
      (k) => changes[k] !== undefined && changes[k] !== customer[k],
    );
    if (changed.length === 0) return customerView(customer);
    Object.assign(customer, ...changed.map((k) => ({ [k]: changes[k] })));
    try {
      await manager.transaction((inner) => inner.save(Customer, customer));
    } catch (error) {
      if (emailTaken(error))
        throw new OrdersError(OrdersErrorCode.CustomerEmailTaken, `a customer with e-mail ${String(changes.email)} already exists`);
      throw error;
    }
    await this.outbox.append(manager, [
      createEvent({
        type: 'customers.customer.updated.v1',
        source: 'orders',
        subject: customer.id,
        aggregatetype: 'customer',
        aggregateversion: customer.version,
        data: { customerId: customer.id, status: customer.status, changed },
      }),
    ]);
    return customerView(customer);
  }

  async remove(manager: EntityManager, id: string, expectedVersion: number | undefined): Promise<void> {
    const customer = await this.lockLive(manager, id);
    if (expectedVersion !== undefined && customer.version !== expectedVersion) {
      throw new OrdersError(
        OrdersErrorCode.VersionMismatch,
        `customer ${id} is at version ${customer.version}, not ${expectedVersion}; read it again`,
      );
    }
    await manager.softDelete(Customer, { id });
    await this.outbox.append(manager, [
      createEvent({
        type: 'customers.customer.deleted.v1',
        source: 'orders',
        subject: id,
        aggregatetype: 'customer',
        aggregateversion: customer.version + 1,
        data: { customerId: id },
      }),
    ]);
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  async list(query: ListCustomersQuery): Promise<Page<CustomerView>> {
    const limit = query.limit ?? 50;
    const qb = this.dataSource.getRepository(Customer).createQueryBuilder('c').where('c.deleted_at IS NULL');
    if (query.email) qb.andWhere('c.email = :email', { email: query.email });
    if (query.status) qb.andWhere('c.status = :status', { status: query.status });
    if (query.cursor) {
      const [createdAt, id] = decodeCursor(query.cursor, 2);
      qb.andWhere('(c.created_at, c.id) < (:createdAt, :id)', { createdAt, id });
    }
    const rows = await qb
      .orderBy('c.created_at', 'DESC')
      .addOrderBy('c.id', 'DESC')
      .limit(limit + 1)
      .getMany();
    const page = toPage(rows, limit, (c) => [c.createdAt.toISOString(), c.id]);
    return { items: page.items.map(customerView), nextCursor: page.nextCursor };
  }

  /** Called after a write commits. */
  invalidate(id: string): Promise<void> {
    return this.cache.invalidate(id);
  }

  private async lockLive(manager: EntityManager, id: string): Promise<Customer> {
    const customer = await manager.findOne(Customer, { where: { id, deletedAt: IsNull() }, lock: { mode: 'pessimistic_write' } });
    if (!customer) throw new OrdersError(OrdersErrorCode.CustomerNotFound, `customer ${id} does not exist`);
    return customer;
  }
}
