// The customer's backup card (#18 item 5): saved with their consent through the same ways as the
// main card (the gateway's hosted page, a gateway token, sandbox raw fields), removed at will. The
// machine (core/backup.ts) charges it when the main card fails in a way that says it will not work
// soon, or after the policy's `backup_after_failures`; saving one while an invoice is past due may
// therefore charge it at once (`attempt` in the answer).
import { CommandError } from '../core/errors.ts';
import type { PaymentMethodType } from '../core/types.ts';
import type { CardInput, PaymentMethodDetails } from '../gateway/types.ts';
import { activeBackupCardOf, insertBackupCard, lockAccount, retireBackupCard } from '../store/accounts.ts';
import { insertEvents } from '../store/billing.ts';
import { newId } from '../store/ids.ts';
import { mapConflicts } from './conflicts.ts';
import type { AppContext } from './context.ts';
import { RATE_LIMITS, enforce, enforcePeek, record } from './limits.ts';
import { RAW_CARD_REFUSAL, type Requester } from './payment-method.ts';

/** The sentence the customer agrees to (recorded with the card; the pages show it translated: `backup.consent`). */
export const BACKUP_CONSENT_TEXT = 'If my main card fails, charge this card instead.';

type Ctx = Pick<AppContext, 'db' | 'clock' | 'commands' | 'engine' | 'gatewayKind'>;

export interface BackupCardInput {
  type: PaymentMethodType;
  card?: CardInput;
  token?: string;
  attached?: PaymentMethodDetails;
  /** The customer's consent to the sentence above: required (400 consent_required otherwise). */
  consent?: boolean;
}

export function backupConsentRefusal(): CommandError {
  return new CommandError('invalid', 'consent_required', `a backup card is saved only with the customer's consent ("${BACKUP_CONSENT_TEXT}"): send consent: true. Nothing was changed.`, {
    errors: [{ field: 'consent', message: 'must be true' }],
  });
}

/** Saves (or replaces) the account's backup card; the main card stays as it is. */
export async function setBackupCard(ctx: Ctx, accountId: string, input: BackupCardInput, by: Requester) {
  if (input.consent !== true) throw backupConsentRefusal();
  if (input.card && ctx.gatewayKind !== 'sandbox') throw new CommandError('invalid', 'raw_card_data_not_accepted', RAW_CARD_REFUSAL);
  const account = await ctx.commands.requireAccount(accountId);
  if (by === 'customer') {
    await enforcePeek(ctx.db, ctx.clock, RATE_LIMITS.rejectedCards, accountId);
    await enforce(ctx.db, ctx.clock, RATE_LIMITS.paymentMethodChanges, accountId);
  }
  let details;
  try {
    details = await ctx.commands.attachPaymentMethod(account, input);
  } catch (err) {
    if (by === 'customer' && err instanceof CommandError && err.code === 'card_rejected') await record(ctx.db, ctx.clock, RATE_LIMITS.rejectedCards, accountId);
    throw err;
  }
  const pmId = newId('pm');
  const now = ctx.clock.now();
  const saved = await mapConflicts(() => ctx.db.tx(async (q) => {
    await lockAccount(q, accountId);
    await retireBackupCard(q, accountId, 'replaced');
    await insertBackupCard(
      q,
      { id: pmId, account_id: accountId, type: input.type, gateway_ref: details.gateway_ref, brand: details.brand, last4: details.last4, exp_month: details.exp_month, exp_year: details.exp_year, created_at: now },
      { at: now, text: BACKUP_CONSENT_TEXT },
    );
    await insertEvents(q, [{ account_id: accountId, type: 'payment_method.backup_saved', data: { payment_method_id: pmId, consent_at: now } }], now);
    return (await activeBackupCardOf(q, accountId))!;
  }));
  return { backup: saved, attempt: await replan(ctx, accountId, (id) => id === pmId) };
}

/** Removes the account's backup card (never charged again); true when there was one. */
export async function removeBackupCard(ctx: Ctx, accountId: string): Promise<boolean> {
  await ctx.commands.requireAccount(accountId);
  const now = ctx.clock.now();
  const removed = await ctx.db.tx(async (q) => {
    await lockAccount(q, accountId);
    const n = await retireBackupCard(q, accountId, 'revoked');
    if (n > 0) await insertEvents(q, [{ account_id: accountId, type: 'payment_method.backup_removed', data: {} }], now);
    return n > 0;
  });
  if (removed) await replan(ctx, accountId, (id) => id === null);
  return removed;
}

export async function backupCardOf(ctx: Pick<AppContext, 'db' | 'commands'>, accountId: string) {
  await ctx.commands.requireAccount(accountId);
  return activeBackupCardOf(ctx.db, accountId);
}

/** A past-due invoice is planned again with the card as it now stands (it may be charged at once). */
async function replan(ctx: Ctx, accountId: string, isCurrent: (backupId: string | null) => boolean) {
  const sub = await ctx.commands.getSubscriptionRow(accountId);
  if (!sub || sub.status !== 'past_due') return null;
  const r = await ctx.engine.dispatch(sub.id, { type: 'backup_card_updated' }, { precondition: (s) => isCurrent(s.backup?.payment_method.id ?? null) });
  return r.skipped ? null : r.attempt;
}
