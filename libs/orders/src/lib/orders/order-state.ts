export type OrderStatus = 'pending' | 'confirmed' | 'paid' | 'fulfilled' | 'cancelled';
export type OrderAction = 'confirm' | 'pay' | 'fulfil' | 'cancel';

/** pending → confirmed → paid → fulfilled; cancel from pending or confirmed. */
const TRANSITIONS: Readonly<Record<OrderAction, { from: readonly OrderStatus[]; to: OrderStatus }>> = {
  confirm: { from: ['pending'], to: 'confirmed' },
  pay: { from: ['confirmed'], to: 'paid' },
  fulfil: { from: ['paid'], to: 'fulfilled' },
  cancel: { from: ['pending', 'confirmed'], to: 'cancelled' },
};

/** The status an action leads to, or undefined when the action is not allowed from `status`. */
export function nextStatus(status: OrderStatus, action: OrderAction): OrderStatus | undefined {
  const transition = TRANSITIONS[action];
  return transition.from.includes(status) ? transition.to : undefined;
}

export function allowedActions(status: OrderStatus): OrderAction[] {
  return (Object.keys(TRANSITIONS) as OrderAction[]).filter((action) => nextStatus(status, action) !== undefined);
}
