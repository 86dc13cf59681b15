// Two workers, each with its own connection pool to one PostgreSQL, over 10,000 due
// subscriptions: every subscription is renewed exactly once, and money moves once per invoice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { openPostgres, type Db } from '../../src/store/db.ts';
import { Engine } from '../../src/engine/engine.ts';
import { TestClock } from '../../src/engine/clock.ts';
import { createSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import { createStripeGateway } from '../../src/gateway/stripe.ts';

const N = 10_000;
const DUE = new Date('2026-03-01T00:00:00Z');
let t: TestDb;
let sandbox: Sandbox;
let url: string;
const clock = new TestClock(DUE);

before(async () => {
  t = await createTestDatabase('postgres');
  await t.db.query(`INSERT INTO plans (id, name, free) VALUES ('free', 'Free', true), ('pro', 'Pro', false)`);
  await t.db.query(`INSERT INTO plan_prices VALUES ('pro', 'EUR', 'month', 2900)`);
  const start = new Date('2026-02-01T00:00:00Z');
  await t.db.query(
    `INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, gateway_customer_ref, created_at)
     SELECT 'acct_w' || i, 'Account ' || i, 'a' || i || '@example.com', 'en', 'com', 'EUR', 'UTC', 'cus_w' || i, $1 FROM generate_series(1, $2) i`,
    [start, N],
  );
  await t.db.query(
    `INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
     SELECT 'pm_w' || i, 'acct_w' || i, 'card', 'pm_w' || i, 'visa', '4242', 12, 2030, 'active', $1 FROM generate_series(1, $2) i`,
    [start, N],
  );
  await t.db.query(
    `INSERT INTO subscriptions (id, account_id, plan_id, interval, status, billing_anchor, current_period_start, current_period_end, next_action_at, next_action, created_at)
     SELECT 'sub_w' || i, 'acct_w' || i, 'pro', 'month', 'active', $1, $1, $2, $2, 'renew', $1 FROM generate_series(1, $3) i`,
    [start, DUE, N],
  );
  sandbox = createSandbox({ clock });
  const ids = Array.from({ length: N }, (_, k) => k + 1);
  sandbox.load({
    customers: ids.map((i) => ({ id: `cus_w${i}` })),
    // One in ten cards declines (insufficient funds) so both paths run concurrently.
    cards: ids.map((i) => ({ id: `pm_w${i}`, customer: `cus_w${i}`, number: i % 10 === 0 ? '4000000000009995' : '4242424242424242', exp_month: 12, exp_year: 2030 })),
  });
  url = await sandbox.listen(0);
});

after(async () => {
  await sandbox.close();
  await t.drop();
});

test('two workers over 10,000 due subscriptions renew each exactly once', { timeout: 240_000 }, async () => {
  const u = new URL(url);
  const pools: Db[] = [openPostgres(t.url!, { max: 5 }), openPostgres(t.url!, { max: 5 })];
  const claimed = [0, 0];
  const engines = pools.map(
    (db, i) =>
      new Engine({
        db,
        clock,
        gateway: createStripeGateway({ apiKey: 'sk_test_w', host: u.hostname, port: Number(u.port), protocol: 'http' }),
        batchSize: 100,
        concurrency: 32,
        onProgress: (n) => (claimed[i] += n),
      }),
  );
  await Promise.all(engines.map((e) => e.drainParallel(3)));
  await Promise.all(pools.map((p) => p.close()));

  assert.ok(claimed[0] > 0 && claimed[1] > 0, `both workers took part: ${claimed}`);
  assert.equal(claimed[0] + claimed[1], N);
  const [inv] = await t.db.query<any>(`SELECT count(*)::int AS n, count(DISTINCT subscription_id)::int AS subs FROM invoices`);
  assert.deepEqual(inv, { n: N, subs: N });
  const [att] = await t.db.query<any>(`SELECT count(*)::int AS n, count(*) FILTER (WHERE outcome = 'succeeded')::int AS ok, count(*) FILTER (WHERE outcome IN ('pending','unknown'))::int AS open FROM payment_attempts`);
  assert.deepEqual(att, { n: N, ok: N - N / 10, open: 0 });
  const [subs] = await t.db.query<any>(
    `SELECT count(*) FILTER (WHERE status = 'active' AND period_index = 1)::int AS renewed, count(*) FILTER (WHERE status = 'past_due')::int AS grace FROM subscriptions`,
  );
  assert.deepEqual(subs, { renewed: N - N / 10, grace: N / 10 });
  // The gateway moved money once per paid invoice.
  const charges = sandbox.charges();
  assert.equal(charges.length, N - N / 10);
  assert.equal(new Set(charges.map((c: any) => c.metadata?.renewd_invoice)).size, charges.length);
});
