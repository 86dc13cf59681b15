// The gateway pace's buckets (one row per gateway lane, migration 021): read under a row lock,
// stepped by core/pace.ts, written back in the same transaction, so any number of workers share one
// rate.
import type { Db, Queryable } from './db.ts';
import { onRateLimited, takeTokens, type PaceState } from '../core/pace.ts';

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

async function stepBucket<T>(db: Db, bucket: string, f: (s: PaceState) => { state: PaceState; out: T; limited?: boolean }): Promise<T | null> {
  return db.tx(async (q) => {
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

/** Takes up to `want` tokens; null when the bucket does not exist. */
export function takePaceTokens(db: Db, bucket: string, want: number, now: Date) {
  return stepBucket(db, bucket, (s) => {
    const r = takeTokens(s, now, want);
    return { state: r.state, out: { granted: r.granted, waitMs: r.waitMs, rate: r.state.rate } };
  });
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

/** Every bucket as it stands (console, bench). */
export async function paceBuckets(q: Queryable): Promise<PaceView[]> {
  const rows = await q.query<PaceView>('SELECT bucket, rate, ceiling, last_429_at, rate_limited FROM gateway_pace ORDER BY bucket');
  return rows.map((r) => ({ ...r, rate: Number(r.rate), ceiling: Number(r.ceiling), rate_limited: Number(r.rate_limited) }));
}
