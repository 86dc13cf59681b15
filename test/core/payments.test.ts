// What a payment's answer does to the subscription (core/machine.ts paid, newCardUntried, downgrade),
// stated exactly: a success (renewal on time, recovery in grace, purchase), a decline when no other
// card can be tried, and grace ending unpaid. Events with their data, e-mails with template, dedupe
// key and data, the subscription's and invoice's fields, and the next action the scheduler reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { step, type BillingState, type StepResult } from '../../src/core/machine.ts';
import type { Plan } from '../../src/core/types.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import { GRACE_END, NEXT_PERIOD_END, NOTICE, PERIOD_END, T0, activeState, answerLast as answer, ctx, emails, events, expired, funds, ms, next, ok, renewed } from '../helpers/billing-state.ts';

const FREE: Plan = { id: 'free', name: 'Free', free: true, prices: [] };
const PRO: Plan = { id: 'pro', name: 'Pro', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 2900 }, { currency: 'EUR', interval: 'year', amount: 29000 }] };

// ---- a success ----

test('a renewal paid on time: invoice paid, the period advances from the old end (period_index + 1, same anchor), invoice.paid and subscription.renewed with the new period, the renewal_succeeded receipt once per invoice; next look on the notice day', () => {
  const r = renewed(ok);
  const inv = r.updated_invoice!;
  const a = r.changed_attempts[0];
  assert.deepEqual([inv.status, inv.paid_at], ['paid', PERIOD_END]);
  assert.deepEqual(events(r), [
    { type: 'invoice.paid', data: { invoice_id: inv.id, attempt_id: a.id, amount: 2900, currency: 'EUR', recovered: false } },
    { type: 'subscription.renewed', data: { invoice_id: inv.id, plan_id: 'pro', period_start: PERIOD_END, period_end: NEXT_PERIOD_END, recovered: false } },
  ]);
  assert.deepEqual(emails(r), [{ template: 'renewal_succeeded', dedupe_key: `renewal_succeeded:${inv.id}`, data: { invoice_id: inv.id, amount: 2900, currency: 'EUR', period_end: NEXT_PERIOD_END } }]);
  assert.equal(r.effects.length, 3);
  const sub = r.state.subscription;
  assert.deepEqual(
    { status: sub.status, plan_id: sub.plan_id, interval: sub.interval, anchor: sub.billing_anchor, index: sub.period_index, start: sub.current_period_start, end: sub.current_period_end, auto_renew: sub.auto_renew },
    { status: 'active', plan_id: 'pro', interval: 'month', anchor: T0, index: 1, start: PERIOD_END, end: NEXT_PERIOD_END, auto_renew: true },
  );
  assert.deepEqual([r.state.invoice, r.state.attempts], [null, []]);
  assert.deepEqual(next(r), { at: ms(NEXT_PERIOD_END, -NOTICE), action: 'renew' });
});

test('a renewal recovered in grace: recovered in invoice.paid and subscription.renewed, the retry_succeeded receipt; the period still runs from the old end (no free days); grace, its retry plan, its pause and the chosen day are gone', () => {
  const past = renewed(funds).state;
  const inv = past.invoice!;
  const chosen = step(past, { type: 'retry_date_chosen', at: ms(PERIOD_END, 5 * DAY) }, ms(PERIOD_END, HOUR), ctx);
  assert.equal(chosen.refused, null);
  const paused = step(chosen.state, { type: 'help_requested', invoice_id: inv.id }, ms(PERIOD_END, 2 * HOUR), ctx).state;
  assert.ok(paused.subscription.grace_paused_at && paused.subscription.chosen_retry_at, 'paused, with a day chosen');
  const t = ms(PERIOD_END, 3 * DAY);
  const pressed = step(paused, { type: 'retry_requested', trigger: 'customer_retry' }, t, ctx).state;
  const r = answer(pressed, ok, t);
  const a = pressed.attempts.at(-1)!;
  assert.deepEqual(events(r), [
    { type: 'invoice.paid', data: { invoice_id: inv.id, attempt_id: a.id, amount: 2900, currency: 'EUR', recovered: true } },
    { type: 'subscription.renewed', data: { invoice_id: inv.id, plan_id: 'pro', period_start: PERIOD_END, period_end: NEXT_PERIOD_END, recovered: true } },
  ]);
  assert.deepEqual(emails(r), [{ template: 'retry_succeeded', dedupe_key: `retry_succeeded:${inv.id}`, data: { invoice_id: inv.id, amount: 2900, currency: 'EUR', period_end: NEXT_PERIOD_END } }]);
  const sub = r.state.subscription;
  assert.deepEqual(
    [sub.status, sub.period_index, sub.current_period_start, sub.current_period_end, sub.grace_ends_at, sub.next_retry_at, sub.next_retry_why],
    ['active', 1, PERIOD_END, NEXT_PERIOD_END, null, null, null],
  );
  assert.deepEqual([sub.grace_paused_at, sub.grace_pause_ms, sub.grace_pause_hold_ms, sub.chosen_retry_at], [null, 0, 0, null]);
  assert.deepEqual([r.updated_invoice?.status, r.updated_invoice?.paid_at], ['paid', t]);
  assert.deepEqual(next(r), { at: ms(NEXT_PERIOD_END, -NOTICE), action: 'renew' });
});

/** Downgraded to free, a card on file: the account can buy again. */
const downgraded = (): BillingState => activeState({ plan: FREE, subscription: { status: 'downgraded', plan_id: 'free', next_action_at: null, next_action: null } });

function bought(autoRenew: boolean | undefined, at: Date) {
  const r1 = step(downgraded(), { type: 'purchase', plan: PRO, interval: 'year', amount: 29000, auto_renew: autoRenew }, at, ctx);
  assert.equal(r1.created_invoice?.kind, 'purchase');
  return { inv: r1.created_invoice!, r: answer(r1.state, ok, at) };
}

test('a purchase paid starts something, it renews nothing: subscription.started, a fresh anchor at the invoice start (period 0), the purchase\'s plan and interval, the purchase_succeeded receipt; no cancel notice', () => {
  const at = new Date('2026-03-15T09:00:00Z');
  const { inv, r } = bought(undefined, at);
  assert.deepEqual([inv.period_start, inv.interval], [at, 'year']);
  const a = r.changed_attempts[0];
  assert.deepEqual(events(r), [
    { type: 'invoice.paid', data: { invoice_id: inv.id, attempt_id: a.id, amount: 29000, currency: 'EUR', recovered: false } },
    { type: 'subscription.started', data: { invoice_id: inv.id, plan_id: 'pro', period_start: at, period_end: inv.period_end, recovered: false } },
  ]);
  assert.deepEqual(emails(r), [{ template: 'purchase_succeeded', dedupe_key: `purchase_succeeded:${inv.id}`, data: { invoice_id: inv.id, amount: 29000, currency: 'EUR', period_end: inv.period_end } }]);
  assert.equal(r.effects.length, 3);
  const sub = r.state.subscription;
  assert.deepEqual(
    { status: sub.status, plan_id: sub.plan_id, interval: sub.interval, anchor: sub.billing_anchor, index: sub.period_index, start: sub.current_period_start, end: sub.current_period_end },
    { status: 'active', plan_id: 'pro', interval: 'year', anchor: at, index: 0, start: at, end: inv.period_end },
  );
  assert.deepEqual(next(r), { at: ms(inv.period_end, -NOTICE), action: 'renew' });
});

test('a purchase bought with auto-renew off is paid like any other (started, its receipt) with no cancel notice (that is for a renewal paid after a cancel); it expires at its period end', () => {
  const at = new Date('2026-03-15T09:00:00Z');
  const { inv, r } = bought(false, at);
  assert.deepEqual(events(r).map((e) => e.type), ['invoice.paid', 'subscription.started']);
  assert.deepEqual(emails(r).map((m) => m.dedupe_key), [`purchase_succeeded:${inv.id}`]);
  assert.equal(r.effects.length, 3);
  assert.equal(r.state.subscription.auto_renew, false);
  assert.deepEqual(next(r), { at: inv.period_end, action: 'expire' });
});

// ---- a decline with no other card ----

test('the card removed while its renewal charge was at the gateway: the decline starts grace and waits for a card (no other card to try at once)', () => {
  const r1 = step(activeState(), { type: 'tick' }, PERIOD_END, ctx);
  const inv = r1.created_invoice!;
  const r = answer({ ...r1.state, payment_method: null }, funds, PERIOD_END);
  assert.ok(!r.effects.some((e) => e.type === 'charge'));
  assert.deepEqual(events(r).slice(1), [
    { type: 'subscription.past_due', data: { invoice_id: inv.id, reason: 'insufficient_funds', grace_ends_at: GRACE_END } },
    { type: 'dunning.retry_planned', data: { invoice_id: inv.id, next_retry_at: null, why: 'no_payment_method' } },
  ]);
  assert.equal(r.state.subscription.status, 'past_due');
  assert.deepEqual(next(r), { at: new Date('2026-03-07T09:00:00Z'), action: 'remind' });
});

// ---- grace ends unpaid ----

test('unpaid when grace ends: the invoice uncollectible (with its number of attempts), the account downgraded to free, the downgrade mail once per invoice; nothing planned after', () => {
  const past = renewed(funds).state;
  const inv = past.invoice!;
  const t = ms(PERIOD_END, DAY);
  const retried = answer(step(past, { type: 'retry_requested', trigger: 'customer_retry' }, t, ctx).state, expired, t).state;
  assert.equal(retried.attempts.length, 2);
  const r: StepResult = step(retried, { type: 'tick' }, GRACE_END, ctx);
  assert.deepEqual(events(r), [
    { type: 'invoice.uncollectible', data: { invoice_id: inv.id, attempts: 2 } },
    { type: 'subscription.downgraded', data: { from_plan_id: 'pro', to_plan_id: 'free', invoice_id: inv.id } },
  ]);
  assert.deepEqual(emails(r), [{ template: 'downgraded', dedupe_key: `downgraded:${inv.id}`, data: { invoice_id: inv.id } }]);
  assert.equal(r.effects.length, 3);
  assert.equal(r.updated_invoice?.status, 'uncollectible');
  const sub = r.state.subscription;
  assert.deepEqual([sub.status, sub.plan_id, sub.grace_ends_at, sub.next_retry_at, sub.next_retry_why], ['downgraded', 'free', null, null, null]);
  assert.deepEqual(next(r), { at: null, action: null });
});
