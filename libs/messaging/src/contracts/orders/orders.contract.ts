import { z } from 'zod';
import { defineTopic } from '../../lib/contract';
import { money } from '../money';

export const orderStatus = z.enum(['pending', 'confirmed', 'paid', 'fulfilled', 'cancelled']);

const orderLine = z.object({
  productId: z.uuid(),
  quantity: z.number().int().positive(),
  unitPrice: money,
});

export const ordersTopic = defineTopic('orders.events.v1', {
  'orders.order.created.v1': z.object({
    orderId: z.uuid(),
    customerId: z.uuid(),
    status: z.literal('pending'),
    lines: z.array(orderLine).min(1),
    total: money,
  }),
  'orders.order.status-changed.v1': z.object({
    orderId: z.uuid(),
    customerId: z.uuid(),
    from: orderStatus,
    to: orderStatus,
  }),
});
