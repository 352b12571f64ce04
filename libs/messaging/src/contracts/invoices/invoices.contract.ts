import { z } from 'zod';
import { defineTopic } from '../../lib/contract';
import { money } from '../money';

export const invoicesTopic = defineTopic('invoices.events.v1', {
  'invoices.invoice.issued.v1': z.object({
    invoiceId: z.uuid(),
    orderId: z.uuid(),
    number: z.string().regex(/^\d{4}-\d{6,}$/, 'expected YYYY-NNNNNN'),
    total: money,
  }),
});
