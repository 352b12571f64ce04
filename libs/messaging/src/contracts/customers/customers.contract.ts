import { z } from 'zod';
import { defineTopic } from '../../lib/contract';

const customerStatus = z.enum(['active', 'suspended']);

export const customersTopic = defineTopic('customers.events.v1', {
  'customers.customer.created.v1': z.object({ customerId: z.uuid(), status: customerStatus }),
  'customers.customer.updated.v1': z.object({ customerId: z.uuid(), status: customerStatus, changed: z.array(z.string()) }),
  'customers.customer.deleted.v1': z.object({ customerId: z.uuid() }),
});
