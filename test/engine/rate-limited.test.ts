// Issue 19: a 429 is not an attempt outcome. A renewal whose charge the gateway rate-limits (after
// the adapter's own retries under the same key) stays due with its one pending attempt: no decline,
// no grace, no e-mail, no second attempt, nothing against the caps; once the gateway takes requests
// again the same attempt is made with the same key. A storm longer than the billing window loses
// nothing and fails nothing, and `renewd verify` holds throughout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { seedDueSubscriptions } from '../helpers/due.ts';
import { Engine } from '../../src/engine/engine.ts';
import { TestClock } from '../../src/engine/clock.ts';
import { verifyInvariants } from '../../src/engine/verify.ts';
import { createSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import { createStripeGateway } from '../../src/gateway/stripe.ts';

const N = 4;
const START = new Date('2026-02-01T00:00:00Z');
const DUE = new Date('2026-03-01T00:00:00Z');
const MIN = 60_000;

for (const engine of ENGINES) {
  describe(`a rate-limited billing day (${engine})`, () => {
    let t: TestDb;
    let sandbox: Sandbox;
    let e: Engine;
    const clock = new TestClock(DUE);
    const waits: number[] = [];

    before(async () => {
      t = await createTestDatabase(engine);
      sandbox = createSandbox({ clock });
      await seedDueSubscriptions(t.db, sandbox, { tag: '', n: N, start: START, due: DUE, declines: () => false });
      const url = new URL(await sandbox.listen(0));
      const gateway = createStripeGateway({ apiKey: 'sk_test_rl', host: url.hostname, port: Number(url.port), protocol: 'http', sleep: async (ms) => void waits.push(ms) });
      e = new Engine({ db: t.db, gateway, clock, batchSize: N, concurrency: N });
    });
    after(async () => {
      await sandbox.close();
      await t.drop();
    });

    const attempts = () =>
      t.db.query<{ invoice_id: string; number: number; outcome: string; raw_code: string | null; idempotency_key: string }>(
        'SELECT invoice_id, number, outcome, raw_code, idempotency_key FROM payment_attempts ORDER BY invoice_id, number',
      );
    const verify = async () => {
      const report = await verifyInvariants(t.db, clock.now(), { charges: sandbox.charges().map((c) => ({ id: c.payment_intent, idempotency_key: c.idempotency_key, metadata: c.metadata, amount: c.amount, currency: c.currency })) });
      assert.deepEqual(report.violations, []);
    };

    test('429s past the retries: every renewal stays due with one pending attempt, nothing failed, nothing told', async () => {
      sandbox.setFaults({ rateLimits: { next: 1_000_000, chargesOnly: true } });
      assert.equal(await e.drain(), N);
      const rows = await attempts();
      assert.equal(rows.length, N);
      for (const a of rows) assert.deepEqual([a.number, a.outcome, a.raw_code], [1, 'pending', 'rate_limited']);
      const subs = await t.db.query<{ status: string; next_action_at: Date }>('SELECT status, next_action_at FROM subscriptions');
      for (const s of subs) {
        assert.equal(s.status, 'active');
        assert.equal(new Date(s.next_action_at).getTime(), DUE.getTime() + MIN, 'due again after the wait (a minute when the gateway names none)');
      }
      const [ev] = await t.db.query<{ failed: number; unknown: number; limited: number }>(
        `SELECT count(*) FILTER (WHERE type = 'payment_attempt.failed')::int AS failed, count(*) FILTER (WHERE type = 'payment_attempt.unknown')::int AS unknown,
                count(*) FILTER (WHERE type = 'payment_attempt.rate_limited')::int AS limited FROM events`,
      );
      assert.deepEqual(ev, { failed: 0, unknown: 0, limited: N });
      assert.equal((await t.db.query('SELECT 1 FROM notifications')).length, 0, 'no e-mail');
      assert.equal(sandbox.charges().length, 0);
      assert.ok(waits.length >= N * 3, 'the adapter retried each charge before giving up');
      await verify();
    });

    test('a storm longer than the billing window: still one pending attempt each, still due, verify holds', async () => {
      for (let i = 0; i < 6; i++) {
        clock.set(new Date(clock.now().getTime() + 12 * 60 * MIN)); // three days in all
        assert.equal(await e.drain(), N);
        const rows = await attempts();
        assert.equal(rows.length, N, 'no attempt is ever added by a 429');
        for (const a of rows) assert.deepEqual([a.number, a.outcome, a.raw_code], [1, 'pending', 'rate_limited']);
        await verify();
      }
      const invoices = await t.db.query<{ status: string }>('SELECT status FROM invoices');
      assert.deepEqual(invoices.map((i) => i.status), Array(N).fill('open'));
    });

    test('the gateway takes requests again: the same attempt, with its key, charges once; renewed', async () => {
      const keys = (await attempts()).map((a) => a.idempotency_key);
      sandbox.clearFaults();
      clock.set(new Date(clock.now().getTime() + 2 * MIN));
      assert.equal(await e.drain(), N);
      const rows = await attempts();
      assert.deepEqual(rows.map((a) => [a.number, a.outcome, a.raw_code]), Array(N).fill([1, 'succeeded', null]));
      assert.deepEqual(rows.map((a) => a.idempotency_key), keys);
      assert.deepEqual(sandbox.charges().map((c) => c.idempotency_key).sort(), [...keys].sort());
      const subs = await t.db.query<{ status: string; period_index: number }>('SELECT status, period_index FROM subscriptions');
      assert.deepEqual(subs.map((s) => [s.status, s.period_index]), Array(N).fill(['active', 1]));
      await verify();
    });
  });
}
