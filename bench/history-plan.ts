// Why payment_attempts has an index on account_id (migration 011): the two statements the purchase
// history runs by account (its attempts; Retry's count of the customer's retries in the last day)
// on tables holding 100,000 accounts with 5 paid invoices and 5 attempts each (500,000 attempts),
// timed without the index and then with it, in the same run. Median of 5 rounds of 200 executions.
//   node bench/history-plan.ts
import pg from 'pg';
import { accountId, dropDatabase, PREFIX, seedDatabase } from './lib/pg.ts';
import { median } from './lib/util.ts';

const ACCOUNTS = 100_000;
const PER_ACCOUNT = 5;
const name = `${PREFIX}_history`;
const now = new Date();
const url = await seedDatabase(name, { due: 0, notDue: ACCOUNTS, now }, 'history seed');
const c = new pg.Client({ connectionString: url });
await c.connect();
try {
  // Past periods of every seeded subscription: one paid invoice and one succeeded attempt each.
  await c.query(
    `INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, created_at, paid_at)
     SELECT 'inv_h' || s.id || '_' || k, s.account_id, s.id, s.plan_id, 1000, 'USD',
            s.current_period_start - make_interval(months => k), s.current_period_start - make_interval(months => k - 1),
            'paid', 'renewal', 'month', s.current_period_start - make_interval(months => k), s.current_period_start - make_interval(months => k)
       FROM subscriptions s, generate_series(1, $1::int) k`,
    [PER_ACCOUNT],
  );
  await c.query(
    `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, amount, currency, created_at, completed_at)
     SELECT 'att_' || i.id, i.id, i.account_id, pm.id, 1, 'renewal', 'key_' || i.id, 'succeeded', i.amount, i.currency, i.created_at, i.created_at
       FROM invoices i JOIN payment_methods pm ON pm.account_id = i.account_id AND pm.status = 'active'`,
  );
  await c.query('ANALYZE');
  const [{ n }] = (await c.query('SELECT count(*)::int AS n FROM payment_attempts')).rows;
  console.log(`${n.toLocaleString('en')} payment attempts of ${ACCOUNTS.toLocaleString('en')} accounts`);

  // The statements of src/engine/commands.ts (purchase history, Retry status), as prepared statements.
  const HISTORY = 'SELECT * FROM payment_attempts WHERE account_id = $1 ORDER BY number';
  const RETRIES = `SELECT count(*)::int AS n FROM payment_attempts WHERE account_id = $1 AND trigger = 'customer_retry' AND created_at > $2`;
  const dayAgo = new Date(now.getTime() - 86_400_000);
  let k = 0;
  const time = async (label: string, statement: string, text: string, values: () => unknown[], times = 200) => {
    for (let i = 0; i < 5; i++) await c.query({ name: statement, text, values: values() });
    const rounds: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let i = 0; i < times; i++) await c.query({ name: statement, text, values: values() });
      rounds.push((performance.now() - t0) / times);
    }
    console.log(`${label.padEnd(52)} ${median(rounds).toFixed(3)} ms per execution`);
  };
  const someAccount = () => [accountId(1 + ((k++ * 7919) % ACCOUNTS))];
  await time('SELECT 1 (the round trip)', 'p0', 'SELECT 1', () => []);
  await c.query('DROP INDEX payment_attempts_account');
  await time('history by account, without the index', 'h0', HISTORY, someAccount, 20);
  await time('retries of the last day, without the index', 'r0', RETRIES, () => [...someAccount(), dayAgo], 20);
  await c.query('CREATE INDEX payment_attempts_account ON payment_attempts (account_id, created_at)');
  await c.query('ANALYZE payment_attempts');
  await time('history by account, with the index', 'h1', HISTORY, someAccount);
  await time('retries of the last day, with the index', 'r1', RETRIES, () => [...someAccount(), dayAgo]);
} finally {
  await c.end();
  await dropDatabase(name);
}
