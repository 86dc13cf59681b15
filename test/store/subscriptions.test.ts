// The subscriptions store on both engines: reading a subscription by account, by invoice and its
// standing, inserting one, the auto-renew switch, locking, claiming due work and the clock's next stop.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { insertAccount } from '../../src/store/accounts.ts';
import { insertPlan } from '../../src/store/plans.ts';
import { dbRefusalOf, type Queryable } from '../../src/store/db.ts';
import {
  claimDueSubscriptions,
  earliestNextAction,
  insertSubscription,
  lockSubscription,
  lockSubscriptionsOfInvoices,
  setAutoRenew,
  subscriptionOfAccount,
  subscriptionOfInvoice,
  subscriptionStanding,
} from '../../src/store/subscriptions.ts';
import { insertInvoice } from '../helpers/store-rows.ts';
import { T0, PERIOD_END, GRACE_END, PRO_MONTHLY, ms } from '../helpers/billing-state.ts';

const HOUR = 3_600_000;

/** Account acct_<k> with subscription sub_<k> on the "pro" plan, active, monthly, auto-renewing. */
async function subscribed(q: Queryable, k: string, opts: { auto_renew?: boolean } = {}) {
  await insertAccount(q, { id: `acct_${k}`, name: k, email: `${k}@example.com`, locale: 'en', domain_zone: 'com', currency: 'EUR', time_zone: 'UTC', gateway_customer_ref: null, created_at: T0 });
  await insertSubscription(q, { id: `sub_${k}`, account_id: `acct_${k}`, plan_id: 'pro', interval: 'month', auto_renew: opts.auto_renew ?? true, status: 'active', now: T0, period_end: PERIOD_END });
}

const invoice = (q: Queryable, id: string, k: string, status: 'open' | 'void' = 'open') => insertInvoice(q, id, `acct_${k}`, `sub_${k}`, { start: T0, end: PERIOD_END, status });

async function due(q: Queryable, k: string, at: Date | null) {
  await q.query(`UPDATE subscriptions SET next_action_at = $2, next_action = $3 WHERE id = $1`, [`sub_${k}`, at, at ? 'renew' : null]);
}

for (const engine of ENGINES) {
  describe(`subscriptions store on ${engine}`, () => {
    let t: TestDb;
    beforeEach(async () => {
      t = await createTestDatabase(engine);
      await insertPlan(t.db, PRO_MONTHLY, T0);
      await insertPlan(t.db, { id: 'team', name: 'Team', free: false, prices: [{ currency: 'EUR', interval: 'year', amount: 29000 }] }, T0);
    });
    afterEach(() => t.drop());

    test('an inserted subscription starts now: anchor, period start and creation at now, period 0, the given period end, version 0, nothing due', async () => {
      await insertAccount(t.db, { id: 'acct_n', name: 'N', email: 'n@example.com', locale: 'en', domain_zone: 'com', currency: 'EUR', time_zone: 'UTC', gateway_customer_ref: null, created_at: T0 });
      const end = ms(T0, 24 * HOUR);
      await insertSubscription(t.db, { id: 'sub_n', account_id: 'acct_n', plan_id: 'team', interval: 'year', auto_renew: false, status: 'incomplete', now: T0, period_end: end });
      const [r] = await t.db.query<any>('SELECT * FROM subscriptions WHERE id = $1', ['sub_n']);
      assert.equal(r.id, 'sub_n');
      assert.equal(r.account_id, 'acct_n');
      assert.equal(r.plan_id, 'team');
      assert.equal(r.interval, 'year');
      assert.equal(r.auto_renew, false);
      assert.equal(r.status, 'incomplete');
      assert.equal(new Date(r.billing_anchor).toISOString(), T0.toISOString());
      assert.equal(r.period_index, 0);
      assert.equal(new Date(r.current_period_start).toISOString(), T0.toISOString());
      assert.equal(new Date(r.current_period_end).toISOString(), end.toISOString());
      assert.equal(new Date(r.created_at).toISOString(), T0.toISOString());
      assert.equal(r.version, 0);
      assert.equal(r.next_action_at, null);
      assert.equal(r.grace_ends_at, null);
    });

    test("an account's subscription is the one it owns; an unknown account has none (null)", async () => {
      await subscribed(t.db, 'a');
      await subscribed(t.db, 'b', { auto_renew: false });
      const a = await subscriptionOfAccount(t.db, 'acct_a');
      assert.equal(a?.id, 'sub_a');
      assert.equal(a?.account_id, 'acct_a');
      assert.equal(a?.auto_renew, true);
      assert.equal(a?.current_period_end.toISOString(), PERIOD_END.toISOString());
      assert.equal((await subscriptionOfAccount(t.db, 'acct_b'))?.id, 'sub_b');
      assert.equal(await subscriptionOfAccount(t.db, 'acct_nobody'), null);
    });

    test("an invoice's subscription is the one it bills; an unknown invoice has none (null)", async () => {
      await subscribed(t.db, 'a');
      await subscribed(t.db, 'b');
      await invoice(t.db, 'inv_a', 'a');
      await invoice(t.db, 'inv_b', 'b');
      const b = await subscriptionOfInvoice(t.db, 'inv_b');
      assert.equal(b?.id, 'sub_b');
      assert.equal(b?.account_id, 'acct_b');
      assert.equal((await subscriptionOfInvoice(t.db, 'inv_a'))?.id, 'sub_a');
      assert.equal(await subscriptionOfInvoice(t.db, 'inv_nothing'), null);
    });

    test("a subscription's standing is exactly its status, plan, grace end and next retry; an unknown subscription has none (null)", async () => {
      await subscribed(t.db, 'a');
      await subscribed(t.db, 'b');
      const retry = ms(PERIOD_END, 3 * 24 * HOUR);
      await t.db.query(`UPDATE subscriptions SET status = 'past_due', grace_ends_at = $2, next_retry_at = $3 WHERE id = $1`, ['sub_a', GRACE_END, retry]);
      const s = await subscriptionStanding(t.db, 'sub_a');
      assert.deepEqual(
        { ...s, grace_ends_at: new Date(s!.grace_ends_at!).toISOString(), next_retry_at: new Date(s!.next_retry_at!).toISOString() },
        { status: 'past_due', plan_id: 'pro', grace_ends_at: GRACE_END.toISOString(), next_retry_at: retry.toISOString() },
      );
      assert.deepEqual(await subscriptionStanding(t.db, 'sub_b'), { status: 'active', plan_id: 'pro', grace_ends_at: null, next_retry_at: null });
      assert.equal(await subscriptionStanding(t.db, 'sub_nobody'), null);
    });

    test('the auto-renew switch sets auto_renew and bumps the version by one, on that subscription only', async () => {
      await subscribed(t.db, 'a');
      await subscribed(t.db, 'b');
      await setAutoRenew(t.db, 'sub_a', false);
      let a = await subscriptionOfAccount(t.db, 'acct_a');
      assert.equal(a?.auto_renew, false);
      assert.equal(a?.version, 1);
      await setAutoRenew(t.db, 'sub_a', true);
      a = await subscriptionOfAccount(t.db, 'acct_a');
      assert.equal(a?.auto_renew, true);
      assert.equal(a?.version, 2);
      const b = await subscriptionOfAccount(t.db, 'acct_b');
      assert.equal(b?.auto_renew, true);
      assert.equal(b?.version, 0);
    });

    test('locking a subscription returns its row; an unknown subscription locks nothing (null)', async () => {
      await subscribed(t.db, 'a');
      await subscribed(t.db, 'b');
      await t.db.tx(async (q) => {
        const a = await lockSubscription(q, 'sub_a');
        assert.equal(a?.id, 'sub_a');
        assert.equal(a?.account_id, 'acct_a');
        assert.equal(a?.status, 'active');
        assert.equal((await lockSubscription(q, 'sub_b'))?.id, 'sub_b');
        assert.equal(await lockSubscription(q, 'sub_nobody'), null);
      });
    });

    test('the next stop is the earliest next action over all subscriptions, ignoring those with none; null when nothing is due', async () => {
      assert.equal(await earliestNextAction(t.db), null);
      await subscribed(t.db, 'a');
      await subscribed(t.db, 'b');
      await subscribed(t.db, 'c');
      assert.equal(await earliestNextAction(t.db), null);
      await due(t.db, 'a', ms(PERIOD_END, 2 * HOUR));
      await due(t.db, 'b', PERIOD_END);
      const at = await earliestNextAction(t.db);
      assert.ok(at instanceof Date);
      assert.equal(at.toISOString(), PERIOD_END.toISOString());
    });

    test('claiming takes only due subscriptions (due at or before now), oldest due first, at most the limit', async () => {
      for (const k of ['a', 'b', 'c', 'd', 'e']) await subscribed(t.db, k);
      await due(t.db, 'a', ms(PERIOD_END, 2 * HOUR));
      await due(t.db, 'b', PERIOD_END);
      await due(t.db, 'c', ms(PERIOD_END, HOUR));
      await due(t.db, 'd', ms(PERIOD_END, 3 * HOUR)); // after now: not due
      const now = ms(PERIOD_END, 2 * HOUR);
      const all = await t.db.tx((q) => claimDueSubscriptions(q, now, 10));
      assert.deepEqual(all.map((s) => s.id), ['sub_b', 'sub_c', 'sub_a']);
      const two = await t.db.tx((q) => claimDueSubscriptions(q, now, 2));
      assert.deepEqual(two.map((s) => s.id), ['sub_b', 'sub_c']);
    });

    test("locking the invoices' subscriptions returns each subscription once, in id order, and none for unknown invoices", async () => {
      for (const k of ['c', 'a', 'b']) await subscribed(t.db, k);
      await invoice(t.db, 'inv_c1', 'c', 'void');
      await invoice(t.db, 'inv_c2', 'c');
      await invoice(t.db, 'inv_a', 'a');
      await invoice(t.db, 'inv_b', 'b');
      const subs = await t.db.tx((q) => lockSubscriptionsOfInvoices(q, ['inv_c2', 'inv_a', 'inv_c1', 'inv_unknown']));
      assert.deepEqual(subs.map((s) => s.id), ['sub_a', 'sub_c']);
      assert.deepEqual(await t.db.tx((q) => lockSubscriptionsOfInvoices(q, ['inv_unknown'])), []);
    });

    if (engine === 'postgres') {
      test('a locked subscription is held: another transaction cannot lock it (55P03) and claiming skips it', async () => {
        await subscribed(t.db, 'a');
        await subscribed(t.db, 'b');
        await due(t.db, 'a', PERIOD_END);
        await due(t.db, 'b', PERIOD_END);
        await t.db.tx(async (q) => {
          assert.equal((await lockSubscription(q, 'sub_a'))?.id, 'sub_a');
          await assert.rejects(
            t.db.tx((q2) => q2.query('SELECT id FROM subscriptions WHERE id = $1 FOR UPDATE NOWAIT', ['sub_a'])),
            (err) => dbRefusalOf(err)?.code === '55P03',
          );
          const other = await t.db.tx((q2) => claimDueSubscriptions(q2, PERIOD_END, 10));
          assert.deepEqual(other.map((s) => s.id), ['sub_b']);
        });
      });
    }
  });
}
