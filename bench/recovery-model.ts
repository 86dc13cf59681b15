// The customer behaviour behind `npm run bench -- --only recovery` (issue 18): a seeded population
// of failed renewals and, for each, *when* its card would pay. Pure: no I/O, no clock, no
// Math.random — every draw is a hash of (seed, customer, stream, index), so the same seed gives the
// same population and the same answers whatever policy asks, in whatever order.
//
// The scenario (bench/scenarios/recovery.ts) turns `timeline()` into sandbox scripts (one step per
// piece, `until` the next change) and lets renewd's real retry planner decide when to charge; it
// asks `actsOnEmail()` for every dunning e-mail the outbox really holds.
//
// Behaviour per decline cause, with where each figure comes from. "Assumption" marks a figure no
// public source gives; each is one constant below, the same for every policy.
//
// * Mix of causes. Insufficient funds 38 %, expired or cancelled card 24 %, generic bank decline
//   (do_not_honor) 17 %, technical 21 % (Recurly/Stripe/Adyen figures as collected by
//   https://www.dunningcompare.com/stats/payment-failure-causes-statistics-2026); credit limit
//   5–10 %, lost/stolen 3–8 %, processor errors/outages 1–3 % of declines
//   (https://www.joysubscription.com/glossary/online-payment-failure). Blended here (assumption, the
//   two lists overlap): insufficient funds 36 %, credit limit 7 %, expired card 19 %, lost card 5 %,
//   generic bank decline 15 %, issuer outage 12 %, processing error 6 %.
// * Insufficient funds (51) clears around paydays: 1st and 15th, or the last day of the month, or an
//   irregular day (https://www.slickerhq.com/solutions/failure-reason/insufficient-funds;
//   https://blog.trychargeblast.com/blog/payday-aligned-retries-recover-more-nsf-declines; vendor
//   blogs: payments-facts.md §5 calls such tables hypotheses, so the shape is an assumption). Each
//   payday after the failure brings the money with probability 0.75 (assumption); it stays on the
//   account for 2–6 days (assumption: other bills drain it), then the card declines again. 15 % never
//   have the funds within the window (assumption).
// * Credit limit (61/65, card_velocity_exceeded) clears at the statement date (a day 1–28 per
//   customer), once the statement is paid, 0–2 days after it, with probability 0.85 (assumption).
// * Expired card (54) never works again; the customer saves a new card only when they act: with
//   probability 0.30 per dunning e-mail actually sent (assumption), 1 h to 72 h after it (Chargebee:
//   72 hours on average between a new card and the customer updating it, via dunningcompare.com).
// * Lost card (41, Visa category 1) never works again; the bank sends the customer a new card, which
//   they save with probability 0.20 per e-mail (assumption), with the same delay.
// * Generic bank decline (05, do_not_honor): a fraud flag or block that the bank lifts after a while
//   (exponential, mean 3 days, assumption) for 60 % of customers (assumption; dunningcompare: "17 %
//   of payment failures are false positives"); the rest never clear.
// * Issuer outage (91, issuer_not_available) comes in windows: the first one, under way at the
//   renewal, lasts 1 h to 48 h (log-uniform, assumption); later windows of 2–12 h start on a given
//   day with probability 0.05 (assumption). Outside the windows the card pays.
// * Processing error (96): one window of 15 min to 12 h (log-uniform, assumption), then it pays.
// * Prices: yearly plans of 120, 490 and 1,490 EUR, taken by 50 %, 35 % and 15 % (assumption).

export const CAUSES = ['insufficient_funds', 'credit_limit', 'expired_card', 'lost_card', 'do_not_honor', 'issuer_outage', 'processing_error'] as const;
export type Cause = (typeof CAUSES)[number];

/** Share of each cause in the population (sums to 1). */
export const CAUSE_MIX: Readonly<Record<Cause, number>> = {
  insufficient_funds: 0.36,
  credit_limit: 0.07,
  expired_card: 0.19,
  lost_card: 0.05,
  do_not_honor: 0.15,
  issuer_outage: 0.12,
  processing_error: 0.06,
};

/** The decline code the sandbox answers for each cause (Stripe's codes: payments-facts.md §1, §7). */
export const DECLINE_CODE: Readonly<Record<Cause, string>> = {
  insufficient_funds: 'insufficient_funds',
  credit_limit: 'card_velocity_exceeded',
  expired_card: 'expired_card',
  lost_card: 'lost_card',
  do_not_honor: 'do_not_honor',
  issuer_outage: 'issuer_not_available',
  processing_error: 'processing_error',
};

export const PLANS = [
  { id: 'starter', name: 'Starter', amount: 12_000, share: 0.5 },
  { id: 'pro', name: 'Pro', amount: 49_000, share: 0.35 },
  { id: 'business', name: 'Business', amount: 149_000, share: 0.15 },
] as const;

export const MODEL = {
  paydayFundsProbability: 0.75,
  fundsStayDays: [2, 6] as const,
  neverFunded: 0.15,
  statementPaid: 0.85,
  statementPostingDays: [0, 2] as const,
  actPerEmail: { expired_card: 0.3, lost_card: 0.2 } as Readonly<Partial<Record<Cause, number>>>,
  actDelayHours: [1, 72] as const,
  bankBlockLifted: 0.6,
  bankBlockMeanDays: 3,
  outageFirstHours: [1, 48] as const,
  outageLaterPerDay: 0.05,
  outageLaterHours: [2, 12] as const,
  processingHours: [0.25, 12] as const,
} as const;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export type PayPattern = 'semi_monthly' | 'month_end' | 'irregular';

export interface Customer {
  index: number;
  cause: Cause;
  plan: (typeof PLANS)[number]['id'];
  amount: number;
  /** Day (0–29) of the one-month window on which the customer subscribed: the renewal falls a year later. */
  startDay: number;
  /** insufficient_funds only. */
  payPattern: PayPattern;
  /** credit_limit only: the card statement's day of month. */
  statementDay: number;
}

/** A piece of the card's behaviour: this outcome until `until` (null: from then on, for ever). */
export interface Segment {
  outcome: string;
  until: Date | null;
}

// ---- seeded hashing ----
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
/** A uniform number in [0, 1) for (seed, customer, stream, k): the only source of chance here. */
export function draw(seed: number, customer: number, stream: string, k = 0): number {
  let h = mix((seed >>> 0) ^ 0x9e3779b9);
  h = mix(h ^ customer);
  h = mix(h ^ hashString(stream));
  h = mix(h ^ k);
  return h / 2 ** 32;
}
const between = (u: number, [lo, hi]: readonly [number, number]) => lo + u * (hi - lo);
const logBetween = (u: number, [lo, hi]: readonly [number, number]) => Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo)));

function pick<T extends string>(u: number, shares: ReadonlyArray<readonly [T, number]>): T {
  let acc = 0;
  for (const [v, s] of shares) {
    acc += s;
    if (u < acc) return v;
  }
  return shares[shares.length - 1][0];
}

/** The population: n failed renewals, the same for the same (n, seed). */
export function population(n: number, seed: number): Customer[] {
  const causes = CAUSES.map((c) => [c, CAUSE_MIX[c]] as const);
  const plans = PLANS.map((p) => [p.id, p.share] as const);
  return Array.from({ length: n }, (_, i) => {
    const plan = pick(draw(seed, i, 'plan'), plans);
    return {
      index: i,
      cause: pick(draw(seed, i, 'cause'), causes),
      plan,
      amount: PLANS.find((p) => p.id === plan)!.amount,
      startDay: Math.floor(draw(seed, i, 'start') * 30),
      payPattern: pick(draw(seed, i, 'pay'), [['semi_monthly', 0.45], ['month_end', 0.4], ['irregular', 0.15]] as const),
      statementDay: 1 + Math.floor(draw(seed, i, 'statement') * 28),
    };
  });
}

/** Paydays (UTC midnight) strictly after `from` and before `to`, by the customer's pattern. */
export function paydays(c: Customer, seed: number, from: Date, to: Date): Date[] {
  const out: Date[] = [];
  for (let y = from.getUTCFullYear(), m = from.getUTCMonth(); Date.UTC(y, m, 1) <= to.getTime(); m === 11 ? ((m = 0), y++) : m++) {
    const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
    const days =
      c.payPattern === 'semi_monthly' ? [1, 15] : c.payPattern === 'month_end' ? [last] : [1 + Math.floor(draw(seed, c.index, 'irregular', y * 12 + m) * last)];
    for (const d of days) {
      const t = Date.UTC(y, m, d);
      if (t > from.getTime() && t < to.getTime()) out.push(new Date(t));
    }
  }
  return out;
}

/**
 * What the customer's card answers from the failed renewal at `failedAt` until `to`: a list of
 * pieces, the first one the decline of the renewal itself, the last one for ever.
 */
export function timeline(c: Customer, seed: number, failedAt: Date, to: Date): Segment[] {
  const code = DECLINE_CODE[c.cause];
  const ok = 'succeed';
  const t0 = failedAt.getTime();
  const u = (stream: string, k = 0) => draw(seed, c.index, stream, k);
  const pieces: { from: number; to: number }[] = []; // windows in which the card pays
  switch (c.cause) {
    case 'insufficient_funds': {
      if (u('never_funded') < MODEL.neverFunded) break;
      for (const [k, p] of paydays(c, seed, failedAt, to).entries()) {
        if (u('funds', k) >= MODEL.paydayFundsProbability) continue;
        const from = p.getTime() + u('deposit_hour', k) * 8 * HOUR;
        pieces.push({ from, to: from + between(u('stay', k), MODEL.fundsStayDays) * DAY });
      }
      break;
    }
    case 'credit_limit': {
      if (u('statement_paid') >= MODEL.statementPaid) break;
      const d = new Date(t0);
      let s = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), c.statementDay);
      if (s <= t0) s = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, c.statementDay);
      pieces.push({ from: s + between(u('posting'), MODEL.statementPostingDays) * DAY, to: Infinity });
      break;
    }
    case 'do_not_honor': {
      if (u('block_lifted') >= MODEL.bankBlockLifted) break;
      pieces.push({ from: t0 - Math.log(1 - u('block_days')) * MODEL.bankBlockMeanDays * DAY, to: Infinity });
      break;
    }
    case 'issuer_outage': {
      // Outages are the exception: the card pays between them.
      let at = t0 + logBetween(u('outage_first'), MODEL.outageFirstHours) * HOUR;
      for (let day = 0; t0 + day * DAY < to.getTime(); day++) {
        const dayStart = t0 + day * DAY;
        if (dayStart + DAY <= at) continue;
        if (u('outage_day', day) < MODEL.outageLaterPerDay) {
          const start = Math.max(at, dayStart + u('outage_start', day) * DAY);
          pieces.push({ from: at, to: start });
          at = start + logBetween(u('outage_len', day), MODEL.outageLaterHours) * HOUR;
        }
      }
      pieces.push({ from: at, to: Infinity });
      break;
    }
    case 'processing_error':
      pieces.push({ from: t0 + logBetween(u('processing'), MODEL.processingHours) * HOUR, to: Infinity });
      break;
    case 'expired_card':
    case 'lost_card':
      break; // this card never pays again; only a new card (actsOnEmail) does
  }
  const segs: Segment[] = [];
  let at = t0;
  for (const p of pieces.filter((p) => p.to > p.from).sort((a, b) => a.from - b.from)) {
    if (p.to <= at) continue;
    if (p.from > at) segs.push({ outcome: code, until: new Date(p.from) });
    if (p.to === Infinity) return [...segs, { outcome: ok, until: null }];
    segs.push({ outcome: ok, until: new Date(p.to) });
    at = p.to;
  }
  return [...segs, { outcome: code, until: null }];
}

/** What the card answers at `at` (a reading of `timeline`; the tests use it). */
export function outcomeAt(segments: Segment[], at: Date): string {
  for (const s of segments) if (s.until === null || at.getTime() < s.until.getTime()) return s.outcome;
  return segments[segments.length - 1].outcome;
}

/**
 * Whether the customer saves a new card after their `k`-th dunning e-mail (1-based) sent at `sentAt`,
 * and when; null: not after this one. Only the causes a new card cures act.
 */
export function actsOnEmail(c: Customer, seed: number, k: number, sentAt: Date): Date | null {
  const p = MODEL.actPerEmail[c.cause];
  if (!p || draw(seed, c.index, 'act', k) >= p) return null;
  return new Date(sentAt.getTime() + logBetween(draw(seed, c.index, 'act_delay', k), MODEL.actDelayHours) * HOUR);
}
