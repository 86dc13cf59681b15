// The test clock: enabled by configuration only (RENEWD_TEST_CLOCK=1), never in production.
// It only moves forward, and its time is kept in the database so a restart resumes from it.
import type { Clock } from '../core/clock.ts';
import type { Db } from '../store/db.ts';
import { savedTestClockTime, saveTestClockTime } from '../store/test-clock.ts';

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

export async function loadTestClock(db: Db, fallback: Date): Promise<TestClock> {
  return new TestClock((await savedTestClockTime(db)) ?? fallback);
}

export async function saveTestClock(db: Db, clock: TestClock): Promise<void> {
  await saveTestClockTime(db, clock.now());
}
