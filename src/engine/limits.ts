// Abuse limits of the customer's self-service (the API with a portal token, and the pages), as
// fixed-window counters in the database table
// rate_counters: they hold across any number of processes sharing the database, and time comes
// from the service clock (so the test clock moves windows too).
//
// The operator key is trusted and not limited, except where a limit protects the account itself
// (portal-session creation). A customer's Retry is limited by the dunning policy
// (manual_retry.max_per_day), not here.
import type { Clock } from '../core/clock.ts';
import type { Queryable } from '../store/db.ts';
import { countRateUnit, deleteOldRateWindows, deleteRateWindowsBefore, rateCount, takeRateUnit } from '../store/rate-limits.ts';
import { CommandError } from '../core/errors.ts';

export interface RateLimit {
  /** Stable name, part of the counter key and of the problem answer. */
  name: string;
  limit: number;
  windowMs: number;
  /** What the customer reads in the 429 answer. */
  message: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The limits, per account. Exported (and mutable) so a deployment or a test can tune them. */
export const RATE_LIMITS = {
  /** Replacing the payment method (each try counts, accepted or not). */
  paymentMethodChanges: { name: 'payment_method_changes', limit: 5, windowMs: HOUR, message: 'Too many payment-method changes; try again later.' },
  /** Card-testing protection: cards the gateway refused (bad number, CVC, expired…). */
  rejectedCards: { name: 'rejected_cards', limit: 3, windowMs: HOUR, message: 'Too many cards were refused for this account; try again later.' },
  /** Help requests a customer may open. */
  helpRequests: { name: 'help_requests', limit: 5, windowMs: DAY, message: 'Too many help requests today; we are already on it.' },
  /** Hosted card pages (gateway setup sessions) a customer may open. */
  cardSetups: { name: 'card_setups', limit: 20, windowMs: HOUR, message: 'Too many card pages were opened for this account; try again later.' },
  /** Portal sessions (tokens) created for one account. */
  portalSessions: { name: 'portal_sessions', limit: 30, windowMs: HOUR, message: 'Too many portal sessions for this account; try again later.' },
  /** Browser sessions made from one portal-session token (`/portal?token=`): a leaked or replayed token cannot mint sessions without end. */
  portalSignIns: { name: 'portal_sign_ins', limit: 20, windowMs: HOUR, message: 'This sign-in link was used too many times; try again later.' },
  /** Openings of one e-mail link (per link: a scanner or a leaked link cannot mint sessions without end). */
  linkOpens: { name: 'link_opens', limit: 20, windowMs: HOUR, message: 'This link was opened too many times; try again later.' },
  /** "Send me a new link" e-mails to one account (per account: the form cannot flood an inbox). */
  linkRequests: { name: 'link_requests', limit: 3, windowMs: HOUR, message: 'Too many new links were asked for; try again later.' },
} satisfies Record<string, RateLimit>;

export interface RateCheck {
  allowed: boolean;
  count: number;
  /** Seconds until the window ends (for Retry-After). */
  retryAfter: number;
}

function windowOf(l: RateLimit, now: Date) {
  const start = Math.floor(now.getTime() / l.windowMs) * l.windowMs;
  return { start: new Date(start), retryAfter: Math.max(1, Math.ceil((start + l.windowMs - now.getTime()) / 1000)) };
}

function keyOf(l: RateLimit, subject: string) {
  return `${l.name}:${subject}`;
}

/**
 * Takes one unit of the limit if there is one left (atomic: two processes cannot both take the
 * last). A refused call takes nothing.
 */
export async function consume(q: Queryable, clock: Clock, l: RateLimit, subject: string): Promise<RateCheck> {
  const now = clock.now();
  const w = windowOf(l, now);
  const key = keyOf(l, subject);
  const taken = await takeRateUnit(q, key, w.start, l.limit);
  // Old windows of this key are no use any more.
  await deleteOldRateWindows(q, key, w.start);
  if (Math.random() < 0.01) await sweepRateCounters(q, clock);
  if (taken === null) return { allowed: false, count: l.limit, retryAfter: w.retryAfter };
  return { allowed: true, count: taken, retryAfter: w.retryAfter };
}

/** Counts one occurrence (e.g. a refused card) without any limit. */
export async function record(q: Queryable, clock: Clock, l: RateLimit, subject: string): Promise<void> {
  const w = windowOf(l, clock.now());
  await countRateUnit(q, keyOf(l, subject), w.start);
}

/** Whether the limit is already reached, without taking anything. */
export async function peek(q: Queryable, clock: Clock, l: RateLimit, subject: string): Promise<RateCheck> {
  const w = windowOf(l, clock.now());
  const count = await rateCount(q, keyOf(l, subject), w.start);
  return { allowed: count < l.limit, count, retryAfter: w.retryAfter };
}

/** The refusal: kind `rate_limited`, naming the limit, with the seconds until it resets (`retry_after`). */
export function rateLimited(l: RateLimit, check: RateCheck): CommandError {
  return new CommandError('rate_limited', 'rate_limited', l.message, { limit: l.name, max: l.limit, window_seconds: l.windowMs / 1000, retry_after: check.retryAfter });
}

/** Takes one unit of the limit, or refuses (rateLimited) when it is used up. */
export async function enforce(q: Queryable, clock: Clock, l: RateLimit, subject: string): Promise<void> {
  const c = await consume(q, clock, l, subject);
  if (!c.allowed) throw rateLimited(l, c);
}

/** Refuses (rateLimited) when the limit is already reached, taking nothing (for counters that `record` fills). */
export async function enforcePeek(q: Queryable, clock: Clock, l: RateLimit, subject: string): Promise<void> {
  const c = await peek(q, clock, l, subject);
  if (!c.allowed) throw rateLimited(l, c);
}

/** Deletes windows that ended more than a day ago (any key). Cheap; called now and then. */
export async function sweepRateCounters(q: Queryable, clock: Clock): Promise<void> {
  await deleteRateWindowsBefore(q, new Date(clock.now().getTime() - 2 * DAY));
}
