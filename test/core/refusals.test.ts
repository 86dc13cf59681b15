// The machine's pure refusal rules, as tables: each row a situation → what the customer or operator
// is told (the exact { code, message }) or how the request is accepted. planChangeOf (how a plan
// change applies), authenticationRefusal (when 3-D Secure can start), cancelRefusal, resumeRefusal,
// pendingCancel (what the API shows of a cancel waiting for its end), isRateLimited, and the
// default lease after which an unanswered attempt is looked up by its key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  authenticationRefusal,
  cancelRefusal,
  isRateLimited,
  pendingCancel,
  planChangeOf,
  resumeRefusal,
  step,
  type AttemptState,
  type BillingState,
  type InvoiceState,
} from '../../src/core/machine.ts';
import type { AttemptOutcome, DeclineReason, Interval, Plan, Subscription, SubscriptionStatus } from '../../src/core/types.ts';
import { DAY } from '../../src/core/time.ts';
import { PERIOD_END, activeState, card } from '../helpers/billing-state.ts';

const PRO: Plan = { id: 'pro', name: 'Pro', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 2900 }, { currency: 'EUR', interval: 'year', amount: 29000 }] };
const BIZ: Plan = { id: 'biz', name: 'Business', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 7900 }, { currency: 'EUR', interval: 'year', amount: 79000 }] };
/** The same monthly price as Pro: not an upgrade. */
const TEAM: Plan = { id: 'team', name: 'Team', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 2900 }] };
const LITE: Plan = { id: 'lite', name: 'Lite', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 900 }] };
const USD: Plan = { id: 'usd', name: 'US', free: false, prices: [{ currency: 'USD', interval: 'month', amount: 100 }] };
const FREE: Plan = { id: 'free', name: 'Free', free: true, prices: [] };

const INV = 'inv_1';
const GRACE_END = new Date(PERIOD_END.getTime() + 14 * DAY);

/** One attempt on the invoice being collected (on pm_1 unless said otherwise). */
function attempt(n: number, outcome: AttemptOutcome, reason: DeclineReason | null = null, pm: string | null = 'pm_1', raw_code: string | null = null): AttemptState {
  return {
    id: `att_${n}`,
    invoice_id: INV,
    payment_method_id: pm,
    number: n,
    trigger: n === 1 ? 'initial' : 'customer_retry',
    idempotency_key: `renewd_${INV}_${n}`,
    outcome,
    reason,
    retry_class: reason === null ? null : reason === 'authentication_required' ? 'customer' : 'later',
    raw_code,
    network_code: null,
    advice_code: null,
    gateway_ref: `pi_${n}`,
    created_at: new Date(PERIOD_END.getTime() + n * 1000),
    completed_at: outcome === 'pending' || outcome === 'unknown' ? null : new Date(PERIOD_END.getTime() + n * 1000 + 500),
    amount: 2900,
    currency: 'EUR',
    not_before: null,
  };
}
const funds = (n: number) => attempt(n, 'declined', 'insufficient_funds');
const needsAuth = (n: number, pm = 'pm_1') => attempt(n, 'requires_action', 'authentication_required', pm);

/** The renewal invoice of Feb 28 being collected. */
function renewalInvoice(status: InvoiceState['status'], id = INV): InvoiceState {
  return {
    id,
    account_id: 'acct_1',
    subscription_id: 'sub_1',
    plan_id: 'pro',
    amount: 2900,
    currency: 'EUR',
    period_start: PERIOD_END,
    period_end: new Date('2026-03-31T09:00:00Z'),
    status,
    created_at: PERIOD_END,
    paid_at: null,
    kind: 'renewal',
    interval: 'month',
    failed_at: status === 'past_due' ? PERIOD_END : null,
    reminders_sent: [],
  };
}

/** In grace on Pro monthly: the renewal invoice past due after `attempts` (a funds decline unless said). */
function pastDue(opts: { attempts?: AttemptState[]; subscription?: Partial<Subscription>; invoice?: InvoiceState | null } = {}): BillingState {
  const s = activeState({ plan: PRO, subscription: { status: 'past_due', grace_ends_at: GRACE_END, next_action_at: new Date(PERIOD_END.getTime() + 3 * DAY), next_action: 'retry', ...opts.subscription } });
  return { ...s, invoice: opts.invoice === undefined ? renewalInvoice('past_due') : opts.invoice, attempts: opts.attempts ?? [funds(1)] };
}
/** Active on Pro monthly, nothing being collected. */
const active = (subscription: Partial<Subscription> = {}, plan: Plan = PRO): BillingState => activeState({ plan, subscription });
const noCard = (s: BillingState): BillingState => ({ ...s, payment_method: null });

const refused = (code: string, message: string) => ({ refused: { code, message } });
const accepted = (mode: string, amount: number) => ({ mode, amount });
const NOT_LIVE = refused('not_subscribed', 'the subscription is not live (canceled or downgraded): buy a plan instead');
const IN_PROGRESS = refused('change_in_progress', 'a payment for this subscription is being made; try again in a moment');
const ADD_CARD = refused('no_payment_method', 'add a card in Billing information first');

test('plan change: each situation is refused with the message the customer reads, or applies in the mode its price and interval call for', () => {
  const rows: [string, BillingState, Plan, Interval, object][] = [
    // What is asked for.
    ['the free plan is reached by cancelling', active(), FREE, 'month', refused('free_plan', 'plan free is the free plan: cancel the subscription to move to it')],
    ['a plan with no price in the account currency', active(), USD, 'month', refused('no_price', 'plan usd has no monthly price in EUR')],
    ['a plan with no price for the interval', active(), LITE, 'year', refused('no_price', 'plan lite has no yearly price in EUR')],
    // The subscription must be live.
    ['canceled', active({ status: 'canceled' }), BIZ, 'month', NOT_LIVE],
    ['downgraded', active({ status: 'downgraded' }), BIZ, 'month', NOT_LIVE],
    ['incomplete (first payment not made)', active({ status: 'incomplete' }), BIZ, 'month', NOT_LIVE],
    ['active on the free plan', active({}, FREE), BIZ, 'month', NOT_LIVE],
    ['a cancel is pending', active({ auto_renew: false }), BIZ, 'month', refused('cancel_pending', 'a cancel is pending: resume the subscription before changing its plan')],
    ['a cancel is pending in grace', pastDue({ subscription: { auto_renew: false } }), BIZ, 'month', refused('cancel_pending', 'a cancel is pending: resume the subscription before changing its plan')],
    // Nothing may be in flight.
    ['in grace, an attempt sent and unanswered (pending)', pastDue({ attempts: [funds(1), attempt(2, 'pending')] }), BIZ, 'month', IN_PROGRESS],
    ['in grace, an attempt whose answer was lost (unknown)', pastDue({ attempts: [funds(1), attempt(2, 'unknown')] }), BIZ, 'month', IN_PROGRESS],
    ['active with the renewal invoice open (its charge about to be made)', { ...active(), invoice: renewalInvoice('open'), attempts: [] }, BIZ, 'month', IN_PROGRESS],
    // The same plan.
    ['the same plan and interval', active(), PRO, 'month', refused('same_plan', 'the subscription is already on pro (monthly)')],
    ['the same plan and interval with a change scheduled: the schedule is undone', active({ scheduled_plan_id: 'lite', scheduled_interval: 'month' }), PRO, 'month', accepted('unschedule', 2900)],
    ['the same plan, another interval: at the period end', active(), PRO, 'year', accepted('period_end', 29000)],
    // In grace: at once (the past-due invoice is replaced), the interval kept, a card needed.
    ['in grace, a dearer plan', pastDue(), BIZ, 'month', accepted('grace', 7900)],
    ['in grace, a cheaper plan (still at once)', pastDue(), LITE, 'month', accepted('grace', 900)],
    ['in grace, another interval', pastDue(), BIZ, 'year', refused('interval_change_in_grace', 'while a payment is past due the plan can change, the interval cannot')],
    ['in grace, the same plan for another interval', pastDue(), PRO, 'year', refused('interval_change_in_grace', 'while a payment is past due the plan can change, the interval cannot')],
    ['in grace, no card on file', noCard(pastDue()), LITE, 'month', ADD_CARD],
    // Active: a dearer price for the same interval now (prorated, a card needed); otherwise at the period end.
    ['active, a dearer price for the same interval', active(), BIZ, 'month', accepted('now', 7900)],
    ['active, a dearer price but no card', noCard(active()), BIZ, 'month', ADD_CARD],
    ['active, the same price on another plan (not dearer)', active(), TEAM, 'month', accepted('period_end', 2900)],
    ['active, a cheaper plan', active(), LITE, 'month', accepted('period_end', 900)],
    ['active, a cheaper plan needs no card', noCard(active()), LITE, 'month', accepted('period_end', 900)],
    ['active, a dearer plan for another interval', active(), BIZ, 'year', accepted('period_end', 79000)],
    [
      'active on a plan whose price for its interval was withdrawn: nothing to compare, at the period end',
      { ...active(), plan: { ...PRO, prices: PRO.prices.filter((p) => p.interval === 'year') } },
      BIZ,
      'month',
      accepted('period_end', 7900),
    ],
  ];
  for (const [name, s, plan, interval, want] of rows) assert.deepEqual(planChangeOf(s, plan, interval), want, name);
});

const NOT_NEEDED = { code: 'authentication_not_needed', message: 'the invoice is not past due awaiting authentication (paid, void, canceled or not being collected)' };
const NOT_FOR_AUTH = { code: 'authentication_not_needed', message: 'the last payment attempt of this invoice did not fail for authentication' };
const IN_FLIGHT = { code: 'attempt_in_flight', message: 'a payment attempt for this invoice is in progress; try again in a moment' };
const CARD_CHANGED = { code: 'no_payment_method', message: "the card that needs authentication is no longer the account's card; the new card is tried instead" };

test('authentication: only for the past-due invoice asked about, whose latest failure asked for authentication on the current card, nothing in flight', () => {
  const rows: [string, BillingState, string, object | null][] = [
    ['the issuer asked to confirm the off-session charge', pastDue({ attempts: [needsAuth(1)] }), INV, null],
    ['an off-session charge declined for authentication', pastDue({ attempts: [attempt(1, 'declined', 'authentication_required')] }), INV, null],
    ['the customer failed the challenge (declined for authentication) after a funds decline', pastDue({ attempts: [funds(1), attempt(2, 'declined', 'authentication_required')] }), INV, null],
    ['a funds decline, then a retry the issuer wants confirmed: the latest counts', pastDue({ attempts: [funds(1), needsAuth(2)] }), INV, null],
    ['authentication asked, then a retry declined for funds: the latest counts', pastDue({ attempts: [needsAuth(1), funds(2)] }), INV, NOT_FOR_AUTH],
    ['an attempt closed unsent (not made) is no failure: the authentication before it still counts', pastDue({ attempts: [needsAuth(1), attempt(2, 'not_made', null, 'pm_1', 'rate_limited')] }), INV, null],
    ['only a funds decline', pastDue(), INV, NOT_FOR_AUTH],
    ['no attempt settled yet', pastDue({ attempts: [] }), INV, NOT_FOR_AUTH],
    // Not this invoice, or not being collected.
    ['nothing being collected', active(), INV, NOT_NEEDED],
    ['another invoice than the one being collected', pastDue({ attempts: [needsAuth(1)] }), 'inv_other', NOT_NEEDED],
    ['the invoice is no longer past due', pastDue({ attempts: [needsAuth(1)], invoice: renewalInvoice('void') }), INV, NOT_NEEDED],
    ['the subscription is no longer past due', pastDue({ attempts: [needsAuth(1)], subscription: { status: 'downgraded' } }), INV, NOT_NEEDED],
    ['a cancel is pending (auto-renew off)', pastDue({ attempts: [needsAuth(1)], subscription: { auto_renew: false } }), INV, NOT_NEEDED],
    // In flight.
    ['an attempt sent and unanswered (pending)', pastDue({ attempts: [needsAuth(1), attempt(2, 'pending')] }), INV, IN_FLIGHT],
    ['an attempt whose answer was lost (unknown)', pastDue({ attempts: [needsAuth(1), attempt(2, 'unknown')] }), INV, IN_FLIGHT],
    // The card.
    ['the card was changed since', { ...pastDue({ attempts: [needsAuth(1)] }), payment_method: card('pm_2') }, INV, CARD_CHANGED],
    ['the card was removed since', noCard(pastDue({ attempts: [needsAuth(1)] })), INV, CARD_CHANGED],
    ['the attempt that needs authentication was on a card saved since, still the account\'s card', { ...pastDue({ attempts: [needsAuth(1, 'pm_2')] }), payment_method: card('pm_2') }, INV, null],
  ];
  for (const [name, s, invoiceId, want] of rows) assert.deepEqual(authenticationRefusal(s, invoiceId), want, name);
});

const ALREADY_CANCELED = { code: 'already_canceled', message: 'the subscription is already canceled: the account is on the free plan' };
const NOTHING_TO_CANCEL = { code: 'nothing_to_cancel', message: 'the subscription has no paid period to cancel' };

test('cancel: refused once canceled, downgraded or on the free plan, and while there is no paid period (incomplete); allowed active or in grace', () => {
  const rows: [string, SubscriptionStatus, Plan, object | null][] = [
    ['active on a paid plan', 'active', PRO, null],
    ['in grace', 'past_due', PRO, null],
    ['canceled', 'canceled', FREE, ALREADY_CANCELED],
    ['downgraded', 'downgraded', FREE, ALREADY_CANCELED],
    ['downgraded (its paid plan still loaded)', 'downgraded', PRO, ALREADY_CANCELED],
    ['active on the free plan', 'active', FREE, ALREADY_CANCELED],
    ['incomplete', 'incomplete', PRO, NOTHING_TO_CANCEL],
    ['incomplete, whatever its plan: no paid period', 'incomplete', FREE, NOTHING_TO_CANCEL],
  ];
  for (const [name, status, plan, want] of rows) assert.deepEqual(cancelRefusal(active({ status }, plan)), want, name);
});

const TOOK_EFFECT = { code: 'cancel_took_effect', message: 'the cancel has already taken effect; buy the plan again to come back' };
const NO_PENDING = { code: 'no_pending_cancel', message: 'the subscription has no pending cancel to undo' };

test('resume: only a cancel that has not taken effect (auto-renew off, active or in grace, a paid plan) is undone', () => {
  const rows: [string, SubscriptionStatus, boolean, Plan, object | null][] = [
    ['active, cancel pending at the period end', 'active', false, PRO, null],
    ['in grace, cancel waiting for an attempt in flight', 'past_due', false, PRO, null],
    ['canceled', 'canceled', false, FREE, TOOK_EFFECT],
    ['downgraded', 'downgraded', false, FREE, TOOK_EFFECT],
    ['downgraded (its paid plan still loaded)', 'downgraded', false, PRO, TOOK_EFFECT],
    ['active, auto-renew on', 'active', true, PRO, NO_PENDING],
    ['in grace, auto-renew on', 'past_due', true, PRO, NO_PENDING],
    ['active on the free plan', 'active', false, FREE, NO_PENDING],
    ['incomplete', 'incomplete', false, PRO, NO_PENDING],
  ];
  for (const [name, status, auto_renew, plan, want] of rows) assert.deepEqual(resumeRefusal(active({ status, auto_renew }, plan)), want, name);
});

test('a pending cancel is shown for a paid subscription with auto-renew off while active (ending at its period end) or in grace (ending when the attempt in flight settles)', () => {
  const none = { cancel_at_period_end: false, cancel_at: null };
  const rows: [SubscriptionStatus, boolean, Plan, object][] = [
    ['active', false, PRO, { cancel_at_period_end: true, cancel_at: PERIOD_END }],
    ['past_due', false, PRO, { cancel_at_period_end: true, cancel_at: null }],
    ['active', true, PRO, none],
    ['past_due', true, PRO, none],
    ['active', false, FREE, none],
    ['active', true, FREE, none],
    ['incomplete', false, PRO, none],
    ['incomplete', true, PRO, none],
    ['canceled', false, PRO, none],
    ['canceled', false, FREE, none],
    ['downgraded', false, PRO, none],
    ['downgraded', false, FREE, none],
  ];
  for (const [status, auto_renew, plan, want] of rows) {
    assert.deepEqual(pendingCancel({ status, auto_renew, current_period_end: PERIOD_END }, plan), want, `${status}, auto-renew ${auto_renew ? 'on' : 'off'}, ${plan.id}`);
  }
});

test('rate-limited means an attempt still pending and waiting out a 429: one closed unsent or answered keeps the code but waits for nothing', () => {
  assert.equal(isRateLimited({ outcome: 'pending', raw_code: 'rate_limited' }), true);
  assert.equal(isRateLimited({ outcome: 'pending', raw_code: null }), false, 'sent, awaiting its answer');
  for (const outcome of ['not_made', 'unknown', 'declined', 'succeeded'] as const) assert.equal(isRateLimited({ outcome, raw_code: 'rate_limited' }), false, outcome);
});

test('an unanswered attempt is looked up by its key only once the default lease (2 minutes) has passed; until then the machine waits for its answer', () => {
  let seq = 0;
  const ctx = { newId: (p: string) => `${p}_${++seq}` }; // no attemptLeaseMs: the default
  const at = (ms: number) => new Date(PERIOD_END.getTime() + ms);
  const charged = step(activeState(), { type: 'tick' }, PERIOD_END, ctx);
  const a = charged.state.attempts[0];
  assert.deepEqual([a.outcome, a.created_at], ['pending', PERIOD_END]);
  assert.equal(charged.state.subscription.next_action_at?.getTime(), at(2 * 60_000).getTime(), 'the machine looks again when the lease ends');
  const lookups = (now: Date) => step(charged.state, { type: 'tick' }, now, ctx).effects.filter((e) => e.type === 'reconcile' || e.type === 'charge');
  assert.deepEqual(lookups(at(60_000)), [], 'one minute in: still waiting');
  assert.deepEqual(lookups(at(2 * 60_000 - 1)), [], 'just before the lease ends');
  assert.deepEqual(lookups(at(2 * 60_000)).map((e) => [e.type, e.attempt.id]), [['reconcile', a.id]]);
  // A tick with the stored next_action_at moved earlier (a restart): inside the lease, no lookup, and the next look is a lease from now.
  const early = step({ ...charged.state, subscription: { ...charged.state.subscription, next_action_at: at(1000) } }, { type: 'tick' }, at(60_000), ctx);
  assert.deepEqual(early.effects, []);
  assert.equal(early.state.subscription.next_action_at?.getTime(), at(60_000 + 2 * 60_000).getTime());
});
