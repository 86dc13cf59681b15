// The state-machine tests' starting point: one French account on a monthly plan, active, its first
// period paid (Jan 31 → Feb 28, 09:00 UTC), a card on file, nothing being collected. Tests change
// what they need through the options.
import { NOTICE_DAYS, step, type AttemptState, type BillingState, type ChargeOutcome, type MachineEvent, type StepResult } from '../../src/core/machine.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import fc from 'fast-check';
import { DEFAULT_POLICY, type DunningPolicy } from '../../src/core/dunning.ts';
import type { Plan, Subscription } from '../../src/core/types.ts';
import type { BackupCard } from '../../src/core/backup.ts';

export const T0 = new Date('2026-01-31T09:00:00Z');
export const PERIOD_END = new Date('2026-02-28T09:00:00Z');
/** The renewal period after PERIOD_END: Feb 28 09:00 UTC → Mar 31 (10:00 in Paris, summer time). */
export const NEXT_PERIOD_END = new Date('2026-03-31T08:00:00Z');
/** 14 days of grace from PERIOD_END in Paris (the renewal declined at PERIOD_END). */
export const GRACE_END = new Date('2026-03-14T09:00:00Z');
export const PRO_MONTHLY: Plan = { id: 'pro', name: 'Pro', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 2900 }] };

/** An active card on the account. */
export function card(id: string, createdAt: Date = T0) {
  return { id, account_id: 'acct_1', type: 'card' as const, gateway_ref: 'x', brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030, status: 'active' as const, created_at: createdAt };
}

/** A backup card (core/backup.ts), saved with the customer's consent at `consent` (null: no consent), no attempts yet. */
export function backupCard(id = 'pm_b', consent: Date | null = T0): BackupCard {
  return { payment_method: { ...card(id), last4: '1881' }, consent_at: consent, card_attempts: [] };
}

/** One id factory for the state-machine tests: ids stay unique across every builder and test in a process. */
let seq = 0;
export const ctx = { newId: (p: string) => `${p}_${++seq}` };

/** What a step said, as the tests compare it: its events, its e-mails (template, dedupe key, data), its next action. */
export const events = (r: StepResult) => r.effects.flatMap((e) => (e.type === 'event' ? [{ type: e.event_type, data: e.data }] : []));
export const emails = (r: StepResult) => r.effects.flatMap((e) => (e.type === 'email' ? [{ template: e.template, dedupe_key: e.dedupe_key, data: e.data }] : []));
export const next = (r: StepResult) => ({ at: r.state.subscription.next_action_at, action: r.state.subscription.next_action });

/** The gateway's answers. */
const answered = { raw_code: null, network_code: null, advice_code: null, gateway_ref: 'pi_1', retry_after_ms: null };
export const ok: ChargeOutcome = { ...answered, outcome: 'succeeded', reason: null, retry_class: null };
export const funds: ChargeOutcome = { ...answered, outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later' };
export const expired: ChargeOutcome = { ...answered, outcome: 'declined', reason: 'card_expired_or_inactive', retry_class: 'customer' };
export const technical: ChargeOutcome = { ...answered, outcome: 'declined', reason: 'issuer_unavailable', retry_class: 'soon' };
export const auth: ChargeOutcome = { ...answered, outcome: 'requires_action', reason: 'authentication_required', retry_class: 'customer' };
export const lost: ChargeOutcome = { ...answered, outcome: 'declined', reason: 'declined_by_bank', retry_class: 'never' };
export const unknown: ChargeOutcome = { ...answered, outcome: 'unknown', reason: null, retry_class: null };
/** The gateway's 429: nothing made under the key; made again after `wait_ms`. */
export const rateLimited = (wait_ms = 60_000): ChargeOutcome => ({ ...answered, outcome: 'rate_limited', reason: null, retry_class: null, gateway_ref: null, retry_after_ms: wait_ms });

/** `d` moved by `plus` milliseconds. */
export const ms = (d: Date, plus: number) => new Date(d.getTime() + plus);
/** The default attempt lease: an unanswered charge is looked up by its key after it. */
export const LEASE = 2 * 60_000;
/** How long before a period end the notice day comes. */
export const NOTICE = NOTICE_DAYS * DAY;

/** The gateway's answer `result`, at `now`, to the invoice's latest attempt. */
export const answerLast = (s: BillingState, result: ChargeOutcome, now: Date) => step(s, { type: 'charge_result', attempt_id: s.attempts.at(-1)!.id, result }, now, ctx);

/** The renewal at `when` (the period end unless said), its charge answered with `answer` at the same instant. */
export function renewed(answer: ChargeOutcome, when = PERIOD_END, s = activeState()) {
  const r1 = step(s, { type: 'tick' }, when, ctx);
  const a = r1.state.attempts[0];
  return step(r1.state, { type: 'charge_result', attempt_id: a.id, result: answer }, when, ctx);
}

/** A funds decline (retry later), as the gateway answers it. */
export const FUNDS_DECLINED = funds;

/**
 * Past due: `s` (activeState() by default) renewed at `at` (PERIOD_END by default) and the charge
 * declined for funds; with the default policy grace ends 14 days later (Mar 14 09:00 UTC).
 */
export function pastDueState(s: BillingState = activeState(), at: Date = PERIOD_END): BillingState {
  // Fixed ids (inv_pd, att_pd), not the shared factory's: tests name them.
  const fixedIds = { newId: (p: string) => `${p}_pd` };
  const r1 = step(s, { type: 'tick' }, at, fixedIds);
  const charge = r1.effects.find((e) => e.type === 'charge');
  if (charge?.type !== 'charge') throw new Error('the renewal charged nothing');
  const r2 = step(r1.state, { type: 'charge_result', attempt_id: charge.attempt.id, result: FUNDS_DECLINED }, at, fixedIds);
  if (r2.state.subscription.status !== 'past_due') throw new Error('not past due after the decline');
  return r2.state;
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
