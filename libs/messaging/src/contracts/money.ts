import { z } from 'zod';

/** Money as integer minor units plus an ISO 4217 currency code. */
export const money = z.object({
  amountMinor: z.number().int(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code'),
});
