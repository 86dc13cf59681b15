// Issue 23: legal invoice numbers under concurrency, on PostgreSQL. Three workers (each its own
// pool, three lanes each) renew a billing day while purchases are dispatched in parallel, and a
// fourth worker "crashes" between numbering and commit (its transaction is rolled back after the
// numbers were taken). Every finalized invoice (paid or past due) carries one number of 1…N,
// without gap or repeat, the counter stands at N + 1, voided purchases have none, and
// `renewd verify` finds nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { openPostgres, type Db, type Queryable } from '../../src/store/db.ts';
import { Engine } from '../../src/engine/engine.ts';
import { TestClock } from '../../src/engine/clock.ts';
import { createSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import { createStripeGateway } from '../../src/gateway/stripe.ts';
import { seedDueSubscriptions } from '../helpers/due.ts';
import { verifyInvariants, violationCounts } from '../../src/engine/verify.ts';

const N = 600; // due renewals; 1 in 5 declines (past due: issued too)
const P = 60; // purchases dispatched while the workers run; 1 in 4 declines (void: no number)
const DUE = new Date('2026-03-01T00:00:00Z');
const YEAR = DUE.getUTCFullYear();
let t: TestDb;
let sandbox: Sandbox;
let url: string;
const clock = new TestClock(DUE);

before(async () => {
  t = await createTestDatabase('postgres');
  sandbox = createSandbox({ clock });
  await seedDueSubscriptions(t.db, sandbox, { tag: 'n', n: N, start: new Date('2026-02-01T00:00:00Z'), due: DUE, declines: (i) => i % 5 === 0 });
  // Canceled accounts on the free plan that buy Pro again (engine.dispatch 'purchase').
  await t.db.query(
    `INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, gateway_customer_ref, created_at)
     SELECT 'acct_b' || i, 'Buyer ' || i, 'b' || i || '@example.com', 'en', 'com', 'EUR', 'UTC', 'cus_b' || i, $1 FROM generate_series(1, $2) i`,
    [new Date('2026-01-01T00:00:00Z'), P],
  );
  await t.db.query(
    `INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
     SELECT 'pm_b' || i, 'acct_b' || i, 'card', 'pm_b' || i, 'visa', '4242', 12, 2030, 'active', $1 FROM generate_series(1, $2) i`,
    [new Date('2026-01-01T00:00:00Z'), P],
  );
  await t.db.query(
    `INSERT INTO subscriptions (id, account_id, plan_id, interval, status, auto_renew, billing_anchor, current_period_start, current_period_end, created_at)
     SELECT 'sub_b' || i, 'acct_b' || i, 'free', 'month', 'canceled', false, $1, $1, $2, $1 FROM generate_series(1, $3) i`,
    [new Date('2026-01-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'), P],
  );
  const ids = Array.from({ length: P }, (_, k) => k + 1);
  sandbox.load({
    customers: ids.map((i) => ({ id: `cus_b${i}` })),
    cards: ids.map((i) => ({ id: `pm_b${i}`, customer: `cus_b${i}`, number: i % 4 === 0 ? '4000000000000002' : '4242424242424242', exp_month: 12, exp_year: 2030 })),
  });
  url = await sandbox.listen(0);
});

after(async () => {
  await sandbox.close();
  await t.drop();
});

/** A Db whose first `times` transactions that take invoice numbers fail after doing all their work, just before COMMIT. */
function crashingBeforeCommit(db: Db, times: number) {
  const state = { left: times, crashes: 0 };
  const wrapped: Db = {
    kind: db.kind,
    query: (sql, params) => db.query(sql, params),
    close: () => db.close(),
    tx: (fn) =>
      db.tx(async (q) => {
        let numbered = false;
        const spy: Queryable = {
          query: (sql, params) => {
            if (sql.includes('INSERT INTO document_series')) numbered = true;
            return q.query(sql, params);
          },
        };
        const out = await fn(spy);
        if (numbered && state.left > 0) {
          state.left--;
          state.crashes++;
          throw new Error('crash between numbering and commit');
        }
        return out;
      }),
  };
  return { db: wrapped, state };
}

test('many workers and parallel purchases finalize invoices numbered 1…N without gap or repeat', { timeout: 240_000 }, async () => {
  const u = new URL(url);
  const gateway = () => createStripeGateway({ apiKey: 'sk_test_n', host: u.hostname, port: Number(u.port), protocol: 'http' });
  const pools: Db[] = [0, 1, 2, 3].map(() => openPostgres(t.url!, { max: 5 }));
  const engines = pools.slice(0, 3).map((db) => new Engine({ db, clock, gateway: gateway(), batchSize: 20, concurrency: 16 }));
  const crashing = crashingBeforeCommit(pools[3], 5);
  const crashingEngine = new Engine({ db: crashing.db, clock, gateway: gateway(), batchSize: 20, concurrency: 16 });
  const errors: unknown[] = [];
  const crashLoop = async () => {
    for (let k = 0; k < 200; k++) {
      try {
        if ((await crashingEngine.runBatch()) === 0) return;
      } catch (err) {
        if (!/crash between numbering and commit/.test(String(err))) throw err;
        errors.push(err);
      }
    }
  };
  const purchases = async () => {
    const pro = { id: 'pro', name: 'Pro', free: false, prices: [{ currency: 'EUR', interval: 'month' as const, amount: 2900 }] };
    const subs = Array.from({ length: P }, (_, k) => `sub_b${k + 1}`);
    // Four commands at a time, each through its own engine (the API's path: engine.dispatch).
    for (let k = 0; k < subs.length; k += 4)
      await Promise.all(subs.slice(k, k + 4).map((id, j) => engines[j % 3].dispatch(id, { type: 'purchase', plan: pro, interval: 'month', amount: 2900 })));
  };
  await Promise.all([...engines.map((e) => e.drainParallel(3)), crashLoop(), purchases()]);
  assert.ok(crashing.state.crashes > 0, 'the crashing worker rolled back at least one numbered batch');

  // The crashed batches' answers were lost with their transactions: their attempts are reconciled
  // by key after the lease (the sandbox charged them), and only then numbered.
  clock.set(new Date(DUE.getTime() + 5 * 60_000));
  await Promise.all(engines.map((e) => e.drainParallel(2)));
  await Promise.all(pools.map((p) => p.close()));

  const finals = await t.db.query<{ id: string; status: string; kind: string; number: string | null; number_seq: number | null; number_year: number | null; number_prefix: string | null }>(
    `SELECT id, status, kind, number, number_seq, number_year, number_prefix FROM invoices ORDER BY number_seq NULLS LAST`,
  );
  const issued = finals.filter((i) => ['paid', 'past_due', 'uncollectible'].includes(i.status));
  const voided = finals.filter((i) => i.status === 'void');
  assert.equal(issued.length, N + P - P / 4, 'every renewal (paid or past due) and every paid purchase is issued');
  assert.equal(voided.length, P / 4, 'the declined purchases are void');
  assert.ok(voided.every((i) => i.number === null), 'a voided purchase takes no number');
  assert.ok(issued.every((i) => i.number !== null && i.number_prefix === 'RNW' && i.number_year === YEAR), 'every issued invoice is numbered in the RNW series of the year');
  assert.deepEqual(
    issued.map((i) => Number(i.number_seq)),
    Array.from({ length: issued.length }, (_, k) => k + 1),
    'the numbers are 1…N: no gap, no repeat',
  );
  assert.ok(issued.every((i) => i.number === `RNW-${YEAR}-${String(i.number_seq).padStart(6, '0')}`));
  const [series] = await t.db.query<{ next: number }>(`SELECT next FROM document_series WHERE prefix = 'RNW' AND year = $1`, [YEAR]);
  assert.equal(Number(series.next), issued.length + 1, 'the counter stands right after the last number: the crashed batches gave theirs back');
  const events = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = 'invoice.finalized'`);
  assert.equal(events[0].n, issued.length, 'one invoice.finalized event per number');

  const report = await verifyInvariants(t.db, clock.now(), sandbox.charges() as any);
  assert.deepEqual(violationCounts(report), {}, JSON.stringify(report.violations.slice(0, 5)));
});

test('renewd verify finds a gap, a repeat and an issued invoice without a number', async () => {
  await t.db.query(`UPDATE invoices SET number_seq = number_seq + 1000, number = number || 'x' WHERE id = (SELECT id FROM invoices WHERE number_seq = 7)`);
  await t.db.query(`UPDATE invoices SET number = NULL, number_seq = NULL, finalized_at = NULL WHERE id = (SELECT id FROM invoices WHERE number_seq = 9 AND number NOT LIKE '%x')`);
  const report = await verifyInvariants(t.db, clock.now());
  const found = report.violations.filter((v) => v.rule === 'document_numbering').map((v) => v.detail);
  assert.ok(found.some((d) => /series RNW-\d{4}: .* counter at/.test(d)), found.join('\n'));
  assert.ok(found.some((d) => /is (paid|past_due) \(issued\) but has no number/.test(d)), found.join('\n'));
});
