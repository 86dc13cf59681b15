// The machine's event dispatch (core/machine.ts run, copyState): who asked is recorded as given,
// the customer when nobody is named; a help request's id is carried as given, null when none; a
// backup card saved while an invoice is past due is acted on, on a copy of the backup's history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { step, type BillingState, type ChargeOutcome, type MachineEvent, type StepResult } from '../../src/core/machine.ts';
import type { Plan } from '../../src/core/types.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import { PERIOD_END, T0, activeState, backupCard, ctx, renewed } from '../helpers/billing-state.ts';

const ms = (d: Date, plus: number) => new Date(d.getTime() + plus);
const run = (s: BillingState, e: MachineEvent, now: Date) => step(s, e, now, ctx);
const eventData = (r: StepResult, type: string) => {
  const e = r.effects.find((x) => x.type === 'event' && x.event_type === type);
  assert.ok(e && e.type === 'event', `${type} recorded`);
  return e.data;
};

const base = { raw_code: null, network_code: null, advice_code: null, gateway_ref: 'pi_1', retry_after_ms: null };
const funds: ChargeOutcome = { ...base, outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later' };
const lost: ChargeOutcome = { ...base, outcome: 'declined', reason: 'declined_by_bank', retry_class: 'never' };
const BASIC: Plan = { id: 'basic', name: 'Basic', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 900 }] };

/** The renewal at PERIOD_END declined with `answer`: past due. */
function pastDue(answer: ChargeOutcome, s: BillingState = activeState()) {
  const r = renewed(answer, PERIOD_END, s);
  assert.equal(r.state.subscription.status, 'past_due');
  return r.state;
}

test('a cancel, a resume and a plan change record who asked: the customer unless the operator is named', () => {
  const now = ms(T0, DAY);
  const s = activeState();
  for (const by of [undefined, 'operator'] as const) {
    const who = by ?? 'customer';
    const cancel = run(s, { type: 'cancel', at: 'period_end', by }, now);
    assert.deepEqual(eventData(cancel, 'subscription.cancel_scheduled'), { cancel_at: PERIOD_END, by: who });
    const resume = run(cancel.state, { type: 'resume', by }, now);
    assert.deepEqual(eventData(resume, 'subscription.resumed'), { by: who, period_end: PERIOD_END });
    const change = run(s, { type: 'change_plan', plan: BASIC, interval: 'month', by }, now);
    assert.deepEqual(eventData(change, 'subscription.plan_change_scheduled'), { from_plan_id: 'pro', plan_id: 'basic', interval: 'month', amount: 900, currency: 'EUR', at: PERIOD_END, by: who });
  }
});

test('a retry day chosen in grace records who chose it: the customer unless the operator is named', () => {
  const s = pastDue(funds);
  const at = ms(PERIOD_END, 2 * DAY + 3 * HOUR);
  const now = ms(PERIOD_END, HOUR);
  for (const by of [undefined, 'operator'] as const) {
    const r = run(s, { type: 'retry_date_chosen', at, by }, now);
    assert.equal(r.refused, null);
    assert.deepEqual(eventData(r, 'dunning.retry_date_chosen'), { invoice_id: s.invoice!.id, at, by: by ?? 'customer' });
  }
});

test('the downgrade\'s pause and resume carry the help request they are about, null when none is named', () => {
  const s = pastDue(funds);
  const inv = s.invoice!.id;
  const asked = ms(PERIOD_END, HOUR);
  const answered = ms(PERIOD_END, 5 * HOUR);
  for (const help_request_id of [undefined, 'help_1']) {
    const paused = run(s, { type: 'help_requested', invoice_id: inv, help_request_id }, asked);
    assert.equal(eventData(paused, 'dunning.downgrade_paused').help_request_id, help_request_id ?? null);
    const resumed = run(paused.state, { type: 'help_answered', invoice_id: inv, help_request_id }, answered);
    assert.equal(eventData(resumed, 'dunning.downgrade_resumed').help_request_id, help_request_id ?? null);
  }
});

test('a backup card saved while the main card is refused for good is charged at once (payment_attempt.started says backup: true); the caller\'s state is left as it was', () => {
  const past = pastDue(lost);
  const inv = past.invoice!.id;
  const s: BillingState = { ...past, backup: backupCard() };
  const r = run(s, { type: 'backup_card_updated' }, ms(PERIOD_END, HOUR));
  const a = r.state.attempts.at(-1)!;
  assert.deepEqual(r.effects.filter((e) => e.type === 'charge'), [{ type: 'charge', attempt: a }]);
  assert.equal(a.payment_method_id, 'pm_b');
  assert.deepEqual(eventData(r, 'payment_attempt.started'), { invoice_id: inv, attempt_id: a.id, number: 2, trigger: 'scheduled', payment_method_id: 'pm_b', backup: true });
  // The backup's own history counts the attempt (its caps); the state handed in is not changed.
  assert.deepEqual(r.state.backup?.card_attempts, [{ at: ms(PERIOD_END, HOUR), outcome: 'pending' }]);
  assert.deepEqual(s.backup?.card_attempts, []);
  assert.deepEqual({ ...r.state.backup, card_attempts: [] }, s.backup);
  // No backup in the state: none in the result either (the key stays absent).
  assert.ok(!('backup' in run(past, { type: 'backup_card_updated' }, ms(PERIOD_END, HOUR)).state));
});
