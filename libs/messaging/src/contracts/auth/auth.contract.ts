import { z } from 'zod';
import { defineTopic } from '../../lib/contract';

export const authTopic = defineTopic('auth.events.v1', {
  'auth.token.revoked.v1': z.object({ jti: z.string().min(1), expiresAt: z.iso.datetime({ offset: true }) }),
  'auth.key.rotated.v1': z.object({ activeKid: z.string().min(1), retiredKid: z.string().min(1).nullable() }),
  'auth.login.failed.v1': z.object({ clientId: z.string().min(1), reason: z.enum(['bad-credentials', 'locked', 'rate-limited']) }),
});
