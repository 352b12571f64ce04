import { z } from 'zod';
import { defineTopic } from '../../lib/contract';
import { money } from '../money';

export const paymentsTopic = defineTopic('payments.events.v1', {
  'payments.payment.captured.v1': z.object({ paymentId: z.uuid(), orderId: z.uuid(), amount: money }),
  'payments.payment.refunded.v1': z.object({ paymentId: z.uuid(), orderId: z.uuid(), amount: money }),
});
