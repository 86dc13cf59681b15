// The store on both engines: migrations, loading and saving billing states in batches, and the
// database's own guards against double invoicing and double charging.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { loadStates, saveSteps } from '../../src/store/billing.ts';
import { step } from '../../src/core/machine.ts';
import { newId } from '../../src/store/ids.ts';
import type { Queryable } from '../../src/store/db.ts';

async function seed(q: Queryable, n: number, due: Date) {
  await q.query(`INSERT INTO plans (id, name, free) VALUES ('free', 'Free', true), ('pro', 'Pro', false)`);
  await q.query(`INSERT INTO plan_prices VALUES ('pro', 'EUR', 'month', 2900), ('pro', 'JPY', 'month', 3500)`);
  for (let i = 0; i < n; i++) {
    const cur = i % 2 ? 'JPY' : 'EUR';
    await q.query(
      `INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, gateway_customer_ref, created_at)
       VALUES ($1, 'A', 'a@example.com', 'fr-FR', 'fr', $2, 'Europe/Paris', 'cus_x', $3)`,
      [`acct_${i}`, cur, due],
    );
    await q.query(
      `INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
       VALUES ($1, $2, 'card', 'pm_x', 'visa', '4242', 12, 2030, 'active', $3)`,
      [`pm_${i}`, `acct_${i}`, due],
    );
    const start = new Date(due.getTime() - 28 * 86_400_000);
    await q.query(
      `INSERT INTO subscriptions (id, account_id, plan_id, interval, status, billing_anchor, current_period_start, current_period_end, next_action_at, next_action, created_at)
       VALUES ($1, $2, 'pro', 'month', 'active', $3, $3, $4, $4, 'renew', $3)`,
      [`sub_${i}`, `acct_${i}`, start, due],
    );
  }
}

for (const engine of ENGINES) {
  describe(`store on ${engine}`, () => {
    let t: TestDb;
    const due = new Date('2026-02-28T09:00:00Z');
    before(async () => {
      t = await createTestDatabase(engine);
      await seed(t.db, 6, due);
    });
    after(() => t.drop());

    test('a batch of ticks creates one invoice and one pending attempt per due subscription', async () => {
      const now = due;
      await t.db.tx(async (q) => {
        const rows = await q.query('SELECT * FROM subscriptions WHERE next_action_at <= $1 ORDER BY id FOR UPDATE SKIP LOCKED', [now]);
        const states = await loadStates(q, rows, now);
        assert.equal(states.length, 6);
        assert.equal(states[1].account.currency, 'JPY');
        const steps = states.map((before) => ({ before, result: step(before, { type: 'tick' }, now, { newId }) }));
        await saveSteps(q, steps, now);
      });
      const inv = await t.db.query<any>('SELECT * FROM invoices ORDER BY subscription_id');
      assert.equal(inv.length, 6);
      assert.deepEqual(inv.map((r) => r.amount), [2900, 3500, 2900, 3500, 2900, 3500]); // JPY has no minor unit
      const att = await t.db.query<any>(`SELECT * FROM payment_attempts WHERE outcome = 'pending'`);
      assert.equal(att.length, 6);
      assert.ok(att.every((a) => a.idempotency_key === `renewd_${a.invoice_id}_1`));
      const subs = await t.db.query<any>('SELECT version, next_action_at FROM subscriptions');
      assert.ok(subs.every((s) => s.version === 1 && new Date(s.next_action_at) > now));
      const ev = await t.db.query<any>(`SELECT type, count(*)::int AS n FROM events GROUP BY type ORDER BY type`);
      assert.deepEqual(ev, [{ type: 'invoice.created', n: 6 }, { type: 'payment_attempt.started', n: 6 }]);
    });

    test('the database refuses a second invoice for the same period', async () => {
      const [inv] = await t.db.query<any>('SELECT * FROM invoices LIMIT 1');
      await assert.rejects(
        t.db.query(
          `INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, created_at)
           VALUES ('inv_dup', $1, $2, 'pro', 2900, 'EUR', $3, $4, 'paid', 'renewal', 'month', now())`,
          [inv.account_id, inv.subscription_id, inv.period_start, inv.period_end],
        ),
        /duplicate key value violates unique constraint "invoices_one_per_period"/,
      );
    });

    test('the database refuses a second successful attempt for an invoice', async () => {
      const [a] = await t.db.query<any>('SELECT * FROM payment_attempts LIMIT 1');
      await t.db.query(`UPDATE payment_attempts SET outcome = 'succeeded' WHERE id = $1`, [a.id]);
      await assert.rejects(
        t.db.query(
          `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, amount, currency, created_at)
           VALUES ('att_dup', $1, $2, $3, 2, 'scheduled', 'k_dup', 'succeeded', 2900, 'EUR', now())`,
          [a.invoice_id, a.account_id, a.payment_method_id],
        ),
        /duplicate key value violates unique constraint "payment_attempts_one_success"/,
      );
    });

    test('a stale version is refused: a step never overwrites a concurrent one', async () => {
      const rows = await t.db.query('SELECT * FROM subscriptions WHERE id = $1', ['sub_5']);
      const [before] = await loadStates(t.db, rows, due);
      await t.db.query('UPDATE subscriptions SET version = version + 1 WHERE id = $1', ['sub_5']);
      const result = step(before, { type: 'tick' }, new Date(due.getTime() + 3_600_000), { newId });
      await assert.rejects(t.db.tx((q) => saveSteps(q, [{ before, result }], due)), /concurrent update/);
    });

    test("an account's payment attempts (purchase history, Retry's daily count) are read by index, not by scanning the table", async () => {
      // The planner picks a scan by cost; with sequential scans priced out, the plan shows which
      // index serves the statement (a full scan of another index would name that one instead).
      const plans = await t.db.tx(async (q) => {
        await q.query('SET LOCAL enable_seqscan = off');
        const explain = async (sql: string, params: unknown[]) =>
          (await q.query<Record<string, string>>(`EXPLAIN ${sql}`, params)).map((r) => Object.values(r)[0]).join('\n');
        return [
          await explain('SELECT * FROM payment_attempts WHERE account_id = $1 ORDER BY number', ['acct_1']),
          await explain(`SELECT count(*)::int AS n FROM payment_attempts WHERE account_id = $1 AND trigger = 'customer_retry' AND created_at > $2`, ['acct_1', due]),
        ];
      });
      for (const plan of plans) assert.match(plan, /payment_attempts_account/, plan);
    });
  });
}
