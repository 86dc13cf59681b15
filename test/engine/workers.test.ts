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
import { seedDueSubscriptions } from '../helpers/due.ts';

const N = 10_000;
const DUE = new Date('2026-03-01T00:00:00Z');
let t: TestDb;
let sandbox: Sandbox;
let url: string;
const clock = new TestClock(DUE);

before(async () => {
  t = await createTestDatabase('postgres');
  sandbox = createSandbox({ clock });
  // One in ten cards declines (insufficient funds) so both paths run concurrently.
  await seedDueSubscriptions(t.db, sandbox, { tag: 'w', n: N, start: new Date('2026-02-01T00:00:00Z'), due: DUE, declines: (i) => i % 10 === 0 });
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
