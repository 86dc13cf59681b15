// The test-clock command that the API, the console and the CLI call: move the test clock forward to one target (a time,
// or so many days or hours on) and run everything due up to then. Time only moves forward, and one
// advance at a time per clock: two callers moving time at once would interleave their work.
import { CommandError } from '../core/errors.ts';
import { DAY, HOUR } from '../core/time.ts';
import { advanceTestClock } from './advance.ts';
import type { TestClock } from './clock.ts';
import type { AppContext } from './context.ts';
import type { Db } from '../store/db.ts';
import { savedTestClockTime } from '../store/test-clock.ts';

/** Exactly one of these. */
export interface AdvanceTarget {
  to?: string;
  days?: number;
  hours?: number;
}

const queues = new WeakMap<TestClock, Promise<unknown>>();

export async function advanceClock(ctx: Pick<AppContext, 'db' | 'testClock' | 'runners'>, target: AdvanceTarget): Promise<{ now: Date; steps: number }> {
  const tc = ctx.testClock;
  if (!tc) throw new CommandError('conflict', 'test_clock_disabled', 'start renewd with RENEWD_TEST_CLOCK=1 to use the test clock');
  const given = [target.to, target.days, target.hours].filter((x) => x !== undefined).length;
  if (given !== 1) throw new CommandError('invalid', 'validation_error', 'send exactly one of: to, days, hours');
  const run = (queues.get(tc) ?? Promise.resolve()).then(async () => {
    const now = tc.now().getTime();
    const to = target.to ? new Date(target.to) : new Date(now + (target.days ?? 0) * DAY + (target.hours ?? 0) * HOUR);
    if (to.getTime() < now) throw new CommandError('conflict', 'test_clock_backwards', `the test clock is at ${tc.now().toISOString()} and only moves forward`);
    return advanceTestClock(ctx.db, tc, to, ctx.runners);
  });
  queues.set(tc, run.catch(() => {}));
  return run;
}

/**
 * Refuses to turn the test clock on for a database that was not created with one (issue 16): a
 * command that forces the test clock (`renewd clock advance`) on a real installation's database
 * would start the clock at "now" and bill every renewal of the days it skips, early, for real.
 * A database has a test clock when a process started on it with RENEWD_TEST_CLOCK=1 or --demo.
 */
export async function requireTestClockDatabase(db: Db): Promise<void> {
  // A database not migrated yet has no settings table: no test clock either.
  const saved = await savedTestClockTime(db).catch(() => null);
  if (saved === null)
    throw new CommandError(
      'conflict',
      'test_clock_disabled',
      'this database has no test clock, so its time is the real time: advancing it would renew and charge subscriptions early. ' +
        'The test clock is only for databases created with RENEWD_TEST_CLOCK=1 (or renewd start --demo). Nothing was changed.',
    );
}
