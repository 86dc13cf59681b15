// n monthly "pro" subscriptions (EUR 29.00), all due at `due`, each with its account, card and the
// matching sandbox customer and card: acct_<tag><i>, pm_<tag><i>, sub_<tag><i>, cus_<tag><i>, i = 1..n.
// `declines(i)`: the cards that decline (insufficient funds); the rest always succeed.
import type { Queryable } from '../../src/store/db.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';

export async function seedDueSubscriptions(
  q: Queryable,
  sandbox: Sandbox,
  opts: { tag: string; n: number; start: Date; due: Date; declines: (i: number) => boolean },
) {
  const { tag, n, start, due } = opts;
  await q.query(`INSERT INTO plans (id, name, free) VALUES ('free', 'Free', true), ('pro', 'Pro', false)`);
  await q.query(`INSERT INTO plan_prices VALUES ('pro', 'EUR', 'month', 2900)`);
  await q.query(
    `INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, gateway_customer_ref, created_at)
     SELECT 'acct_' || $3 || i, 'Account ' || i, 'a' || i || '@example.com', 'en', 'com', 'EUR', 'UTC', 'cus_' || $3 || i, $1 FROM generate_series(1, $2) i`,
    [start, n, tag],
  );
  await q.query(
    `INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
     SELECT 'pm_' || $3 || i, 'acct_' || $3 || i, 'card', 'pm_' || $3 || i, 'visa', '4242', 12, 2030, 'active', $1 FROM generate_series(1, $2) i`,
    [start, n, tag],
  );
  await q.query(
    `INSERT INTO subscriptions (id, account_id, plan_id, interval, status, billing_anchor, current_period_start, current_period_end, next_action_at, next_action, created_at)
     SELECT 'sub_' || $4 || i, 'acct_' || $4 || i, 'pro', 'month', 'active', $1, $1, $2, $2, 'renew', $1 FROM generate_series(1, $3) i`,
    [start, due, n, tag],
  );
  const ids = Array.from({ length: n }, (_, k) => k + 1);
  sandbox.load({
    customers: ids.map((i) => ({ id: `cus_${tag}${i}` })),
    cards: ids.map((i) => ({
      id: `pm_${tag}${i}`,
      customer: `cus_${tag}${i}`,
      number: opts.declines(i) ? '4000000000009995' : '4242424242424242',
      exp_month: 12,
      exp_year: 2030,
    })),
  });
}
