// The test clock's time, kept in settings so a restart resumes from it (engine/clock.ts).
import type { Queryable } from './db.ts';

const KEY = 'test_clock.now';

/** The saved test-clock time, or null when this database never had a test clock. */
export async function savedTestClockTime(q: Queryable): Promise<Date | null> {
  const [row] = await q.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [KEY]);
  return row ? new Date(row.value) : null;
}

export async function saveTestClockTime(q: Queryable, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO settings (key, value) VALUES ($1, to_jsonb($2::text)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [KEY, at.toISOString()],
  );
}
