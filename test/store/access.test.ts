// The access check's read on both engines: concurrent checks share statements (the throughput of
// the integrators' hot path), yet each one gets exactly its own account's row, sees writes made
// before it was asked, and a failed statement fails only the checks that shared it.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { accessReader } from '../../src/store/access.ts';
import type { Queryable } from '../../src/store/db.ts';

const T0 = new Date('2026-03-01T09:00:00Z');
const T1 = new Date('2026-04-01T09:00:00Z');

async function seed(q: Queryable, n: number) {
  await q.query(`INSERT INTO plans (id, name, free) VALUES ('free', 'Free', true), ('pro', 'Pro', false)`);
  await q.query(
    `INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, gateway_customer_ref, created_at)
     SELECT 'acct_' || i, 'A', 'a@example.com', 'en-US', 'com', 'EUR', 'UTC', 'cus_x', $1 FROM generate_series(0, $2::int - 1) i`,
    [T0, n],
  );
  // Every fourth account has no subscription; the others cycle through active, past due, downgraded.
  await q.query(
    `INSERT INTO subscriptions (id, account_id, plan_id, interval, status, billing_anchor, current_period_start, current_period_end, grace_ends_at, created_at)
     SELECT 'sub_' || i, 'acct_' || i,
            CASE WHEN i % 4 = 2 THEN 'free' ELSE 'pro' END, 'month',
            CASE i % 4 WHEN 0 THEN 'active' WHEN 1 THEN 'past_due' ELSE 'downgraded' END,
            $1, $1, $2, CASE WHEN i % 4 = 1 THEN $2::timestamptz + interval '14 days' END, $1
       FROM generate_series(0, $3::int - 1) i WHERE i % 4 <> 3`,
    [T0, T1, n],
  );
}

/** The database, counting the statements that reach it, and failing them on demand. */
function counting(db: Queryable) {
  const c = { statements: 0, fail: false };
  const q: Queryable = {
    async query<T>(sql: string, params?: unknown[]) {
      c.statements++;
      if (c.fail) throw new Error('connection lost');
      return db.query<T>(sql, params);
    },
  };
  return { q, c };
}

for (const engine of ENGINES) {
  describe(`access read on ${engine}`, () => {
    let t: TestDb;
    const N = 400;
    before(async () => {
      t = await createTestDatabase(engine);
      await seed(t.db, N);
    });
    after(() => t?.drop());

    test('600 concurrent checks (repeats and unknown ids among them): each gets its own row, in 3 statements', async () => {
      const { q, c } = counting(t.db);
      const read = accessReader(q);
      const ids = Array.from({ length: 600 }, (_, k) => (k % 50 === 49 ? `acct_missing_${k}` : `acct_${(k * 7) % N}`));
      const rows = await Promise.all(ids.map((id) => read(id)));
      // 600 asks for 541 distinct ids: two full rounds of 256 and the rest.
      assert.equal(c.statements, 3);
      for (const [k, id] of ids.entries()) {
        const r = rows[k];
        if (id.startsWith('acct_missing_')) {
          assert.equal(r, undefined, id);
          continue;
        }
        assert.equal(r?.id, id);
        const i = Number(id.slice(5));
        const status = [`active`, 'past_due', 'downgraded', null][i % 4];
        assert.equal(r!.status, status, id);
        assert.equal(r!.free_plan_id, 'free');
        if (status === 'past_due') assert.equal(new Date(r!.grace_ends_at!).getTime(), T1.getTime() + 14 * 86_400_000);
        if (status === 'active') assert.equal(r!.free, false);
        if (status === 'downgraded') assert.equal(r!.plan_id, 'free');
      }
    });

    test('a lone check is one statement and waits for no other', async () => {
      const { q, c } = counting(t.db);
      const read = accessReader(q);
      assert.equal((await read('acct_0'))?.status, 'active');
      assert.equal((await read('acct_1'))?.status, 'past_due');
      assert.equal(c.statements, 2);
    });

    test('while every statement slot is busy, new checks gather into the next statement', async () => {
      const { q, c } = counting(t.db);
      // The first statement is held until released; the reader may run one at a time.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const slow: Queryable = {
        async query<T>(sql: string, params?: unknown[]) {
          if (c.statements === 0) {
            c.statements++;
            await held;
            return t.db.query<T>(sql, params);
          }
          return q.query<T>(sql, params);
        },
      };
      const read = accessReader(slow, 1);
      const first = read('acct_0');
      await new Promise((r) => setImmediate(r)); // the first round leaves
      const later = [1, 4, 5, 8].map((i) => read(`acct_${i}`));
      await new Promise((r) => setImmediate(r)); // their round ends while the slot is busy
      assert.equal(c.statements, 1);
      release();
      const rows = await Promise.all([first, ...later]);
      assert.deepEqual(rows.map((r) => r?.id), ['acct_0', 'acct_1', 'acct_4', 'acct_5', 'acct_8']);
      assert.equal(c.statements, 2, 'the four waiting checks went in one statement');
    });

    test('a check asked after a write sees it', async () => {
      const read = accessReader(t.db);
      assert.equal((await read('acct_4'))?.status, 'active');
      await t.db.query(`UPDATE subscriptions SET status = 'past_due', grace_ends_at = $2 WHERE account_id = $1`, ['acct_4', T1]);
      assert.equal((await read('acct_4'))?.status, 'past_due');
      await t.db.query(`UPDATE subscriptions SET status = 'active', grace_ends_at = NULL WHERE account_id = $1`, ['acct_4']);
    });

    test('a failed statement fails the checks that shared it, and the next round reads again', async () => {
      const { q, c } = counting(t.db);
      const read = accessReader(q);
      c.fail = true;
      const failed = await Promise.allSettled(['acct_0', 'acct_1', 'acct_0'].map((id) => read(id)));
      assert.deepEqual(failed.map((f) => f.status), ['rejected', 'rejected', 'rejected']);
      assert.match(String((failed[0] as PromiseRejectedResult).reason), /connection lost/);
      c.fail = false;
      assert.equal((await read('acct_1'))?.status, 'past_due');
      assert.equal(c.statements, 2);
    });
  });
}
