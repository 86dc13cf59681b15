// Issue 18 item 4: the customer chooses when the next attempt is made (core/dunning.ts
// retryDateRefusal + planRetry's chosen_at; core/machine.ts retry_date_chosen).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { step, type BillingState } from '../../src/core/machine.ts';
import { DEFAULT_POLICY, applyCaps, capsAllowNow, mergePolicy, planRetry, retryDateRefusal, type AttemptView } from '../../src/core/dunning.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import { activeState, FUNDS_DECLINED, pastDueState } from '../helpers/billing-state.ts';

let seq = 0;
const ctx = { newId: (p: string) => `${p}_${++seq}` };
const declined = FUNDS_DECLINED;
const T = new Date('2026-02-28T09:00:00Z');

const pastDue = (): BillingState => pastDueState();

test('a chosen day replaces the schedule until then: planned with customer_chosen, made then, the schedule resumes after it', () => {
  const s = pastDue();
  assert.equal(s.subscription.next_retry_at!.getTime(), T.getTime() + DAY); // the schedule's day 1
  const at = new Date(T.getTime() + 6 * DAY + HOUR);
  const r = step(s, { type: 'retry_date_chosen', at }, new Date(T.getTime() + HOUR), ctx);
  assert.equal(r.refused, null);
  assert.equal(r.state.subscription.next_retry_at!.getTime(), at.getTime());
  assert.equal(r.state.subscription.next_retry_why, 'customer_chosen');
  assert.ok(r.effects.some((e) => e.type === 'event' && e.event_type === 'dunning.retry_date_chosen'));
  assert.ok(r.effects.some((e) => e.type === 'event' && e.event_type === 'dunning.retry_planned' && e.data.why === 'customer_chosen'));
  assert.equal(r.state.subscription.next_action_at!.getTime(), at.getTime());
  // The day comes: one scheduled attempt then; declined, the schedule carries on (day 7 next).
  const made = step(r.state, { type: 'tick' }, at, ctx);
  const charge = made.effects.find((e) => e.type === 'charge') as any;
  assert.ok(charge);
  assert.equal(made.state.subscription.chosen_retry_at, null);
  const after = step(made.state, { type: 'charge_result', attempt_id: charge.attempt.id, result: declined }, at, ctx).state;
  assert.equal(after.subscription.next_retry_why, 'scheduled_retry');
  assert.equal(after.subscription.next_retry_at!.getTime(), T.getTime() + 7 * DAY);
});

test('refused: not past due, not in the future, outside grace, a card that will not be retried; nothing changes', () => {
  const s = pastDue();
  const now = new Date(T.getTime() + HOUR);
  const code = (at: Date, st = s) => step(st, { type: 'retry_date_chosen', at }, now, ctx).refused?.code;
  assert.equal(code(now), 'date_not_in_future');
  assert.equal(code(new Date(now.getTime() - DAY)), 'date_not_in_future');
  assert.equal(code(s.subscription.grace_ends_at!), 'outside_grace');
  assert.equal(code(new Date(now.getTime() + DAY), activeState()), 'invoice_not_past_due');
  const lost = { ...s, attempts: s.attempts.map((a) => ({ ...a, retry_class: 'never' as const })) };
  assert.equal(code(new Date(now.getTime() + DAY), lost), 'no_automatic_retry');
  const r = step(s, { type: 'retry_date_chosen', at: now }, now, ctx);
  assert.deepEqual(r.state.subscription, s.subscription);
  assert.equal(r.effects.length, 0);
});

test('while a help request waits, a day is accepted only inside the grace an answer now would leave; after the answer it is still inside grace', () => {
  const s = pastDue();
  const graceEnd = s.subscription.grace_ends_at!.getTime();
  const asked = new Date(graceEnd - 2 * DAY);
  const paused = step(s, { type: 'help_requested', invoice_id: s.invoice!.id }, asked, ctx).state;
  const now = new Date(asked.getTime() + DAY);
  // grace_ends_at is 7 days later while nobody answers, but an answer now leaves graceEnd + 1 day.
  assert.equal(step(paused, { type: 'retry_date_chosen', at: new Date(graceEnd + 3 * DAY) }, now, ctx).refused?.code, 'outside_grace');
  const ok = step(paused, { type: 'retry_date_chosen', at: new Date(graceEnd + DAY - HOUR) }, now, ctx);
  assert.equal(ok.refused, null);
  const answered = step(ok.state, { type: 'help_answered', invoice_id: s.invoice!.id }, new Date(now.getTime() + HOUR), ctx).state;
  assert.ok(answered.subscription.next_retry_at!.getTime() < answered.subscription.grace_ends_at!.getTime());
  assert.equal(answered.subscription.next_retry_why, 'customer_chosen');
});

const historyArb = fc.array(fc.record({ ago: fc.integer({ min: 0, max: 30 * 24 }), ok: fc.boolean() }), { maxLength: 30 });

test('property: a day accepted is inside grace, ahead of now and within the caps; planRetry never plans a chosen day outside grace or beyond the caps', () => {
  fc.assert(
    fc.property(
      historyArb,
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: -48, max: 24 * 20 }),
      fc.integer({ min: 1, max: 24 * 14 }),
      (hist, per30, per24, chosenIn, graceIn) => {
        const policy = mergePolicy(DEFAULT_POLICY, { caps: { attempts_per_card_30d: per30, declines_per_card_24h: per24 } });
        const now = new Date('2026-03-05T12:00:00Z');
        const failed = new Date(now.getTime() - 2 * DAY);
        const card_attempts = hist.map((h) => ({ at: new Date(now.getTime() - h.ago * HOUR), outcome: h.ok ? ('succeeded' as const) : ('declined' as const) })).sort((a, b) => a.at.getTime() - b.at.getTime());
        const attempts: AttemptView[] = [{ at: failed, trigger: 'scheduled', outcome: 'declined', retry_class: 'later', reason: 'insufficient_funds', not_before: null, payment_method_id: 'pm_1' }];
        const grace_ends_at = new Date(now.getTime() + graceIn * HOUR);
        const at = new Date(now.getTime() + chosenIn * HOUR);
        const input = { policy, failed_at: failed, grace_ends_at, attempts, current_payment_method_id: 'pm_1', card_attempts };
        const refusal = retryDateRefusal({ ...input, invoice_status: 'past_due', collecting: true, now }, at);
        if (refusal === null) {
          assert.ok(at.getTime() > now.getTime() && at.getTime() < grace_ends_at.getTime(), 'accepted outside grace');
          assert.ok(capsAllowNow(policy, card_attempts, at), 'accepted beyond the caps');
        }
        const plan = planRetry({ ...input, chosen_at: at });
        if (plan.why === 'customer_chosen') {
          assert.equal(plan.at!.getTime(), at.getTime());
          assert.ok(plan.at!.getTime() < grace_ends_at.getTime(), 'planned outside grace');
          assert.equal(applyCaps(policy, card_attempts, plan.at!).getTime(), plan.at!.getTime(), 'planned beyond the caps');
        }
        if (plan.at) assert.ok(plan.at.getTime() < grace_ends_at.getTime());
      },
    ),
    { seed: Number(process.env.FC_SEED ?? 20261201), numRuns: Number(process.env.FC_RUNS ?? 1000) },
  );
});

// ---- each refusal with its message; the choice recorded exactly ----
const refusalOf = (s: BillingState, at: Date, now = new Date(T.getTime() + HOUR)) => step(s, { type: 'retry_date_chosen', at }, now, ctx).refused;

test('each refused day says why, in words the customer can act on', () => {
  const s = pastDue();
  const now = new Date(T.getTime() + HOUR);
  const tomorrow = new Date(now.getTime() + DAY);
  // No invoice being collected at all, or one that is not past due (a proration being charged).
  const notPastDue = { code: 'invoice_not_past_due', message: 'the invoice is not past due (paid, void, or no longer collected)' };
  assert.deepEqual(refusalOf(activeState(), tomorrow), notPastDue);
  const prorating: BillingState = { ...activeState(), invoice: { ...s.invoice!, status: 'open', kind: 'proration' } };
  assert.deepEqual(refusalOf(prorating, tomorrow), notPastDue);
  // Past due, but no longer collected (auto-renew off: a cancel waiting for an attempt's answer).
  const off: BillingState = { ...s, subscription: { ...s.subscription, auto_renew: false } };
  assert.deepEqual(refusalOf(off, tomorrow), { code: 'invoice_not_past_due', message: 'this invoice is not awaiting payment' });
  assert.deepEqual(refusalOf(s, now), { code: 'date_not_in_future', message: 'choose a day after today' });
  assert.deepEqual(refusalOf(s, s.subscription.grace_ends_at!), { code: 'outside_grace', message: 'choose a day before the grace period ends' });
  const lost = { ...s, attempts: s.attempts.map((a) => ({ ...a, retry_class: 'never' as const })) };
  const noRetry = { code: 'no_automatic_retry', message: 'this card will not be tried again automatically (refused for good, expired, or no attempts left): update your billing information' };
  assert.deepEqual(refusalOf(lost, tomorrow), noRetry);
  assert.deepEqual(refusalOf({ ...s, payment_method: null }, tomorrow), noRetry, 'no card on file');
  const advised = { ...s, attempts: s.attempts.map((a) => ({ ...a, not_before: new Date(T.getTime() + 3 * DAY) })) };
  assert.deepEqual(refusalOf(advised, new Date(T.getTime() + 2 * DAY)), { code: 'network_advice', message: "the card's bank asked not to be tried again before a later day; choose a later day" });
  const capped = { ...s, policy: mergePolicy(DEFAULT_POLICY, { caps: { declines_per_card_24h: 1 } }) };
  assert.deepEqual(refusalOf(capped, new Date(T.getTime() + 2 * HOUR)), { code: 'network_cap', message: 'the card networks allow no further attempt on this card then; choose another day or update the card' });
});

test('a chosen day is recorded with the invoice, the day and who chose it', () => {
  const s = pastDue();
  const at = new Date(T.getTime() + 6 * DAY);
  const r = step(s, { type: 'retry_date_chosen', at, by: 'operator' }, new Date(T.getTime() + HOUR), ctx);
  const chosen = r.effects.filter((e) => e.type === 'event' && e.event_type === 'dunning.retry_date_chosen');
  assert.deepEqual(chosen, [{ type: 'event', event_type: 'dunning.retry_date_chosen', data: { invoice_id: s.invoice!.id, at, by: 'operator' } }]);
  assert.deepEqual(r.state.subscription.chosen_retry_at, at);
});

test('a decline given back to an incident does not use up the invoice\'s automatic attempts: a day can still be chosen', () => {
  const s = pastDue();
  const policy = mergePolicy(DEFAULT_POLICY, { max_automatic_attempts: 1 });
  const technical = { ...s, policy, attempts: s.attempts.map((a) => ({ ...a, retry_class: 'soon' as const, reason: 'issuer_unavailable' as const })) };
  const at = new Date(T.getTime() + 2 * DAY);
  assert.equal(refusalOf(technical, at)?.code, 'no_automatic_retry', 'counted: the only automatic attempt is spent');
  const givenBack = { ...technical, attempts: technical.attempts.map((a) => ({ ...a, incident_id: 'inc_1' })) };
  assert.equal(refusalOf(givenBack, at), null);
});
