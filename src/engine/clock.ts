// The test clock: enabled by configuration only (RENEWD_TEST_CLOCK=1), never in production.
// It only moves forward, and its time is kept in the database so a restart resumes from it.
import type { Clock } from '../core/clock.ts';
import type { Db } from '../store/db.ts';

export class TestClock implements Clock {
  private t: number;
  constructor(start: Date) {
    this.t = start.getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(to: Date) {
    if (to.getTime() < this.t) throw new RangeError('the test clock only moves forward');
    this.t = to.getTime();
  }
}

const KEY = 'test_clock.now';

export async function loadTestClock(db: Db, fallback: Date): Promise<TestClock> {
  const [row] = await db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [KEY]);
  return new TestClock(row ? new Date(row.value) : fallback);
}

export async function saveTestClock(db: Db, clock: TestClock): Promise<void> {
  await db.query(
    `INSERT INTO settings (key, value) VALUES ($1, to_jsonb($2::text)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [KEY, clock.now().toISOString()],
  );
}
