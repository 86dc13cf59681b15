// What a refusal of the database means to the caller. Commands take the account lock first (the lock
// order, docs/ARCHITECTURE.md "Concurrency"), so two requests on one account take turns and a
// constraint never sees them race; where a race can still reach a constraint by design (two new
// rows nobody could lock yet, e.g. two plans created with one id at once), the violation is turned
// here into the refusal it stands for. A deadlock or serialization failure, which the lock order
// rules out, still leaves as a clear 409 "send it again" rather than a 500.
import { CommandError } from '../core/errors.ts';
import { dbRefusalOf } from '../store/db.ts';

/** The refusal each unique constraint (or unique index) stands for, by its name. */
const MEANING_OF_CONSTRAINT: Record<string, () => CommandError> = {
  payment_methods_one_active: () =>
    new CommandError(
      'conflict',
      'payment_method_update_in_progress',
      'another change of this payment method was being saved at the same moment; look at Billing information, and send the change again if it is not there',
    ),
  subscriptions_one_per_account: () =>
    new CommandError('conflict', 'purchase_in_progress', 'a purchase for this account is already being made; look at the subscription in a moment'),
  plans_pkey: () => new CommandError('conflict', 'plan_exists', 'a plan with this id was created at the same moment'),
  plans_one_free: () => new CommandError('conflict', 'free_plan_exists', 'another free plan was created at the same moment'),
  invoices_one_collecting: () => inProgress(),
  payment_attempts_one_pending: () => inProgress(),
};

function inProgress() {
  return new CommandError('conflict', 'change_in_progress', 'a payment for this subscription is being made; look at the subscription in a moment and try again if needed');
}

/** SQLSTATEs of two transactions that could not both go on (retrying the request is the answer). */
const TRY_AGAIN = new Set(['40P01', '40001', '55P03']);

/** The CommandError a database refusal stands for, or null when it is not one of those (a real fault). */
export function conflictOf(err: unknown): CommandError | null {
  if (err instanceof CommandError) return err;
  const r = dbRefusalOf(err);
  if (!r) return null;
  if (r.code === '23505' && r.constraint && MEANING_OF_CONSTRAINT[r.constraint]) return MEANING_OF_CONSTRAINT[r.constraint]();
  if (TRY_AGAIN.has(r.code) || r.code === '23505')
    return new CommandError('conflict', 'concurrent_update', 'another change to the same data was being made at the same moment, and this request was stopped; send it again', {
      retryable: true,
    });
  return null;
}

/** Runs fn, turning a database refusal into the CommandError it stands for (conflictOf). */
export async function mapConflicts<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw conflictOf(err) ?? err;
  }
}
