// The state-machine tests' starting point: one French account on a monthly plan, active, its first
// period paid (Jan 31 → Feb 28, 09:00 UTC), a card on file, nothing being collected. Tests change
// what they need through the options.
import { step, type AttemptState, type BillingState, type ChargeOutcome, type MachineEvent, type StepContext, type StepResult } from '../../src/core/machine.ts';
import { HOUR } from '../../src/core/time.ts';
import fc from 'fast-check';
import { DEFAULT_POLICY, type DunningPolicy } from '../../src/core/dunning.ts';
import type { Plan, Subscription } from '../../src/core/types.ts';
import type { BackupCard } from '../../src/core/backup.ts';

export const T0 = new Date('2026-01-31T09:00:00Z');
export const PERIOD_END = new Date('2026-02-28T09:00:00Z');
export const PRO_MONTHLY: Plan = { id: 'pro', name: 'Pro', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 2900 }] };

/** An active card on the account. */
export function card(id: string, createdAt: Date = T0) {
  return { id, account_id: 'acct_1', type: 'card' as const, gateway_ref: 'x', brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030, status: 'active' as const, created_at: createdAt };
}

/** A backup card (core/backup.ts), saved with the customer's consent at `consent` (null: no consent), no attempts yet. */
export function backupCard(id = 'pm_b', consent: Date | null = T0): BackupCard {
  return { payment_method: { ...card(id), last4: '1881' }, consent_at: consent, card_attempts: [] };
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

/** What a customer, the clock and the gateway do to a subscription in the property tests. */
export type CustomerOp<A> =
  | { k: 'cancel'; at: 'now' | 'period_end' }
  | { k: 'resume' }
  | { k: 'card' }
  | { k: 'retry' }
  | { k: 'tick' }
  | { k: 'move'; hours: number }
  | { k: 'answer'; a: A };

/** A property test's run: the state and clock it plays on, charges waiting for an answer, and its checks in `apply`. */
export interface MachineRun<A> {
  state: BillingState;
  now: Date;
  queue: AttemptState[];
  /** Cards given so far (the next is pm_<cards + 1>). */
  cards: number;
  apply(ev: MachineEvent): void;
  answer(a: A): ChargeOutcome;
}

/** Plays one operation: a cancel, resume, new card or Retry; a due tick; time moving on; the gateway answering the oldest charge. */
export function playOp<A>(op: CustomerOp<A>, run: MachineRun<A>): void {
  switch (op.k) {
    case 'cancel':
      return run.apply({ type: 'cancel', at: op.at });
    case 'resume':
      return run.apply({ type: 'resume' });
    case 'card':
      run.state = { ...run.state, payment_method: card(`pm_${++run.cards}`), card_attempts: [] };
      return run.apply({ type: 'payment_method_updated' });
    case 'retry':
      return run.apply({ type: 'retry_requested', trigger: 'customer_retry' });
    case 'tick': {
      const at = run.state.subscription.next_action_at;
      if (at && at.getTime() > run.now.getTime()) run.now = at;
      return run.apply({ type: 'tick' });
    }
    case 'move':
      run.now = new Date(run.now.getTime() + op.hours * HOUR);
      return run.apply({ type: 'tick' });
    case 'answer': {
      const a = run.queue.shift();
      if (a) run.apply({ type: 'charge_result', attempt_id: a.id, result: run.answer(op.a) });
    }
  }
}

/** The operations' generators, weighted (ticks and answers most often), for `fc.oneof`. */
export function customerOpArbs<A>(answers: A[]) {
  return [
    fc.record({ k: fc.constant('cancel' as const), at: fc.constantFrom('now' as const, 'period_end' as const) }),
    fc.constant({ k: 'resume' as const }),
    fc.constant({ k: 'card' as const }),
    fc.constant({ k: 'retry' as const }),
    { arbitrary: fc.constant({ k: 'tick' as const }), weight: 4 },
    fc.record({ k: fc.constant('move' as const), hours: fc.integer({ min: 1, max: 24 * 20 }) }),
    { arbitrary: fc.record({ k: fc.constant('answer' as const), a: fc.constantFrom<A>(...answers) }), weight: 3 },
  ];
}

/** A step's events, in order, as `{ type, data }` (to compare exactly). */
export const events = (r: StepResult) => r.effects.flatMap((e) => (e.type === 'event' ? [{ type: e.event_type, data: e.data }] : []));
/** A step's e-mails, in order, as `{ template, dedupe_key, data }`. */
export const emails = (r: StepResult) => r.effects.flatMap((e) => (e.type === 'email' ? [{ template: e.template, dedupe_key: e.dedupe_key, data: e.data }] : []));
/** What the scheduler reads after a step: when, and what for. */
export const next = (r: StepResult) => ({ at: r.state.subscription.next_action_at, action: r.state.subscription.next_action });

/** The renewal at `when` (the period end by default), its charge answered with `answer` at the same instant. */
export function renewed(answer: ChargeOutcome, ctx: StepContext, when = PERIOD_END, s = activeState()): StepResult {
  const r1 = step(s, { type: 'tick' }, when, ctx);
  const a = r1.state.attempts[0];
  return step(r1.state, { type: 'charge_result', attempt_id: a.id, result: answer }, when, ctx);
}
