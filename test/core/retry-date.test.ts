// Issue 18 item 4: the customer chooses when the next attempt is made (core/dunning.ts
// retryDateRefusal + planRetry's chosen_at; core/machine.ts retry_date_chosen).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { step, type BillingState, type ChargeOutcome } from '../../src/core/machine.ts';
import { DEFAULT_POLICY, applyCaps, capsAllowNow, mergePolicy, planRetry, retryDateRefusal, type AttemptView } from '../../src/core/dunning.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import { activeState } from '../helpers/billing-state.ts';

let seq = 0;
const ctx = { newId: (p: string) => `${p}_${++seq}` };
const declined: ChargeOutcome = { outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later', raw_code: null, network_code: null, advice_code: null, gateway_ref: 'pi', retry_after_ms: null };
const T = new Date('2026-02-28T09:00:00Z');

function pastDue(): BillingState {
  const r1 = step(activeState(), { type: 'tick' }, T, ctx);
  const a = (r1.effects.find((e) => e.type === 'charge') as any).attempt;
  return step(r1.state, { type: 'charge_result', attempt_id: a.id, result: declined }, T, ctx).state;
}

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
