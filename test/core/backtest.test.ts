// The policy backtest's estimator and replay (core/backtest.ts): unit tests and fast-check
// properties — shares stay in [0, 1], more retries at the end never recover less, no retry
// recovers nothing, the replay never plans an attempt beyond the caps, thin data gives no number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DAY_BUCKETS,
  backtest,
  causeOf,
  comparisonTable,
  dayBucket,
  estimateRates,
  observationsOf,
  rateFor,
  replay,
  wilson,
  type BacktestResult,
  type Observation,
  type RecordedAttempt,
  type RecordedRenewal,
} from '../../src/core/backtest.ts';
import { DEFAULT_POLICY, applyCaps, mergePolicy, validatePolicy, type DunningPolicy } from '../../src/core/dunning.ts';
import { DECLINE_REASONS, type DeclineReason } from '../../src/core/types.ts';
import { DAY, HOUR } from '../../src/core/time.ts';

const T0 = new Date('2026-03-01T10:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY);

function renewal(o: { id?: string; reason?: DeclineReason; cls?: 'soon' | 'later' | 'customer' | 'never'; retries?: { days: number; ok: boolean }[]; status?: RecordedRenewal['status']; amount?: number; currency?: string; emails?: number } = {}): RecordedRenewal {
  const cls = o.cls ?? 'later';
  const reason = o.reason ?? 'insufficient_funds';
  const a = (days: number, trigger: RecordedAttempt['trigger'], ok: boolean): RecordedAttempt => ({
    at: at(days),
    trigger,
    outcome: ok ? 'succeeded' : 'declined',
    reason: ok ? null : reason,
    retry_class: ok ? null : cls,
    payment_method_id: 'pm_1',
    not_before: null,
  });
  const retries = o.retries ?? [];
  const paid = retries.some((r) => r.ok);
  return {
    invoice_id: o.id ?? 'inv_1',
    amount: o.amount ?? 1000,
    currency: o.currency ?? 'EUR',
    period_start: T0,
    failed_at: T0,
    time_zone: 'UTC',
    status: o.status ?? (paid ? 'paid' : 'uncollectible'),
    attempts: [a(0, 'initial', false), ...retries.map((r) => a(r.days, 'scheduled', r.ok))],
    emails: Array.from({ length: o.emails ?? 1 }, () => ({ template: 'renewal_failed', at: T0 })),
  };
}

/** Observations for a cause: `n` per attempt number 2..maxNumber, `share` of them succeeding, at day 1. */
function plentiful(cause: DeclineReason, share: number, n = 40, maxNumber = 20): Observation[] {
  const out: Observation[] = [];
  for (let number = 2; number <= maxNumber; number++)
    for (let i = 0; i < n; i++) out.push({ cause, number, days: 1 + (number % 13), succeeded: i < Math.round(share * n) });
  return out;
}

test('Wilson interval: inside [0, 1], around the share, narrower with more observations; nothing observed is [0, 1]', () => {
  const a = wilson(5, 20);
  assert.equal(a.value, 0.25);
  assert.ok(a.low < 0.25 && a.high > 0.25);
  const b = wilson(50, 200);
  assert.ok(b.high - b.low < a.high - a.low);
  assert.deepEqual(wilson(0, 0), { value: 0, low: 0, high: 1 });
  assert.ok(Math.abs(wilson(0, 10).low) < 1e-12 && Math.abs(wilson(10, 10).high - 1) < 1e-12);
  // A known value: 5 of 20 → [0.112, 0.469].
  assert.ok(Math.abs(a.low - 0.1119) < 1e-3 && Math.abs(a.high - 0.4687) < 1e-3);
});

test('observations: only answered automatic retries, numbered among the automatic attempts, by cause and days', () => {
  const r = renewal({ retries: [{ days: 1, ok: false }, { days: 3, ok: true }] });
  r.attempts.splice(2, 0, { ...r.attempts[1], trigger: 'customer_retry', at: at(2) });
  assert.deepEqual(observationsOf([r]), [
    { cause: 'insufficient_funds', number: 2, days: 1, succeeded: false },
    { cause: 'insufficient_funds', number: 3, days: 3, succeeded: true },
  ]);
  assert.equal(causeOf(renewal({ reason: 'card_expired_or_inactive' })), 'card_expired_or_inactive');
  assert.equal(causeOf({ ...r, attempts: [] }), 'no_payment_method');
  assert.deepEqual([0, 0.99, 1, 2.5, 6, 13.9, 14, 40].map(dayBucket), [0, 0, 1, 1, 2, 3, 4, 4]);
  assert.equal(DAY_BUCKETS.length, 5);
});

test('estimator: the finest cell with enough observations, then coarser ones, then insufficient_data', () => {
  const obs: Observation[] = [];
  // 25 at attempt 2 in day bucket 1–3 (10 succeeded), 5 at attempt 2 day 5, 10 at attempt 3 day 5.
  for (let i = 0; i < 25; i++) obs.push({ cause: 'insufficient_funds', number: 2, days: 1, succeeded: i < 10 });
  for (let i = 0; i < 5; i++) obs.push({ cause: 'insufficient_funds', number: 2, days: 5, succeeded: false });
  for (let i = 0; i < 10; i++) obs.push({ cause: 'insufficient_funds', number: 3, days: 5, succeeded: i < 1 });
  for (let i = 0; i < 3; i++) obs.push({ cause: 'credit_limit', number: 2, days: 1, succeeded: true });
  const rates = estimateRates(obs, 20);
  const fine = rateFor(rates, 'insufficient_funds', 2, 1.5);
  assert.ok(fine.ok && fine.level === 'cause_attempt_days' && fine.observations === 25 && fine.p.value === 0.4);
  const byNumber = rateFor(rates, 'insufficient_funds', 2, 5);
  assert.ok(byNumber.ok && byNumber.level === 'cause_attempt' && byNumber.observations === 30);
  const byCause = rateFor(rates, 'insufficient_funds', 3, 5);
  assert.ok(byCause.ok && byCause.level === 'cause' && byCause.observations === 40 && byCause.p.value === 11 / 40);
  const beyond = rateFor(rates, 'insufficient_funds', 4, 5);
  assert.ok(!beyond.ok && /attempt 4 is beyond the recorded ones \(up to attempt 3\)/.test(beyond.why));
  const thin = rateFor(rates, 'credit_limit', 2, 1);
  assert.ok(!thin.ok && /3 recorded automatic retries, fewer than 20/.test(thin.why));
  const none = rateFor(rates, 'declined_by_bank', 2, 1);
  assert.ok(!none.ok && /no recorded automatic retry/.test(none.why));
});

test('replay: attempts from the policy’s schedule, recovery 1 − Π(1 − p), e-mails and attempts weighted by the chance still unpaid', () => {
  const rates = estimateRates(plentiful('insufficient_funds', 0.5));
  const policy = mergePolicy(DEFAULT_POLICY, { retry_schedule: [1, 3], max_automatic_attempts: 3, reminder_days: [2] });
  const x = replay(renewal(), policy, rates);
  assert.ok(x.ok);
  assert.deepEqual(x.steps.map((s) => [s.at.toISOString(), s.number]), [[at(1).toISOString(), 2], [at(3).toISOString(), 3]]);
  assert.ok(Math.abs(x.recovered.value - 0.75) < 1e-9);
  assert.ok(Math.abs(x.attempts.value - 2.5) < 1e-9); // the charge, the first retry, the second half the time
  // Failure e-mail + the reminder (day 12, unpaid a quarter of the time) + receipt or downgrade.
  assert.ok(Math.abs(x.emails.value - 2.25) < 1e-9);
  assert.ok(x.recovered.low <= x.recovered.value && x.recovered.value <= x.recovered.high);
  // Technical declines: the quick retries in hours first.
  const tech = replay(renewal({ reason: 'issuer_unavailable', cls: 'soon' }), policy, estimateRates(plentiful('issuer_unavailable', 0.3)));
  assert.ok(tech.ok);
  assert.deepEqual(tech.steps.map((s) => s.at.getTime() - T0.getTime()), [2 * HOUR, 10 * HOUR]); // 2 h, then 8 h after it; max 3 attempts
  // A decline that waits for the customer: no automatic retry, nothing recovered, no data needed.
  const cust = replay(renewal({ reason: 'card_expired_or_inactive', cls: 'customer' }), policy, estimateRates([]));
  assert.ok(cust.ok && cust.steps.length === 0 && cust.recovered.value === 0 && cust.attempts.value === 1);
  // Thin data: no number.
  const thin = replay(renewal(), policy, estimateRates(plentiful('insufficient_funds', 0.5, 1, 3)));
  assert.ok(!thin.ok && /2 recorded automatic retries, fewer than 20/.test(thin.why));
});

test('backtest: actual figures are the recorded ones; thin causes are left out and said; nothing replayable → no estimate', () => {
  const renewals: RecordedRenewal[] = [];
  // 30 insufficient-funds renewals: retried at days 1, 3, 5…, one in three recovered at the first retry.
  for (let i = 0; i < 30; i++)
    renewals.push(
      renewal({
        id: `inv_if_${i}`,
        amount: 2900,
        retries: i % 3 === 0 ? [{ days: 1, ok: true }] : [1, 3, 5, 7, 10, 12].map((d) => ({ days: d, ok: false })),
        emails: i % 3 === 0 ? 2 : 4,
      }),
    );
  // 3 credit-limit renewals: too few.
  for (let i = 0; i < 3; i++) renewals.push(renewal({ id: `inv_cl_${i}`, reason: 'credit_limit', retries: [{ days: 1, ok: true }] }));
  // One still in grace.
  renewals.push(renewal({ id: 'inv_open', status: 'past_due' }));
  const res = backtest({ renewals, current: () => DEFAULT_POLICY, candidate: () => mergePolicy(DEFAULT_POLICY, { retry_schedule: [1, 2] }), card_history: new Map() });
  assert.equal(res.replayed, 30);
  assert.equal(res.left_out_open, 1);
  assert.equal(res.left_out_thin, 3);
  const cl = res.causes.find((c) => c.cause === 'credit_limit')!;
  assert.match(cl.insufficient_data!, /fewer than 20/);
  assert.equal(cl.rate, null);
  assert.deepEqual(res.actual.recovered, { value: 10, low: 10, high: 10 });
  assert.deepEqual(res.actual.revenue, [{ currency: 'EUR', amount: { value: 29000, low: 29000, high: 29000 } }]);
  assert.equal(res.actual.attempts.value, 10 * 2 + 20 * 7);
  assert.equal(res.actual.emails.value, 10 * 2 + 20 * 4);
  assert.equal(res.actual_recovered_automatically, 10);
  assert.ok(res.candidate && res.current);
  // Fewer retries (2 instead of 7) recover no more than the policy in force (the later retries
  // never succeeded in the record, so here the same), with fewer attempts.
  assert.ok(res.candidate.recovered.value <= res.current.recovered.value + 1e-9);
  assert.ok(res.candidate.attempts.value < res.current.attempts.value);
  // Nothing replayable: no estimate at all.
  const none = backtest({ renewals: renewals.slice(30), current: () => DEFAULT_POLICY, candidate: () => DEFAULT_POLICY, card_history: new Map() });
  assert.equal(none.candidate, null);
  assert.equal(none.current, null);
  assert.equal(none.replayed, 0);
});

test('recorded attempts over the tested caps are counted', () => {
  const r = renewal({ retries: [{ days: 0.1, ok: false }, { days: 0.2, ok: false }] });
  const history = new Map([['pm_1', r.attempts.map((a) => ({ at: a.at, outcome: a.outcome }))]]);
  const three = mergePolicy(DEFAULT_POLICY, { max_automatic_attempts: 3 });
  const strict = mergePolicy(three, { caps: { declines_per_card_24h: 1, attempts_per_card_30d: 15 } });
  const res = backtest({ renewals: [r], current: () => three, candidate: () => strict, card_history: history, min_observations: 1 });
  assert.equal(res.replayed, 1);
  assert.equal(res.actual.cap_breaches, 2);
  assert.equal(backtest({ renewals: [r], current: () => three, candidate: () => three, card_history: history, min_observations: 1 }).actual.cap_breaches, 0);
});

test('a time before the failure counts in the first day bucket', () => {
  assert.equal(dayBucket(-0.5), 0);
});

test('a retry that asked the customer to authenticate is a failure: it gives the cause, and an answered retry that did not succeed', () => {
  const r = renewal({ reason: 'authentication_required', cls: 'customer', retries: [{ days: 1, ok: false }, { days: 3, ok: true }] });
  for (const a of r.attempts) if (a.outcome === 'declined') a.outcome = 'requires_action';
  assert.equal(causeOf(r), 'authentication_required');
  assert.deepEqual(observationsOf([r]), [
    { cause: 'authentication_required', number: 2, days: 1, succeeded: false },
    { cause: 'authentication_required', number: 3, days: 3, succeeded: true },
  ]);
});

test('a retry at the very instant of the failure is observed at 0 days; one recorded before the failure is numbered but not observed', () => {
  const atOnce = renewal({ retries: [{ days: 0, ok: false }] });
  assert.deepEqual(observationsOf([atOnce]), [{ cause: 'insufficient_funds', number: 2, days: 0, succeeded: false }]);
  const before = { ...renewal({ retries: [{ days: 1, ok: false }, { days: 3, ok: true }] }), failed_at: at(2) };
  assert.deepEqual(observationsOf([before]), [{ cause: 'insufficient_funds', number: 3, days: 1, succeeded: true }]);
});

test('a cell with exactly the minimum of observations is used; below it the answer is insufficient_data, with why', () => {
  const obs: Observation[] = [];
  for (let i = 0; i < 20; i++) obs.push({ cause: 'insufficient_funds', number: 2, days: 1, succeeded: i < 5 });
  const rates = estimateRates(obs, 20);
  assert.deepEqual(rateFor(rates, 'insufficient_funds', 2, 1), { ok: true, p: wilson(5, 20), observations: 20, level: 'cause_attempt_days' });
  assert.deepEqual(rateFor(estimateRates(obs, 21), 'insufficient_funds', 2, 1), { ok: false, insufficient_data: true, why: '20 recorded automatic retries, fewer than 21' });
  assert.deepEqual(rateFor(rates, 'insufficient_funds', 3, 1), { ok: false, insufficient_data: true, why: 'attempt 3 is beyond the recorded ones (up to attempt 2)' });
});

test('a replayed retry takes the success rate recorded at its own delay since the failure', () => {
  const obs: Observation[] = [];
  // Attempt 2: every retry within a day failed, every one after two days succeeded.
  for (let i = 0; i < 20; i++) obs.push({ cause: 'insufficient_funds', number: 2, days: 0.5, succeeded: false }, { cause: 'insufficient_funds', number: 2, days: 2, succeeded: true });
  const x = replay(renewal(), mergePolicy(DEFAULT_POLICY, { retry_schedule: [2], max_automatic_attempts: 2 }), estimateRates(obs));
  assert.ok(x.ok);
  assert.deepEqual(x.steps.map((s) => [s.at.toISOString(), s.p.value]), [[at(2).toISOString(), 1]]);
  assert.equal(x.recovered.value, 1);
});

test('a renewal with no card on file (no failed attempt) is replayed with no retry and nothing recovered', () => {
  const x = replay({ ...renewal(), attempts: [] }, DEFAULT_POLICY, estimateRates([]));
  assert.ok(x.ok);
  assert.deepEqual([x.steps, x.recovered, x.cap_delays], [[], { value: 0, low: 0, high: 0 }, 0]);
});

// Technical declines (quick retries 1 h, then 2 h later) under a cap of 2 declines a day: the second quick retry waits until a day after the failure.
const capped = mergePolicy(DEFAULT_POLICY, { technical_retry_hours: [1, 2], retry_schedule: [3], max_automatic_attempts: 4, caps: { declines_per_card_24h: 2, attempts_per_card_30d: 15 } });

test('retries the per-card caps move later are marked, and counted weighted by the chance the renewal is still unpaid', () => {
  const x = replay(renewal({ reason: 'issuer_unavailable', cls: 'soon' }), capped, estimateRates(plentiful('issuer_unavailable', 0.5)));
  assert.ok(x.ok);
  assert.deepEqual(
    x.steps.map((s) => [s.at.getTime() - T0.getTime(), s.number, s.cap_delayed]),
    [
      [HOUR, 2, false],
      [DAY + 1, 3, true], // 1 ms after the failure's 24 h
      [3 * DAY, 4, false],
    ],
  );
  assert.equal(x.cap_delays, 0.5, 'the delayed retry is made only if the first one failed: half the time');
  assert.equal(x.attempts.value, 1 + 1 + 0.5 + 0.25);
  assert.equal(x.cap_breaches, 0);
});

test('reminders: those due at or before the failure are not counted; each later one weighted by the chance unpaid after the retries strictly before it', () => {
  // Grace from the period start (day 0) to day 14, reminders at days 7 and 12; the renewal failed at day 7.
  // Retries at days 8, 12 (the reminder's instant) and 13.
  const r = { ...renewal(), failed_at: at(7) };
  r.attempts[0].at = at(7);
  const x = replay(r, mergePolicy(DEFAULT_POLICY, { retry_schedule: [1, 5, 6], max_automatic_attempts: 4 }), estimateRates(plentiful('insufficient_funds', 0.5)));
  assert.ok(x.ok);
  assert.deepEqual(x.steps.map((s) => s.at.toISOString()), [at(8), at(12), at(13)].map((d) => d.toISOString()));
  // The failure e-mail, the day-12 reminder while unpaid after day 8's retry (half the time), the receipt or downgrade.
  assert.equal(x.emails.value, 1 + 0.5 + 1);
});

test('estimated revenue: each renewal’s amount times its chance of recovery, summed per currency, currencies in code order; cap delays summed over renewals', () => {
  // Technical declines retried at 1 h, 1 d + 1 ms (capped) and 3 d (see `capped`): the first two retries
  // recorded failing, the third succeeding for the USD renewal and failing for the EUR one.
  const rec = (id: string, currency: string, amount: number, paid: boolean) => {
    const r = renewal({ id, currency, amount, reason: 'issuer_unavailable', cls: 'soon', status: paid ? 'paid' : 'uncollectible' });
    const retry = (ms: number, ok: boolean): RecordedAttempt => ({ ...r.attempts[0], at: new Date(T0.getTime() + ms), trigger: 'scheduled', outcome: ok ? 'succeeded' : 'declined', reason: ok ? null : 'issuer_unavailable', retry_class: ok ? null : 'soon' });
    r.attempts.push(retry(HOUR, false), retry(DAY + 1, false), retry(3 * DAY, paid));
    return r;
  };
  const res = backtest({ renewals: [rec('inv_usd', 'USD', 1000, true), rec('inv_eur', 'EUR', 2900, false)], current: () => capped, candidate: () => capped, card_history: new Map(), min_observations: 1 });
  assert.equal(res.replayed, 2);
  // Attempts 2 and 3 never succeeded in the record, attempt 4 did once in two: each renewal is recovered half the time.
  const m = res.candidate!;
  const half = m.recovered.value / 2;
  assert.equal(half, 0.5);
  assert.deepEqual(
    m.revenue.map((x) => [x.currency, x.amount]),
    [
      ['EUR', { value: 2900 * 0.5, low: 2900 * (m.recovered.low / 2), high: 2900 * (m.recovered.high / 2) }],
      ['USD', { value: 1000 * 0.5, low: 1000 * (m.recovered.low / 2), high: 1000 * (m.recovered.high / 2) }],
    ],
  );
  assert.deepEqual(res.actual.revenue, [{ currency: 'USD', amount: { value: 1000, low: 1000, high: 1000 } }]);
  // Each renewal's capped retry is made for certain (the one before it never succeeded): 2 in all.
  assert.deepEqual([m.cap_delays, m.cap_breaches], [2, 0]);
});

test('a cause is compared all in or all out: one of its renewals too thin to replay leaves the others out too', () => {
  // Retries recorded up to attempt 3; the renewal under four attempts goes beyond them.
  const renewals = [renewal({ id: 'inv_a', retries: [{ days: 1, ok: false }, { days: 3, ok: true }] }), renewal({ id: 'inv_b', retries: [{ days: 1, ok: false }, { days: 3, ok: false }] })];
  const policy = (max: number) => mergePolicy(DEFAULT_POLICY, { retry_schedule: [1, 3, 5], max_automatic_attempts: max });
  const ok = backtest({ renewals, current: () => policy(3), candidate: () => policy(3), card_history: new Map(), min_observations: 1 });
  assert.equal(ok.replayed, 2);
  const res = backtest({ renewals, current: () => policy(3), candidate: (r) => policy(r.invoice_id === 'inv_b' ? 4 : 3), card_history: new Map(), min_observations: 1 });
  assert.deepEqual([res.replayed, res.left_out_thin, res.candidate, res.current], [0, 2, null, null]);
  assert.equal(res.causes[0].insufficient_data, 'attempt 4 is beyond the recorded ones (up to attempt 3)');
});

test('recorded figures: attempts pending or not made are not attempts nor cap breaches; recovered automatically only by an automatic retry that succeeded', () => {
  const byCustomer = renewal({ id: 'inv_c', retries: [{ days: 1, ok: false }] });
  byCustomer.status = 'paid';
  const base = byCustomer.attempts[0];
  byCustomer.attempts.push(
    { ...base, at: at(1.5), trigger: 'scheduled', outcome: 'not_made', reason: null, retry_class: null }, // within a day of the day-1 decline
    { ...base, at: at(2), trigger: 'customer_retry', outcome: 'succeeded', reason: null, retry_class: null },
  );
  const byRetry = renewal({ id: 'inv_r', retries: [{ days: 1, ok: true }] });
  byRetry.attempts.push({ ...byRetry.attempts[0], at: at(2), trigger: 'scheduled', outcome: 'pending', reason: null, retry_class: null });
  const history = new Map([['pm_1', byCustomer.attempts.filter((a) => a.outcome !== 'not_made').map((a) => ({ at: a.at, outcome: a.outcome }))]]);
  const strict = mergePolicy(DEFAULT_POLICY, { retry_schedule: [1], max_automatic_attempts: 2, caps: { declines_per_card_24h: 1, attempts_per_card_30d: 15 } });
  const res = backtest({ renewals: [byCustomer, byRetry], current: () => strict, candidate: () => strict, card_history: history, min_observations: 1 });
  assert.equal(res.replayed, 2);
  assert.equal(res.actual.attempts.value, 3 + 2, 'inv_c: the charge, the retry, the customer’s; inv_r: the charge, the retry');
  assert.equal(res.actual.recovered.value, 2);
  assert.equal(res.actual_recovered_automatically, 1);
  assert.equal(res.actual.cap_breaches, 0);
});

test('causes: most renewals first, ties by name; each with its renewals, recorded retries, successes, and a rate from the minimum of retries up', () => {
  const renewals = [
    renewal({ id: 'if_1', retries: [{ days: 1, ok: true }] }),
    renewal({ id: 'ce_1', reason: 'card_expired_or_inactive', cls: 'customer' }),
    renewal({ id: 'if_2', retries: [{ days: 1, ok: false }] }),
    renewal({ id: 'cl_1', reason: 'credit_limit', retries: [{ days: 1, ok: false }] }),
    renewal({ id: 'cl_2', reason: 'credit_limit', status: 'past_due' }),
  ];
  const res = backtest({ renewals, current: () => DEFAULT_POLICY, candidate: () => DEFAULT_POLICY, card_history: new Map(), min_observations: 2 });
  assert.deepEqual(
    res.causes.map((c) => [c.cause, c.renewals, c.observations, c.successes, c.rate]),
    [
      ['credit_limit', 2, 1, 0, null],
      ['insufficient_funds', 2, 2, 1, wilson(1, 2)],
      ['card_expired_or_inactive', 1, 0, 0, null],
    ],
  );
});

test('the comparison table: recorded counts, then each policy\'s figures as "estimate value (low–high)", rounded to a tenth; a currency only a policy recovers shows 0 recorded', () => {
  const pt = (v: number) => ({ value: v, low: v, high: v });
  const r: BacktestResult = {
    min_observations: 20,
    replayed: 4,
    left_out_open: 1,
    left_out_thin: 2,
    causes: [],
    actual: { renewals: 4, recovered: pt(3), revenue: [{ currency: 'EUR', amount: pt(8700) }], attempts: pt(11), emails: pt(9), cap_breaches: 2, cap_delays: 0 },
    current: {
      renewals: 4,
      recovered: { value: 1.2345, low: 0.56, high: 2.04 },
      revenue: [{ currency: 'EUR', amount: { value: 3579.6, low: 1624.4, high: 5915.5 } }],
      attempts: { value: 1234.56, low: 7.04, high: 9.95 },
      emails: { value: 6.5, low: 5.25, high: 7.75 },
      cap_breaches: 0,
      cap_delays: 0.34,
    },
    candidate: {
      renewals: 4,
      recovered: { value: 2, low: 1, high: 3 },
      revenue: [
        { currency: 'USD', amount: { value: 1000, low: 500, high: 1500 } },
        { currency: 'EUR', amount: pt(2900) },
      ],
      attempts: { value: 6, low: 5, high: 7 },
      emails: pt(4),
      cap_breaches: 1,
      cap_delays: 1.25,
    },
    actual_recovered_automatically: 2,
  };
  const t = comparisonTable(r, 'two retries');
  assert.deepEqual(t.columns, ['', 'recorded', 'policy in force (estimate)', 'two retries (estimate)']);
  assert.deepEqual(
    t.rows.map((row) => [row.label, ...row.cells]),
    [
      ['Failed renewals replayed', '4', '4', '4'],
      ['Recovered renewals', '3 (2 by automatic retries)', 'estimate 1.2 (0.6–2)', 'estimate 2 (1–3)'],
      ['Recovered share', '75 %', 'estimate 30.9 % (14 %–51 %)', 'estimate 50 % (25 %–75 %)'],
      ['Recovered revenue (EUR)', '€87.00', 'estimate €35.80 (€16.24–€59.16)', 'estimate €29.00 (€29.00–€29.00)'],
      ['Recovered revenue (USD)', 'US$0.00', 'estimate US$0.00 (US$0.00–US$0.00)', 'estimate US$10.00 (US$5.00–US$15.00)'],
      ['Attempts (the renewal charge included)', '11', 'estimate 1,234.6 (7–10)', 'estimate 6 (5–7)'],
      ['Dunning e-mails', '9', 'estimate 6.5 (5.3–7.8)', 'estimate 4 (4–4)'],
      ["Attempts beyond the per-card caps (recorded: the two retries's caps)", '2', 'estimate 0', 'estimate 1'],
      ['Attempts delayed by the caps', '—', 'estimate 0.3', 'estimate 1.3'],
    ],
  );
});

test('the comparison table with nothing replayed: the recorded zeros (a share of 0 %, no revenue row), "insufficient data" for both policies', () => {
  const zero = { value: 0, low: 0, high: 0 };
  const t = comparisonTable({
    min_observations: 20,
    replayed: 0,
    left_out_open: 0,
    left_out_thin: 3,
    causes: [],
    actual: { renewals: 0, recovered: zero, revenue: [], attempts: zero, emails: zero, cap_breaches: 0, cap_delays: 0 },
    current: null,
    candidate: null,
    actual_recovered_automatically: 0,
  });
  const none = ['insufficient data', 'insufficient data'];
  assert.equal(t.columns[3], 'candidate (estimate)');
  assert.deepEqual(
    t.rows.map((row) => [row.label, ...row.cells]),
    [
      ['Failed renewals replayed', '0', '0', '0'],
      ['Recovered renewals', '0 (0 by automatic retries)', ...none],
      ['Recovered share', '0 %', ...none],
      ['Attempts (the renewal charge included)', '0', ...none],
      ['Dunning e-mails', '0', ...none],
      ["Attempts beyond the per-card caps (recorded: the candidate's caps)", '0', ...none],
      ['Attempts delayed by the caps', '—', ...none],
    ],
  );
});

test('the comparison table: one revenue row per currency, in code order, whichever column recovered it', () => {
  const pt = (v: number) => ({ value: v, low: v, high: v });
  const m = (revenue: { currency: string; amount: { value: number; low: number; high: number } }[]) => ({ renewals: 2, recovered: pt(1), revenue, attempts: pt(3), emails: pt(4), cap_breaches: 0, cap_delays: 0 });
  const t = comparisonTable({
    min_observations: 20,
    replayed: 2,
    left_out_open: 0,
    left_out_thin: 0,
    causes: [],
    actual: m([{ currency: 'USD', amount: pt(1000) }]),
    current: m([{ currency: 'EUR', amount: pt(2900) }]),
    candidate: m([{ currency: 'CHF', amount: pt(500) }]),
    actual_recovered_automatically: 1,
  });
  assert.deepEqual(
    t.rows.filter((row) => row.label.startsWith('Recovered revenue')).map((row) => [row.label, row.cells[0]]),
    [
      ['Recovered revenue (CHF)', 'CHF\u00a00.00'],
      ['Recovered revenue (EUR)', '€0.00'],
      ['Recovered revenue (USD)', 'US$10.00'],
    ],
  );
});

// ---- properties ----

const arbPolicy: fc.Arbitrary<DunningPolicy> = fc
  .record({
    grace_days: fc.integer({ min: 3, max: 30 }),
    schedule: fc.uniqueArray(fc.integer({ min: 1, max: 29 }), { maxLength: 10 }),
    tech: fc.uniqueArray(fc.integer({ min: 1, max: 48 }), { maxLength: 4 }),
    max: fc.integer({ min: 1, max: 20 }),
    a30: fc.integer({ min: 1, max: 20 }),
    d24: fc.integer({ min: 1, max: 10 }),
  })
  .map(({ grace_days, schedule, tech, max, a30, d24 }) =>
    mergePolicy(DEFAULT_POLICY, {
      grace_days,
      retry_schedule: schedule.filter((d) => d < grace_days).sort((a, b) => a - b),
      technical_retry_hours: tech.filter((h) => h < grace_days * 24).sort((a, b) => a - b),
      reminder_days: [1].filter((d) => d < grace_days),
      max_automatic_attempts: max,
      caps: { attempts_per_card_30d: a30, declines_per_card_24h: d24 },
    }),
  );

const arbCase = fc.record({
  policy: arbPolicy,
  reason: fc.constantFrom(...DECLINE_REASONS),
  cls: fc.constantFrom('soon' as const, 'later' as const, 'customer' as const, 'never' as const),
  shares: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 20, maxLength: 20 }),
  n: fc.integer({ min: 20, max: 60 }),
});

function ratesOf(reason: DeclineReason, shares: number[], n: number) {
  const obs: Observation[] = [];
  shares.forEach((share, i) => {
    for (let k = 0; k < n; k++) obs.push({ cause: reason, number: i + 2, days: (i * 7) % 20, succeeded: k < Math.round(share * n) });
  });
  return estimateRates(obs);
}

test('property: the expected recovered share and its interval lie in [0, 1]; attempts ≥ 1; the planner’s caps are never exceeded', () => {
  fc.assert(
    fc.property(arbCase, ({ policy, reason, cls, shares, n }) => {
      assert.deepEqual(validatePolicy(policy), []);
      const x = replay(renewal({ reason, cls }), policy, ratesOf(reason, shares, n));
      assert.ok(x.ok);
      for (const v of [x.recovered.value, x.recovered.low, x.recovered.high]) assert.ok(v >= -1e-12 && v <= 1 + 1e-12, String(v));
      assert.ok(x.recovered.low <= x.recovered.value + 1e-12 && x.recovered.value <= x.recovered.high + 1e-12);
      assert.ok(x.attempts.value >= 1 && x.attempts.value <= 1 + x.steps.length + 1e-9);
      assert.ok(x.steps.length + 1 <= policy.max_automatic_attempts);
      assert.equal(x.cap_breaches, 0);
      // Checked here too, from the steps alone: each one within the caps given the ones before it.
      const history = [{ at: T0, outcome: 'declined' as const }];
      for (const s of x.steps) {
        assert.equal(applyCaps(policy, history, s.at).getTime(), s.at.getTime());
        assert.ok(s.at < new Date(T0.getTime() + policy.grace_days * DAY));
        history.push({ at: s.at, outcome: 'declined' });
      }
    }),
    { numRuns: 300 },
  );
});

test('property: a superset of attempts (a higher maximum, or days added after the schedule) never recovers less', () => {
  fc.assert(
    fc.property(arbCase, fc.integer({ min: 1, max: 19 }), fc.uniqueArray(fc.integer({ min: 1, max: 29 }), { maxLength: 5 }), ({ policy, reason, cls, shares, n }, extra, later) => {
      const rates = ratesOf(reason, shares, n);
      const last = policy.retry_schedule.at(-1) ?? 0;
      const added = later.filter((d) => d > last && d < policy.grace_days).sort((x, y) => x - y);
      const more = { ...policy, max_automatic_attempts: Math.min(20, policy.max_automatic_attempts + extra), retry_schedule: [...policy.retry_schedule, ...added] };
      assert.deepEqual(validatePolicy(more), []);
      const a = replay(renewal({ reason, cls }), policy, rates);
      const b = replay(renewal({ reason, cls }), more, rates);
      assert.ok(a.ok && b.ok);
      assert.ok(b.steps.length >= a.steps.length);
      assert.deepEqual(b.steps.slice(0, a.steps.length), a.steps); // a superset: the same attempts, then more
      assert.ok(b.recovered.value >= a.recovered.value - 1e-12);
      assert.ok(b.recovered.low >= a.recovered.low - 1e-12 && b.recovered.high >= a.recovered.high - 1e-12);
    }),
    { numRuns: 200 },
  );
});

test('property: no automatic retry (one attempt allowed, or a decline that waits for the customer) recovers nothing', () => {
  fc.assert(
    fc.property(arbCase, ({ policy, reason, cls, shares, n }) => {
      const rates = ratesOf(reason, shares, n);
      for (const [p, c] of [
        [{ ...policy, max_automatic_attempts: 1 }, cls],
        [policy, 'customer'],
        [policy, 'never'],
      ] as const) {
        const x = replay(renewal({ reason, cls: c }), p, rates);
        assert.ok(x.ok && x.steps.length === 0);
        assert.deepEqual(x.recovered, { value: 0, low: 0, high: 0 });
        assert.equal(x.attempts.value, 1);
      }
    }),
    { numRuns: 100 },
  );
});

test('property: backtest totals — recovered between 0 and the renewals replayed, revenue at most their amounts; thin data never gives a number', () => {
  fc.assert(
    fc.property(
      arbPolicy,
      fc.array(fc.record({ ok: fc.integer({ min: 0, max: 6 }), amount: fc.integer({ min: 1, max: 100_000 }), reason: fc.constantFrom('insufficient_funds' as const, 'credit_limit' as const) }), { maxLength: 60 }),
      (policy, specs) => {
        const renewals = specs.map((s, i) =>
          renewal({
            id: `inv_${i}`,
            reason: s.reason,
            amount: s.amount,
            retries: [1, 3, 5, 7, 10, 12].slice(0, s.ok === 0 ? 6 : s.ok).map((d, k, all) => ({ days: d, ok: s.ok !== 0 && k === all.length - 1 })),
          }),
        );
        const res = backtest({ renewals, current: () => DEFAULT_POLICY, candidate: () => policy, card_history: new Map() });
        for (const m of [res.candidate, res.current]) {
          if (!m) continue;
          assert.ok(m.recovered.low >= -1e-9 && m.recovered.high <= res.replayed + 1e-9);
          const total = renewals.filter((r) => res.causes.find((c) => c.cause === causeOf(r))?.insufficient_data === null).reduce((a, r) => a + r.amount, 0);
          for (const rv of m.revenue) assert.ok(rv.amount.high <= total + 1e-6);
        }
        // Every cause left out says why; a cause with fewer retries recorded than the minimum is never replayed.
        for (const c of res.causes) if (c.observations < res.min_observations && c.insufficient_data === null) assert.fail(`${c.cause}: ${c.observations} observations but replayed`);
        assert.equal(res.replayed + res.left_out_thin + res.left_out_open, renewals.length);
      },
    ),
    { numRuns: 100 },
  );
});
