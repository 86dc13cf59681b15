// Fixed-window counters (rate_counters): one row per key and window start, shared by every process
// on the database. The limits themselves are in engine/limits.ts.
import type { Queryable } from './db.ts';

/**
 * Takes one unit of the window if fewer than `limit` are taken (atomic: two processes cannot both
 * take the last). Returns the count after taking, or null when the limit was already reached.
 */
export async function takeRateUnit(q: Queryable, key: string, windowStart: Date, limit: number): Promise<number | null> {
  const rows = await q.query<{ count: number }>(
    `INSERT INTO rate_counters (key, window_start, count) VALUES ($1, $2, 1)
     ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 WHERE rate_counters.count < $3
     RETURNING count`,
    [key, windowStart, limit],
  );
  return rows.length === 0 ? null : Number(rows[0].count);
}

/** Counts one unit with no limit. */
export async function countRateUnit(q: Queryable, key: string, windowStart: Date): Promise<void> {
  await q.query(
    `INSERT INTO rate_counters (key, window_start, count) VALUES ($1, $2, 1)
     ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1`,
    [key, windowStart],
  );
}

/** Units taken in the window (0 when none). */
export async function rateCount(q: Queryable, key: string, windowStart: Date): Promise<number> {
  const [r] = await q.query<{ count: number }>('SELECT count FROM rate_counters WHERE key = $1 AND window_start = $2', [key, windowStart]);
  return r ? Number(r.count) : 0;
}

/** Deletes the key's windows older than `windowStart` (the primary key makes this cheap). */
export async function deleteOldRateWindows(q: Queryable, key: string, windowStart: Date): Promise<void> {
  await q.query('DELETE FROM rate_counters WHERE key = $1 AND window_start < $2', [key, windowStart]);
}

/** Deletes every key's windows that started before `before`. */
export async function deleteRateWindowsBefore(q: Queryable, before: Date): Promise<void> {
  await q.query('DELETE FROM rate_counters WHERE window_start < $1', [before]);
}
