// Policy backtest: replays the installation's own recorded failed renewals under another dunning
// policy. Two pure steps:
//   1. `estimateRates`: how often an automatic retry succeeded, from the recorded attempts, by the
//      cause of the failure × automatic attempt number × days since the failure, each with its
//      number of observations and a Wilson 95 % interval. A cell with fewer than MIN_OBSERVATIONS
//      falls back to a coarser one (cause × attempt number, then cause); where even that is too
//      thin, or the attempt number lies beyond every recorded one, the answer is
//      `insufficient_data`: no number is made up.
//   2. `replay`: each renewal's retries under a policy, planned by the same planner the engine
//      uses (`planRetry`, hence `applyCaps`, `technical_retry_hours`, `max_automatic_attempts`,
//      the grace), assuming each retry that fails declines for the same cause, to get the expected
//      recovery, revenue, attempts, e-mails and cap figures.
// `backtest` puts them together with what actually happened. Every figure it gives for a policy
// is an estimate; the recorded ones are counts.
import type { AttemptOutcome, AttemptTrigger, DeclineReason, RetryClass } from './types.ts';
import { applyCaps, graceEndsAt, planRetry, reminderTimes, type AttemptView, type DunningPolicy } from './dunning.ts';
import { DAY } from './time.ts';
import { formatMoney } from './money.ts';

/** A cell with fewer observations than this is not used on its own. */
export const MIN_OBSERVATIONS = 20;

/** Days since the failure, as the estimator groups them: [from, to). */
export const DAY_BUCKETS: readonly { label: string; from: number; to: number }[] = [
  { label: '0–1 d', from: 0, to: 1 },
  { label: '1–3 d', from: 1, to: 3 },
  { label: '3–7 d', from: 3, to: 7 },
  { label: '7–14 d', from: 7, to: 14 },
  { label: '14 d+', from: 14, to: Infinity },
];

export function dayBucket(days: number): number {
  const i = DAY_BUCKETS.findIndex((b) => days >= b.from && days < b.to);
  return i < 0 ? 0 : i;
}

/** Why a renewal failed: the decline of its first failed attempt, or no card on file. */
export type Cause = DeclineReason | 'no_payment_method';

export interface RecordedAttempt {
  at: Date;
  trigger: AttemptTrigger;
  outcome: AttemptOutcome;
  reason: DeclineReason | null;
  retry_class: RetryClass | null;
  payment_method_id: string | null;
  not_before: Date | null;
}

/** One failed renewal as recorded. */
export interface RecordedRenewal {
  invoice_id: string;
  amount: number;
  currency: string;
  /** Start of the period the renewal was for: the grace counts from it. */
  period_start: Date;
  failed_at: Date;
  time_zone: string;
  status: 'open' | 'paid' | 'past_due' | 'uncollectible' | 'void';
  /** This invoice's attempts, oldest first. */
  attempts: RecordedAttempt[];
  /** The e-mails the outbox holds for this invoice. */
  emails: { template: string; at: Date }[];
}

/** Attempts that reached the gateway and got an answer. */
const ANSWERED: readonly AttemptOutcome[] = ['succeeded', 'declined', 'requires_action'];
const AUTOMATIC: readonly AttemptTrigger[] = ['initial', 'scheduled'];
const FAILED: readonly AttemptOutcome[] = ['declined', 'requires_action'];

export function causeOf(r: RecordedRenewal): Cause {
  return r.attempts.find((a) => FAILED.includes(a.outcome))?.reason ?? 'no_payment_method';
}

// ---- 1. the estimator ----

export interface Interval {
  value: number;
  low: number;
  high: number;
}

/** Wilson score interval (95 %) of a proportion; [0, 1] when nothing was observed. */
export function wilson(successes: number, n: number, z = 1.959964): Interval {
  if (n <= 0) return { value: 0, low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface Observation {
  cause: Cause;
  /** The automatic attempt's number on its invoice: 1 is the renewal charge, 2 the first retry. */
  number: number;
  /** Days from the failure to the attempt. */
  days: number;
  succeeded: boolean;
}

/** Every answered automatic retry of the recorded renewals, with its cause, number and delay. */
export function observationsOf(renewals: RecordedRenewal[]): Observation[] {
  const out: Observation[] = [];
  for (const r of renewals) {
    const cause = causeOf(r);
    let number = 0;
    for (const a of r.attempts) {
      if (!AUTOMATIC.includes(a.trigger)) continue;
      number++;
      if (a.trigger !== 'scheduled' || !ANSWERED.includes(a.outcome) || a.at < r.failed_at) continue;
      out.push({ cause, number, days: (a.at.getTime() - r.failed_at.getTime()) / DAY, succeeded: a.outcome === 'succeeded' });
    }
  }
  return out;
}

interface Count {
  n: number;
  successes: number;
}

export interface Rates {
  min_observations: number;
  fine: Map<string, Count>;
  byNumber: Map<string, Count>;
  byCause: Map<Cause, Count>;
  /** The highest automatic attempt number observed per cause. */
  maxNumber: Map<Cause, number>;
}

export type Level = 'cause_attempt_days' | 'cause_attempt' | 'cause';

export type RateEstimate =
  | { ok: true; p: Interval; observations: number; level: Level }
  | { ok: false; insufficient_data: true; why: string };

export function estimateRates(observations: Observation[], min_observations = MIN_OBSERVATIONS): Rates {
  const rates: Rates = { min_observations, fine: new Map(), byNumber: new Map(), byCause: new Map(), maxNumber: new Map() };
  const add = <K>(m: Map<K, Count>, k: K, ok: boolean) => {
    const c = m.get(k) ?? { n: 0, successes: 0 };
    c.n++;
    if (ok) c.successes++;
    m.set(k, c);
  };
  for (const o of observations) {
    add(rates.fine, `${o.cause}|${o.number}|${dayBucket(o.days)}`, o.succeeded);
    add(rates.byNumber, `${o.cause}|${o.number}`, o.succeeded);
    add(rates.byCause, o.cause, o.succeeded);
    rates.maxNumber.set(o.cause, Math.max(rates.maxNumber.get(o.cause) ?? 0, o.number));
  }
  return rates;
}

/** The success chance of automatic attempt `number` made `days` after a failure of `cause`. */
export function rateFor(rates: Rates, cause: Cause, number: number, days: number): RateEstimate {
  const max = rates.maxNumber.get(cause) ?? 0;
  if (number > max)
    return {
      ok: false,
      insufficient_data: true,
      why: max ? `attempt ${number} is beyond the recorded ones (up to attempt ${max})` : 'no recorded automatic retry',
    };
  const levels: [Level, Count | undefined][] = [
    ['cause_attempt_days', rates.fine.get(`${cause}|${number}|${dayBucket(days)}`)],
    ['cause_attempt', rates.byNumber.get(`${cause}|${number}`)],
    ['cause', rates.byCause.get(cause)],
  ];
  for (const [level, c] of levels)
    if (c && c.n >= rates.min_observations) return { ok: true, p: wilson(c.successes, c.n), observations: c.n, level };
  return {
    ok: false,
    insufficient_data: true,
    why: `${rates.byCause.get(cause)?.n ?? 0} recorded automatic retries, fewer than ${rates.min_observations}`,
  };
}

// ---- 2. the replay ----

export interface ReplayStep {
  at: Date;
  number: number;
  p: Interval;
  /** The caps moved it later (planRetry's network_cap_delay). */
  cap_delayed: boolean;
}

export type RenewalReplay =
  | {
      ok: true;
      steps: ReplayStep[];
      /** Chance it is recovered by an automatic retry. */
      recovered: Interval;
      /** Attempts expected, the failed renewal charge included. */
      attempts: Interval;
      /** Dunning e-mails expected: the failure e-mail, reminders while unpaid, then paid or downgraded. */
      emails: Interval;
      /** Planned attempts beyond the caps (always 0: the planner applies them). */
      cap_breaches: number;
      cap_delays: number;
    }
  | { ok: false; why: string };

/** The renewal's automatic retries under `policy`, each assumed to decline for the recorded cause until one succeeds. */
export function replay(r: RecordedRenewal, policy: DunningPolicy, rates: Rates): RenewalReplay {
  const cause = causeOf(r);
  const first = r.attempts.find((a) => FAILED.includes(a.outcome)) ?? null;
  const grace_ends_at = graceEndsAt(r.period_start, policy, r.time_zone);
  const pm = first?.payment_method_id ?? null;
  const sim: AttemptView[] = first ? [{ ...first, trigger: 'initial', at: first.at }] : [];
  const steps: ReplayStep[] = [];
  let breaches = 0;
  for (let guard = 0; guard < 100; guard++) {
    const card_attempts = sim.filter((a) => a.payment_method_id === pm).map((a) => ({ at: a.at, outcome: a.outcome }));
    const plan = planRetry({ policy, failed_at: r.failed_at, grace_ends_at, attempts: sim, current_payment_method_id: pm, card_attempts });
    if (!plan.at) break;
    if (applyCaps(policy, card_attempts, plan.at).getTime() !== plan.at.getTime()) breaches++;
    const number = sim.filter((a) => AUTOMATIC.includes(a.trigger)).length + 1;
    const est = rateFor(rates, cause, number, (plan.at.getTime() - r.failed_at.getTime()) / DAY);
    if (!est.ok) return { ok: false, why: est.why };
    steps.push({ at: plan.at, number, p: est.p, cap_delayed: plan.why === 'network_cap_delay' });
    sim.push({ at: plan.at, trigger: 'scheduled', outcome: 'declined', retry_class: first!.retry_class, reason: first!.reason, not_before: null, payment_method_id: pm });
  }
  const reminders = reminderTimes(policy, grace_ends_at, r.time_zone).filter((x) => x.at > r.failed_at && x.at < grace_ends_at);
  const scenario = (pick: (p: Interval) => number) => {
    let unpaid = 1;
    let attempts = 1;
    let delays = 0;
    for (const s of steps) {
      attempts += unpaid;
      if (s.cap_delayed) delays += unpaid;
      unpaid *= 1 - pick(s.p);
    }
    const unpaidAt = (t: Date) => steps.filter((s) => s.at < t).reduce((u, s) => u * (1 - pick(s.p)), 1);
    const recovered = 1 - unpaid;
    // The failure e-mail, each reminder while still unpaid, then the receipt or the downgrade.
    const emails = 1 + reminders.reduce((e, x) => e + unpaidAt(x.at), 0) + 1;
    return { recovered, attempts, emails, delays };
  };
  const mid = scenario((p) => p.value);
  const lo = scenario((p) => p.low);
  const hi = scenario((p) => p.high);
  const range = (k: 'recovered' | 'attempts' | 'emails') => ({ value: mid[k], low: Math.min(lo[k], hi[k]), high: Math.max(lo[k], hi[k]) });
  return { ok: true, steps, recovered: range('recovered'), attempts: range('attempts'), emails: range('emails'), cap_breaches: breaches, cap_delays: mid.delays };
}

// ---- 3. the comparison ----

export interface Measures {
  renewals: number;
  /** Renewals recovered (paid after failing); for a policy, by its automatic retries. */
  recovered: Interval;
  /** Recovered amounts per currency (minor units). */
  revenue: { currency: string; amount: Interval }[];
  attempts: Interval;
  emails: Interval;
  /** Attempts beyond the tested policy's per-card caps. */
  cap_breaches: number;
  /** Attempts the caps moved later (expected, for a policy). */
  cap_delays: number;
}

export interface BacktestInput {
  renewals: RecordedRenewal[];
  /** The policy each renewal is under now, and the candidate for it. */
  current: (r: RecordedRenewal) => DunningPolicy;
  candidate: (r: RecordedRenewal) => DunningPolicy;
  /** Every recorded attempt on the cards of these renewals (any invoice), for the recorded cap breaches. */
  card_history: Map<string, { at: Date; outcome: AttemptOutcome }[]>;
  min_observations?: number;
}

export interface CauseSummary {
  cause: Cause;
  renewals: number;
  /** Automatic retries recorded for this cause, and how many succeeded. */
  observations: number;
  successes: number;
  rate: Interval | null;
  /** Set when the cause's renewals were left out: why no number could be given. */
  insufficient_data: string | null;
}

export interface BacktestResult {
  min_observations: number;
  /** Renewals replayed (closed: paid or closed unpaid, with an estimate under both policies). */
  replayed: number;
  /** Still in grace or voided: no outcome to compare with. */
  left_out_open: number;
  /** Closed renewals left out because the data is too thin for their cause. */
  left_out_thin: number;
  causes: CauseSummary[];
  /** null when nothing could be replayed: no estimate is given. */
  candidate: Measures | null;
  current: Measures | null;
  actual: Measures;
  /** Of the recorded recoveries, those made by an automatic retry (the rest by the customer or operator). */
  actual_recovered_automatically: number;
}

const point = (v: number): Interval => ({ value: v, low: v, high: v });
const sum = (xs: Interval[]): Interval => xs.reduce((a, x) => ({ value: a.value + x.value, low: a.low + x.low, high: a.high + x.high }), point(0));
const scale = (x: Interval, k: number): Interval => ({ value: x.value * k, low: x.low * k, high: x.high * k });

function revenueOf(items: { currency: string; amount: Interval }[]): { currency: string; amount: Interval }[] {
  const by = new Map<string, Interval[]>();
  for (const i of items) by.set(i.currency, [...(by.get(i.currency) ?? []), i.amount]);
  return [...by.keys()].sort().map((currency) => ({ currency, amount: sum(by.get(currency)!) }));
}

function estimateMeasures(renewals: RecordedRenewal[], replays: Extract<RenewalReplay, { ok: true }>[]): Measures {
  return {
    renewals: renewals.length,
    recovered: sum(replays.map((x) => x.recovered)),
    revenue: revenueOf(renewals.map((r, i) => ({ currency: r.currency, amount: scale(replays[i].recovered, r.amount) }))),
    attempts: sum(replays.map((x) => x.attempts)),
    emails: sum(replays.map((x) => x.emails)),
    cap_breaches: replays.reduce((a, x) => a + x.cap_breaches, 0),
    cap_delays: replays.reduce((a, x) => a + x.cap_delays, 0),
  };
}

/** Recorded attempts (any trigger) that the caps of `policy` would have delayed. */
export function recordedCapBreaches(r: RecordedRenewal, policy: DunningPolicy, history: Map<string, { at: Date; outcome: AttemptOutcome }[]>): number {
  let n = 0;
  for (const a of r.attempts) {
    if (!a.payment_method_id || a.outcome === 'not_made') continue;
    const before = (history.get(a.payment_method_id) ?? []).filter((h) => h.at < a.at);
    if (applyCaps(policy, before, a.at).getTime() !== a.at.getTime()) n++;
  }
  return n;
}

export function backtest(input: BacktestInput): BacktestResult {
  const min = input.min_observations ?? MIN_OBSERVATIONS;
  const rates = estimateRates(observationsOf(input.renewals), min);
  const closed = input.renewals.filter((r) => r.status === 'paid' || r.status === 'uncollectible');
  const thin = new Map<Cause, string>();
  const kept: { r: RecordedRenewal; cur: Extract<RenewalReplay, { ok: true }>; cand: Extract<RenewalReplay, { ok: true }> }[] = [];
  for (const r of closed) {
    const cur = replay(r, input.current(r), rates);
    const cand = replay(r, input.candidate(r), rates);
    if (!cur.ok || !cand.ok) {
      if (!thin.has(causeOf(r))) thin.set(causeOf(r), (!cur.ok ? cur.why : !cand.ok ? cand.why : '') as string);
      continue;
    }
    kept.push({ r, cur, cand });
  }
  // A cause is all in or all out: its renewals are compared together or not at all.
  const rows = kept.filter((k) => !thin.has(causeOf(k.r)));
  const rs = rows.map((k) => k.r);
  const made = (a: RecordedAttempt) => a.outcome !== 'pending' && a.outcome !== 'not_made';
  const paid = rs.filter((r) => r.status === 'paid');
  const actual: Measures = {
    renewals: rs.length,
    recovered: point(paid.length),
    revenue: revenueOf(paid.map((r) => ({ currency: r.currency, amount: point(r.amount) }))),
    attempts: point(rs.reduce((a, r) => a + r.attempts.filter(made).length, 0)),
    emails: point(rs.reduce((a, r) => a + r.emails.length, 0)),
    cap_breaches: rs.reduce((a, r) => a + recordedCapBreaches(r, input.candidate(r), input.card_history), 0),
    cap_delays: 0,
  };
  const causes = new Map<Cause, number>();
  for (const r of input.renewals) causes.set(causeOf(r), (causes.get(causeOf(r)) ?? 0) + 1);
  return {
    min_observations: min,
    replayed: rows.length,
    left_out_open: input.renewals.length - closed.length,
    left_out_thin: closed.length - rows.length,
    causes: [...causes]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([cause, renewals]) => {
        const c = rates.byCause.get(cause);
        return {
          cause,
          renewals,
          observations: c?.n ?? 0,
          successes: c?.successes ?? 0,
          rate: c && c.n >= min ? wilson(c.successes, c.n) : null,
          insufficient_data: thin.get(cause) ?? null,
        };
      }),
    candidate: rows.length ? estimateMeasures(rs, rows.map((k) => k.cand)) : null,
    current: rows.length ? estimateMeasures(rs, rows.map((k) => k.cur)) : null,
    actual,
    actual_recovered_automatically: paid.filter((r) => r.attempts.some((a) => a.outcome === 'succeeded' && AUTOMATIC.includes(a.trigger))).length,
  };
}

// ---- 4. the comparison as text (the CLI's table and the console page's) ----

export interface ComparisonTable {
  columns: string[];
  rows: { label: string; cells: string[] }[];
}

/** The measures side by side: recorded counts, then each policy's figures, every one marked "estimate". */
export function comparisonTable(r: BacktestResult, candidateName = 'candidate'): ComparisonTable {
  const columns = ['', 'recorded', 'policy in force (estimate)', `${candidateName} (estimate)`];
  const n1 = (x: number) => (Math.round(x * 10) / 10).toLocaleString('en-GB');
  const pct = (x: number) => `${(Math.round(x * 1000) / 10).toLocaleString('en-GB')} %`;
  const est = (i: Interval, f: (x: number) => string) => `estimate ${f(i.value)} (${f(i.low)}–${f(i.high)})`;
  const cols = (fa: (m: Measures) => string, fe: (m: Measures) => string) => [fa(r.actual), r.current ? fe(r.current) : 'insufficient data', r.candidate ? fe(r.candidate) : 'insufficient data'];
  const share = (m: Measures) => ({ value: m.recovered.value / (m.renewals || 1), low: m.recovered.low / (m.renewals || 1), high: m.recovered.high / (m.renewals || 1) });
  const currencies = r.actual.revenue.map((x) => x.currency);
  for (const m of [r.current, r.candidate]) for (const x of m?.revenue ?? []) if (!currencies.includes(x.currency)) currencies.push(x.currency);
  const revenueIn = (m: Measures, c: string) => m.revenue.find((x) => x.currency === c)?.amount ?? { value: 0, low: 0, high: 0 };
  const money = (c: string) => (x: number) => formatMoney(Math.round(x), c, 'en-GB');
  const rows = [
    { label: 'Failed renewals replayed', cells: [String(r.replayed), String(r.replayed), String(r.replayed)] },
    {
      label: 'Recovered renewals',
      cells: cols((m) => `${m.recovered.value} (${r.actual_recovered_automatically} by automatic retries)`, (m) => est(m.recovered, n1)),
    },
    { label: 'Recovered share', cells: cols((m) => pct(share(m).value), (m) => est(share(m), pct)) },
    ...currencies.sort().map((c) => ({ label: `Recovered revenue (${c})`, cells: cols((m) => money(c)(revenueIn(m, c).value), (m) => est(revenueIn(m, c), money(c))) })),
    { label: 'Attempts (the renewal charge included)', cells: cols((m) => String(m.attempts.value), (m) => est(m.attempts, n1)) },
    { label: 'Dunning e-mails', cells: cols((m) => String(m.emails.value), (m) => est(m.emails, n1)) },
    { label: `Attempts beyond the per-card caps (recorded: the ${candidateName}'s caps)`, cells: cols((m) => String(m.cap_breaches), (m) => `estimate ${m.cap_breaches}`) },
    { label: 'Attempts delayed by the caps', cells: cols(() => '—', (m) => `estimate ${n1(m.cap_delays)}`) },
  ];
  return { columns, rows };
}
