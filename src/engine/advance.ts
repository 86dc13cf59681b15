// Advancing the test clock the way Stripe's test clocks do: time moves to each due instant in
// turn and everything due then runs to completion before time moves on, so a retry planned for
// day 3 happens on day 3 even when the caller jumps a month.
import type { Db } from '../store/db.ts';
import { earliestNextAction } from '../store/subscriptions.ts';
import { saveTestClock, type TestClock } from './clock.ts';

export interface Runner {
  /** Runs everything due at the clock's current time until nothing is left. */
  drain(): Promise<unknown>;
}

export async function advanceTestClock(db: Db, clock: TestClock, to: Date, runners: Runner[]): Promise<{ now: Date; steps: number }> {
  if (Number.isNaN(to.getTime())) throw new RangeError('invalid target time');
  if (to.getTime() < clock.now().getTime()) throw new RangeError('the test clock only moves forward');
  let steps = 0;
  const runAll = async () => {
    for (const r of runners) await r.drain();
  };
  await runAll();
  for (;;) {
    const at = await earliestNextAction(db);
    if (!at || at.getTime() > to.getTime()) break;
    if (at.getTime() > clock.now().getTime()) clock.set(at);
    await runAll();
    steps++;
    if (steps > 100_000) throw new Error('test clock advance did not settle');
  }
  clock.set(to);
  await runAll();
  await saveTestClock(db, clock);
  return { now: clock.now(), steps };
}
