// Dunning policies as stored: one row per scope ('default', 'plan:<id>', 'zone:<zone>'), each an
// override over the built-in default (core/dunning.ts merges them).
import type { PolicyOverride } from '../core/dunning.ts';
import type { Queryable } from './db.ts';

export { loadPolicies, policyFor } from './billing.ts';

export async function upsertPolicy(q: Queryable, scope: string, value: PolicyOverride, now: Date): Promise<void> {
  await q.query(
    `INSERT INTO dunning_policies (scope, policy, updated_at) VALUES ($1, $2, $3) ON CONFLICT (scope) DO UPDATE SET policy = EXCLUDED.policy, updated_at = EXCLUDED.updated_at`,
    [scope, JSON.stringify(value), now],
  );
}

/** Removes the scope's policy; false when it had none. */
export async function deletePolicy(q: Queryable, scope: string): Promise<boolean> {
  return (await q.query('DELETE FROM dunning_policies WHERE scope = $1 RETURNING scope', [scope])).length > 0;
}

/**
 * Makes saves of the policy take turns (until the transaction ends): each validates the policies
 * in force with its change, so two at once must not both validate against what neither wrote.
 * Readers are not held up (SHARE ROW EXCLUSIVE conflicts only with writers of the table).
 */
export async function lockPolicies(q: Queryable): Promise<void> {
  await q.query('LOCK TABLE dunning_policies IN SHARE ROW EXCLUSIVE MODE');
}

/**
 * Re-plan: wakes every subscription in grace now; its next tick plans with the policy in force. The
 * rows are locked in id order first, the order every transaction that holds several subscriptions
 * takes them in (engine applyAnswers), so this never deadlocks with one (a bare UPDATE locks them in
 * the table's physical order).
 */
export async function wakePastDueSubscriptions(q: Queryable, now: Date): Promise<void> {
  await q.query(
    `UPDATE subscriptions SET next_action_at = $1
      WHERE id IN (SELECT id FROM subscriptions WHERE status = 'past_due' ORDER BY id FOR NO KEY UPDATE)`,
    [now],
  );
}
