import type { EventEnvelope } from '../../lib/envelope';
import {
  customerCreated,
  customerDeleted,
  customerUpdated,
  deepFreeze,
  foldError,
  minute,
  newId,
  orderCreated,
} from '../aggregate-events.factory';
import { reduce, type CustomerState } from './customers.reducer';

const sut = reduce;
const fold = (events: EventEnvelope[], from?: CustomerState): CustomerState | undefined =>
  events.reduce<CustomerState | undefined>((state, event) => sut(state, event), from);

describe('customer reducer', () => {
  it('follows created, updated and deleted', () => {
    const customerId = newId();
    const created = customerCreated(customerId);
    const suspended = customerUpdated(customerId, 2, { status: 'suspended', changed: ['status'] });
    const deleted = customerDeleted(customerId, 3);

    const afterCreate = sut(undefined, created);
    const afterUpdate = sut(afterCreate, suspended);
    const afterDelete = sut(afterUpdate, deleted);

    expect(afterCreate).toEqual({
      id: customerId,
      status: 'active',
      lastChanged: [],
      deleted: false,
      deletedAt: null,
      createdAt: minute(1).toISOString(),
      version: 1,
      lastEventId: created.id,
      updatedAt: minute(1).toISOString(),
    });
    expect(afterUpdate).toMatchObject({ status: 'suspended', lastChanged: ['status'], version: 2, lastEventId: suspended.id });
    expect(afterDelete).toMatchObject({
      status: 'suspended',
      deleted: true,
      deletedAt: minute(3).toISOString(),
      createdAt: minute(1).toISOString(),
      version: 3,
      lastEventId: deleted.id,
      updatedAt: minute(3).toISOString(),
    });
  });

  it('never mutates the state or the event it is given', () => {
    const customerId = newId();
    const created = deepFreeze(sut(undefined, customerCreated(customerId)));

    const updated = sut(created, deepFreeze(customerUpdated(customerId, 2, { status: 'suspended', changed: ['email', 'status'] })));

    expect(created).toMatchObject({ status: 'active', lastChanged: [] });
    expect(updated).toMatchObject({ status: 'suspended', lastChanged: ['email', 'status'] });
  });

  it('ignores a redelivered event and another event claiming the version already applied', () => {
    const customerId = newId();
    const updated = customerUpdated(customerId, 2, { changed: ['name'] });
    const state = fold([customerCreated(customerId), updated]);

    expect(sut(state, updated)).toBe(state);
    expect(sut(state, customerUpdated(customerId, 2, { status: 'suspended' }))).toBe(state);
  });

  it('rejects a version going backwards', () => {
    const customerId = newId();
    const state = fold([customerCreated(customerId), customerUpdated(customerId, 3)]);

    expect(foldError(() => sut(state, customerUpdated(customerId, 2))).code).toBe('version-regression');
  });

  it("rejects another customer's event and an order's event", () => {
    const state = fold([customerCreated(newId())]);

    expect(foldError(() => sut(state, customerUpdated(newId(), 2))).code).toBe('wrong-aggregate');
    expect(foldError(() => sut(state, orderCreated(newId(), { version: 2 }))).code).toBe('wrong-aggregate');
  });

  it('rejects a change before creation, a second creation and a change after deletion', () => {
    const customerId = newId();
    const deleted = fold([customerCreated(customerId), customerDeleted(customerId, 2)]);

    expect(foldError(() => sut(undefined, customerUpdated(customerId, 2))).code).toBe('illegal-sequence');
    expect(foldError(() => sut(deleted, customerCreated(customerId, { version: 3 }))).code).toBe('illegal-sequence');
    const afterDeletion = foldError(() => sut(deleted, customerUpdated(customerId, 3)));
    expect(afterDeletion.code).toBe('illegal-sequence');
    expect(afterDeletion.message).toContain('follows the deletion');
  });
});
