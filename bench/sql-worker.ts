// The bare-SQL reference ("the database limit"): the rows a renewal writes, in the engine's two
// transactions per batch, with no engine logic, no state loading and no gateway call.
//   claim:  SELECT … FOR UPDATE SKIP LOCKED; UPDATE subscriptions (lease); INSERT invoices;
//           INSERT payment_attempts (pending); INSERT events ×2
//   apply:  UPDATE subscriptions (period rolled / past due); UPDATE invoices; UPDATE payment_attempts;
//           INSERT events ×2 (paid) or ×3 (declined); INSERT notifications ×1
// Same workers (processes), lanes and batch size as the engine run it is compared with.
import { openPostgres } from '../src/store/db.ts';
import { newId } from '../src/store/ids.ts';
import { onParent, toParent } from './lib/util.ts';

interface Params {
  url: string;
  lanes: number;
  batchSize: number;
  declineEvery: number;
  /** Sizes of a rendered e-mail (text, html), as the engine writes them. */
  textBytes: number;
  htmlBytes: number;
}

const p: Params = (await onParent('params')).params;
const db = openPostgres(p.url, { max: p.lanes + 1 });
const LEASE_MS = 2 * 60_000;
const text = 'x'.repeat(p.textBytes);
const html = '<p>' + 'y'.repeat(Math.max(0, p.htmlBytes - 7)) + '</p>';
let done = 0;
let stopped = false;

const isDecline = (subId: string) => p.declineEvery > 0 && Number(subId.slice(5)) % p.declineEvery === 0;

async function batch(): Promise<number> {
  const now = new Date();
  const claimed = await db.tx(async (q) => {
    const rows = await q.query<{ id: string; account_id: string; current_period_end: Date }>(
      `SELECT id, account_id, current_period_end FROM subscriptions WHERE next_action_at <= $1 ORDER BY next_action_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, p.batchSize],
    );
    if (rows.length === 0) return [];
    const subs = rows.map((r) => ({
      ...r,
      inv: newId('inv'),
      att: newId('att'),
      start: r.current_period_end,
      end: new Date(new Date(r.current_period_end).getTime() + 30 * 86_400_000),
    }));
    const ids = subs.map((s) => s.id);
    await q.query(`UPDATE subscriptions SET next_action_at = $2, next_action = 'retry', version = version + 1 WHERE id = ANY($1)`, [
      ids,
      new Date(now.getTime() + LEASE_MS),
    ]);
    await q.query(
      `INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, created_at)
       SELECT x.inv, x.acc, x.sub, 'pro', 2900, 'EUR', x.ps, x.pe, 'open', 'renewal', 'month', $5
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $6::timestamptz[]) AS x(inv, acc, sub, ps, pe)`,
      [subs.map((s) => s.inv), subs.map((s) => s.account_id), ids, subs.map((s) => s.start), now, subs.map((s) => s.end)],
    );
    await q.query(
      `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, amount, currency, created_at)
       SELECT x.att, x.inv, x.acc, 'pm_b' || substr(x.acc, 7), 1, 'scheduled', 'renewd_' || x.inv || '_1', 'pending', 2900, 'EUR', $4
         FROM unnest($1::text[], $2::text[], $3::text[]) AS x(att, inv, acc)`,
      [subs.map((s) => s.att), subs.map((s) => s.inv), subs.map((s) => s.account_id), now],
    );
    await insertEvents(q, subs.flatMap((s) => [
      [s.account_id, s.id, s.inv, 'invoice.created', { invoice_id: s.inv, amount: 2900, currency: 'EUR', period_start: s.start, period_end: s.end }],
      [s.account_id, s.id, s.inv, 'payment_attempt.started', { invoice_id: s.inv, attempt_id: s.att, number: 1, trigger: 'scheduled', payment_method_id: 'pm_b' + s.account_id.slice(6) }],
    ]), now);
    return subs;
  });
  if (claimed.length === 0) return 0;
  const now2 = new Date();
  await db.tx(async (q) => {
    const ok = claimed.filter((s) => !isDecline(s.id));
    const ko = claimed.filter((s) => isDecline(s.id));
    await q.query(
      `UPDATE subscriptions s SET status = CASE WHEN x.ok THEN 'active' ELSE 'past_due' END,
              period_index = s.period_index + CASE WHEN x.ok THEN 1 ELSE 0 END,
              current_period_start = CASE WHEN x.ok THEN x.ps ELSE s.current_period_start END,
              current_period_end = CASE WHEN x.ok THEN x.pe ELSE s.current_period_end END,
              grace_ends_at = CASE WHEN x.ok THEN NULL ELSE x.ps + interval '14 days' END,
              next_action_at = CASE WHEN x.ok THEN x.pe - interval '7 days' ELSE $4::timestamptz + interval '1 day' END,
              next_action = CASE WHEN x.ok THEN 'renew' ELSE 'retry' END,
              next_retry_at = CASE WHEN x.ok THEN NULL ELSE $4::timestamptz + interval '1 day' END,
              next_retry_why = CASE WHEN x.ok THEN NULL ELSE 'schedule' END,
              version = s.version + 1
         FROM unnest($1::text[], $2::boolean[], $3::timestamptz[], $5::timestamptz[]) AS x(id, ok, ps, pe)
        WHERE s.id = x.id`,
      [claimed.map((s) => s.id), claimed.map((s) => !isDecline(s.id)), claimed.map((s) => s.start), now2, claimed.map((s) => s.end)],
    );
    await q.query(
      `UPDATE invoices i SET status = CASE WHEN x.ok THEN 'paid' ELSE 'past_due' END,
              paid_at = CASE WHEN x.ok THEN $3::timestamptz END, failed_at = CASE WHEN x.ok THEN NULL ELSE $3::timestamptz END,
              reminders_sent = '{}'
         FROM unnest($1::text[], $2::boolean[]) AS x(id, ok) WHERE i.id = x.id`,
      [claimed.map((s) => s.inv), claimed.map((s) => !isDecline(s.id)), now2],
    );
    await q.query(
      `UPDATE payment_attempts a SET outcome = CASE WHEN x.ok THEN 'succeeded' ELSE 'declined' END,
              reason = CASE WHEN x.ok THEN NULL ELSE 'insufficient_funds' END, retry_class = CASE WHEN x.ok THEN NULL ELSE 'retry_later' END,
              raw_code = CASE WHEN x.ok THEN NULL ELSE 'insufficient_funds' END, network_code = CASE WHEN x.ok THEN NULL ELSE '51' END,
              gateway_ref = 'pi_' || x.id, completed_at = $3
         FROM unnest($1::text[], $2::boolean[]) AS x(id, ok) WHERE a.id = x.id AND a.outcome IN ('pending', 'unknown')`,
      [claimed.map((s) => s.att), claimed.map((s) => !isDecline(s.id)), now2],
    );
    await insertEvents(q, [
      ...ok.flatMap((s) => [
        [s.account_id, s.id, s.inv, 'invoice.paid', { invoice_id: s.inv, attempt_id: s.att, amount: 2900, currency: 'EUR', recovered: false }],
        [s.account_id, s.id, s.inv, 'subscription.renewed', { invoice_id: s.inv, plan_id: 'pro', period_start: s.start, period_end: s.end, recovered: false }],
      ]),
      ...ko.flatMap((s) => [
        [s.account_id, s.id, s.inv, 'payment_attempt.failed', { invoice_id: s.inv, attempt_id: s.att, number: 1, trigger: 'scheduled', outcome: 'declined', reason: 'insufficient_funds', retry_class: 'retry_later', raw_code: 'insufficient_funds', network_code: '51', advice_code: null }],
        [s.account_id, s.id, s.inv, 'subscription.past_due', { invoice_id: s.inv, reason: 'insufficient_funds', grace_ends_at: s.end }],
        [s.account_id, s.id, s.inv, 'dunning.retry_planned', { invoice_id: s.inv, next_retry_at: s.end, why: 'schedule' }],
      ]),
    ] as any, now2);
    await q.query(
      `INSERT INTO notifications (id, account_id, template, locale, to_address, subject, body_text, body_html, dedupe_key, status, next_attempt_at, created_at)
       SELECT x.id, x.acc, x.tpl, 'en-US', x.acc || '@bench.example.com', 'Your subscription', $4, $5, x.tpl || ':' || x.inv, 'pending', $6, $6
         FROM unnest($1::text[], $2::text[], $3::text[], $7::text[]) AS x(id, acc, inv, tpl)`,
      [
        claimed.map(() => newId('ntf')),
        claimed.map((s) => s.account_id),
        claimed.map((s) => s.inv),
        text,
        html,
        now2,
        claimed.map((s) => (isDecline(s.id) ? 'renewal_failed' : 'renewal_succeeded')),
      ],
    );
  });
  return claimed.length;
}

async function insertEvents(q: { query: (s: string, p: unknown[]) => Promise<unknown> }, ev: [string, string, string, string, object][], now: Date) {
  await q.query(
    `INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at)
     SELECT x.a, x.s, x.i, x.t, x.d, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) AS x(a, s, i, t, d)`,
    [ev.map((e) => e[0]), ev.map((e) => e[1]), ev.map((e) => e[2]), ev.map((e) => e[3]), ev.map((e) => JSON.stringify(e[4])), now],
  );
}

const tick = setInterval(() => toParent({ type: 'progress', n: done }), 250);
toParent({ type: 'ready' });
await onParent('go');
const t0 = performance.now();
await Promise.all(
  Array.from({ length: p.lanes }, async () => {
    while (!stopped) {
      const n = await batch();
      done += n;
      if (n === 0) return;
    }
  }),
);
const ms = performance.now() - t0;
clearInterval(tick);
toParent({ type: 'progress', n: done });
toParent({ type: 'done', n: done, ms });
await onParent('exit');
await db.close();
process.exit(0);
