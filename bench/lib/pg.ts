// Benchmark databases on the PostgreSQL server: a seeded template per scenario, copied for each run
// (CREATE DATABASE … TEMPLATE is a file copy: seconds, not minutes), dropped at the end.
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { openPostgres } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { log, progress, bar } from './util.ts';

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PREFIX = `renewd_bench_${randomBytes(4).toString('hex')}`;

const created = new Set<string>();

export function urlOf(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** One statement on a run's database, on a connection of its own (reports read after a run). */
export async function queryDb<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

export async function createDatabase(name: string, template?: string): Promise<string> {
  await admin((c) => c.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`));
  created.add(name);
  return urlOf(name);
}

/** BENCH_KEEP_DB=1 keeps every database a run made (to read what happened in it afterwards; drop them yourself). */
const KEEP = process.env.BENCH_KEEP_DB === '1';

export async function dropDatabase(name: string): Promise<void> {
  if (KEEP) return void log(`kept database ${name} (BENCH_KEEP_DB=1): ${urlOf(name)}`);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  created.delete(name);
}

/** Drops every database this process created (also on Ctrl-C). */
export async function dropAll(): Promise<void> {
  for (const name of [...created]) await dropDatabase(name).catch(() => {});
}

/** The same "now" for seeding and for the workers of a run. */
export interface SeedSpec {
  /** Subscriptions due now (renewed by the run). */
  due: number;
  /** Subscriptions not due (next action days ahead), added to the same tables. */
  notDue?: number;
  /** Every declineEvery-th due subscription's card is declined (insufficient funds). 0: none. */
  declineEvery?: number;
  now: Date;
}

/** Reference of the i-th bench account's card at the gateway; decline cards carry the reason. */
export const pmRef = (i: number, decline: boolean) => (decline ? `pm_bench_insufficient_funds_${i}` : `pm_bench_ok_${i}`);
export const cusRef = (i: number) => `cus_bench_${i}`;
export const accountId = (i: number) => `acct_b${String(i).padStart(8, '0')}`;

/**
 * A fresh migrated database with plans, accounts (with gateway customer refs), one active card
 * each and a subscription each, bulk-inserted with SQL. Accounts 1..due are due at `now`;
 * due+1..due+notDue are active with their next action 1–30 days ahead.
 */
export async function seedDatabase(name: string, spec: SeedSpec, label = 'seed'): Promise<string> {
  const url = await createDatabase(name);
  const db = openPostgres(url, { max: 2 });
  try {
    await migrate(db);
    await db.query(`INSERT INTO plans (id, name, free) VALUES ('free', 'Free', true), ('pro', 'Pro', false)`);
    await db.query(
      `INSERT INTO plan_prices (plan_id, currency, interval, amount) VALUES ('pro', 'EUR', 'month', 2900), ('pro', 'EUR', 'year', 29000), ('pro', 'USD', 'month', 3200)`,
    );
    const total = spec.due + (spec.notDue ?? 0);
    const every = spec.declineEvery ?? 0;
    const chunk = 100_000;
    for (let from = 1; from <= total; from += chunk) {
      const to = Math.min(total, from + chunk - 1);
      progress(`${label}: ${bar(from - 1, total)} ${from - 1}/${total} rows`, true);
      // $1 now, $2 from, $3 to, $4 last due index, $5 decline every
      const p = [spec.now.toISOString(), from, to, spec.due, every];
      await db.query(
        `INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, gateway_customer_ref, created_at)
         SELECT 'acct_b' || lpad(i::text, 8, '0'), 'Bench customer ' || i, 'b' || i || '@bench.example.com',
                (ARRAY['en-US','fr-FR','de-DE','es-ES','it-IT','pt-PT','pl-PL'])[1 + i % 7],
                (ARRAY['com','fr','de','es','it','pt','pl'])[1 + i % 7], 'EUR', 'Europe/Paris',
                'cus_bench_' || i, $1::timestamptz - interval '400 days'
           FROM generate_series($2::int, $3::int) AS i
          WHERE $4::int >= 0 AND $5::int >= 0`,
        p,
      );
      await db.query(
        `INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
         SELECT 'pm_b' || lpad(i::text, 8, '0'), 'acct_b' || lpad(i::text, 8, '0'), 'card',
                CASE WHEN $5::int > 0 AND i <= $4::int AND i % $5::int = 0 THEN 'pm_bench_insufficient_funds_' || i ELSE 'pm_bench_ok_' || i END,
                'visa', CASE WHEN $5::int > 0 AND i <= $4::int AND i % $5::int = 0 THEN '9995' ELSE '4242' END, 12, 2099, 'active',
                $1::timestamptz - interval '400 days'
           FROM generate_series($2::int, $3::int) AS i`,
        p,
      );
      // Due: the period ended an hour ago (anchored on a day that exists in every month).
      // Not due: mid-period, next action (the renewal notice) 1–30 days ahead.
      await db.query(
        `INSERT INTO subscriptions (id, account_id, plan_id, interval, auto_renew, status, billing_anchor, period_index,
                current_period_start, current_period_end, next_action_at, next_action, version, created_at)
         SELECT 'sub_b' || lpad(i::text, 8, '0'), 'acct_b' || lpad(i::text, 8, '0'), 'pro', 'month', true, 'active',
                x.anchor, 0, x.anchor, x.anchor + interval '1 month',
                CASE WHEN i <= $4::int THEN x.anchor + interval '1 month'
                     ELSE $1::timestamptz + (1 + i % 30) * interval '1 day' END,
                'renew', 0, x.anchor
           FROM generate_series($2::int, $3::int) AS i,
                LATERAL (SELECT CASE WHEN i <= $4::int
                                     THEN date_trunc('hour', $1::timestamptz) - interval '1 hour' - interval '1 month'
                                     ELSE $1::timestamptz - interval '10 days' END AS anchor) x
          WHERE $5::int >= 0`,
        p,
      );
    }
    progress(`${label}: ${bar(total, total)} ${total}/${total} rows, analyzing…`, true);
    await db.query('VACUUM ANALYZE');
    log(`${label}: ${total.toLocaleString('en-US')} accounts/cards/subscriptions (${spec.due.toLocaleString('en-US')} due) in ${name}`);
  } finally {
    await db.close();
  }
  return url;
}

/** What a run left behind: it must have renewed every due subscription exactly once. */
export interface Verification {
  ok: boolean;
  due: number;
  invoices: number;
  attempts: number;
  succeeded: number;
  declined: number;
  other: number;
  subsWithoutInvoice: number;
  subsWithSeveralInvoices: number;
  invoicesWithSeveralAttempts: number;
  stillDue: number;
  notifications: number;
  events: number;
  problems: string[];
}

export async function verifyRun(url: string, due: number, declineEvery: number, now: Date): Promise<Verification> {
  const [c] = await queryDb<Record<string, number>>(
    url,
    `SELECT (SELECT count(*) FROM invoices)::int AS invoices,
            (SELECT count(*) FROM payment_attempts)::int AS attempts,
            (SELECT count(*) FROM payment_attempts WHERE outcome = 'succeeded')::int AS succeeded,
            (SELECT count(*) FROM payment_attempts WHERE outcome = 'declined')::int AS declined,
            (SELECT count(*) FROM payment_attempts WHERE outcome NOT IN ('succeeded', 'declined'))::int AS other,
            (SELECT count(*) FROM subscriptions s WHERE s.id <= 'sub_b' || lpad($1::text, 8, '0')
                AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id))::int AS without,
            (SELECT count(*) FROM (SELECT subscription_id FROM invoices GROUP BY 1 HAVING count(*) > 1) x)::int AS several,
            (SELECT count(*) FROM (SELECT invoice_id FROM payment_attempts GROUP BY 1 HAVING count(*) > 1) x)::int AS several_att,
            (SELECT count(*) FROM subscriptions WHERE next_action_at <= $2)::int AS still_due,
            (SELECT count(*) FROM notifications)::int AS notifications,
            (SELECT count(*) FROM events)::int AS events`,
    [due, now],
  );
  const expectDeclined = declineEvery > 0 ? Math.floor(due / declineEvery) : 0;
  const problems: string[] = [];
  if (c.invoices !== due) problems.push(`${c.invoices} invoices for ${due} due subscriptions`);
  if (c.attempts !== due) problems.push(`${c.attempts} payment attempts for ${due} due subscriptions`);
  if (c.several) problems.push(`DOUBLE RENEWAL: ${c.several} subscriptions have more than one invoice`);
  if (c.several_att) problems.push(`DOUBLE CHARGE RISK: ${c.several_att} invoices have more than one attempt`);
  if (c.without) problems.push(`${c.without} due subscriptions were not renewed`);
  if (c.other) problems.push(`${c.other} attempts neither succeeded nor declined`);
  if (c.declined !== expectDeclined) problems.push(`${c.declined} declines, expected ${expectDeclined}`);
  if (c.succeeded !== due - expectDeclined) problems.push(`${c.succeeded} successes, expected ${due - expectDeclined}`);
  if (c.still_due) problems.push(`${c.still_due} subscriptions still due`);
  return {
    ok: problems.length === 0,
    due,
    invoices: c.invoices,
    attempts: c.attempts,
    succeeded: c.succeeded,
    declined: c.declined,
    other: c.other,
    subsWithoutInvoice: c.without,
    subsWithSeveralInvoices: c.several,
    invoicesWithSeveralAttempts: c.several_att,
    stillDue: c.still_due,
    notifications: c.notifications,
    events: c.events,
    problems,
  };
}
