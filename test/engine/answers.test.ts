// Applying gateway answers reuses the states the claim wrote, unless the subscription changed while
// its charge was in flight: a change made then (with or without a version bump) must survive the
// answer, and the answer must still be applied once.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { Engine } from '../../src/engine/engine.ts';
import { TestClock } from '../../src/engine/clock.ts';
import { createSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import { createStripeGateway } from '../../src/gateway/stripe.ts';
import type { ChargeRequest, Gateway } from '../../src/gateway/types.ts';
import { seedDueSubscriptions } from '../helpers/due.ts';

const N = 6;
const DUE = new Date('2026-03-01T00:00:00Z');
const START = new Date('2026-02-01T00:00:00Z');

for (const engine of ENGINES) {
  describe(`answers applied after concurrent changes (${engine})`, () => {
    let t: TestDb;
    let sandbox: Sandbox;
    let url: URL;
    const clock = new TestClock(DUE);

    before(async () => {
      t = await createTestDatabase(engine);
      sandbox = createSandbox({ clock });
      // Cards 2 and 4 decline (insufficient funds): those answers put the subscription in grace.
      await seedDueSubscriptions(t.db, sandbox, { tag: '', n: N, start: START, due: DUE, declines: (i) => i === 2 || i === 4 });
      url = new URL(await sandbox.listen(0));
    });

    after(async () => {
      await sandbox.close();
      await t.drop();
    });

    test('a change made while the charge is in flight is kept; every answer is applied once', async () => {
      const stripe = createStripeGateway({ apiKey: 'sk_test_answers', host: url.hostname, port: Number(url.port), protocol: 'http' });
      // While each charge is at the gateway, another writer changes its subscription:
      // acct_1 (paid) and acct_2 (declined) without a version bump, as subscribe() sets auto_renew;
      // acct_3 (paid) and acct_4 (declined) with one, as the auto-renew switch does.
      const during: Record<string, string> = {
        cus_1: `UPDATE subscriptions SET auto_renew = false WHERE id = 'sub_1'`,
        cus_2: `UPDATE subscriptions SET auto_renew = false WHERE id = 'sub_2'`,
        cus_3: `UPDATE subscriptions SET auto_renew = false, version = version + 1 WHERE id = 'sub_3'`,
        cus_4: `UPDATE subscriptions SET auto_renew = false, version = version + 1 WHERE id = 'sub_4'`,
      };
      const gateway: Gateway = {
        ...stripe,
        async charge(req: ChargeRequest) {
          const sql = during[req.customer_ref];
          if (sql) await t.db.query(sql);
          return stripe.charge(req);
        },
      };
      const e = new Engine({ db: t.db, gateway, clock, batchSize: N, concurrency: N });
      assert.equal(await e.drain(), N);

      const subs = await t.db.query<{ id: string; auto_renew: boolean; status: string; period_index: number }>(
        'SELECT id, auto_renew, status, period_index FROM subscriptions ORDER BY id',
      );
      assert.deepEqual(
        subs.map((s) => [s.id, s.auto_renew, s.status, s.period_index]),
        [
          ['sub_1', false, 'active', 1],
          // Auto-renew off while the renewal was in flight is a cancel asked then (issue 15): a
          // decline ends the subscription at once (invoice void), a success is kept to its period end.
          ['sub_2', false, 'canceled', 0],
          ['sub_3', false, 'active', 1],
          ['sub_4', false, 'canceled', 0],
          ['sub_5', true, 'active', 1],
          ['sub_6', true, 'active', 1],
        ],
      );
      const attempts = await t.db.query<{ account_id: string; outcome: string }>('SELECT account_id, outcome FROM payment_attempts ORDER BY account_id');
      assert.deepEqual(
        attempts.map((a) => [a.account_id, a.outcome]),
        [['acct_1', 'succeeded'], ['acct_2', 'declined'], ['acct_3', 'succeeded'], ['acct_4', 'declined'], ['acct_5', 'succeeded'], ['acct_6', 'succeeded']],
      );
      const invoices = await t.db.query<{ account_id: string; status: string }>('SELECT account_id, status FROM invoices ORDER BY account_id');
      assert.deepEqual(invoices.map((i) => i.status), ['paid', 'void', 'paid', 'void', 'paid', 'paid']);
      assert.equal(sandbox.charges().length, N - 2, "money moved once per paid invoice");
      // One e-mail per answer (receipt, or the cancel's confirmation after a decline), none lost, none
      // doubled; the two paid with auto-renew off also get the cancel's confirmation (access until the period end).
      const mails = await t.db.query<{ account_id: string; template: string }>('SELECT account_id, template FROM notifications ORDER BY account_id, template');
      assert.deepEqual(
        mails.map((m) => `${m.account_id}:${m.template}`),
        ['acct_1:renewal_succeeded', 'acct_1:subscription_canceled', 'acct_2:subscription_canceled', 'acct_3:renewal_succeeded', 'acct_3:subscription_canceled', 'acct_4:subscription_canceled', 'acct_5:renewal_succeeded', 'acct_6:renewal_succeeded'],
      );
    });
  });
}
