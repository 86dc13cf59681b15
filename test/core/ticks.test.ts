// What a tick does (core/machine.ts tick, tickActive, sendNotices, planActive, tickPastDue,
// planPastDue, startAttempt, chargeAgain), stated exactly: the events and their data, the e-mails
// with their dedupe keys, and the next action the scheduler reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTHENTICATION_WINDOW_MS, step, type BillingState, type ChargeOutcome } from '../../src/core/machine.ts';
import { DEFAULT_POLICY } from '../../src/core/dunning.ts';
import type { PaymentMethod, Plan } from '../../src/core/types.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import { GRACE_END, LEASE, NEXT_PERIOD_END, NOTICE, PERIOD_END, T0, activeState, auth, backupCard, card, ctx, emails, events, expired, funds, lost, ms, next, rateLimited, renewed, technical, unknown } from '../helpers/billing-state.ts';

const tick = (s: BillingState, now: Date) => step(s, { type: 'tick' }, now, ctx);
/** The state as the scheduler hands it over at `when`: its next action is due then. */
const dueAt = (s: BillingState, when: Date): BillingState => ({ ...s, subscription: { ...s.subscription, next_action_at: when } });

/** The 7- and 2-day reminders before GRACE_END. */
const REMIND_7 = new Date('2026-03-07T09:00:00Z');
const REMIND_2 = new Date('2026-03-12T09:00:00Z');

const FREE: Plan = { id: 'free', name: 'Free', free: true, prices: [] };
const PRO_YEARLY: Plan = { id: 'pro', name: 'Pro', free: false, prices: [{ currency: 'EUR', interval: 'year', amount: 29000 }] };
const YEAR_END = new Date('2027-01-31T09:00:00Z');
const yearly = (sub: Partial<BillingState['subscription']> = {}) =>
  activeState({ plan: PRO_YEARLY, subscription: { interval: 'year', current_period_end: YEAR_END, next_action_at: YEAR_END, ...sub } });
const withCard = (s: BillingState, pm: PaymentMethod | null): BillingState => ({ ...s, payment_method: pm });


// ---- when a tick acts at all ----

test('a tick before the subscription\'s next action is due changes nothing', () => {
  const s = activeState(); // next action: the renewal at PERIOD_END
  const r = tick(s, ms(T0, DAY));
  assert.deepEqual(r.effects, []);
  assert.deepEqual(r.state.subscription, s.subscription);
});

// ---- the active period ----

test('before the notice day a tick only plans: the next look is 7 days before the period end (monthly plans too, for expiring cards)', () => {
  const r = tick(dueAt(activeState(), T0), T0);
  assert.deepEqual(r.effects, []);
  assert.equal(r.created_invoice, null);
  assert.deepEqual(next(r), { at: ms(PERIOD_END, -NOTICE), action: 'renew' });
});

test('at the period end the renewal bills the next period (invoice.created with its amount, currency and period) and charges the card once, looked up after the lease', () => {
  const r = tick(activeState(), PERIOD_END);
  const inv = r.created_invoice!;
  assert.match(inv.id, /^inv_/);
  assert.deepEqual(inv, {
    id: inv.id, account_id: 'acct_1', subscription_id: 'sub_1', plan_id: 'pro', amount: 2900, currency: 'EUR',
    period_start: PERIOD_END, period_end: NEXT_PERIOD_END, status: 'open', created_at: PERIOD_END, paid_at: null,
    kind: 'renewal', interval: 'month', failed_at: null, reminders_sent: [],
  });
  const [a] = r.state.attempts;
  assert.match(a.id, /^att_/);
  assert.deepEqual(r.effects.filter((e) => e.type !== 'event'), [{ type: 'charge', attempt: a }]);
  assert.deepEqual(events(r), [
    { type: 'invoice.created', data: { invoice_id: inv.id, amount: 2900, currency: 'EUR', period_start: PERIOD_END, period_end: NEXT_PERIOD_END } },
    { type: 'payment_attempt.started', data: { invoice_id: inv.id, attempt_id: a.id, number: 1, trigger: 'scheduled', payment_method_id: 'pm_1' } },
  ]);
  assert.deepEqual(next(r), { at: ms(PERIOD_END, LEASE), action: 'retry' });
});

test('a scheduled plan change renews at the new plan\'s price in the account\'s currency and the subscription\'s interval', () => {
  const team: Plan = { id: 'team', name: 'Team', free: false, prices: [
    { currency: 'USD', interval: 'month', amount: 3500 },
    { currency: 'EUR', interval: 'year', amount: 39000 },
    { currency: 'EUR', interval: 'month', amount: 3900 },
  ] };
  const s: BillingState = { ...activeState({ subscription: { scheduled_plan_id: 'team', scheduled_interval: 'month' } }), scheduled_plan: team };
  const r = tick(s, PERIOD_END);
  assert.equal(r.created_invoice?.plan_id, 'team');
  assert.equal(r.created_invoice?.amount, 3900);
  assert.equal(r.created_invoice?.currency, 'EUR');
  const created = events(r).find((e) => e.type === 'invoice.created');
  assert.deepEqual(created?.data, { invoice_id: r.created_invoice!.id, amount: 3900, currency: 'EUR', period_start: PERIOD_END, period_end: NEXT_PERIOD_END });
});

test('a plan with no price in the account\'s currency for the subscription\'s interval cannot renew: renewal.no_price, then the downgrade to free (no invoice, no charge)', () => {
  const plan: Plan = { id: 'pro', name: 'Pro', free: false, prices: [
    { currency: 'EUR', interval: 'year', amount: 29000 },
    { currency: 'USD', interval: 'month', amount: 2900 },
  ] };
  const r = tick(activeState({ plan }), PERIOD_END);
  assert.equal(r.created_invoice, null);
  assert.deepEqual(events(r), [
    { type: 'renewal.no_price', data: { plan_id: 'pro', currency: 'EUR', interval: 'month' } },
    { type: 'subscription.downgraded', data: { from_plan_id: 'pro', to_plan_id: 'free', invoice_id: null } },
  ]);
  assert.deepEqual(emails(r), [{ template: 'downgraded', dedupe_key: `downgraded:sub_1:${PERIOD_END.toISOString()}`, data: { invoice_id: null } }]);
  assert.equal(r.effects.length, 3);
  assert.equal(r.state.subscription.status, 'downgraded');
  assert.deepEqual(next(r), { at: null, action: null });
});

test('auto-renew off: at the period end the subscription is canceled to free (subscription.canceled with the plan and the period end); no charge, no mail', () => {
  const r = tick(activeState({ subscription: { auto_renew: false, next_action: 'expire' } }), PERIOD_END);
  assert.deepEqual(r.effects, [{ type: 'event', event_type: 'subscription.canceled', data: { plan_id: 'pro', period_end: PERIOD_END } }]);
  assert.equal(r.state.subscription.status, 'canceled');
  assert.equal(r.state.subscription.plan_id, 'free');
  assert.deepEqual(next(r), { at: null, action: null });
});

test('the free plan never renews and hears of no renewal: nothing to do before, on the notice day or at its period end', () => {
  const s = activeState({ plan: FREE, subscription: { interval: 'year', current_period_end: YEAR_END } });
  for (const at of [T0, ms(YEAR_END, -NOTICE), YEAR_END]) {
    const r = tick(dueAt(s, at), at);
    assert.deepEqual(r.effects, [], at.toISOString());
    assert.equal(r.state.subscription.status, 'active');
    assert.deepEqual(next(r), { at: null, action: null }, at.toISOString());
  }
});

// ---- notices before the renewal ----

test('a yearly plan\'s customer is told 7 days before the renewal (renewal_upcoming, one per period by its dedupe key), not a moment earlier; then the renewal waits for the period end', () => {
  const notice = ms(YEAR_END, -NOTICE);
  const early = tick(yearly({ next_action_at: ms(notice, -1) }), ms(notice, -1));
  assert.deepEqual(early.effects, []);
  assert.deepEqual(next(early), { at: notice, action: 'renew' });
  const r = tick(yearly({ next_action_at: notice }), notice);
  assert.deepEqual(emails(r), [{ template: 'renewal_upcoming', dedupe_key: `renewal_upcoming:sub_1:${YEAR_END.toISOString()}`, data: { period_end: YEAR_END } }]);
  assert.equal(r.effects.length, 1);
  assert.deepEqual(next(r), { at: YEAR_END, action: 'renew' });
});

test('a monthly plan\'s customer is not told of the renewal', () => {
  const notice = ms(PERIOD_END, -NOTICE);
  const r = tick(dueAt(activeState(), notice), notice);
  assert.deepEqual(r.effects, []);
  assert.deepEqual(next(r), { at: PERIOD_END, action: 'renew' });
});

test('auto-renew off: no renewal notice and no expiring-card notice; the period end is when it expires', () => {
  const notice = ms(YEAR_END, -NOTICE);
  const s = withCard(yearly({ auto_renew: false, next_action_at: notice }), { ...card('pm_1'), exp_month: 1, exp_year: 2026 });
  const r = tick(s, notice);
  assert.deepEqual(r.effects, []);
  assert.deepEqual(next(r), { at: YEAR_END, action: 'expire' });
});

test('a card that expires by the period end: the customer is told 7 days before (card_expiring, one per period), monthly plans too', () => {
  const notice = ms(PERIOD_END, -NOTICE);
  const s = withCard(dueAt(activeState(), notice), { ...card('pm_1'), exp_month: 1, exp_year: 2026 });
  const r = tick(s, notice);
  assert.deepEqual(emails(r), [{ template: 'card_expiring', dedupe_key: `card_expiring:sub_1:${PERIOD_END.toISOString()}`, data: { period_end: PERIOD_END } }]);
  assert.equal(r.effects.length, 1);
  assert.deepEqual(next(r), { at: PERIOD_END, action: 'renew' });
});

test('a card is valid through its expiry month: for a renewal at 1 March 00:00 UTC a February card is expiring, a March card is not', () => {
  const end = new Date('2026-03-01T00:00:00Z');
  const notice = ms(end, -NOTICE);
  const s = activeState({ subscription: { current_period_end: end, next_action_at: notice } });
  const feb = tick(withCard(s, { ...card('pm_1'), exp_month: 2, exp_year: 2026 }), notice);
  assert.deepEqual(emails(feb).map((m) => m.template), ['card_expiring']);
  const mar = tick(withCard(s, { ...card('pm_1'), exp_month: 3, exp_year: 2026 }), notice);
  assert.deepEqual(mar.effects, []);
});

test('a card with no known expiry (year or month missing), or no card at all, gets no expiring-card notice', () => {
  const notice = ms(PERIOD_END, -NOTICE);
  const s = dueAt(activeState(), notice);
  for (const pm of [{ ...card('pm_1'), exp_month: 12, exp_year: null }, { ...card('pm_1'), exp_month: null, exp_year: 2026 }, null]) {
    const r = tick(withCard(s, pm), notice);
    assert.deepEqual(r.effects, [], JSON.stringify(pm));
    assert.deepEqual(next(r), { at: PERIOD_END, action: 'renew' });
  }
});

// ---- an attempt in flight ----

test('an unanswered charge is not looked up within its lease (the next look is a lease later), and is reconciled by its key once the lease has passed', () => {
  const r1 = tick(activeState(), PERIOD_END);
  const [a] = r1.state.attempts;
  const early = tick(dueAt(r1.state, ms(PERIOD_END, 60_000)), ms(PERIOD_END, 60_000));
  assert.deepEqual(early.effects, []);
  assert.deepEqual(next(early), { at: ms(PERIOD_END, 60_000 + LEASE), action: 'retry' });
  const late = tick(r1.state, ms(PERIOD_END, LEASE));
  assert.deepEqual(late.effects, [{ type: 'reconcile', attempt: a }]);
  assert.deepEqual(next(late), { at: ms(PERIOD_END, 2 * LEASE), action: 'retry' });
});

/** Past due for authentication; the customer starts authenticating at `t`. */
function authenticating(t: Date) {
  const past = renewed(auth);
  assert.equal(past.state.subscription.status, 'past_due');
  const r = step(past.state, { type: 'authentication_requested' }, t, ctx);
  const a = r.state.attempts.at(-1)!;
  assert.equal(a.trigger, 'customer_authentication');
  assert.deepEqual(next(r), { at: ms(t, AUTHENTICATION_WINDOW_MS), action: 'retry' });
  return { r, a };
}

test('an authentication attempt waits for the customer for its whole window (a tick inside it neither reconciles nor moves the wait), and is reconciled when it ends', () => {
  const t = ms(PERIOD_END, HOUR);
  const { r, a } = authenticating(t);
  const inside = tick(dueAt(r.state, ms(t, 5 * 60_000)), ms(t, 5 * 60_000));
  assert.deepEqual(inside.effects, []);
  assert.deepEqual(next(inside), { at: ms(t, AUTHENTICATION_WINDOW_MS), action: 'retry' });
  const end = ms(t, AUTHENTICATION_WINDOW_MS);
  const over = tick(r.state, end);
  assert.deepEqual(over.effects, [{ type: 'reconcile', attempt: a }]);
  assert.deepEqual(next(over), { at: ms(end, LEASE), action: 'retry' });
});

test('an attempt whose outcome is unknown is reconciled at once, an authentication one too (its customer is gone), then looked at a lease later', () => {
  const t = ms(PERIOD_END, HOUR);
  const { r, a } = authenticating(t);
  const u = step(r.state, { type: 'charge_result', attempt_id: a.id, result: unknown }, ms(t, 60_000), ctx);
  assert.deepEqual(next(u), { at: ms(t, 60_000 + LEASE), action: 'retry' });
  const at = ms(t, 60_000 + LEASE);
  const rec = tick(u.state, at);
  assert.deepEqual(rec.effects, [{ type: 'reconcile', attempt: u.state.attempts.at(-1)! }]);
  assert.deepEqual(next(rec), { at: ms(at, LEASE), action: 'retry' });
});

test('a rate-limited charge is not made before the gateway\'s wait is over (the tick waits for it), then made again with its key and reconciled after the lease', () => {
  const r1 = tick(activeState(), PERIOD_END);
  const [a] = r1.state.attempts;
  const limited = step(r1.state, { type: 'charge_result', attempt_id: a.id, result: rateLimited(60_000) }, PERIOD_END, ctx);
  const notBefore = ms(PERIOD_END, 60_000);
  assert.deepEqual(next(limited), { at: notBefore, action: 'retry' });
  const early = tick(dueAt(limited.state, ms(PERIOD_END, 30_000)), ms(PERIOD_END, 30_000));
  assert.deepEqual(early.effects, []);
  assert.deepEqual(next(early), { at: notBefore, action: 'retry' });
  const made = tick(limited.state, notBefore);
  assert.deepEqual(made.effects, [{ type: 'charge', attempt: { ...a, raw_code: null, not_before: null } }]);
  assert.deepEqual(next(made), { at: ms(notBefore, LEASE), action: 'retry' });
});

// ---- no card ----

test('a renewal with no card to charge fails at once as a decline would: payment_attempt.skipped, past due with grace, the failure mail', () => {
  const r = tick(withCard(activeState(), null), PERIOD_END);
  const inv = r.created_invoice!;
  assert.deepEqual(r.state.attempts, []);
  assert.ok(!r.effects.some((e) => e.type === 'charge'));
  assert.deepEqual(events(r).slice(1, 3), [
    { type: 'payment_attempt.skipped', data: { invoice_id: inv.id, why: 'no_payment_method' } },
    { type: 'subscription.past_due', data: { invoice_id: inv.id, reason: null, grace_ends_at: GRACE_END } },
  ]);
  assert.deepEqual(emails(r), [{ template: 'renewal_failed', dedupe_key: `renewal_failed:${inv.id}`, data: { reason: null, invoice_id: inv.id, grace_ends_at: GRACE_END } }]);
  assert.equal(r.state.subscription.status, 'past_due');
  assert.equal(r.state.invoice?.status, 'past_due');
});

// ---- grace ----

test('past due with auto-renew off (a cancel that waited for an attempt in flight): the next tick ends it now: invoice voided, canceled to free by the customer, the cancel mail', () => {
  const past = renewed(funds);
  const inv = past.state.invoice!;
  const s: BillingState = { ...past.state, subscription: { ...past.state.subscription, auto_renew: false } };
  const now = s.subscription.next_action_at!;
  const r = tick(s, now);
  assert.deepEqual(events(r), [
    { type: 'invoice.voided', data: { invoice_id: inv.id, reason: 'canceled' } },
    { type: 'subscription.canceled', data: { from_plan_id: 'pro', to_plan_id: 'free', invoice_id: inv.id, by: 'customer', immediate: true } },
  ]);
  assert.deepEqual(emails(r), [{ template: 'subscription_canceled', dedupe_key: `subscription_canceled:sub_1:${now.toISOString()}`, data: { invoice_id: inv.id } }]);
  assert.equal(r.effects.length, 3);
  assert.equal(r.state.subscription.status, 'canceled');
});

test('grace reminders: 7 and 2 days before grace ends, with the days left (rounded up), each recorded once (dunning.reminder_sent); then grace ends', () => {
  const past = renewed(expired); // waiting for a new card: no retry planned
  const inv = past.state.invoice!;
  assert.deepEqual(next(past), { at: REMIND_7, action: 'remind' });
  const late = ms(REMIND_7, 3 * HOUR); // 6 days 21 hours left: 7
  const r7 = tick(past.state, late);
  assert.deepEqual(emails(r7), [{
    template: 'grace_ending', dedupe_key: `grace_ending:${inv.id}:7`,
    data: { days_left: 7, grace_ends_at: GRACE_END, invoice_id: inv.id, downgrade_paused: false, next_retry_at: null, next_retry_why: 'waiting_for_customer' },
  }]);
  assert.deepEqual(events(r7), [{ type: 'dunning.reminder_sent', data: { invoice_id: inv.id, days_before_grace_end: 7, days_left: 7 } }]);
  assert.deepEqual(r7.state.invoice?.reminders_sent, [7]);
  assert.deepEqual(next(r7), { at: REMIND_2, action: 'remind' });
  const again = tick(dueAt(r7.state, ms(late, HOUR)), ms(late, HOUR));
  assert.deepEqual(again.effects, [], 'the 7-day reminder goes out once');
  const r2 = tick(r7.state, REMIND_2);
  assert.deepEqual(events(r2), [{ type: 'dunning.reminder_sent', data: { invoice_id: inv.id, days_before_grace_end: 2, days_left: 2 } }]);
  assert.deepEqual(emails(r2).map((m) => m.dedupe_key), [`grace_ending:${inv.id}:2`]);
  assert.deepEqual(next(r2), { at: GRACE_END, action: 'end_grace' });
});

test('a reminder whose day had passed when the renewal failed is not sent afterwards', () => {
  const failedAt = new Date('2026-03-08T09:00:00Z'); // the renewal ran late, after the 7-day reminder's day
  const past = renewed(funds, failedAt);
  assert.equal(past.state.invoice?.failed_at?.getTime(), failedAt.getTime());
  assert.deepEqual(next(past), { at: ms(failedAt, DAY), action: 'retry' });
  const r = tick(past.state, ms(failedAt, DAY));
  assert.deepEqual(emails(r), []);
  assert.deepEqual(r.state.invoice?.reminders_sent, []);
  assert.ok(r.effects.some((e) => e.type === 'charge'), 'the scheduled retry is made');
});

test('the retry plan is announced (dunning.retry_planned) when its time or its reason changed, and only then; the next action is the retry', () => {
  const past = renewed(funds);
  const inv = past.state.invoice!;
  const retryAt = ms(PERIOD_END, DAY);
  assert.deepEqual({ at: past.state.subscription.next_retry_at, why: past.state.subscription.next_retry_why }, { at: retryAt, why: 'scheduled_retry' });
  const now = ms(PERIOD_END, HOUR);
  const at = (sub: Partial<BillingState['subscription']>) => tick({ ...past.state, subscription: { ...past.state.subscription, ...sub, next_action_at: now } }, now);
  const same = at({});
  assert.deepEqual(same.effects, []);
  assert.deepEqual(next(same), { at: retryAt, action: 'retry' });
  const planned = [{ type: 'dunning.retry_planned', data: { invoice_id: inv.id, next_retry_at: retryAt, why: 'scheduled_retry' } }];
  assert.deepEqual(events(at({ next_retry_why: 'network_advice_delay' })), planned, 'the reason changed');
  assert.deepEqual(events(at({ next_retry_at: ms(retryAt, DAY) })), planned, 'the time changed');
});

test('a retry held by an incident is looked at again one detection window later (next action: retry)', () => {
  const r1 = tick(activeState(), PERIOD_END);
  const incident = { id: 'inc_1', scope: 'gateway', opened_at: ms(PERIOD_END, -10 * 60_000) };
  const r = step({ ...r1.state, incident }, { type: 'charge_result', attempt_id: r1.state.attempts[0].id, result: technical }, PERIOD_END, ctx);
  assert.equal(r.state.subscription.next_retry_why, 'incident');
  assert.deepEqual(next(r), { at: ms(PERIOD_END, DEFAULT_POLICY.incidents.window_minutes * 60_000), action: 'retry' });
});

test('the customer\'s chosen day is kept when the backup card is charged before it: only the attempt made on that day uses it', () => {
  const past = renewed(funds);
  const inv = past.state.invoice!;
  const chosen = new Date('2026-03-05T12:00:00Z');
  const c = step(past.state, { type: 'retry_date_chosen', at: chosen }, ms(PERIOD_END, HOUR), ctx);
  assert.equal(c.refused, null);
  // Mar 2: the customer's Retry finds the card refused for good; the backup (its 24-hour decline cap
  // full since midnight) is planned for when the cap allows it, before the chosen day.
  const retryAt = new Date('2026-03-02T09:00:00Z');
  const midnight = new Date('2026-03-02T00:00:00Z');
  const backup = { ...backupCard(), card_attempts: Array.from({ length: DEFAULT_POLICY.caps.declines_per_card_24h }, (_, i) => ({ at: ms(midnight, i * HOUR), outcome: 'declined' as const })) };
  const r1 = step({ ...c.state, backup }, { type: 'retry_requested', trigger: 'customer_retry' }, retryAt, ctx);
  const a1 = r1.state.attempts.at(-1)!;
  const r2 = step(r1.state, { type: 'charge_result', attempt_id: a1.id, result: lost }, retryAt, ctx);
  const backupAt = ms(midnight, DAY + 1);
  assert.deepEqual({ at: r2.state.subscription.next_retry_at, why: r2.state.subscription.next_retry_why }, { at: backupAt, why: 'backup_card' });
  assert.deepEqual(next(r2), { at: backupAt, action: 'retry' });
  const r3 = tick(r2.state, backupAt);
  const a3 = r3.state.attempts.at(-1)!;
  assert.deepEqual(events(r3), [{ type: 'payment_attempt.started', data: { invoice_id: inv.id, attempt_id: a3.id, number: 3, trigger: 'scheduled', payment_method_id: 'pm_b', backup: true } }]);
  assert.equal(r3.state.subscription.chosen_retry_at?.getTime(), chosen.getTime());
});

test('a past-due subscription with nothing to collect (no invoice, or no grace end) waits for nothing', () => {
  const past = renewed(funds);
  const now = past.state.subscription.next_action_at!;
  for (const s of [{ ...past.state, invoice: null, attempts: [] }, { ...past.state, subscription: { ...past.state.subscription, grace_ends_at: null } }]) {
    const r = tick(s, now);
    assert.deepEqual(r.effects, []);
    assert.deepEqual(next(r), { at: null, action: null });
  }
});
