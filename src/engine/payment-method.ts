// Replacing an account's payment method, as the customer or the operator asks it. The customer's
// way (a portal token on the API, or the Billing information page) is limited: so many changes an
// hour, and a pause after cards the gateway refused (card testing). The operator's is not.
import { CommandError } from '../core/errors.ts';
import type { Commands } from './commands.ts';
import type { AppContext } from './context.ts';
import { RATE_LIMITS, enforce, enforcePeek, record } from './limits.ts';

export type Requester = 'customer' | 'operator';

/**
 * Why raw card data is refused with a real gateway: a number and CVC passing through renewd would
 * put every operator in PCI DSS SAQ D (the full assessment), and Stripe itself refuses raw card
 * numbers on the API by default. The card is captured on the gateway's own page instead.
 */
export const RAW_CARD_REFUSAL =
  'Raw card numbers are accepted only by the built-in sandbox gateway (test cards). With a real gateway the card is typed on the gateway\'s own page: ' +
  'open one with POST /v1/accounts/{id}/card-setup-sessions (or send a pm_… token made by the gateway\'s client-side capture). ' +
  'Card data passing through renewd would put the operator in PCI DSS SAQ D, and Stripe refuses raw card numbers by default. Nothing was changed.';

export async function changePaymentMethod(
  ctx: Pick<AppContext, 'db' | 'clock' | 'commands' | 'gatewayKind'>,
  accountId: string,
  input: Parameters<Commands['setPaymentMethod']>[1],
  by: Requester,
) {
  if (input.card && ctx.gatewayKind !== 'sandbox') throw new CommandError('invalid', 'raw_card_data_not_accepted', RAW_CARD_REFUSAL);
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
