// The state-machine tests' starting point: one French account on a monthly plan, active, its first
// period paid (Jan 31 → Feb 28, 09:00 UTC), a card on file, nothing being collected. Tests change
// what they need through the options.
import type { BillingState } from '../../src/core/machine.ts';
import { DEFAULT_POLICY, type DunningPolicy } from '../../src/core/dunning.ts';
import type { Plan, Subscription } from '../../src/core/types.ts';

export const T0 = new Date('2026-01-31T09:00:00Z');
export const PERIOD_END = new Date('2026-02-28T09:00:00Z');
export const PRO_MONTHLY: Plan = { id: 'pro', name: 'Pro', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 2900 }] };

/** An active card on the account. */
export function card(id: string, createdAt: Date = T0) {
  return { id, account_id: 'acct_1', type: 'card' as const, gateway_ref: 'x', brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030, status: 'active' as const, created_at: createdAt };
}

export function activeState(opts: { plan?: Plan; policy?: DunningPolicy; subscription?: Partial<Subscription> } = {}): BillingState {
  const plan = opts.plan ?? PRO_MONTHLY;
  return {
    subscription: {
      id: 'sub_1',
      account_id: 'acct_1',
      plan_id: plan.id,
      interval: 'month',
      auto_renew: true,
      status: 'active',
      billing_anchor: T0,
      period_index: 0,
      current_period_start: T0,
      current_period_end: PERIOD_END,
      grace_ends_at: null,
      next_action_at: PERIOD_END,
      next_action: 'renew',
      next_retry_at: null,
      next_retry_why: null,
      version: 0,
      ...opts.subscription,
    },
    account: { id: 'acct_1', name: 'A', email: 'a@example.com', locale: 'fr-FR', time_zone: 'Europe/Paris', domain_zone: 'fr', currency: 'EUR' },
    plan,
    free_plan_id: 'free',
    payment_method: card('pm_1'),
    invoice: null,
    attempts: [],
    card_attempts: [],
    policy: opts.policy ?? DEFAULT_POLICY,
  };
}
