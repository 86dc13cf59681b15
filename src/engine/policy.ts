// The dunning policy commands: read the default and its overrides, save or remove one. The API
// (http/routes/policy.ts), the console's policy page and the CLI all change the policy through
// `savePolicy`, so the same validation and the same re-planning apply whoever asks.
import { DEFAULT_POLICY, mergePolicy, validatePolicy, type DunningPolicy, type PolicyOverride } from '../core/dunning.ts';
import { CommandError, invalidFields } from '../core/errors.ts';
import { insertEvents } from '../store/billing.ts';
import { deletePolicy, loadPolicies, lockPolicies, upsertPolicy, wakePastDueSubscriptions } from '../store/policies.ts';
import type { AppContext } from './context.ts';

type PolicyDeps = Pick<AppContext, 'db' | 'clock' | 'engine'>;

export interface PolicyView {
  /** The default policy in force (built-in default merged with the stored one). */
  policy: DunningPolicy;
  /** Overrides by scope ('plan:<id>', 'zone:<zone>'). */
  overrides: Record<string, PolicyOverride>;
}

export async function readPolicies(ctx: Pick<AppContext, 'db'>): Promise<PolicyView> {
  const all = await loadPolicies(ctx.db);
  const overrides = Object.fromEntries([...all].filter(([k]) => k !== 'default'));
  return { policy: mergePolicy(DEFAULT_POLICY, all.get('default')), overrides };
}

/** One override with the policy it makes effective; not_found when the scope has none. */
export async function readOverride(ctx: Pick<AppContext, 'db'>, scope: string): Promise<{ scope: string; override: PolicyOverride; effective: DunningPolicy }> {
  const { policy, overrides } = await readPolicies(ctx);
  if (!overrides[scope]) throw new CommandError('not_found', 'not_found', `no override for ${scope}`);
  return { scope, override: overrides[scope], effective: mergePolicy(policy, overrides[scope]) };
}

/**
 * Sets (or, with `value` null, removes) the policy of a scope ('default', 'plan:<id>',
 * 'zone:<zone>'). Every policy that would then be in force is validated first (the default, and
 * the default with each override): a bad one is refused with one error per field and nothing
 * changes. Then every subscription in grace is re-planned with the new policy.
 */
export async function savePolicy(ctx: PolicyDeps, scope: string, value: PolicyOverride | null): Promise<void> {
  const { db, clock, engine } = ctx;
  const now = clock.now();
  await db.tx(async (q) => {
    // Validated under the lock, on the policies as they are now: saves take turns.
    await lockPolicies(q);
    const all = await loadPolicies(q);
    if (!value && !all.has(scope)) throw new CommandError('not_found', 'not_found', `no override for ${scope}`);
    if (value) all.set(scope, value);
    else all.delete(scope);
    const base = mergePolicy(DEFAULT_POLICY, all.get('default'));
    const check = [['default', base] as const, ...[...all].filter(([k]) => k !== 'default').map(([k, o]) => [k, mergePolicy(base, o)] as const)];
    for (const [s, p] of check) {
      const errors = validatePolicy(p);
      if (errors.length)
        throw invalidFields('invalid_policy', `the ${s === 'default' ? 'default policy' : `policy for ${s}`} is not valid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
    }
    if (value) await upsertPolicy(q, scope, value, now);
    else await deletePolicy(q, scope);
    await wakePastDueSubscriptions(q, now);
    await insertEvents(q, [{ account_id: null, type: 'dunning_policy.updated', data: { scope, policy: value } }], now);
  });
  await engine.drain();
}

/** Removes an override; not_found when the scope has none. */
export async function removeOverride(ctx: PolicyDeps, scope: string): Promise<void> {
  await readOverride(ctx, scope);
  await savePolicy(ctx, scope, null);
}
