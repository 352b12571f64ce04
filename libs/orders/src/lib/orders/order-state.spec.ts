import { allowedActions, nextStatus, type OrderAction, type OrderStatus } from './order-state';

describe('order state machine', () => {
  it.each<[OrderStatus, OrderAction, OrderStatus]>([
    ['pending', 'confirm', 'confirmed'],
    ['confirmed', 'pay', 'paid'],
    ['paid', 'fulfil', 'fulfilled'],
    ['pending', 'cancel', 'cancelled'],
    ['confirmed', 'cancel', 'cancelled'],
  ])('%s --%s--> %s', (from, action, to) => {
    expect(nextStatus(from, action)).toBe(to);
  });

  it.each<[OrderStatus, OrderAction]>([
    ['pending', 'pay'],
    ['pending', 'fulfil'],
    ['confirmed', 'confirm'],
    ['paid', 'cancel'],
    ['fulfilled', 'cancel'],
    ['cancelled', 'confirm'],
  ])('refuses %s --%s-->', (from, action) => {
    expect(nextStatus(from, action)).toBeUndefined();
  });

  it('has no way out of fulfilled or cancelled', () => {
    expect(allowedActions('fulfilled')).toEqual([]);
    expect(allowedActions('cancelled')).toEqual([]);
    expect(allowedActions('pending')).toEqual(['confirm', 'cancel']);
  });
});
