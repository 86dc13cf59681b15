// What the gateway's answer to an attempt does (core/machine.ts chargeResult, failed, holdGraceEnd,
// incidentPlan, incidentWithholdsMail, failureMailOwed, incidentClosed), stated exactly: the events
// and their data, the e-mails with their dedupe keys, the attempt's and card's records, and the
// next action the scheduler reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTHENTICATION_WINDOW_MS, RATE_LIMITED_WAIT_MS, step, type BillingState, type ChargeOutcome, type IncidentRef, type MachineEvent, type StepResult } from '../../src/core/machine.ts';
import { DEFAULT_POLICY, mergePolicy } from '../../src/core/dunning.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import type { Plan } from '../../src/core/types.ts';
import { GRACE_END, LEASE, PERIOD_END, T0, activeState, ctx, emails, events, ms, next, renewed as renewedWith } from '../helpers/billing-state.ts';

const run = (s: BillingState, e: MachineEvent, now: Date) => step(s, e, now, ctx);
const answer = (s: BillingState, attempt_id: string, result: ChargeOutcome, now: Date) => run(s, { type: 'charge_result', attempt_id, result }, now);
const renewed = (result: ChargeOutcome, s = activeState()) => renewedWith(result, PERIOD_END, s);
/** The attempt the step just started (charged or authenticated). */
const started = (r: StepResult) => {
  const e = r.effects.find((x) => x.type === 'charge' || x.type === 'authenticate');
  assert.ok(e && (e.type === 'charge' || e.type === 'authenticate'), 'an attempt was started');
  return e.attempt;
};

// The gateway's answers, with raw, network and advice codes (the helper's have none): the attempt records them.
const base = { raw_code: 'gw_code', network_code: '51', advice_code: '01', gateway_ref: 'pi_1', retry_after_ms: null };
const funds: ChargeOutcome = { ...base, outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later' };
const technical: ChargeOutcome = { ...base, outcome: 'declined', reason: 'issuer_unavailable', retry_class: 'soon' };
const lost: ChargeOutcome = { ...base, outcome: 'declined', reason: 'declined_by_bank', retry_class: 'never' };
const auth: ChargeOutcome = { ...base, outcome: 'requires_action', reason: 'authentication_required', retry_class: 'customer' };
const ok: ChargeOutcome = { ...base, outcome: 'succeeded', reason: null, retry_class: null };
const unknown: ChargeOutcome = { ...base, outcome: 'unknown', reason: null, retry_class: null };
const rateLimited = (retry_after_ms: number | null): ChargeOutcome => ({ ...base, outcome: 'rate_limited', reason: null, retry_class: null, retry_after_ms });

/** The first scheduled retry after a card decline ('later'), and after a technical one ('soon'). */
const LATER_RETRY = new Date('2026-03-01T09:00:00Z');
const SOON_RETRY = new Date('2026-02-28T11:00:00Z');
const INCIDENT: IncidentRef = { id: 'inc_1', scope: 'gateway', opened_at: ms(PERIOD_END, -10 * 60_000) };
const WINDOW = 15 * 60_000; // the default incident detection window

/** The past-due state's scheduled retry, made when due and answered with `result` at once. */
function retried(s: BillingState, result: ChargeOutcome) {
  const at = s.subscription.next_action_at!;
  const t = run(s, { type: 'tick' }, at);
  const a = started(t);
  assert.equal(a.trigger, 'scheduled');
  return answer(t.state, a.id, result, at);
}

// ---- which answers apply ----

test('an answer for an attempt the state does not hold, or for one already answered, changes nothing', () => {
  const r = renewed(funds);
  for (const id of ['att_none', r.state.attempts[0].id]) {
    const again = answer(r.state, id, ok, ms(PERIOD_END, HOUR));
    assert.deepEqual(again.effects, [], id);
    assert.deepEqual(again.changed_attempts, [], id);
    assert.deepEqual(again.state, r.state, id);
  }
});

// ---- rate limited, unknown, authentication ----

test('a rate-limited charge is not an outcome: the same attempt stays pending, marked, made again once the gateway\'s wait is over (at least a second; 30 s when not said)', () => {
  for (const [after, wait] of [[5000, 5000], [200, 1000], [null, RATE_LIMITED_WAIT_MS]] as const) {
    const t = run(activeState(), { type: 'tick' }, PERIOD_END);
    const a = started(t);
    const now = ms(PERIOD_END, 10_000);
    const r = answer(t.state, a.id, rateLimited(after), now);
    const retry_at = ms(now, wait);
    assert.deepEqual(r.state.attempts, [{ ...a, raw_code: 'rate_limited', not_before: retry_at }]);
    assert.deepEqual(events(r), [{ type: 'payment_attempt.rate_limited', data: { invoice_id: a.invoice_id, attempt_id: a.id, retry_at } }]);
    assert.deepEqual(emails(r), []);
    assert.deepEqual(next(r), { at: retry_at, action: 'retry' });
    assert.deepEqual(r.state.card_attempts, [{ at: PERIOD_END, outcome: 'pending' }], 'nothing counted on the card');
    assert.equal(r.state.invoice?.status, 'open');
  }
});

test('an unknown answer keeps the attempt open (unknown): looked up by its key one lease after the answer', () => {
  const t = run(activeState(), { type: 'tick' }, PERIOD_END);
  const a = started(t);
  const now = ms(PERIOD_END, 30_000);
  const r = answer(t.state, a.id, unknown, now);
  assert.deepEqual(r.state.attempts, [{ ...a, outcome: 'unknown' }]);
  assert.deepEqual(events(r), [{ type: 'payment_attempt.unknown', data: { invoice_id: a.invoice_id, attempt_id: a.id } }]);
  assert.deepEqual(emails(r), []);
  assert.deepEqual(next(r), { at: ms(now, LEASE), action: 'retry' });
  assert.equal(r.state.invoice?.status, 'open');
});

test('an attempt already unknown whose reconciling charge is rate-limited stays unknown (the first request may have been made): looked up again after the lease', () => {
  const t = run(activeState(), { type: 'tick' }, PERIOD_END);
  const a = started(t);
  const u = answer(t.state, a.id, unknown, PERIOD_END);
  const now = ms(PERIOD_END, 5 * 60_000);
  const r = answer(u.state, a.id, rateLimited(5000), now);
  assert.deepEqual(r.state.attempts, [{ ...a, outcome: 'unknown' }], 'not marked rate-limited, no wait');
  assert.deepEqual(events(r), [{ type: 'payment_attempt.unknown', data: { invoice_id: a.invoice_id, attempt_id: a.id } }]);
  assert.deepEqual(next(r), { at: ms(now, LEASE), action: 'retry' });
});

/** Past due on an authentication request, then the customer starts authenticating: the open attempt. */
function authenticating() {
  const p = renewed(auth);
  const now = ms(PERIOD_END, HOUR);
  const r = run(p.state, { type: 'authentication_requested' }, now);
  const a = started(r);
  assert.equal(a.trigger, 'customer_authentication');
  return { s: r.state, a, now };
}

test('an authentication attempt answered "requires action" stays open (not a decline) with the gateway\'s reference, until its window from the start has passed', () => {
  const { s, a, now } = authenticating();
  const later = ms(now, 60_000);
  const r = answer(s, a.id, { ...auth, gateway_ref: 'pi_3ds' }, later);
  assert.deepEqual(r.state.attempts.at(-1), { ...a, outcome: 'pending', gateway_ref: 'pi_3ds' });
  assert.deepEqual(events(r), [{ type: 'payment_attempt.authentication_started', data: { invoice_id: a.invoice_id, attempt_id: a.id, gateway_ref: 'pi_3ds' } }]);
  assert.deepEqual(emails(r), []);
  assert.deepEqual(next(r), { at: ms(now, AUTHENTICATION_WINDOW_MS), action: 'retry' });
  // Without a reference in the answer, the one it has is kept.
  const kept = answer(r.state, a.id, { ...auth, gateway_ref: null }, later);
  assert.equal(kept.state.attempts.at(-1)?.gateway_ref, 'pi_3ds');
});

test('a rate-limited authentication attempt is not made again later (the customer is gone): it is unknown, looked up after the lease', () => {
  const { s, a, now } = authenticating();
  const r = answer(s, a.id, rateLimited(5000), now);
  assert.deepEqual(r.state.attempts.at(-1), { ...a, outcome: 'unknown' });
  assert.deepEqual(events(r), [{ type: 'payment_attempt.unknown', data: { invoice_id: a.invoice_id, attempt_id: a.id } }]);
  assert.deepEqual(next(r), { at: ms(now, LEASE), action: 'retry' });
});

// ---- what an answer records ----

test('a success records no decline reason or class, even when the gateway\'s answer carries them', () => {
  const r = renewed({ ...ok, reason: 'insufficient_funds', retry_class: 'later' });
  const [a] = r.changed_attempts;
  assert.deepEqual([a.outcome, a.reason, a.retry_class, a.raw_code, a.gateway_ref, a.completed_at], ['succeeded', null, null, 'gw_code', 'pi_1', PERIOD_END]);
  assert.equal(r.state.subscription.status, 'active');
});

test('the card\'s recent attempts record the answer on its pending entry only', () => {
  const s: BillingState = { ...activeState(), card_attempts: [{ at: ms(T0, DAY), outcome: 'succeeded' }] };
  const r = renewed(funds, s);
  assert.deepEqual(r.state.card_attempts, [{ at: ms(T0, DAY), outcome: 'succeeded' }, { at: PERIOD_END, outcome: 'declined' }]);
});

test('a decline records the gateway\'s answer on the attempt and in payment_attempt.failed; the renewal goes past due: grace from the period end, the failure e-mail once per invoice, the retry planned', () => {
  const r = renewed({ ...funds, retry_after_ms: 3 * HOUR });
  const [a] = r.state.attempts;
  const inv = r.state.invoice!;
  assert.deepEqual(a, {
    ...a, outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later', raw_code: 'gw_code', network_code: '51', advice_code: '01',
    gateway_ref: 'pi_1', completed_at: PERIOD_END, not_before: ms(PERIOD_END, 3 * HOUR),
  });
  assert.deepEqual([inv.status, inv.failed_at], ['past_due', PERIOD_END]);
  assert.deepEqual([r.state.subscription.status, r.state.subscription.grace_ends_at], ['past_due', GRACE_END]);
  assert.deepEqual(events(r), [
    { type: 'payment_attempt.failed', data: { invoice_id: inv.id, attempt_id: a.id, number: 1, trigger: 'scheduled', outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later', raw_code: 'gw_code', network_code: '51', advice_code: '01' } },
    { type: 'subscription.past_due', data: { invoice_id: inv.id, reason: 'insufficient_funds', grace_ends_at: GRACE_END } },
    { type: 'dunning.retry_planned', data: { invoice_id: inv.id, next_retry_at: LATER_RETRY, why: 'scheduled_retry' } },
  ]);
  assert.deepEqual(emails(r), [{ template: 'renewal_failed', dedupe_key: `renewal_failed:${inv.id}`, data: { reason: 'insufficient_funds', invoice_id: inv.id, grace_ends_at: GRACE_END } }]);
  assert.deepEqual(next(r), { at: LATER_RETRY, action: 'retry' });
});

test('a renewal that first asks for authentication sends the authentication_required e-mail (once per invoice) instead of renewal_failed', () => {
  const r = renewed(auth);
  const inv = r.state.invoice!;
  assert.deepEqual(emails(r), [{ template: 'authentication_required', dedupe_key: `authentication_required:${inv.id}`, data: { reason: 'authentication_required', invoice_id: inv.id, grace_ends_at: GRACE_END } }]);
  assert.deepEqual(events(r)[1], { type: 'subscription.past_due', data: { invoice_id: inv.id, reason: 'authentication_required', grace_ends_at: GRACE_END } });
});

test('a cancel asked while the renewal charge was in flight takes effect when it fails: no grace, the invoice voided, canceled as the customer asked', () => {
  const t = run(activeState(), { type: 'tick' }, PERIOD_END);
  const a = started(t);
  const c = run(t.state, { type: 'cancel', at: 'period_end' }, PERIOD_END);
  const r = answer(c.state, a.id, funds, ms(PERIOD_END, 1000));
  assert.deepEqual(events(r).slice(1), [
    { type: 'invoice.voided', data: { invoice_id: a.invoice_id, reason: 'canceled' } },
    { type: 'subscription.canceled', data: { from_plan_id: 'pro', to_plan_id: 'free', invoice_id: a.invoice_id, by: 'customer', immediate: true } },
  ]);
  assert.deepEqual([r.state.subscription.status, r.state.subscription.grace_ends_at, r.state.invoice], ['canceled', null, null]);
});

test('a declined plan-change charge voids its invoice and changes nothing else: still on the old plan, the renewal planned as before', () => {
  const biz: Plan = { id: 'biz', name: 'Business', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 7900 }] };
  const now = ms(T0, 14 * DAY);
  const s = activeState({ subscription: { next_action_at: ms(PERIOD_END, -7 * DAY) } });
  const c = run(s, { type: 'change_plan', plan: biz, interval: 'month' }, now);
  const a = started(c);
  const r = answer(c.state, a.id, funds, now);
  assert.deepEqual(events(r).map((e) => e.type), ['payment_attempt.failed', 'invoice.voided']);
  assert.deepEqual(events(r)[1].data, { invoice_id: a.invoice_id, reason: 'insufficient_funds' });
  assert.deepEqual([r.state.invoice, r.state.attempts, r.state.invoice_plan ?? null, r.state.subscription.plan_id, r.state.subscription.status], [null, [], null, 'pro', 'active']);
  assert.deepEqual(next(r), { at: ms(PERIOD_END, -7 * DAY), action: 'renew' });
});

// ---- later failures: who is told ----

test('a Retry pressed by an operator, or a new card, that fails: the customer is told (retry_failed, keyed by the attempt, with its outcome)', () => {
  for (const trigger of ['operator', 'payment_method_updated'] as const) {
    const p = renewed(funds);
    const now = ms(PERIOD_END, HOUR);
    const s = trigger === 'operator' ? p.state : { ...p.state, payment_method: { ...p.state.payment_method!, id: 'pm_2' }, card_attempts: [] };
    const t = run(s, trigger === 'operator' ? { type: 'retry_requested', trigger } : { type: 'payment_method_updated' }, now);
    const a = started(t);
    assert.equal(a.trigger, trigger);
    const r = answer(t.state, a.id, funds, now);
    assert.deepEqual(emails(r), [{ template: 'retry_failed', dedupe_key: `retry_failed:${a.id}`, data: { reason: 'insufficient_funds', invoice_id: a.invoice_id, grace_ends_at: GRACE_END, outcome: 'declined' } }], trigger);
  }
});

test('the card removed during grace (saved again with none on file): the customer is told the retry failed, keyed by the invoice', () => {
  const p = renewed(funds);
  const inv = p.state.invoice!;
  const r = run({ ...p.state, payment_method: null }, { type: 'payment_method_updated' }, ms(PERIOD_END, HOUR));
  assert.deepEqual(emails(r), [{ template: 'retry_failed', dedupe_key: `retry_failed:${inv.id}`, data: { reason: null, invoice_id: inv.id, grace_ends_at: GRACE_END, outcome: undefined } }]);
});

test('a scheduled retry that asks for authentication (after a card decline): the authentication_required e-mail, keyed by the attempt', () => {
  const p = renewed(technical);
  const r = retried(p.state, auth);
  const a = r.state.attempts.at(-1)!;
  assert.deepEqual(emails(r), [{ template: 'authentication_required', dedupe_key: `authentication_required:${a.id}`, data: { reason: 'authentication_required', invoice_id: a.invoice_id, grace_ends_at: GRACE_END } }]);
});

test('scheduled retries that fail again stay quiet: a card decline after a card decline, a technical failure after a technical one', () => {
  const f = renewed(funds);
  assert.deepEqual(emails(retried(f.state, funds)), []);
  const t = renewed(technical);
  assert.deepEqual(next(t), { at: SOON_RETRY, action: 'retry' });
  assert.deepEqual(emails(retried(t.state, technical)), []);
});

test('a scheduled card decline after only technical failures sends the failure e-mail now (the outbox keeps one per invoice); after a card decline it stays quiet', () => {
  const t = renewed(technical);
  const inv = t.state.invoice!;
  const owed = retried(t.state, funds);
  assert.deepEqual(emails(owed), [{ template: 'renewal_failed', dedupe_key: `renewal_failed:${inv.id}`, data: { reason: 'insufficient_funds', invoice_id: inv.id, grace_ends_at: GRACE_END } }]);
  // Before it a technical failure and a card decline: not owed any more.
  assert.deepEqual(emails(retried(owed.state, funds)), []);
});

test('a Retry pressed after only technical failures that is declined by the card: retry_failed (the customer waits for it), not renewal_failed', () => {
  const t = renewed(technical);
  const now = ms(PERIOD_END, HOUR);
  const c = run(t.state, { type: 'retry_requested', trigger: 'operator' }, now);
  const a = started(c);
  const r = answer(c.state, a.id, funds, now);
  assert.deepEqual(emails(r).map((e) => e.dedupe_key), [`retry_failed:${a.id}`]);
});

// ---- incidents ----

test('during an incident a technical failure is not the card\'s: no failure e-mail, dunning.failure_mail_withheld says why; a card decline is mailed as usual', () => {
  const during = (s: BillingState) => ({ ...s, incident: INCIDENT });
  const t1 = run(activeState(), { type: 'tick' }, PERIOD_END);
  const a = started(t1);
  const w = answer(during(t1.state), a.id, technical, PERIOD_END);
  assert.deepEqual(emails(w), []);
  assert.deepEqual(events(w).find((e) => e.type === 'dunning.failure_mail_withheld'), { type: 'dunning.failure_mail_withheld', data: { invoice_id: a.invoice_id, incident_id: 'inc_1', reason: 'issuer_unavailable' } });
  const c = answer(during(t1.state), a.id, funds, PERIOD_END);
  assert.deepEqual(emails(c).map((e) => e.template), ['renewal_failed']);
  // After a technical failure, a retry made before an incident opened and declined by the card during it: still quiet.
  const t = renewed(technical);
  const r = run(t.state, { type: 'tick' }, SOON_RETRY);
  const b = started(r);
  assert.deepEqual(emails(answer({ ...r.state, incident: INCIDENT }, b.id, funds, SOON_RETRY)), []);
});

// ---- an answer after grace has ended ----

/** Past due on a card decline; an operator's attempt started a minute before grace ends. */
function lastMinute() {
  const p = renewed(funds);
  const c = run(p.state, { type: 'retry_requested', trigger: 'operator' }, ms(GRACE_END, -60_000));
  return { s: c.state, a: started(c) };
}

test('an answer that arrives as grace ends leaves nothing to wait for: downgraded now, not on a later tick', () => {
  const { s, a } = lastMinute();
  const r = answer(s, a.id, funds, GRACE_END);
  assert.deepEqual(events(r).map((e) => e.type), ['payment_attempt.failed', 'invoice.uncollectible', 'subscription.downgraded']);
  assert.deepEqual([r.state.subscription.status, r.state.invoice?.status], ['downgraded', 'uncollectible']);
  assert.deepEqual(next(r), { at: null, action: null });
});

test('an answer as grace ends while an incident covers the card: no downgrade; the retry is held (dunning.retry_planned once) and grace looked at again after one detection window', () => {
  const { s, a } = lastMinute();
  const r = answer({ ...s, incident: INCIDENT }, a.id, funds, GRACE_END);
  assert.deepEqual(events(r).slice(1), [{ type: 'dunning.retry_planned', data: { invoice_id: a.invoice_id, next_retry_at: null, why: 'incident' } }]);
  assert.deepEqual([r.state.subscription.status, r.state.subscription.next_retry_at, r.state.subscription.next_retry_why], ['past_due', null, 'incident']);
  assert.deepEqual(next(r), { at: ms(GRACE_END, WINDOW), action: 'end_grace' });
  // Still covered one window later: held again, nothing announced twice.
  const again = run(r.state, { type: 'tick' }, ms(GRACE_END, WINDOW));
  assert.deepEqual(again.effects, []);
  assert.deepEqual(next(again), { at: ms(GRACE_END, 2 * WINDOW), action: 'end_grace' });
  // A held retry that still had an instant is announced as held.
  const withAt = { ...r.state, subscription: { ...r.state.subscription, next_retry_at: ms(GRACE_END, HOUR) } };
  const held = run(withAt, { type: 'tick' }, ms(GRACE_END, WINDOW));
  assert.deepEqual(events(held), [{ type: 'dunning.retry_planned', data: { invoice_id: a.invoice_id, next_retry_at: null, why: 'incident' } }]);
  assert.equal(held.state.subscription.next_retry_at, null);
});

// ---- a retry held by a closed incident ----

/** Past due on a card decline (its retry planned at LATER_RETRY), with the plan read back as `sub` says. */
const heldAt = (at: Date, why: 'incident_recovery' | 'scheduled_retry') => {
  const p = renewed(funds);
  return { ...p.state, subscription: { ...p.state.subscription, next_retry_at: at, next_retry_why: why, next_action_at: ms(PERIOD_END, HOUR) } };
};
const look = (s: BillingState) => run(s, { type: 'tick' }, ms(PERIOD_END, HOUR));

test('a retry held by a closed incident keeps its spread instant when it is later than the schedule\'s; at or before it, the schedule\'s instant and reason', () => {
  const later = look(heldAt(ms(LATER_RETRY, 3 * HOUR), 'incident_recovery'));
  assert.deepEqual(events(later), []);
  assert.deepEqual([later.state.subscription.next_retry_at, later.state.subscription.next_retry_why], [ms(LATER_RETRY, 3 * HOUR), 'incident_recovery']);
  assert.deepEqual(next(later), { at: ms(LATER_RETRY, 3 * HOUR), action: 'retry' });
  const same = look(heldAt(LATER_RETRY, 'incident_recovery'));
  assert.deepEqual(events(same), [{ type: 'dunning.retry_planned', data: { invoice_id: same.state.invoice!.id, next_retry_at: LATER_RETRY, why: 'scheduled_retry' } }]);
  // A later instant planned for another reason is not a held retry: the schedule's instant.
  const other = look(heldAt(ms(LATER_RETRY, 3 * HOUR), 'scheduled_retry'));
  assert.deepEqual([other.state.subscription.next_retry_at, other.state.subscription.next_retry_why], [LATER_RETRY, 'scheduled_retry']);
});

test('a held retry whose spread instant is at or past the grace end is not made: grace ends first', () => {
  const r = look(heldAt(GRACE_END, 'incident_recovery'));
  assert.deepEqual(events(r), [{ type: 'dunning.retry_planned', data: { invoice_id: r.state.invoice!.id, next_retry_at: null, why: 'grace_ends_first' } }]);
  assert.deepEqual([r.state.subscription.next_retry_at, r.state.subscription.next_retry_why], [null, 'grace_ends_first']);
});

test('a held retry with nothing left to plan (the card lost): no retry, whatever instant was held', () => {
  const s = heldAt(ms(LATER_RETRY, 3 * HOUR), 'incident_recovery');
  const now = ms(PERIOD_END, HOUR);
  const c = run(s, { type: 'retry_requested', trigger: 'operator' }, now);
  const r = answer(c.state, started(c).id, lost, now);
  assert.deepEqual(events(r).slice(1), [{ type: 'dunning.retry_planned', data: { invoice_id: r.state.invoice!.id, next_retry_at: null, why: 'card_refused_permanently' } }]);
  assert.deepEqual([r.state.subscription.next_retry_at, r.state.subscription.next_retry_why], [null, 'card_refused_permanently']);
  assert.deepEqual(next(r), { at: new Date('2026-03-07T09:00:00Z'), action: 'remind' }); // the 7-day reminder
});

// ---- an incident closes ----

const closing = (closed_at: Date, inc: IncidentRef = INCIDENT) => ({ type: 'incident_closed' as const, incident: { ...inc, closed_at } });

test('an incident that closes extends the grace of an invoice that failed before the close by its length plus the spread, and counts the attempts it gives back', () => {
  const p = renewed(technical, activeState());
  const [a] = p.state.attempts;
  const att = (id: string, incident_id: string, r: ChargeOutcome) => ({ ...a, id, incident_id, reason: r.reason, retry_class: r.retry_class });
  const s: BillingState = {
    ...p.state,
    attempts: [att('a1', 'inc_1', technical), att('a2', 'inc_1', funds), att('a3', 'inc_2', technical), att('a4', 'inc_2', technical)],
  };
  const closedAt = ms(PERIOD_END, 2 * HOUR);
  const r = run(s, closing(closedAt), closedAt);
  const grace = ms(GRACE_END, 2 * HOUR + 10 * 60_000 + HOUR); // length 2 h 10 min, spread 60 min
  assert.deepEqual(events(r)[0], { type: 'dunning.grace_extended', data: { invoice_id: a.invoice_id, incident_id: 'inc_1', scope: 'gateway', extended_by_seconds: (3 * 3600 + 600), previous_grace_ends_at: GRACE_END, grace_ends_at: grace, attempts_given_back: 1 } });
  assert.deepEqual(r.state.subscription.grace_ends_at, grace);
});

test('an incident that closed before the renewal failed (its answer came after the close) changes nothing', () => {
  const t = run(activeState(), { type: 'tick' }, PERIOD_END);
  const a = started(t);
  const p = answer(t.state, a.id, technical, ms(PERIOD_END, 2 * HOUR));
  const r = run(p.state, closing(ms(PERIOD_END, HOUR)), ms(PERIOD_END, 2 * HOUR));
  assert.deepEqual(r.effects, []);
  assert.deepEqual(r.state.subscription, p.state.subscription);
});

test('an incident that closes while an attempt is in flight only extends grace: the answer plans what follows', () => {
  const p = renewed(technical);
  const t = run(p.state, { type: 'tick' }, SOON_RETRY);
  started(t);
  const closedAt = ms(SOON_RETRY, 60_000);
  const r = run(t.state, closing(closedAt), closedAt);
  assert.deepEqual(events(r).map((e) => e.type), ['dunning.grace_extended']);
  assert.deepEqual(next(r), next(t));
  assert.deepEqual([r.state.subscription.next_retry_at, r.state.subscription.next_retry_why], [t.state.subscription.next_retry_at, t.state.subscription.next_retry_why]);
});

test('an incident close applied once grace (extended) is over downgrades at once', () => {
  const p = renewed(technical);
  const inc: IncidentRef = { id: 'inc_1', scope: 'gateway', opened_at: ms(PERIOD_END, -HOUR) };
  const closedAt = ms(PERIOD_END, HOUR);
  const extended = ms(GRACE_END, 3 * HOUR); // 2 h of incident + 60 min of spread
  const r = run(p.state, closing(closedAt, inc), extended);
  assert.deepEqual(events(r).map((e) => e.type), ['dunning.grace_extended', 'invoice.uncollectible', 'subscription.downgraded']);
  assert.equal(r.state.subscription.status, 'downgraded');
  const before = run(p.state, closing(closedAt, inc), ms(extended, -1));
  assert.equal(before.state.subscription.status, 'past_due');
});

// ---- the policy's classes for authentication requests ----

test('a request for authentication during an incident is the customer\'s to act on: mailed, even when the policy classes it as technical', () => {
  const policy = mergePolicy(DEFAULT_POLICY, { decline_rules: { authentication_required: 'soon' } });
  const t = run(activeState({ policy }), { type: 'tick' }, PERIOD_END);
  const a = started(t);
  const r = answer({ ...t.state, incident: INCIDENT }, a.id, auth, PERIOD_END);
  assert.deepEqual(emails(r).map((e) => e.dedupe_key), [`authentication_required:${a.invoice_id}`]);
  assert.equal(events(r).some((e) => e.type === 'dunning.failure_mail_withheld'), false);
});

test('with authentication requests retried on schedule (policy), a later scheduled card decline: the failure mail is owed only after technical failures, authentication requests not counted', () => {
  const policy = mergePolicy(DEFAULT_POLICY, { decline_rules: { authentication_required: 'later' } });
  // First an authentication request (its own mail), then a card decline: no earlier decline, nothing owed.
  const p = renewed(auth, activeState({ policy }));
  assert.deepEqual(emails(retried(p.state, funds)), []);
  // A technical failure, an authentication request, then a card decline: the failure mail is owed.
  const q = renewed(technical, activeState({ policy }));
  const inv = q.state.invoice!;
  const q2 = retried(q.state, auth);
  assert.deepEqual(emails(retried(q2.state, funds)), [{ template: 'renewal_failed', dedupe_key: `renewal_failed:${inv.id}`, data: { reason: 'insufficient_funds', invoice_id: inv.id, grace_ends_at: GRACE_END } }]);
});

test('a late answer (after the next retry\'s instant) charges nothing itself: the overdue retry is due at once, made by the next tick', () => {
  const p = renewed(funds);
  const t = run(p.state, { type: 'tick' }, LATER_RETRY);
  const a = started(t);
  const now = ms(LATER_RETRY, 3 * DAY);
  const r = answer(t.state, a.id, funds, now);
  assert.deepEqual(r.effects.filter((e) => e.type === 'charge'), []);
  const overdue = new Date('2026-03-03T09:00:00Z');
  assert.deepEqual(events(r).at(-1), { type: 'dunning.retry_planned', data: { invoice_id: a.invoice_id, next_retry_at: overdue, why: 'scheduled_retry' } });
  assert.deepEqual(next(r), { at: overdue, action: 'retry' });
});

test('grace ending during an incident with no retry planned (waiting for the customer): held, and the hold announced (dunning.retry_planned, why incident)', () => {
  const p = renewed(auth);
  assert.deepEqual([p.state.subscription.next_retry_at, p.state.subscription.next_retry_why], [null, 'waiting_for_customer']);
  const r = run({ ...p.state, incident: INCIDENT }, { type: 'tick' }, GRACE_END);
  assert.deepEqual(events(r), [{ type: 'dunning.retry_planned', data: { invoice_id: p.state.invoice!.id, next_retry_at: null, why: 'incident' } }]);
  assert.deepEqual([r.state.subscription.status, r.state.subscription.next_retry_why], ['past_due', 'incident']);
  assert.deepEqual(next(r), { at: ms(GRACE_END, WINDOW), action: 'end_grace' });
});

test('an incident that closes after the invoice was paid, or the account downgraded, changes nothing', () => {
  const closedAt = ms(PERIOD_END, 2 * HOUR);
  const paid = renewed(ok).state;
  const down = run(renewed(funds).state, { type: 'tick' }, GRACE_END).state;
  assert.equal(down.subscription.status, 'downgraded');
  for (const s of [paid, down]) {
    const r = run(s, closing(closedAt), closedAt);
    assert.deepEqual(r.effects, [], s.subscription.status);
    assert.deepEqual(r.state.subscription, s.subscription);
  }
});
