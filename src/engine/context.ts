// The running service's parts, as every command-calling layer (http, web, cli, the demo seed) receives them.
import type { Clock } from '../core/clock.ts';
import type { Db } from '../store/db.ts';
import type { Engine } from './engine.ts';
import type { Commands } from './commands.ts';
import type { TestClock } from './clock.ts';
import type { Runner } from './advance.ts';
import type { AddressPolicy } from '../lib/public-address.ts';

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
  /** Which gateway the engine charges through: the built-in sandbox PSP (test cards) or Stripe. */
  gatewayKind: 'sandbox' | 'stripe';
  /** Base URL of the sandbox PSP when gatewayKind is sandbox (its hosted pages live there), else null. */
  sandboxUrl: string | null;
  /** The endpoint secret (whsec_…) gateway events are verified with (STRIPE_WEBHOOK_SECRET; generated for the in-process sandbox); null: not accepted. */
  gatewayEventSecret?: string | null;
  /** Which addresses webhook endpoints may point at (public only unless RENEWD_WEBHOOK_ALLOW_PRIVATE). */
  webhookTargets: AddressPolicy;
}
