// Replacing an account's payment method, as the customer or the operator asks it. The customer's
// way (a portal token on the API, or the Billing information page) is limited: so many changes an
// hour, and a pause after cards the gateway refused (card testing). The operator's is not.
import { CommandError } from '../core/errors.ts';
import type { Commands } from './commands.ts';
import type { AppContext } from './context.ts';
import { RATE_LIMITS, enforce, enforcePeek, record } from './limits.ts';

export type Requester = 'customer' | 'operator';

export async function changePaymentMethod(
  ctx: Pick<AppContext, 'db' | 'clock' | 'commands'>,
  accountId: string,
  input: Parameters<Commands['setPaymentMethod']>[1],
  by: Requester,
) {
  if (by === 'customer') {
    await enforcePeek(ctx.db, ctx.clock, RATE_LIMITS.rejectedCards, accountId);
    await enforce(ctx.db, ctx.clock, RATE_LIMITS.paymentMethodChanges, accountId);
  }
  try {
    return await ctx.commands.setPaymentMethod(accountId, input);
  } catch (err) {
    if (by === 'customer' && err instanceof CommandError && err.code === 'card_rejected') await record(ctx.db, ctx.clock, RATE_LIMITS.rejectedCards, accountId);
    throw err;
  }
}
