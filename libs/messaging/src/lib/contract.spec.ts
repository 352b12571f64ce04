import { customersTopic, ordersTopic, platformRegistry } from '../contracts';
import { ContractViolation } from './contract';
import { createEvent } from './envelope';

const sut = platformRegistry();
const customerId = '9b2d6f0e-3c1a-4b5e-8f7d-2a1c3e4b5d6f';
const customerCreated = () =>
  createEvent({
    type: 'customers.customer.created.v1',
    source: 'orders',
    subject: customerId,
    aggregatetype: 'customer',
    aggregateversion: 1,
    data: { customerId, status: 'active' },
  });

function violation(fn: () => unknown): ContractViolation {
  try {
    fn();
  } catch (error) {
    if (error instanceof ContractViolation) return error;
    throw error;
  }
  throw new Error('expected a ContractViolation');
}

describe('ContractRegistry', () => {
  it('accepts an event that satisfies its topic contract', () => {
    const event = customerCreated();
    expect(sut.validate(customersTopic.topic, event)).toEqual(event);
  });

  it('builds a CloudEvents envelope with a correlation id defaulting to its own id', () => {
    const event = customerCreated();
    expect(event.specversion).toBe('1.0');
    expect(event.correlationid).toBe(event.id);
    expect(Date.parse(event.time)).not.toBeNaN();
  });

  it('rejects an event type the topic does not carry', () => {
    const error = violation(() => sut.validate(ordersTopic.topic, customerCreated()));
    expect(error.code).toBe('unknown-type');
    expect(error.reason).toContain('customers.customer.created.v1');
  });

  it('rejects data that breaks the event schema, naming the field', () => {
    const event = { ...customerCreated(), data: { customerId: 'not-a-uuid', status: 'active' } };
    const error = violation(() => sut.validate(customersTopic.topic, event));
    expect(error.code).toBe('invalid-data');
    expect(error.reason).toContain('customerId');
  });

  it('rejects an envelope without its required attributes', () => {
    const withoutId: Partial<ReturnType<typeof customerCreated>> = customerCreated();
    delete withoutId.id;
    const error = violation(() => sut.validate(customersTopic.topic, withoutId));
    expect(error.code).toBe('invalid-envelope');
    expect(error.reason).toContain('id');
  });

  it('rejects bytes that are not JSON, and tombstones', () => {
    expect(violation(() => sut.decode(customersTopic.topic, Buffer.from('{oops'))).code).toBe('invalid-json');
    expect(violation(() => sut.decode(customersTopic.topic, null)).code).toBe('invalid-json');
  });

  it('refuses topics it has no contract for', () => {
    expect(violation(() => sut.validate('unknown.events.v1', customerCreated())).code).toBe('unknown-topic');
  });

  it('names the dead-letter topic after the topic', () => {
    expect(ordersTopic.deadLetterTopic).toBe('orders.events.v1.dlq');
  });
});
