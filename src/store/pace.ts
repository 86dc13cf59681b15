// The gateway pace's buckets (one row per gateway lane, migration 021): read under a row lock,
// stepped by core/pace.ts, written back in the same transaction, so any number of workers share one
// rate.
import type { Db, Queryable } from './db.ts';
import { lendSurplus, onRateLimited, PACE_CALM_MS, reserveTokens, takeTokens, type PaceState } from '../core/pace.ts';

interface Row {
  rate: number;
  ceiling: number;
  tokens: number;
  updated_at: Date;
  last_429_at: Date | null;
}

const toState = (r: Row): PaceState => ({
  rate: Number(r.rate),
  ceiling: Number(r.ceiling),
  tokens: Number(r.tokens),
  updated_at: new Date(r.updated_at),
  last_429_at: r.last_429_at ? new Date(r.last_429_at) : null,
});

/** Creates the bucket, or sets its ceiling to the configured rate (the rate stays under it). */
export async function ensurePaceBucket(q: Queryable, bucket: string, ceiling: number, now: Date): Promise<void> {
  await q.query(
    `INSERT INTO gateway_pace (bucket, rate, ceiling, tokens, updated_at) VALUES ($1, $2, $2, 0, $3)
     ON CONFLICT (bucket) DO UPDATE SET ceiling = EXCLUDED.ceiling, rate = LEAST(gateway_pace.rate, EXCLUDED.ceiling)`,
    [bucket, ceiling, now],
  );
}

async function stepBucket<T>(db: Db, bucket: string, f: (s: PaceState) => { state: PaceState; out: T; limited?: boolean }, before?: (q: Queryable) => Promise<T | undefined>): Promise<T | null> {
  return db.tx(async (q) => {
    const early = before ? await before(q) : undefined;
    if (early !== undefined) return early;
    const [r] = await q.query<Row>('SELECT rate, ceiling, tokens, updated_at, last_429_at FROM gateway_pace WHERE bucket = $1 FOR UPDATE', [bucket]);
    if (!r) return null;
    const { state, out, limited } = f(toState(r));
    await q.query(
      `UPDATE gateway_pace SET rate = $2, tokens = $3, updated_at = $4, last_429_at = $5, rate_limited = rate_limited + $6 WHERE bucket = $1`,
      [bucket, state.rate, state.tokens, state.updated_at, state.last_429_at, limited ? 1 : 0],
    );
    return out;
  });
}

/** Reserves `want` tokens (to be used after waitMs); null when the bucket does not exist. */
export function takePaceTokens(db: Db, bucket: string, want: number, now: Date) {
  return stepBucket(db, bucket, (s) => {
    const r = reserveTokens(s, now, want);
    // calm: no 429 lately, for any worker (only then may this lane borrow another's idle share).
    const calm = !s.last_429_at || now.getTime() - s.last_429_at.getTime() >= PACE_CALM_MS;
    return { state: r.state, out: { granted: r.granted, waitMs: r.waitMs, rate: r.state.rate, calm } };
  });
}

/**
 * Borrows up to `want` of another lane's idle tokens (see core/pace.ts lendSurplus), unless the
 * borrowing lane's bucket had a 429 lately (any worker's): then it lends nothing.
 */
export function borrowPaceTokens(db: Db, bucket: string, want: number, now: Date, borrower: string) {
  return stepBucket(
    db,
    bucket,
    (s) => {
      const r = lendSurplus(s, now, want);
      return { state: r.state, out: r.granted };
    },
    async (q) => {
      const [b] = await q.query<{ last_429_at: Date | null }>('SELECT last_429_at FROM gateway_pace WHERE bucket = $1', [borrower]);
      const last = b?.last_429_at ? new Date(b.last_429_at).getTime() : null;
      return last !== null && now.getTime() - last < PACE_CALM_MS ? 0 : undefined;
    },
  );
}

/** The gateway answered 429 (any worker): the shared rate goes down. */
export function recordPaceRateLimited(db: Db, bucket: string, now: Date) {
  return stepBucket(db, bucket, (s) => {
    const state = onRateLimited(s, now);
    return { state, out: state.rate, limited: true };
  });
}

export interface PaceView {
  bucket: string;
  rate: number;
  ceiling: number;
  last_429_at: Date | null;
  rate_limited: number;
}

/**
 * The buckets of one gateway (every gateway when none is named) as they stand at `now`: the stored
 * rate is only stepped when a worker takes tokens, so an idle installation's row still holds the
 * rate of its last busy moment (lowered by 429s long gone); the rate shown is the one the next
 * request would get (core/pace.ts takeTokens, taking nothing).
 */
export async function paceBuckets(q: Queryable, now: Date, gateway?: string): Promise<PaceView[]> {
  const rows = await q.query<PaceView & Row>(
    `SELECT bucket, rate, ceiling, tokens, updated_at, last_429_at, rate_limited FROM gateway_pace
      WHERE $1::text IS NULL OR starts_with(bucket, $1::text || ':') ORDER BY bucket`,
    [gateway ?? null],
  );
  return rows.map((r) => ({ bucket: r.bucket, rate: takeTokens(toState(r), now, 0).state.rate, ceiling: Number(r.ceiling), last_429_at: r.last_429_at, rate_limited: Number(r.rate_limited) }));
}

export interface GatewayQueue {
  /** Subscriptions whose next action is due now (renewals, retries, reconciliations waiting). */
  due: number;
  /** Attempts the gateway rate-limited, waiting to be made again with their key. */
  rate_limited: number;
}

/** What the billing day still has to send to the gateway at `now`. */
export async function gatewayQueue(q: Queryable, now: Date): Promise<GatewayQueue> {
  const [r] = await q.query<GatewayQueue>(
    `SELECT (SELECT count(*) FROM subscriptions WHERE next_action_at <= $1)::int AS due,
            (SELECT count(*) FROM payment_attempts WHERE outcome = 'pending' AND raw_code = 'rate_limited')::int AS rate_limited`,
    [now],
  );
  return r;
}
