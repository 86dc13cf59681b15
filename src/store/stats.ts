// Read-only figures for the operator console: accounts in grace, money recovered and lost,
// recovery rate by decline reason and by attempt number, involuntary churn over time.
// All of it is SQL over invoices, payment_attempts and events (same SQL on PGlite and PostgreSQL).
import type { Queryable } from './db.ts';

type Row = Record<string, any>;
const n = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const d = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

export interface GraceAccount {
  account_id: string;
  name: string;
  domain_zone: string;
  plan_id: string;
  grace_ends_at: Date | null;
  next_action: string | null;
  next_action_at: Date | null;
  next_retry_at: Date | null;
  next_retry_why: string | null;
  invoice_id: string | null;
  amount: number;
  currency: string | null;
  failed_at: Date | null;
  attempts: number;
  last_reason: string | null;
}

/** Subscriptions in grace (past due), soonest grace end first. */
export async function accountsInGrace(q: Queryable, limit = 200): Promise<GraceAccount[]> {
  const rows = await q.query<Row>(
    `SELECT a.id AS account_id, a.name, a.domain_zone, s.plan_id, s.grace_ends_at, s.next_action, s.next_action_at,
            s.next_retry_at, s.next_retry_why, i.id AS invoice_id, i.amount, i.currency, i.failed_at,
            (SELECT count(*) FROM payment_attempts pa WHERE pa.invoice_id = i.id)::int AS attempts,
            (SELECT pa.reason FROM payment_attempts pa WHERE pa.invoice_id = i.id AND pa.outcome IN ('declined', 'requires_action')
              ORDER BY pa.number DESC LIMIT 1) AS last_reason
       FROM subscriptions s
       JOIN accounts a ON a.id = s.account_id
       LEFT JOIN invoices i ON i.subscription_id = s.id AND i.status = 'past_due'
      WHERE s.status = 'past_due'
      ORDER BY s.grace_ends_at NULLS LAST, a.name, a.id
      LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    account_id: r.account_id,
    name: r.name,
    domain_zone: r.domain_zone,
    plan_id: r.plan_id,
    grace_ends_at: d(r.grace_ends_at),
    next_action: r.next_action,
    next_action_at: d(r.next_action_at),
    next_retry_at: d(r.next_retry_at),
    next_retry_why: r.next_retry_why,
    invoice_id: r.invoice_id,
    amount: n(r.amount),
    currency: r.currency,
    failed_at: d(r.failed_at),
    attempts: n(r.attempts),
    last_reason: r.last_reason,
  }));
}

export interface RecoveryByCurrency {
  currency: string;
  /** Renewals that failed and were paid later. */
  recovered: number;
  recovered_count: number;
  /** Renewals closed unpaid (grace ended; account downgraded). */
  lost: number;
  lost_count: number;
  /** Still being collected (in grace). */
  at_risk: number;
  at_risk_count: number;
}

/** Money recovered, lost and still at risk, per currency, over renewals that failed at least once. */
export async function recoveryTotals(q: Queryable, since: Date | null = null): Promise<RecoveryByCurrency[]> {
  const rows = await q.query<Row>(
    `SELECT currency,
            COALESCE(sum(amount) FILTER (WHERE status = 'paid'), 0)::bigint AS recovered,
            count(*) FILTER (WHERE status = 'paid')::int AS recovered_count,
            COALESCE(sum(amount) FILTER (WHERE status = 'uncollectible'), 0)::bigint AS lost,
            count(*) FILTER (WHERE status = 'uncollectible')::int AS lost_count,
            COALESCE(sum(amount) FILTER (WHERE status = 'past_due'), 0)::bigint AS at_risk,
            count(*) FILTER (WHERE status = 'past_due')::int AS at_risk_count
       FROM invoices
      WHERE kind = 'renewal' AND failed_at IS NOT NULL AND ($1::timestamptz IS NULL OR failed_at >= $1)
      GROUP BY currency
      ORDER BY currency`,
    [since],
  );
  return rows.map((r) => ({
    currency: r.currency,
    recovered: n(r.recovered),
    recovered_count: n(r.recovered_count),
    lost: n(r.lost),
    lost_count: n(r.lost_count),
    at_risk: n(r.at_risk),
    at_risk_count: n(r.at_risk_count),
  }));
}

export interface RecoveryByReason {
  /** The decline that put the renewal into grace; null when no payment method was on file. */
  reason: string | null;
  recovered: number;
  lost: number;
  open: number;
}

/** Failed renewals grouped by the decline reason of their first failure, with how they ended. */
export async function recoveryByReason(q: Queryable, since: Date | null = null): Promise<RecoveryByReason[]> {
  const rows = await q.query<Row>(
    `WITH first_failure AS (
       SELECT DISTINCT ON (pa.invoice_id) pa.invoice_id, pa.reason
         FROM payment_attempts pa
        WHERE pa.outcome IN ('declined', 'requires_action')
        ORDER BY pa.invoice_id, pa.number
     )
     SELECT f.reason,
            count(*) FILTER (WHERE i.status = 'paid')::int AS recovered,
            count(*) FILTER (WHERE i.status = 'uncollectible')::int AS lost,
            count(*) FILTER (WHERE i.status = 'past_due')::int AS open
       FROM invoices i
       LEFT JOIN first_failure f ON f.invoice_id = i.id
      WHERE i.kind = 'renewal' AND i.failed_at IS NOT NULL AND ($1::timestamptz IS NULL OR i.failed_at >= $1)
      GROUP BY f.reason
      ORDER BY count(*) DESC, f.reason NULLS LAST`,
    [since],
  );
  return rows.map((r) => ({ reason: r.reason ?? null, recovered: n(r.recovered), lost: n(r.lost), open: n(r.open) }));
}

export interface AttemptNumberStats {
  /** 1 is the renewal charge itself; 2 and up are retries (automatic or by the customer). */
  number: number;
  attempts: number;
  succeeded: number;
}

/** How often the n-th attempt on a renewal invoice succeeds. */
export async function successByAttemptNumber(q: Queryable, since: Date | null = null, maxNumber = 12): Promise<AttemptNumberStats[]> {
  const rows = await q.query<Row>(
    `SELECT LEAST(pa.number, $2::int) AS number,
            count(*)::int AS attempts,
            count(*) FILTER (WHERE pa.outcome = 'succeeded')::int AS succeeded
       FROM payment_attempts pa
       JOIN invoices i ON i.id = pa.invoice_id
      WHERE i.kind = 'renewal' AND pa.outcome IN ('succeeded', 'declined', 'requires_action')
        AND ($1::timestamptz IS NULL OR pa.created_at >= $1)
      GROUP BY 1
      ORDER BY 1`,
    [since, maxNumber],
  );
  return rows.map((r) => ({ number: n(r.number), attempts: n(r.attempts), succeeded: n(r.succeeded) }));
}

export interface ChurnWeek {
  /** Monday 00:00 UTC of the week. */
  week: Date;
  /** Renewals that failed (grace started). */
  failed: number;
  /** Renewals paid after failing. */
  recovered: number;
  /** Accounts downgraded because grace ended unpaid: involuntary churn. */
  churned: number;
  /** Accounts that ended a paid plan by turning auto-renew off: voluntary, for comparison. */
  canceled: number;
}

/** Week by week, from `from` to `to`: failures, recoveries and involuntary churn (weeks with nothing included). */
export async function churnByWeek(q: Queryable, from: Date, to: Date): Promise<ChurnWeek[]> {
  const rows = await q.query<Row>(
    `SELECT to_char(date_trunc('week', occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS week,
            count(*) FILTER (WHERE type = 'subscription.past_due')::int AS failed,
            count(*) FILTER (WHERE type = 'subscription.renewed' AND (data->>'recovered') = 'true')::int AS recovered,
            count(*) FILTER (WHERE type = 'subscription.downgraded' AND data->>'invoice_id' IS NOT NULL)::int AS churned,
            count(*) FILTER (WHERE type = 'subscription.canceled')::int AS canceled
       FROM events
      WHERE occurred_at >= $1 AND occurred_at <= $2
        AND type IN ('subscription.past_due', 'subscription.renewed', 'subscription.downgraded', 'subscription.canceled')
      GROUP BY 1
      ORDER BY 1`,
    [from, to],
  );
  const byWeek = new Map<number, Row>();
  for (const r of rows) {
    byWeek.set(new Date(`${r.week}T00:00:00Z`).getTime(), r);
  }
  const out: ChurnWeek[] = [];
  for (let t = mondayUtc(from).getTime(); t <= to.getTime(); t += 7 * 86_400_000) {
    const r = byWeek.get(t);
    out.push({ week: new Date(t), failed: n(r?.failed), recovered: n(r?.recovered), churned: n(r?.churned), canceled: n(r?.canceled) });
  }
  return out;
}

function mondayUtc(t: Date): Date {
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  const dow = (day.getUTCDay() + 6) % 7; // Monday = 0
  return new Date(day.getTime() - dow * 86_400_000);
}

export interface StatusCount {
  status: string;
  count: number;
}

/** Subscriptions per status (active, past_due, downgraded, canceled, incomplete). */
export async function subscriptionsByStatus(q: Queryable): Promise<StatusCount[]> {
  const rows = await q.query<Row>(`SELECT status, count(*)::int AS count FROM subscriptions GROUP BY status ORDER BY status`);
  return rows.map((r) => ({ status: r.status, count: n(r.count) }));
}

/** Account names by id, in one query (lists that show the account of each row, e.g. help requests). */
export async function accountNames(q: Queryable, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (!unique.length) return new Map();
  const rows = await q.query<Row>(`SELECT id, name FROM accounts WHERE id = ANY($1::text[])`, [unique]);
  return new Map(rows.map((r) => [r.id, r.name]));
}
