// The gateway pace's arithmetic (issue 19), pure: a token bucket shared by the whole installation
// (its state is one row in PostgreSQL, see store/pace.ts) whose rate adapts AIMD-style — halved at
// most once a second while the gateway answers 429, and back up by a twentieth of the ceiling per
// second once 429s have stopped for a while.

export interface PaceState {
  /** Requests per second allowed now (≤ ceiling; lowered by 429s). */
  rate: number;
  /** The configured rate (RENEWD_GATEWAY_RATE, or its share of it). */
  ceiling: number;
  /** Tokens in the bucket (may be below 0 after a 429: everyone waits). */
  tokens: number;
  updated_at: Date;
  last_429_at: Date | null;
}

/** After the last 429, how long the rate stays where it is before it climbs again. */
export const PACE_CALM_MS = 5_000;
/** Per second of calm, the rate climbs by this part of the ceiling. */
export const PACE_INCREASE = 0.05;
/** The rate is never halved below this part of the ceiling (and never below 1 a second). */
export const PACE_FLOOR = 0.05;
/** At most one halving per this many ms, however many workers saw 429s. */
export const PACE_DECREASE_EVERY_MS = 1_000;

export function paceFloor(ceiling: number): number {
  return Math.min(ceiling, Math.max(1, ceiling * PACE_FLOOR));
}

/**
 * Takes up to `want` tokens at `now`: the bucket refills at the rate (holding at most one second's
 * worth), the rate climbs back after calm. Answers the new state, the tokens granted and, when none
 * was, how long until one is.
 */
export function takeTokens(s: PaceState, now: Date, want: number): { state: PaceState; granted: number; waitMs: number } {
  const elapsed = Math.max(0, (now.getTime() - s.updated_at.getTime()) / 1000);
  const calm = !s.last_429_at || now.getTime() - s.last_429_at.getTime() >= PACE_CALM_MS;
  const rate = calm ? Math.min(s.ceiling, s.rate + s.ceiling * PACE_INCREASE * elapsed) : s.rate;
  const capacity = Math.max(1, rate);
  const available = Math.min(capacity, s.tokens + s.rate * elapsed);
  const granted = Math.max(0, Math.min(want, Math.floor(available)));
  const tokens = available - granted;
  const waitMs = granted > 0 ? 0 : Math.ceil(((1 - tokens) / rate) * 1000);
  const updated_at = now.getTime() > s.updated_at.getTime() ? now : s.updated_at;
  return { state: { ...s, rate, tokens, updated_at }, granted, waitMs };
}

/** The gateway answered 429: halve the rate (once per PACE_DECREASE_EVERY_MS) and empty the bucket. */
export function onRateLimited(s: PaceState, now: Date): PaceState {
  if (s.last_429_at && now.getTime() - s.last_429_at.getTime() < PACE_DECREASE_EVERY_MS) return { ...s, tokens: Math.min(s.tokens, 0) };
  return { ...s, rate: Math.max(paceFloor(s.ceiling), s.rate / 2), tokens: Math.min(s.tokens, 0), last_429_at: now };
}

/**
 * Lends what a bucket holds beyond half its capacity (the customer lane's, while no customer uses
 * it) to another lane: the billing day may use the customers' idle share, and a customer arriving
 * still finds half a second of it waiting.
 */
export function lendSurplus(s: PaceState, now: Date, want: number): { state: PaceState; granted: number } {
  const r = takeTokens(s, now, 0);
  const keep = Math.max(1, r.state.rate) / 2;
  const granted = Math.max(0, Math.min(want, Math.floor(r.state.tokens - keep)));
  return { state: { ...r.state, tokens: r.state.tokens - granted }, granted };
}

/**
 * Reserves `want` tokens at `now`, possibly ahead of time: the bucket may go below 0 by at most one
 * second's worth (the queue of reservations), and the caller waits `waitMs` before using them. One
 * trip to the bucket per chunk, and no time lost between trips: the rate is kept exactly.
 */
export function reserveTokens(s: PaceState, now: Date, want: number): { state: PaceState; granted: number; waitMs: number } {
  const r = takeTokens(s, now, 0);
  const capacity = Math.max(1, r.state.rate);
  const after = r.state.tokens - want;
  if (after < -capacity) {
    // More than a second already reserved: come back when this chunk fits.
    return { state: r.state, granted: 0, waitMs: Math.ceil(((-capacity - after) / r.state.rate) * 1000) };
  }
  return { state: { ...r.state, tokens: after }, granted: want, waitMs: after >= 0 ? 0 : Math.ceil((-after / r.state.rate) * 1000) };
}
