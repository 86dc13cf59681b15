// What the customer's (or an operator's) own actions do (core/machine.ts cancel, closeUnsent, resume,
// endNow, customerAction, inGrace, replanGrace), stated exactly: a cancel (at the period end, now, in
// grace, while a charge is at the gateway or waits out a 429), a resume, a new card and the Retry
// button (what is refused, what is charged), and a help request while a charge is at the gateway.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { step, type BillingState, type MachineEvent } from '../../src/core/machine.ts';
import type { Plan } from '../../src/core/types.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import { LEASE, NEXT_PERIOD_END, NOTICE, PERIOD_END, T0, activeState, answerLast as answer, card, ctx, events, funds, lost, ms, next, ok, rateLimited, renewed } from '../helpers/billing-state.ts';

const on = (s: BillingState, ev: MachineEvent, now: Date) => step(s, ev, now, ctx);
const sub = (s: BillingState, fields: Partial<BillingState['subscription']>): BillingState => ({ ...s, subscription: { ...s.subscription, ...fields } });
const retry = { type: 'retry_requested', trigger: 'customer_retry' } as const;
const operator = { type: 'retry_requested', trigger: 'operator' } as const;
const newCard = { type: 'payment_method_updated' } as const;
/** The account's card replaced by `id` (its own history, empty: as the store loads it). */
const withCard = (s: BillingState, id: string | null): BillingState => ({ ...s, payment_method: id ? card(id) : null, card_attempts: [] });

/** The renewal's charge at the gateway (in flight since PERIOD_END). */
const renewing = () => on(activeState(), { type: 'tick' }, PERIOD_END).state;
/** The renewal's charge answered with a 429: waiting until PERIOD_END + 1 min, nothing made yet. */
const renewalWaiting = () => answer(renewing(), rateLimited(60_000), PERIOD_END).state;
/** Past due since PERIOD_END (funds), a cancel waiting to take effect and nothing in flight: the next tick would end it. */
const cancelWaiting = () => sub(renewed(funds).state, { auto_renew: false, next_retry_at: null, next_retry_why: null });

// ---- cancel ----

test('a period-end cancel of an active subscription: auto-renew off, any scheduled plan change dropped, cancel_scheduled with the period end and who asked, the cancel mail (one per period end) with access until then; it expires then', () => {
  const s = activeState({ subscription: { scheduled_plan_id: 'team', scheduled_interval: 'month' } });
  const r = on(s, { type: 'cancel', at: 'period_end', by: 'operator' }, ms(T0, DAY));
  assert.deepEqual(r.effects, [
    { type: 'event', event_type: 'subscription.cancel_scheduled', data: { cancel_at: PERIOD_END, by: 'operator' } },
    { type: 'email', template: 'subscription_canceled', dedupe_key: `subscription_canceled:sub_1:${PERIOD_END.toISOString()}`, data: { access_until: PERIOD_END } },
  ]);
  assert.deepEqual([r.state.subscription.auto_renew, r.state.subscription.scheduled_plan_id, r.state.subscription.status], [false, null, 'active']);
  assert.deepEqual(next(r), { at: PERIOD_END, action: 'expire' });
});

test('a cancel now of an active subscription: canceled to free at once by who asked (immediate, no invoice), the cancel mail keyed by the moment', () => {
  const now = ms(T0, DAY);
  const r = on(activeState(), { type: 'cancel', at: 'now', by: 'operator' }, now);
  assert.deepEqual(r.effects, [
    { type: 'event', event_type: 'subscription.canceled', data: { from_plan_id: 'pro', to_plan_id: 'free', invoice_id: null, by: 'operator', immediate: true } },
    { type: 'email', template: 'subscription_canceled', dedupe_key: `subscription_canceled:sub_1:${now.toISOString()}`, data: { invoice_id: null } },
  ]);
  const s = r.state.subscription;
  assert.deepEqual([s.status, s.plan_id, s.auto_renew, s.grace_ends_at, s.next_retry_at, s.next_retry_why], ['canceled', 'free', false, null, null, null]);
  assert.deepEqual(next(r), { at: null, action: null });
});

test('a cancel in grace stops collection at once: the invoice voided (reason canceled), canceled to free naming that invoice, the cancel mail with it', () => {
  const past = renewed(funds).state;
  const inv = past.invoice!;
  const now = ms(PERIOD_END, DAY);
  const r = on(past, { type: 'cancel', at: 'period_end' }, now);
  assert.deepEqual(r.effects, [
    { type: 'event', event_type: 'invoice.voided', data: { invoice_id: inv.id, reason: 'canceled' } },
    { type: 'event', event_type: 'subscription.canceled', data: { from_plan_id: 'pro', to_plan_id: 'free', invoice_id: inv.id, by: 'customer', immediate: true } },
    { type: 'email', template: 'subscription_canceled', dedupe_key: `subscription_canceled:sub_1:${now.toISOString()}`, data: { invoice_id: inv.id } },
  ]);
  assert.equal(r.updated_invoice?.status, 'void');
  assert.deepEqual([r.state.invoice, r.state.attempts, r.state.subscription.grace_ends_at], [null, [], null]);
});

test('a cancel while the renewal\'s charge is at the gateway waits for its answer (cancel_requested with the invoice; the next action stays the lookup); asked again, nothing more; paid, the payment is kept to the new period\'s end, then it ends', () => {
  const s = renewing();
  const inv = s.invoice!;
  const c = on(s, { type: 'cancel', at: 'period_end' }, ms(PERIOD_END, 1000));
  assert.deepEqual(events(c), [{ type: 'subscription.cancel_requested', data: { at: 'period_end', by: 'customer', why: 'payment_in_flight', invoice_id: inv.id } }]);
  assert.equal(c.effects.length, 1);
  assert.deepEqual([c.state.subscription.auto_renew, c.state.subscription.status], [false, 'active']);
  assert.deepEqual(next(c), { at: ms(PERIOD_END, LEASE), action: 'retry' });
  const again = on(c.state, { type: 'cancel', at: 'now', by: 'operator' }, ms(PERIOD_END, 2000));
  assert.deepEqual(again.effects, []);
  assert.deepEqual(again.state.subscription, c.state.subscription);

  const paid = answer(c.state, ok, ms(PERIOD_END, 3000));
  assert.deepEqual(paid.effects.slice(3), [
    { type: 'event', event_type: 'subscription.cancel_scheduled', data: { cancel_at: NEXT_PERIOD_END, by: 'customer', why: 'payment_in_flight_succeeded', invoice_id: inv.id } },
    { type: 'email', template: 'subscription_canceled', dedupe_key: `subscription_canceled:sub_1:${NEXT_PERIOD_END.toISOString()}`, data: { access_until: NEXT_PERIOD_END, paid_amount: 2900, currency: 'EUR' } },
  ]);
  assert.deepEqual(paid.effects.slice(0, 3).map((e) => (e.type === 'email' ? e.template : e.type === 'event' ? e.event_type : e.type)), ['invoice.paid', 'subscription.renewed', 'renewal_succeeded']);
  assert.equal(paid.effects.length, 5);
  assert.deepEqual([paid.state.subscription.status, paid.state.subscription.auto_renew, paid.state.subscription.current_period_end], ['active', false, NEXT_PERIOD_END]);
  assert.deepEqual(next(paid), { at: NEXT_PERIOD_END, action: 'expire' });
});

test('a cancel while the renewal waits out a 429 closes that attempt unsent (not_made, why canceled_while_rate_limited) and takes effect as if nothing were in flight; its entry leaves the card\'s history', () => {
  const s = renewalWaiting();
  const a = s.attempts[0];
  const inv = s.invoice!;
  assert.deepEqual(s.card_attempts, [{ at: PERIOD_END, outcome: 'pending' }]);
  const now = ms(PERIOD_END, 30_000);
  const r = on(s, { type: 'cancel', at: 'period_end' }, now);
  assert.deepEqual(events(r), [
    { type: 'payment_attempt.not_made', data: { invoice_id: inv.id, attempt_id: a.id, why: 'canceled_while_rate_limited' } },
    { type: 'invoice.voided', data: { invoice_id: inv.id, reason: 'canceled' } },
    { type: 'subscription.canceled', data: { from_plan_id: 'pro', to_plan_id: 'free', invoice_id: inv.id, by: 'customer', immediate: true } },
  ]);
  assert.deepEqual(r.changed_attempts, [{ ...a, outcome: 'not_made', raw_code: 'rate_limited', not_before: null, completed_at: now }]);
  assert.deepEqual(r.state.card_attempts, []);
  assert.equal(r.state.subscription.status, 'canceled');
});

test('the unsent attempt\'s entry is the one taken out of the card\'s history (older entries stay); with none there (a new card saved meanwhile), that card\'s history is untouched', () => {
  const s = renewalWaiting();
  const older = { at: ms(PERIOD_END, -20 * DAY), outcome: 'declined' as const };
  const r = on({ ...s, card_attempts: [older, ...s.card_attempts] }, { type: 'cancel', at: 'now' }, ms(PERIOD_END, 30_000));
  assert.deepEqual(r.state.card_attempts, [older]);
  // The customer saved pm_2 while the renewal (on pm_1) waited: pm_2's history has no entry of it.
  const saved = on({ ...s, payment_method: card('pm_2'), card_attempts: [older] }, newCard, ms(PERIOD_END, 10_000));
  assert.ok(!saved.effects.some((e) => e.type === 'charge'), 'an active subscription: the new card charges nothing');
  const c = on(saved.state, { type: 'cancel', at: 'now' }, ms(PERIOD_END, 30_000));
  assert.deepEqual(c.state.card_attempts, [older]);
  assert.equal(c.changed_attempts[0].outcome, 'not_made');
});

test('a period-end cancel while a plan change\'s charge waits out a 429 waits for that charge like any charge at the gateway (only a renewal\'s is closed unsent)', () => {
  const BIZ: Plan = { id: 'biz', name: 'Business', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 7900 }] };
  const t = ms(T0, 10 * DAY);
  const change = on(activeState(), { type: 'change_plan', plan: BIZ, interval: 'month' }, t);
  const inv = change.created_invoice!;
  assert.equal(inv.kind, 'proration');
  const waiting = answer(change.state, rateLimited(60_000), t).state;
  const r = on(waiting, { type: 'cancel', at: 'period_end' }, ms(t, 10_000));
  assert.deepEqual(events(r), [{ type: 'subscription.cancel_requested', data: { at: 'period_end', by: 'customer', why: 'payment_in_flight', invoice_id: inv.id } }]);
  assert.deepEqual(r.changed_attempts, []);
  assert.deepEqual([r.state.attempts[0].outcome, r.state.invoice?.id, r.state.subscription.status], ['pending', inv.id, 'active']);
});

// ---- resume ----

test('a resume undoes a period-end cancel: auto-renew on, subscription.resumed with who asked and the period end, the renewal planned again (the notice day first)', () => {
  const canceled = on(activeState(), { type: 'cancel', at: 'period_end' }, ms(T0, DAY)).state;
  const r = on(canceled, { type: 'resume', by: 'operator' }, ms(T0, 2 * DAY));
  assert.deepEqual(r.effects, [{ type: 'event', event_type: 'subscription.resumed', data: { by: 'operator', period_end: PERIOD_END } }]);
  assert.equal(r.state.subscription.auto_renew, true);
  assert.deepEqual(next(r), { at: ms(PERIOD_END, -NOTICE), action: 'renew' });
});

test('a resume while the renewal\'s charge is at the gateway: auto-renew on, and the next action stays the charge\'s lookup (its answer plans)', () => {
  const c = on(renewing(), { type: 'cancel', at: 'period_end' }, ms(PERIOD_END, 1000)).state;
  const r = on(c, { type: 'resume' }, ms(PERIOD_END, 2000));
  assert.deepEqual(r.effects, [{ type: 'event', event_type: 'subscription.resumed', data: { by: 'customer', period_end: PERIOD_END } }]);
  assert.equal(r.state.subscription.auto_renew, true);
  assert.deepEqual(next(r), { at: ms(PERIOD_END, LEASE), action: 'retry' });
});

test('a resume in grace of a cancel waiting to take effect (nothing in flight) plans the retries again: dunning.retry_planned, the retry next', () => {
  const s = cancelWaiting();
  const inv = s.invoice!;
  const r = on(s, { type: 'resume' }, ms(PERIOD_END, HOUR));
  const retryAt = ms(PERIOD_END, DAY);
  assert.deepEqual(events(r), [
    { type: 'subscription.resumed', data: { by: 'customer', period_end: PERIOD_END } },
    { type: 'dunning.retry_planned', data: { invoice_id: inv.id, next_retry_at: retryAt, why: 'scheduled_retry' } },
  ]);
  assert.deepEqual([r.state.subscription.auto_renew, r.state.subscription.status], [true, 'past_due']);
  assert.deepEqual(next(r), { at: retryAt, action: 'retry' });
});

test('a resume of a past-due subscription with nothing to collect (no invoice) plans nothing', () => {
  const s = { ...cancelWaiting(), invoice: null, attempts: [] };
  const r = on(s, { type: 'resume' }, ms(PERIOD_END, HOUR));
  assert.deepEqual(events(r).map((e) => e.type), ['subscription.resumed']);
  assert.deepEqual(next(r), { at: s.subscription.next_action_at, action: s.subscription.next_action });
});

// ---- a new card, the Retry button ----

test('a new card on an active subscription: payment_method.updated with the card, nothing charged, the next look planned again (the notice day)', () => {
  const r = on(withCard(activeState(), 'pm_2'), newCard, ms(T0, DAY));
  assert.deepEqual(r.effects, [{ type: 'event', event_type: 'payment_method.updated', data: { payment_method_id: 'pm_2' } }]);
  assert.deepEqual(next(r), { at: ms(PERIOD_END, -NOTICE), action: 'renew' });
  // The card removed: the event says none.
  const removed = on(withCard(activeState(), null), newCard, ms(T0, DAY));
  assert.deepEqual(removed.effects, [{ type: 'event', event_type: 'payment_method.updated', data: { payment_method_id: null } }]);
});

test('a Retry on an active subscription does nothing: no event, the next action as it was', () => {
  const s = activeState();
  const r = on(s, retry, ms(T0, DAY));
  assert.deepEqual(r.effects, []);
  assert.deepEqual(r.state.subscription, s.subscription);
});

test('a new card in grace is charged at once: payment_method.updated, then the attempt on it (trigger payment_method_updated)', () => {
  const past = renewed(funds).state;
  const r = on(withCard(past, 'pm_2'), newCard, ms(PERIOD_END, HOUR));
  const a = r.state.attempts.at(-1)!;
  assert.deepEqual(events(r), [
    { type: 'payment_method.updated', data: { payment_method_id: 'pm_2' } },
    { type: 'payment_attempt.started', data: { invoice_id: past.invoice!.id, attempt_id: a.id, number: 2, trigger: 'payment_method_updated', payment_method_id: 'pm_2' } },
  ]);
  assert.deepEqual(r.effects.filter((e) => e.type === 'charge'), [{ type: 'charge', attempt: a }]);
});

test('past due with nothing to collect (no invoice): a new card or a Retry charges nothing', () => {
  const s = { ...renewed(funds).state, invoice: null, attempts: [] };
  assert.deepEqual(on(withCard(s, 'pm_2'), newCard, ms(PERIOD_END, HOUR)).effects, [{ type: 'event', event_type: 'payment_method.updated', data: { payment_method_id: 'pm_2' } }]);
  assert.deepEqual(on(s, retry, ms(PERIOD_END, HOUR)).effects, []);
});

test('while a cancel waits to take effect in grace (auto-renew off), a new card or a Retry makes no attempt', () => {
  const s = cancelWaiting();
  assert.deepEqual(on(withCard(s, 'pm_2'), newCard, ms(PERIOD_END, HOUR)).effects, [{ type: 'event', event_type: 'payment_method.updated', data: { payment_method_id: 'pm_2' } }]);
  assert.deepEqual(on(s, retry, ms(PERIOD_END, HOUR)).effects, []);
  assert.deepEqual(on(s, operator, ms(PERIOD_END, HOUR)).effects, []);
});

/** Past due, the scheduled retry of PERIOD_END + 1 day (on pm_1) waiting out a 429 until a minute later. */
function retryWaiting() {
  const past = renewed(funds).state;
  const at = ms(PERIOD_END, DAY);
  const made = on(past, { type: 'tick' }, at).state;
  assert.equal(made.attempts.length, 2);
  return { s: answer(made, rateLimited(60_000), at).state, at };
}

test('a scheduled retry waiting out a 429 is sent early only for the customer on that same card: a new card saved meanwhile, or a Retry with no card on file, sends nothing', () => {
  const { s, at } = retryWaiting();
  const saved = on(withCard(s, 'pm_2'), newCard, ms(at, 10_000));
  assert.deepEqual(saved.effects, [{ type: 'event', event_type: 'payment_method.updated', data: { payment_method_id: 'pm_2' } }]);
  assert.deepEqual(next(saved), { at: ms(at, 60_000), action: 'retry' });
  assert.deepEqual(on(withCard(s, null), retry, ms(at, 10_000)).effects, []);
});

/** Past due since PERIOD_END; the customer's Retry pressed at `times`, each declined for funds. */
function pressed(times: Date[], s = renewed(funds).state) {
  for (const t of times) {
    const r = on(s, retry, t);
    assert.ok(r.effects.some((e) => e.type === 'charge'), `the press at ${t.toISOString()} is charged`);
    s = answer(r.state, funds, t).state;
  }
  return s;
}

test('the customer\'s Retry: three presses a day (the renewal\'s own scheduled attempt not counted); a fourth within 24 hours is refused (retry.refused with the reason), nothing charged; an operator\'s Retry is not held to that limit', () => {
  const s = pressed([1, 2, 3].map((h) => ms(PERIOD_END, h * HOUR)));
  const inv = s.invoice!;
  const t = ms(PERIOD_END, 4 * HOUR);
  const r = on(s, retry, t);
  assert.deepEqual(r.effects, [{ type: 'event', event_type: 'retry.refused', data: { invoice_id: inv.id, trigger: 'customer_retry', reason: 'rate_limited' } }]);
  assert.deepEqual(r.state.attempts, s.attempts);
  const op = on(s, operator, t);
  const a = op.state.attempts.at(-1)!;
  assert.deepEqual(events(op), [{ type: 'payment_attempt.started', data: { invoice_id: inv.id, attempt_id: a.id, number: 5, trigger: 'operator', payment_method_id: 'pm_1' } }]);
  assert.deepEqual(op.effects.filter((e) => e.type === 'charge'), [{ type: 'charge', attempt: a }]);
});

test('a press counts for 24 hours: exactly a day after the first of three, a fourth is charged', () => {
  const first = ms(PERIOD_END, HOUR);
  const s = pressed([first, ms(first, HOUR), ms(first, 2 * HOUR)]);
  const r = on(s, retry, ms(first, DAY));
  assert.deepEqual(r.effects.filter((e) => e.type === 'charge').map((e) => (e.type === 'charge' ? e.attempt.trigger : null)), ['customer_retry']);
});

test('a new card is charged even when the day\'s Retry presses are used up', () => {
  const s = pressed([1, 2, 3].map((h) => ms(PERIOD_END, h * HOUR)));
  const r = on(withCard(s, 'pm_2'), newCard, ms(PERIOD_END, 4 * HOUR));
  const charged = r.effects.flatMap((e) => (e.type === 'charge' ? [[e.attempt.payment_method_id, e.attempt.trigger]] : []));
  assert.deepEqual(charged, [['pm_2', 'payment_method_updated']]);
});

test('an operator\'s Retry passes the daily limit, not a hard decline: a card refused for good is refused to the operator too (needs_new_payment_method)', () => {
  const s = renewed(lost).state;
  const r = on(s, operator, ms(PERIOD_END, HOUR));
  assert.deepEqual(r.effects, [{ type: 'event', event_type: 'retry.refused', data: { invoice_id: s.invoice!.id, trigger: 'operator', reason: 'needs_new_payment_method' } }]);
});

// ---- a help request in grace ----

test('a help request while a Retry is at the gateway pauses the downgrade, and the next action stays that charge\'s lookup (its answer plans)', () => {
  const past = renewed(funds).state;
  const t = ms(PERIOD_END, HOUR);
  const flying = on(past, retry, t).state;
  const r = on(flying, { type: 'help_requested', invoice_id: past.invoice!.id }, ms(t, 1000));
  assert.deepEqual(events(r).map((e) => e.type), ['dunning.downgrade_paused']);
  assert.equal(r.effects.length, 1);
  assert.deepEqual(next(r), { at: ms(t, LEASE), action: 'retry' });
});

test('a help request on a past-due subscription with nothing to collect (no invoice, or no grace end) pauses nothing', () => {
  const past = renewed(funds).state;
  const now = ms(PERIOD_END, HOUR);
  for (const s of [{ ...past, invoice: null, attempts: [] }, sub(past, { grace_ends_at: null })]) {
    const r = on(s, { type: 'help_requested', invoice_id: past.invoice!.id }, now);
    assert.deepEqual(r.effects, []);
    assert.deepEqual(r.state.subscription, s.subscription);
  }
});
