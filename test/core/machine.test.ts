import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { step, accessOf, type BillingState, type ChargeOutcome, type MachineEvent } from '../../src/core/machine.ts';
import { DEFAULT_POLICY, mergePolicy, type DunningPolicy } from '../../src/core/dunning.ts';
import type { DeclineReason, RetryClass } from '../../src/core/types.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import { PRO_MONTHLY, T0, activeState, card } from '../helpers/billing-state.ts';

const plan = PRO_MONTHLY;
const initial = (policy: DunningPolicy = DEFAULT_POLICY): BillingState => activeState({ policy });
const pm = (id: string) => card(id);



let seq = 0;
const ctx = { newId: (p: string) => `${p}_${++seq}` };

const DECLINES: Record<string, { reason: DeclineReason; retry_class: RetryClass; retry_after_ms?: number }> = {
  insufficient_funds: { reason: 'insufficient_funds', retry_class: 'later' },
  velocity: { reason: 'credit_limit', retry_class: 'later' },
  mc_advice_4d: { reason: 'credit_limit', retry_class: 'later', retry_after_ms: 4 * DAY },
  issuer_down: { reason: 'issuer_unavailable', retry_class: 'soon' },
  processing: { reason: 'payment_system_failure', retry_class: 'soon' },
  expired: { reason: 'card_expired_or_inactive', retry_class: 'customer' },
  lost: { reason: 'declined_by_bank', retry_class: 'never' },
};
type Answer = keyof typeof DECLINES | 'ok' | 'auth' | 'unknown';

function answer(a: Answer): ChargeOutcome {
  const base = { raw_code: null, network_code: null, advice_code: null, gateway_ref: 'pi_x', retry_after_ms: null };
  if (a === 'ok') return { ...base, outcome: 'succeeded', reason: null, retry_class: null };
  if (a === 'unknown') return { ...base, outcome: 'unknown', reason: null, retry_class: null };
  if (a === 'auth') return { ...base, outcome: 'requires_action', reason: 'authentication_required', retry_class: 'customer' };
  const d = DECLINES[a];
  return { ...base, outcome: 'declined', reason: d.reason, retry_class: d.retry_class, retry_after_ms: d.retry_after_ms ?? null };
}

interface Log {
  attempts: { at: number; invoice: string; pm: string; trigger: string; outcome: string; retry_class: RetryClass | null }[];
  downgradedAt: Map<string, number>;
  violations: string[];
}

/** Runs the machine through time: the gateway answers from `answers`, customers act per `actions`. */
type Action = { atDay: number; kind: 'new_card' | 'retry' | 'help' | 'answer' | 'choose'; /** choose: days after the action */ days?: number };

function simulate(answers: Answer[], actions: Action[], policy = DEFAULT_POLICY, days = 200): Log {
  answers = [...answers];
  let s = initial(policy);
  let now = T0;
  const log: Log = { attempts: [], downgradedAt: new Map(), violations: [] };
  const pending = [...actions].sort((a, b) => a.atDay - b.atDay);
  let pmSeq = 1;
  const end = T0.getTime() + days * DAY;
  const apply = (ev: MachineEvent) => {
    // A step never changes the state it is given (it copies only what it may change).
    const before = structuredClone(s);
    const r = step(s, ev, now, ctx);
    if (!isDeepStrictEqual(s, before)) log.violations.push(`step(${ev.type}) changed its input state`);
    s = r.state;
    for (const e of r.effects) {
      if (e.type === 'event' && e.event_type === 'subscription.downgraded') log.downgradedAt.set(String(e.data.invoice_id), now.getTime());
      if (e.type === 'charge' || e.type === 'reconcile') {
        const a = answers.length ? answers.shift()! : 'ok';
        if (e.type === 'charge') log.attempts.push({ at: now.getTime(), invoice: e.attempt.invoice_id, pm: e.attempt.payment_method_id!, trigger: e.attempt.trigger, outcome: '', retry_class: null });
        apply({ type: 'charge_result', attempt_id: e.attempt.id, result: answer(a) });
        const rec = log.attempts[log.attempts.length - 1];
        const att = s.attempts.find((x) => x.id === e.attempt.id);
        if (rec && att) {
          rec.outcome = att.outcome;
          rec.retry_class = att.retry_class;
        } else if (rec && !rec.outcome) rec.outcome = a === 'ok' ? 'succeeded' : a;
      }
    }
    check();
  };
  const check = () => {
    const sub = s.subscription;
    const acc = accessOf(sub, sub.status === 'active' || sub.status === 'past_due' ? plan : { free: true }, 'free');
    const shouldBePaid = sub.status === 'active' || sub.status === 'past_due';
    if (acc.paid !== shouldBePaid) log.violations.push(`access ${acc.paid} while ${sub.status}`);
    if ((sub.status === 'past_due') !== (sub.grace_ends_at !== null)) log.violations.push(`grace_ends_at ${sub.grace_ends_at} while ${sub.status}`);
    if (sub.status === 'past_due' && now.getTime() >= sub.grace_ends_at!.getTime() + 1 && !s.attempts.some((a) => a.outcome === 'pending' || a.outcome === 'unknown'))
      log.violations.push('still past due after grace ended');
    if (!['active', 'past_due', 'downgraded', 'canceled', 'incomplete'].includes(sub.status)) log.violations.push(`invalid status ${sub.status}`);
    if (sub.current_period_end <= sub.current_period_start) log.violations.push('empty period');
    // A customer-chosen attempt is only ever planned inside grace (issue 18 item 4).
    if (sub.next_retry_why === 'customer_chosen' && (!sub.grace_ends_at || !sub.next_retry_at || sub.next_retry_at.getTime() >= sub.grace_ends_at.getTime()))
      log.violations.push(`customer-chosen attempt ${sub.next_retry_at?.toISOString()} outside grace (ends ${sub.grace_ends_at?.toISOString()})`);
    if (sub.status !== 'past_due' && (sub.chosen_retry_at || sub.grace_paused_at)) log.violations.push('chosen day or pause kept after grace');
  };
  for (let i = 0; i < 2000; i++) {
    const sub = s.subscription;
    const nextAt = sub.next_action_at?.getTime() ?? Infinity;
    const act = pending[0];
    const actAt = act ? T0.getTime() + act.atDay * DAY : Infinity;
    const t = Math.min(nextAt, actAt);
    if (t === Infinity || t > end) break;
    now = new Date(Math.max(now.getTime(), t));
    if (actAt <= nextAt) {
      pending.shift();
      if (act.kind === 'new_card') {
        s = { ...s, payment_method: pm(`pm_${++pmSeq}`), card_attempts: [] };
        apply({ type: 'payment_method_updated' });
      } else if (act.kind === 'help' || act.kind === 'answer') {
        if (s.invoice) apply({ type: act.kind === 'help' ? 'help_requested' : 'help_answered', invoice_id: s.invoice.id });
      } else if (act.kind === 'choose') {
        if (s.invoice) {
          const at = new Date(now.getTime() + (act.days ?? 1) * DAY);
          const r = step(s, { type: 'retry_date_chosen', at }, now, ctx);
          // Accepted only inside grace (as it stands, and never beyond the grace end without a pause).
          if (!r.refused) {
            const sub = r.state.subscription;
            if (!sub.grace_ends_at || at.getTime() >= sub.grace_ends_at.getTime()) log.violations.push('accepted a chosen day outside grace');
            const firm = sub.grace_ends_at!.getTime() - (sub.grace_pause_hold_ms ?? 0) + (sub.grace_paused_at ? Math.min(now.getTime() - sub.grace_paused_at.getTime(), sub.grace_pause_hold_ms ?? 0) : 0);
            if (at.getTime() >= firm) log.violations.push('accepted a chosen day past the grace an answer would leave');
          }
          apply({ type: 'retry_date_chosen', at });
        }
      } else if (s.invoice?.status === 'past_due') {
        apply({ type: 'retry_requested', trigger: 'customer_retry' });
      }
    } else apply({ type: 'tick' });
  }
  return log;
}

function invariants(log: Log, policy: DunningPolicy) {
  assert.deepEqual(log.violations, []);
  const byInvoice = new Map<string, Log['attempts']>();
  for (const a of log.attempts) byInvoice.set(a.invoice, [...(byInvoice.get(a.invoice) ?? []), a]);
  for (const [inv, atts] of byInvoice) {
    assert.ok(atts.filter((a) => a.outcome === 'succeeded').length <= 1, `invoice ${inv} paid twice`);
    const down = log.downgradedAt.get(inv);
    if (down !== undefined) assert.ok(atts.every((a) => a.at <= down), `attempt after downgrade on ${inv}`);
    // After a "never" decline on a card, only a new card makes another attempt on the invoice.
    atts.forEach((a, i) => {
      if (a.retry_class !== 'never') return;
      for (const b of atts.slice(i + 1)) assert.notEqual(b.pm, a.pm, `retried a never-retry decline on ${a.pm}`);
    });
    // An expired card / authentication decline waits for the customer: the next attempt on that
    // card is the customer's own, never a scheduled one.
    atts.forEach((a, i) => {
      if (a.retry_class !== 'customer') return;
      const next = atts.slice(i + 1).find((b) => b.pm === a.pm);
      if (next) assert.notEqual(next.trigger, 'scheduled', 'blind retry of a customer-action decline');
    });
  }
  // Caps: per card, reattempts in any 30 days (Visa counts reattempts of a declined transaction,
  // so each invoice's first charge is not one) and declines in any 24 h.
  const firsts = new Set([...new Map(log.attempts.map((a) => [a.invoice, a] as const).reverse()).values()]);
  const byPm = new Map<string, Log['attempts']>();
  for (const a of log.attempts) byPm.set(a.pm, [...(byPm.get(a.pm) ?? []), a]);
  for (const atts of byPm.values()) {
    for (const a of atts) {
      const in30 = atts.filter((b) => !firsts.has(b) && b.at > a.at - 30 * DAY && b.at <= a.at).length;
      const dec24 = atts.filter((b) => b.outcome !== 'succeeded' && b.at > a.at - DAY && b.at <= a.at).length;
      assert.ok(in30 <= policy.caps.attempts_per_card_30d, `${in30} attempts in 30 days`);
      assert.ok(dec24 <= policy.caps.declines_per_card_24h, `${dec24} declines in 24 h`);
    }
  }
}

test('renewal succeeds: invoice paid, period rolls from Feb 28 to Mar 31 (month-end anchor)', () => {
  const s = initial();
  const r1 = step(s, { type: 'tick' }, new Date('2026-02-28T09:00:00Z'), ctx);
  const charge = r1.effects.find((e) => e.type === 'charge')!;
  assert.ok(charge);
  assert.equal(r1.created_invoice!.period_start.toISOString(), '2026-02-28T09:00:00.000Z');
  assert.equal(r1.created_invoice!.period_end.toISOString(), '2026-03-31T08:00:00.000Z'); // 09:00 Paris, DST
  const r2 = step(r1.state, { type: 'charge_result', attempt_id: (charge as any).attempt.id, result: answer('ok') }, new Date('2026-02-28T09:00:01Z'), ctx);
  assert.equal(r2.state.subscription.status, 'active');
  assert.equal(r2.state.subscription.period_index, 1);
  assert.equal(r2.updated_invoice!.status, 'paid');
  assert.ok(r2.effects.some((e) => e.type === 'email' && e.template === 'renewal_succeeded'));
});

test('decline: past due with 14 days of grace from the period end, access kept, retry planned', () => {
  const r1 = step(initial(), { type: 'tick' }, new Date('2026-02-28T09:00:00Z'), ctx);
  const a = (r1.effects.find((e) => e.type === 'charge') as any).attempt;
  const r2 = step(r1.state, { type: 'charge_result', attempt_id: a.id, result: answer('insufficient_funds') }, new Date('2026-02-28T09:00:01Z'), ctx);
  const sub = r2.state.subscription;
  assert.equal(sub.status, 'past_due');
  assert.equal(sub.grace_ends_at!.toISOString(), '2026-03-14T09:00:00.000Z'); // Feb 28 10:00 Paris + 14 days (still CET)
  assert.equal(accessOf(sub, plan, 'free').reason, 'grace');
  assert.equal(sub.next_retry_why, 'scheduled_retry');
  assert.equal(sub.next_retry_at!.getTime(), new Date('2026-02-28T09:00:01Z').getTime() + DAY);
  assert.ok(r2.effects.some((e) => e.type === 'email' && e.template === 'renewal_failed'));
});

test('technical declines are retried within hours, then on the day schedule', () => {
  const log = simulate(['issuer_down', 'issuer_down', 'issuer_down', 'ok'], [], DEFAULT_POLICY, 40);
  const first = log.attempts.filter((a) => a.trigger === 'scheduled').slice(0, 4).map((a) => a.at);
  assert.equal(first[1] - first[0], 2 * HOUR);
  assert.equal(first[2] - first[1], 8 * HOUR);
  assert.ok(first[3] - first[0] >= DAY - 1000);
});

test('a Mastercard advice code delays the retry (never sooner than it allows)', () => {
  const log = simulate(['mc_advice_4d', 'ok'], [], DEFAULT_POLICY, 40);
  const at = log.attempts.map((a) => a.at);
  assert.ok(at[1] - at[0] >= 4 * DAY, `retried after ${(at[1] - at[0]) / DAY} days`);
});

test('never-retry declines wait for a new card; the new card is tried at once and recovers', () => {
  const log = simulate(['lost', 'ok'], [{ atDay: 33, kind: 'new_card' }], DEFAULT_POLICY, 40);
  assert.equal(log.attempts.length, 2);
  assert.equal(log.attempts[1].trigger, 'payment_method_updated');
  assert.equal(log.attempts[1].at, T0.getTime() + 33 * DAY);
  assert.equal(log.attempts[1].outcome, 'succeeded');
});

test('a card saved while the old card is being charged is tried as soon as that charge declines', () => {
  const at = (s: string) => new Date(`2026-02-28T${s}Z`);
  const r1 = step(initial(), { type: 'tick' }, at('09:00:00'), ctx);
  const first = (r1.effects.find((e) => e.type === 'charge') as any).attempt;
  const declined = step(r1.state, { type: 'charge_result', attempt_id: first.id, result: answer('insufficient_funds') }, at('09:00:01'), ctx).state;
  // A Retry on the old card is in flight when the customer saves a new card: the save cannot charge yet.
  const retry = step(declined, { type: 'retry_requested', trigger: 'customer_retry' }, at('10:00:00'), ctx);
  const flying = (retry.effects.find((e) => e.type === 'charge') as any).attempt;
  const saved = step({ ...retry.state, payment_method: pm('pm_new'), card_attempts: [] }, { type: 'payment_method_updated' }, at('10:00:01'), ctx);
  assert.equal(saved.effects.filter((e) => e.type === 'charge').length, 0);
  // The old card declines: the new card is charged now, not at the next scheduled retry.
  const after = step(saved.state, { type: 'charge_result', attempt_id: flying.id, result: answer('insufficient_funds') }, at('10:00:02'), ctx);
  const next = after.effects.find((e) => e.type === 'charge') as any;
  assert.ok(next, 'the new card is charged at once');
  assert.equal(next.attempt.payment_method_id, 'pm_new');
  assert.equal(next.attempt.trigger, 'payment_method_updated');
  assert.ok(after.effects.some((e) => e.type === 'email' && e.template === 'retry_failed'), 'the Retry press is still answered');
  // Once the new card has been tried, a decline on it goes back to the schedule (no loop).
  const again = step(after.state, { type: 'charge_result', attempt_id: next.attempt.id, result: answer('insufficient_funds') }, at('10:00:03'), ctx);
  assert.equal(again.effects.filter((e) => e.type === 'charge').length, 0);
  assert.equal(again.state.subscription.next_retry_why, 'scheduled_retry');
});

test('unpaid at grace end: downgraded to free exactly then, invoice uncollectible, no more attempts', () => {
  const r1 = step(initial(), { type: 'tick' }, new Date('2026-02-28T09:00:00Z'), ctx);
  const a = (r1.effects.find((e) => e.type === 'charge') as any).attempt;
  let s = step(r1.state, { type: 'charge_result', attempt_id: a.id, result: answer('expired') }, new Date('2026-02-28T09:00:00Z'), ctx).state;
  assert.equal(s.subscription.next_retry_why, 'waiting_for_customer');
  const graceEnd = s.subscription.grace_ends_at!;
  // A second before: still in grace (reminders may go out, no attempt).
  let r = step(s, { type: 'tick' }, new Date(graceEnd.getTime() - 1000), ctx);
  s = r.state;
  while (s.subscription.next_action_at && s.subscription.next_action_at < graceEnd) {
    r = step(s, { type: 'tick' }, s.subscription.next_action_at, ctx);
    assert.ok(!r.effects.some((e) => e.type === 'charge'));
    s = r.state;
  }
  assert.equal(s.subscription.status, 'past_due');
  assert.equal(s.subscription.next_action_at!.getTime(), graceEnd.getTime());
  r = step(s, { type: 'tick' }, graceEnd, ctx);
  assert.equal(r.state.subscription.status, 'downgraded');
  assert.equal(r.state.subscription.plan_id, 'free');
  assert.equal(r.updated_invoice!.status, 'uncollectible');
  assert.equal(r.state.subscription.next_action_at, null);
  assert.ok(r.effects.some((e) => e.type === 'email' && e.template === 'downgraded'));
});

test('reminders go out 7 and 2 days before grace ends', () => {
  const log: string[] = [];
  let s = initial();
  let r = step(s, { type: 'tick' }, new Date('2026-02-28T09:00:00Z'), ctx);
  const a = (r.effects.find((e) => e.type === 'charge') as any).attempt;
  s = step(r.state, { type: 'charge_result', attempt_id: a.id, result: answer('expired') }, new Date('2026-02-28T09:00:00Z'), ctx).state;
  while (s.subscription.next_action_at) {
    const at = s.subscription.next_action_at;
    r = step(s, { type: 'tick' }, at, ctx);
    for (const e of r.effects) if (e.type === 'email') log.push(`${e.template}:${Math.round((s.subscription.grace_ends_at!.getTime() - at.getTime()) / DAY)}`);
    s = r.state;
  }
  assert.deepEqual(log, ['grace_ending:7', 'grace_ending:2', 'downgraded:0']);
});

test('auto-renew off: the period ends on the free plan with no charge', () => {
  const s = initial();
  s.subscription.auto_renew = false;
  const r = step(s, { type: 'tick' }, new Date('2026-02-28T09:00:00Z'), ctx);
  assert.equal(r.state.subscription.status, 'canceled');
  assert.equal(r.state.subscription.plan_id, 'free');
  assert.ok(!r.effects.some((e) => e.type === 'charge'));
});

test('recovery renews from the original period end: no free days, no double period', () => {
  const log = simulate(['insufficient_funds', 'insufficient_funds', 'ok'], [], DEFAULT_POLICY, 40);
  assert.equal(log.attempts.length, 3);
  let s = initial();
  // Replay to read the final state.
  const answers: Answer[] = ['insufficient_funds', 'insufficient_funds', 'ok'];
  let now = new Date('2026-02-28T09:00:00Z');
  for (let i = 0; i < 20 && s.subscription.status !== 'active' || i === 0; i++) {
    const r = step(s, { type: 'tick' }, now, ctx);
    s = r.state;
    for (const e of r.effects) if (e.type === 'charge') s = step(s, { type: 'charge_result', attempt_id: e.attempt.id, result: answer(answers.shift()!) }, now, ctx).state;
    now = s.subscription.next_action_at!;
  }
  assert.equal(s.subscription.status, 'active');
  assert.equal(s.subscription.current_period_start.toISOString(), '2026-02-28T09:00:00.000Z');
  assert.equal(s.subscription.current_period_end.toISOString(), '2026-03-31T08:00:00.000Z');
});

test('property: random decline sequences and customer actions never break the invariants', () => {
  const answerArb = fc.constantFrom<Answer>('ok', 'insufficient_funds', 'velocity', 'mc_advice_4d', 'issuer_down', 'processing', 'expired', 'lost', 'auth', 'unknown');
  const policyArb = fc.record({
    retry_schedule: fc.constantFrom([1, 3, 5, 7, 10, 12], [0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], [2, 6]),
    technical_retry_hours: fc.constantFrom([2, 8], [1, 2, 3, 4, 5, 6]),
    max_automatic_attempts: fc.integer({ min: 1, max: 20 }),
    caps: fc.record({ attempts_per_card_30d: fc.integer({ min: 3, max: 20 }), declines_per_card_24h: fc.integer({ min: 2, max: 10 }) }),
  });
  fc.assert(
    fc.property(
      fc.array(answerArb, { maxLength: 60 }),
      fc.array(
        fc.record({ atDay: fc.integer({ min: 0, max: 150 }), kind: fc.constantFrom<Action['kind']>('new_card', 'retry', 'help', 'answer', 'choose', 'choose'), days: fc.double({ min: -2, max: 20, noNaN: true }) }),
        { maxLength: 20 },
      ),
      policyArb,
      (answers, actions, override) => {
        const policy = mergePolicy(DEFAULT_POLICY, override as any);
        const log = simulate(answers, actions, policy, 150);
        invariants(log, policy);
      },
    ),
    {
      // A fixed seed keeps npm test deterministic; FC_SEED=<n> explores other sequences.
      seed: Number(process.env.FC_SEED ?? 20261125),
      numRuns: Number(process.env.FC_RUNS ?? 500),
      examples: [
        // Found by a random run: a new card in grace's last minutes answered "unknown", reconciled
        // as a decline after grace ended, left the subscription past due until the next tick.
        [
          ['auth', 'unknown', 'mc_advice_4d'],
          [{ atDay: 42, kind: 'new_card', days: 1 }],
          { retry_schedule: [1, 3, 5, 7, 10, 12], technical_retry_hours: [2, 8], max_automatic_attempts: 1, caps: { attempts_per_card_30d: 3, declines_per_card_24h: 2 } },
        ],
      ],
    },
  );
});

test('a cancel while the renewal waits out a 429 closes that attempt unsent: nothing is charged, the invoice is void, the account on the free plan', () => {
  const at = (s: string) => new Date(`2026-02-28T${s}Z`);
  const limited: ChargeOutcome = { outcome: 'rate_limited', reason: null, retry_class: null, raw_code: 'rate_limit', network_code: null, advice_code: null, gateway_ref: null, retry_after_ms: 5 * 60_000 };
  for (const when of ['period_end', 'now'] as const) {
    const r1 = step(initial(), { type: 'tick' }, at('09:00:00'), ctx);
    const first = (r1.effects.find((e) => e.type === 'charge') as any).attempt;
    const waiting = step(r1.state, { type: 'charge_result', attempt_id: first.id, result: limited }, at('09:00:01'), ctx).state;
    const canceled = step(waiting, { type: 'cancel', at: when, by: 'customer' }, at('09:01:00'), ctx);
    assert.equal(canceled.effects.filter((e) => e.type === 'charge' || e.type === 'reconcile').length, 0, when);
    const closed = canceled.changed_attempts.find((x) => x.id === first.id)!;
    assert.deepEqual([closed.outcome, closed.completed_at?.toISOString()], ['not_made', at('09:01:00').toISOString()], when);
    assert.equal(canceled.state.subscription.status, 'canceled', when);
    assert.equal(canceled.state.subscription.plan_id, 'free', when);
    assert.equal(canceled.state.invoice, null, when);
    assert.equal(canceled.updated_invoice?.status, 'void', when);
    assert.ok(canceled.effects.some((e) => e.type === 'event' && e.event_type === 'payment_attempt.not_made'), when);
    // After the 429's wait, nothing is sent: the account has nothing due.
    const later = step(canceled.state, { type: 'tick' }, at('09:10:00'), ctx);
    assert.equal(later.effects.filter((e) => e.type === 'charge' || e.type === 'reconcile').length, 0, when);
  }
});

test('a rate-limited answer is no outcome: the attempt stays pending and uncounted, made again with its key after the wait; a customer Retry makes it at once', () => {
  const at = (s: string) => new Date(`2026-02-28T${s}Z`);
  const limited: ChargeOutcome = { outcome: 'rate_limited', reason: null, retry_class: null, raw_code: 'rate_limit', network_code: null, advice_code: null, gateway_ref: null, retry_after_ms: 5 * 60_000 };
  const r1 = step(initial(), { type: 'tick' }, at('09:00:00'), ctx);
  const first = (r1.effects.find((e) => e.type === 'charge') as any).attempt;
  const r2 = step(r1.state, { type: 'charge_result', attempt_id: first.id, result: limited }, at('09:00:01'), ctx);
  const a = r2.state.attempts[0];
  assert.deepEqual([r2.state.attempts.length, a.outcome, a.raw_code, a.not_before?.toISOString()], [1, 'pending', 'rate_limited', at('09:05:01').toISOString()]);
  assert.equal(r2.state.subscription.status, 'active');
  assert.equal(r2.state.invoice?.status, 'open');
  assert.equal(r2.state.subscription.next_action_at?.toISOString(), at('09:05:01').toISOString());
  assert.ok(!r2.effects.some((e) => e.type === 'email'), 'nothing to tell the customer');
  assert.deepEqual(r2.state.card_attempts.map((c) => c.outcome), ['pending'], 'one entry in the card history, as for any attempt being made');
  // Before the wait is over, a tick only waits.
  const early = step(r2.state, { type: 'tick' }, at('09:03:00'), { ...ctx });
  assert.equal(early.effects.filter((e) => e.type === 'charge' || e.type === 'reconcile').length, 0);
  // After it: the same attempt is charged (same key), no lookup, no new attempt.
  const r3 = step(r2.state, { type: 'tick' }, at('09:05:01'), ctx);
  const again = r3.effects.filter((e) => e.type === 'charge' || e.type === 'reconcile') as any[];
  assert.deepEqual(again.map((e) => [e.type, e.attempt.id, e.attempt.idempotency_key]), [['charge', first.id, first.idempotency_key]]);
  assert.equal(r3.state.attempts.length, 1);
  assert.equal(r3.state.attempts[0].raw_code, null);
  const paid = step(r3.state, { type: 'charge_result', attempt_id: first.id, result: answer('ok') }, at('09:05:02'), ctx);
  assert.equal(paid.state.invoice, null);
  assert.equal(paid.state.subscription.period_index, 1);

  // In grace: the scheduled retry is rate-limited, the customer presses Retry: that attempt goes now.
  const d1 = step(r1.state, { type: 'charge_result', attempt_id: first.id, result: answer('insufficient_funds') }, at('09:00:01'), ctx).state;
  const d2 = step(d1, { type: 'tick' }, d1.subscription.next_action_at!, ctx);
  const retry = (d2.effects.find((e) => e.type === 'charge') as any).attempt;
  const d3 = step(d2.state, { type: 'charge_result', attempt_id: retry.id, result: limited }, d1.subscription.next_action_at!, ctx).state;
  const pressed = step(d3, { type: 'retry_requested', trigger: 'customer_retry' }, new Date(d1.subscription.next_action_at!.getTime() + 1000), ctx);
  const made = pressed.effects.filter((e) => e.type === 'charge') as any[];
  assert.deepEqual(made.map((e) => e.attempt.id), [retry.id], 'the waiting attempt, not a new one');
  assert.equal(pressed.state.attempts.length, 2);
});
