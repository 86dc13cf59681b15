// The machine's side of 3-D Secure: an authentication attempt starts only for a past-due invoice
// whose last failure asks for authentication, stays open (not a decline) for its window while the
// customer is at the issuer's page, is reconciled only once the window has passed, and its outcome
// settles the invoice like any answer (paid: renewed from the original period end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTHENTICATION_WINDOW_MS, step, type BillingState, type ChargeOutcome, type MachineEvent } from '../../src/core/machine.ts';
import { activeState, ctx, PERIOD_END, renewed } from '../helpers/billing-state.ts';

const base = { raw_code: null, network_code: null, advice_code: null, retry_after_ms: null };
const auth: ChargeOutcome = { ...base, outcome: 'requires_action', reason: 'authentication_required', retry_class: 'customer', gateway_ref: 'pi_1' };
const ok: ChargeOutcome = { ...base, outcome: 'succeeded', reason: null, retry_class: null, gateway_ref: 'pi_2' };
const funds: ChargeOutcome = { ...base, outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later', gateway_ref: 'pi_3' };
const failedAuth: ChargeOutcome = { ...base, outcome: 'declined', reason: 'authentication_required', retry_class: 'customer', raw_code: 'payment_intent_authentication_failure', gateway_ref: 'pi_4' };

/** Renews at the period end and answers the charge with `first`: past due. */
function pastDue(first: ChargeOutcome): { s: BillingState; now: Date } {
  const now = new Date(PERIOD_END.getTime() + 1000);
  const s = renewed(first, now).state;
  assert.equal(s.subscription.status, 'past_due');
  return { s, now };
}

const run = (s: BillingState, e: MachineEvent, now: Date) => step(s, e, now, ctx);

test('refused (nothing changes) unless the last failure asks for authentication', () => {
  const { s, now } = pastDue(funds);
  const r = run(s, { type: 'authentication_requested' }, now);
  assert.equal(r.refused?.code, 'authentication_not_needed');
  assert.deepEqual(r.effects, []);
  assert.equal(r.changed_attempts.length, 0);
  const active = activeState();
  assert.equal(run(active, { type: 'authentication_requested' }, now).refused?.code, 'authentication_not_needed');
});

test('an authentication attempt stays open for its window, then is reconciled; its success renews from the original period end', () => {
  const { s, now } = pastDue(auth);
  let r = run(s, { type: 'authentication_requested' }, now);
  assert.equal(r.refused, null);
  const eff = r.effects.find((e) => e.type === 'authenticate');
  assert.ok(eff && eff.type === 'authenticate');
  const a = eff.attempt;
  assert.equal(a.trigger, 'customer_authentication');
  assert.equal(a.idempotency_key, `renewd_${a.invoice_id}_2`);
  assert.equal(r.state.subscription.next_action_at?.getTime(), now.getTime() + AUTHENTICATION_WINDOW_MS);
  // The gateway asks for the challenge: still open, its reference kept, not a decline.
  r = run(r.state, { type: 'charge_result', attempt_id: a.id, result: auth }, now);
  const open = r.state.attempts.at(-1)!;
  assert.equal(open.outcome, 'pending');
  assert.equal(open.gateway_ref, 'pi_1');
  assert.equal(r.state.invoice?.status, 'past_due');
  assert.equal(run(r.state, { type: 'authentication_requested' }, now).refused?.code, 'attempt_in_flight');
  // A tick inside the window does not reconcile; one after it does.
  const inside = run(r.state, { type: 'tick' }, new Date(now.getTime() + AUTHENTICATION_WINDOW_MS - 1000));
  assert.equal(inside.effects.filter((e) => e.type === 'reconcile').length, 0);
  const afterWindow = run(r.state, { type: 'tick' }, new Date(now.getTime() + AUTHENTICATION_WINDOW_MS));
  assert.equal(afterWindow.effects.filter((e) => e.type === 'reconcile').length, 1);
  // Completed: paid, the period continues from the original end.
  const paid = run(r.state, { type: 'charge_result', attempt_id: a.id, result: ok }, now);
  assert.equal(paid.state.subscription.status, 'active');
  assert.equal(paid.state.subscription.current_period_start.getTime(), PERIOD_END.getTime());
  assert.ok(paid.effects.some((e) => e.type === 'email' && e.template === 'retry_succeeded'));
});

test('a failed authentication is recorded with its reason, quietly, and the customer may authenticate again', () => {
  const { s, now } = pastDue(auth);
  let r = run(s, { type: 'authentication_requested' }, now);
  const a = r.state.attempts.at(-1)!;
  r = run(r.state, { type: 'charge_result', attempt_id: a.id, result: failedAuth }, now);
  const done = r.state.attempts.at(-1)!;
  assert.equal(done.outcome, 'declined');
  assert.equal(done.reason, 'authentication_required');
  assert.equal(r.effects.filter((e) => e.type === 'email').length, 0); // the customer sees it on the page
  assert.equal(r.state.subscription.status, 'past_due');
  assert.equal(run(r.state, { type: 'authentication_requested' }, now).refused, null);
});
