// The incident store on both engines: technical failures counted per scope (gateway, card brand)
// in the window and the baseline, an unknown outcome counted however old; one open incident per
// scope whoever opens it; closing once; loadStates hands the covering incident to the machine;
// the close applied once per subscription.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { insertAccount, insertCard, insertInvoice, insertSubscription } from '../helpers/store-rows.ts';
import { loadStates } from '../../src/store/billing.ts';
import { closeIncidents, insertIncidents, markIncidentApplied, openIncidents, recentlyClosedIncidents, subscriptionsCoveredBy, technicalFailureCounts } from '../../src/store/incidents.ts';
import { HOUR } from '../../src/core/time.ts';

const now = new Date('2026-03-20T09:00:00Z');
const minAgo = (m: number) => new Date(now.getTime() - m * 60_000);

for (const engine of ENGINES) {
  describe(`incident store on ${engine}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDatabase(engine);
      const q = t.db;
      await q.query(`INSERT INTO plans (id, name, free) VALUES ('free', 'Free', true), ('pro', 'Pro', false)`);
      await q.query(`INSERT INTO plan_prices VALUES ('pro', 'EUR', 'month', 2900)`);
      for (const [acct, brand] of [['acct_v', 'visa'], ['acct_m', 'mastercard']]) {
        await insertAccount(q, acct, { created_at: minAgo(60 * 24 * 40) });
        await insertCard(q, `pm_${acct}`, acct, { brand, created_at: minAgo(60 * 24 * 40) });
        await insertSubscription(q, `sub_${acct}`, acct, {
          status: 'past_due', start: minAgo(60 * 24 * 30), end: minAgo(60), grace_ends_at: new Date(now.getTime() + 13 * 24 * HOUR), next_action_at: minAgo(60), next_action: 'retry',
        });
        await insertInvoice(q, `inv_${acct}`, acct, `sub_${acct}`, { start: minAgo(60), end: new Date(now.getTime() + 30 * 24 * HOUR), status: 'past_due', failed_at: minAgo(60) });
      }
      // visa: 3 technical declines in the window, 2 in the baseline, 1 unknown from 5 hours ago, 1 card decline; mastercard: 1 in the window.
      const rows: [string, number, string, string | null][] = [
        ['acct_v', 5, 'declined', 'soon'], ['acct_v', 6, 'declined', 'soon'], ['acct_v', 7, 'declined', 'soon'],
        ['acct_v', 120, 'declined', 'soon'], ['acct_v', 180, 'declined', 'soon'], ['acct_v', 300, 'unknown', null],
        ['acct_v', 8, 'declined', 'later'], ['acct_m', 9, 'declined', 'soon'],
      ];
      for (const [n, [acct, m, outcome, cls]] of rows.entries())
        await q.query(
          `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, retry_class, amount, currency, created_at)
           VALUES ($1, $2, $3, $4, $5, 'scheduled', $1, $6, $7, 2900, 'EUR', $8)`,
          [`att_${n}`, `inv_${acct}`, acct, `pm_${acct}`, n + 1, outcome, cls, minAgo(m)],
        );
    });
    after(() => t.drop());

    test('technical failures per scope: window, baseline, and a still-unknown attempt counted in the window', async () => {
      const counts = await technicalFailureCounts(t.db, { window_from: minAgo(15), baseline_from: minAgo(15 + 24 * 60), now });
      const by = Object.fromEntries(counts.map((c) => [c.scope, [c.window, c.baseline]]));
      assert.deepEqual(by, { gateway: [5, 2], 'brand:visa': [4, 2], 'brand:mastercard': [1, 0] });
      // Every attempt too (the share): visa's card decline in the window counts there, not as technical.
      const all = Object.fromEntries(counts.map((c) => [c.scope, [c.window_attempts, c.baseline_attempts]]));
      assert.deepEqual(all, { gateway: [6, 2], 'brand:visa': [5, 2], 'brand:mastercard': [1, 0] });
      // Shares are read only where an incident could open: not for a scope already open, and for none
      // while the gateway's is open (no other opens beside it).
      const shares = async (open: string[]) =>
        Object.fromEntries((await technicalFailureCounts(t.db, { window_from: minAgo(15), baseline_from: minAgo(15 + 24 * 60), now }, 1, open)).map((c) => [c.scope, c.window_attempts ?? null]));
      assert.deepEqual(await shares(['brand:visa']), { gateway: 6, 'brand:visa': null, 'brand:mastercard': 1 });
      assert.deepEqual(await shares(['gateway']), { gateway: null, 'brand:visa': null, 'brand:mastercard': null });
    });

    test('one open incident per scope, closed once; loadStates hands the covering one to the machine; applied once per subscription', async () => {
      const [a] = await insertIncidents(t.db, [{ id: 'inc_a', scope: 'brand:visa', technical_declines: 4, baseline: 2 }], now, minAgo(15));
      assert.equal(a.id, 'inc_a');
      assert.deepEqual(await insertIncidents(t.db, [{ id: 'inc_b', scope: 'brand:visa', technical_declines: 9, baseline: 0 }], now), [], 'another worker was first');
      assert.deepEqual((await openIncidents(t.db)).map((i) => i.id), ['inc_a']);
      const subs = await t.db.query('SELECT * FROM subscriptions ORDER BY id');
      const states = await loadStates(t.db, subs, now);
      assert.deepEqual(states.map((s) => [s.subscription.id, s.incident?.id ?? null]), [['sub_acct_m', null], ['sub_acct_v', 'inc_a']]);
      // Which attempts belong to it (the machine gives back their technical failures): those on
      // cards of its scope made since its detection window began; not the baseline's, not a
      // mastercard's (the outcome is the machine's business: the visa card decline is in it too).
      const belong = (all: typeof states) => Object.fromEntries(all.flatMap((s) => s.attempts.map((x) => [x.id, x.incident_id])));
      assert.deepEqual(belong(states), { att_0: 'inc_a', att_1: 'inc_a', att_2: 'inc_a', att_3: null, att_4: null, att_5: null, att_6: 'inc_a', att_7: null });
      const later = new Date(now.getTime() + HOUR);
      const [closed] = await closeIncidents(t.db, ['inc_a'], later);
      // Closed: still theirs; an attempt made at or after the close is not.
      await t.db.query(
        `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, retry_class, amount, currency, created_at)
         VALUES ('att_after', 'inv_acct_v', 'acct_v', 'pm_acct_v', 20, 'scheduled', 'att_after', 'declined', 'soon', 2900, 'EUR', $1)`,
        [later],
      );
      const after = belong(await loadStates(t.db, subs, later));
      assert.equal(after.att_0, 'inc_a');
      assert.equal(after.att_after, null);
      await t.db.query(`DELETE FROM payment_attempts WHERE id = 'att_after'`);
      assert.equal(closed.closed_at?.getTime(), later.getTime());
      assert.deepEqual(await closeIncidents(t.db, ['inc_a'], later), [], 'closed once');
      assert.deepEqual(await subscriptionsCoveredBy(t.db, closed, 10), ['sub_acct_v'], 'only the visa card');
      assert.equal(await markIncidentApplied(t.db, 'inc_a', 'sub_acct_v', later), true);
      assert.equal(await markIncidentApplied(t.db, 'inc_a', 'sub_acct_v', later), false);
      assert.deepEqual(await subscriptionsCoveredBy(t.db, closed, 10), []);
      const [g] = await insertIncidents(t.db, [{ id: 'inc_g', scope: 'gateway', technical_declines: 5, baseline: 2 }], later);
      const [gc] = await closeIncidents(t.db, [g.id], new Date(later.getTime() + HOUR));
      assert.deepEqual(await subscriptionsCoveredBy(t.db, gc, 10), ['sub_acct_m', 'sub_acct_v'], 'the gateway covers every card');
      // A reopening keeps its count; the recently closed ones come newest first.
      const [r] = await insertIncidents(t.db, [{ id: 'inc_r', scope: 'gateway', technical_declines: 30, baseline: 0, reopens: 2 }], new Date(later.getTime() + 2 * HOUR));
      assert.equal(r.reopens, 2);
      assert.deepEqual((await openIncidents(t.db)).map((i) => [i.id, i.reopens]), [['inc_r', 2]]);
      assert.deepEqual((await recentlyClosedIncidents(t.db, later)).map((i) => [i.id, i.reopens]), [['inc_g', 0], ['inc_a', 0]]);
      assert.deepEqual((await recentlyClosedIncidents(t.db, new Date(later.getTime() + 1))).map((i) => i.id), ['inc_g']);
      await closeIncidents(t.db, ['inc_r'], new Date(later.getTime() + 3 * HOUR));
    });
  });
}
