// Reproductions of problems found by the chaos run that are not fixed yet. They run as `todo`
// (reported, never failing the suite); remove the todo when fixed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase } from '../helpers/db.ts';
import { createSandbox } from '../../src/sandbox/server.ts';
import { createStripeGateway } from '../../src/gateway/stripe.ts';
import { Engine } from '../../src/engine/engine.ts';
import { TestClock } from '../../src/engine/clock.ts';
import { seed, rng, T0 } from '../chaos/harness.ts';

const LEASE = 2 * 60_000;

test(
  'a charge answered 5xx before anything was charged is retried within hours, not blocked for the key lifetime (24 h)',
  {
    todo:
      'engine: Stripe (and the sandbox) store a 5xx under the Idempotency-Key, so reconciling with the same key replays the 5xx ' +
      'until the key expires (24 h); the attempt stays "unknown", reconciled every lease with a payment_attempt.unknown event each time. ' +
      'When lookup proves nothing was charged, the attempt could end as a technical decline so a new attempt (new key) follows.',
    timeout: 120_000,
  },
  async () => {
    const tdb = await createTestDatabase('pglite');
    const clock = new TestClock(new Date(T0));
    const sandbox = createSandbox({ clock });
    const url = new URL(await sandbox.listen(0, '127.0.0.1'));
    try {
      // One subscription on a good card, due now.
      await seed(tdb.db, sandbox, url.origin, { subscriptions: 1, slots: 1 }, rng(1));
      sandbox.clearScripts(); // this seed's profile scripts one decline: drop it, the card then always succeeds
      const [pm] = await tdb.db.query<{ last4: string; exp_year: number }>(`SELECT last4, exp_year FROM payment_methods`);
      assert.deepEqual(pm, { last4: '4242', exp_year: 2030 });
      const engine = new Engine({
        db: tdb.db,
        gateway: createStripeGateway({ apiKey: 'sk_test_x', host: url.hostname, port: Number(url.port), protocol: 'http', timeoutMs: 2000 }),
        clock,
        attemptLeaseMs: LEASE,
      });
      // The first charge: HTTP 500 before anything is charged (Stripe keeps that answer under the key).
      sandbox.setFaults({ errors: { next: 1, phase: 'before', status: 500 } });
      await engine.drain();
      // Twelve hours of business time, the engine looking at every due instant.
      for (let t = T0 + LEASE; t <= T0 + 12 * 3_600_000; t += LEASE) {
        clock.set(new Date(t));
        await engine.drain();
      }
      const [inv] = await tdb.db.query<{ status: string }>(`SELECT status FROM invoices`);
      const [ev] = await tdb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = 'payment_attempt.unknown'`);
      assert.equal(sandbox.charges().length, 1, `nothing charged after 12 h; ${ev.n} payment_attempt.unknown events`);
      assert.equal(inv.status, 'paid');
    } finally {
      await sandbox.close();
      await tdb.drop();
    }
  },
);
