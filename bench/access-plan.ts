// Why the access check's hot statements force generic plans: the access read for 1 id and for 5 ids
// (`= ANY($1)`) as a named prepared statement, with PostgreSQL's default plan choice (it keeps
// re-planning the id-list statement: a custom plan per call) and with plan_cache_mode =
// force_generic_plan (what src/store/db.ts sets on the hot statements' pool). 100,000 accounts.
//   node bench/access-plan.ts
import pg from 'pg';
import { accountId, dropDatabase, PREFIX, seedDatabase } from './lib/pg.ts';
import { median } from './lib/util.ts';
import { ACCESS_SQL } from '../src/store/access.ts';

// The statement the access check runs, and the same with one id instead of a list.
const MANY = ACCESS_SQL;
const ONE = ACCESS_SQL.replace('= ANY($1::text[])', '= $1');
if (ONE === MANY) throw new Error('access-plan: the access statement no longer reads `= ANY($1::text[])`');

const name = `${PREFIX}_plan`;
const url = await seedDatabase(name, { due: 0, notDue: 100_000, now: new Date() }, 'plan seed');
const c = new pg.Client({ connectionString: url });
await c.connect();
try {
  const ids = [1, 2, 3, 4, 5].map((i) => accountId(i * 997));
  // Median of 5 rounds of 2,000 executions each, after 20 to warm up (and pass the 5 custom plans
  // PostgreSQL makes before it considers a generic one).
  const time = async (label: string, statement: string, text: string, values: () => unknown[]) => {
    for (let i = 0; i < 20; i++) await c.query({ name: statement, text, values: values() });
    const rounds: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let i = 0; i < 2000; i++) await c.query({ name: statement, text, values: values() });
      rounds.push((performance.now() - t0) / 2000);
    }
    console.log(`${label.padEnd(44)} ${median(rounds).toFixed(3)} ms per execution`);
  };
  let k = 0;
  await time('SELECT 1 (the round trip)', 'p0', 'SELECT 1', () => []);
  await time('1 id, default plan choice', 'p1', ONE, () => [ids[k++ % 5]]);
  await time('5 ids, default plan choice (re-planned)', 'p5', MANY, () => [ids]);
  await c.query('SET plan_cache_mode = force_generic_plan');
  await time('5 ids, force_generic_plan', 'g5', MANY, () => [ids]);
  const fifty = Array.from({ length: 50 }, (_, i) => accountId(1 + i * 1997));
  await time('50 ids, force_generic_plan', 'g50', MANY, () => [fifty]);
} finally {
  await c.end();
  await dropDatabase(name);
}
