// What route plugins receive: the running service's parts.
import type { Clock } from '../core/clock.ts';
import type { Db } from '../store/db.ts';
import type { Engine } from '../engine/engine.ts';
import type { Commands } from '../engine/commands.ts';
import type { TestClock } from '../engine/clock.ts';
import type { Runner } from '../engine/advance.ts';

export interface AppContext {
  db: Db;
  clock: Clock;
  engine: Engine;
  commands: Commands;
  /** Set only when the test clock is enabled (RENEWD_TEST_CLOCK=1). */
  testClock: TestClock | null;
  /** Everything the test clock must drain after moving: engine, mail sender, webhook deliverer. */
  runners: Runner[];
  publicUrl: string;
  operatorEmail?: string;
}
