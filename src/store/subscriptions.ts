// Subscriptions: one per account. The engine claims due ones with FOR UPDATE SKIP LOCKED (any
// number of workers share the table); every write that matters to the machine bumps the version.
import type { Queryable } from './db.ts';
import type { Interval, SubscriptionStatus } from '../core/types.ts';
import { toSubscription, type Row, type SubscriptionRecord } from './billing.ts';

export async function subscriptionOfAccount(q: Queryable, accountId: string): Promise<SubscriptionRecord | null> {
  const [r] = await q.query<Row>('SELECT * FROM subscriptions WHERE account_id = $1', [accountId]);
  return r ? toSubscription(r) : null;
}

/** The subscription an invoice bills. */
export async function subscriptionOfInvoice(q: Queryable, invoiceId: string): Promise<SubscriptionRecord | null> {
  const [r] = await q.query<Row>('SELECT s.* FROM subscriptions s JOIN invoices i ON i.subscription_id = s.id WHERE i.id = $1', [invoiceId]);
  return r ? toSubscription(r) : null;
}

/** What a help request's snapshot shows of the subscription. */
export interface SubscriptionStanding {
  status: SubscriptionStatus;
  plan_id: string;
  grace_ends_at: Date | null;
  next_retry_at: Date | null;
}

export async function subscriptionStanding(q: Queryable, id: string): Promise<SubscriptionStanding | null> {
  const [r] = await q.query<SubscriptionStanding>('SELECT status, plan_id, grace_ends_at, next_retry_at FROM subscriptions WHERE id = $1', [id]);
  return r ?? null;
}

/** A new subscription, starting now with a one-day placeholder period (the first payment sets the real one). */
export async function insertSubscription(
  q: Queryable,
  s: { id: string; account_id: string; plan_id: string; interval: Interval; auto_renew: boolean; status: SubscriptionStatus; now: Date; period_end: Date },
): Promise<void> {
  await q.query(
    `INSERT INTO subscriptions (id, account_id, plan_id, interval, auto_renew, status, billing_anchor, period_index, current_period_start, current_period_end, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $7, $8, $7)`,
    [s.id, s.account_id, s.plan_id, s.interval, s.auto_renew, s.status, s.now, s.period_end],
  );
}

/** The customer's or operator's auto-renew switch (a new version: a claimed state is not reused). */
export async function setAutoRenew(q: Queryable, id: string, autoRenew: boolean): Promise<void> {
  await q.query('UPDATE subscriptions SET auto_renew = $2, version = version + 1 WHERE id = $1', [id, autoRenew]);
}

/** Claims up to `limit` due subscriptions, oldest due first; rows other workers hold are skipped. */
export async function claimDueSubscriptions(q: Queryable, now: Date, limit: number): Promise<SubscriptionRecord[]> {
  const rows = await q.query<Row>(
    `SELECT * FROM subscriptions WHERE next_action_at <= $1 ORDER BY next_action_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows.map(toSubscription);
}

/** Locks one subscription (waiting for a worker that holds it). */
export async function lockSubscription(q: Queryable, id: string): Promise<SubscriptionRecord | null> {
  const [r] = await q.query<Row>('SELECT * FROM subscriptions WHERE id = $1 FOR UPDATE', [id]);
  return r ? toSubscription(r) : null;
}

/** Locks the subscriptions of the given invoices, in id order so concurrent appliers never deadlock. */
export async function lockSubscriptionsOfInvoices(q: Queryable, invoiceIds: string[]): Promise<SubscriptionRecord[]> {
  const rows = await q.query<Row>(
    `SELECT s.* FROM subscriptions s WHERE s.id IN (SELECT subscription_id FROM invoices WHERE id = ANY($1)) ORDER BY s.id FOR UPDATE`,
    [invoiceIds],
  );
  return rows.map(toSubscription);
}

/** The earliest instant any subscription is due (the test clock's next stop), or null. */
export async function earliestNextAction(q: Queryable): Promise<Date | null> {
  const [row] = await q.query<{ at: Date | null }>('SELECT min(next_action_at) AS at FROM subscriptions WHERE next_action_at IS NOT NULL');
  return row?.at ? new Date(row.at) : null;
}
