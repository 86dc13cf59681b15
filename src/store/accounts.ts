// Accounts and their payment methods: one active method per account (a partial unique index), a
// replaced one kept for the attempts that name it.
import type { Queryable } from './db.ts';
import type { Account, NextAction, PaymentMethod, SubscriptionStatus } from '../core/types.ts';
import { toAccount, toPaymentMethod, type Row } from './billing.ts';

export async function accountById(q: Queryable, id: string): Promise<Account | null> {
  const [r] = await q.query<Row>('SELECT * FROM accounts WHERE id = $1', [id]);
  return r ? toAccount(r) : null;
}

/**
 * Takes the account's lock: the first lock of every transaction that changes an account's billing
 * (docs/ARCHITECTURE.md, "Concurrency: one lock order"): account, then subscription, then the rows
 * under it. FOR NO KEY UPDATE, so rows that only reference the account (a new invoice, attempt or
 * payment method takes FOR KEY SHARE on it through its foreign key) are never held up by it, and a
 * transaction holding a subscription never waits for the account. False when there is no account.
 */
export async function lockAccount(q: Queryable, id: string): Promise<boolean> {
  const rows = await q.query('SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE', [id]);
  return rows.length > 0;
}

/** Takes the lock of a subscription's account (lockAccount), found from the subscription; false when there is none. */
export async function lockAccountOfSubscription(q: Queryable, subscriptionId: string): Promise<boolean> {
  const rows = await q.query(
    'SELECT a.id FROM accounts a WHERE a.id = (SELECT account_id FROM subscriptions WHERE id = $1) FOR NO KEY UPDATE',
    [subscriptionId],
  );
  return rows.length > 0;
}

export async function accountExists(q: Queryable, id: string): Promise<boolean> {
  const [a] = await q.query('SELECT 1 FROM accounts WHERE id = $1', [id]);
  return !!a;
}

/** Records the account's gateway customer when it has none yet; answers the one it has after. */
export async function setGatewayCustomerRef(q: Queryable, accountId: string, ref: string): Promise<string | null> {
  await q.query('UPDATE accounts SET gateway_customer_ref = $2 WHERE id = $1 AND gateway_customer_ref IS NULL', [accountId, ref]);
  const [r] = await q.query<{ gateway_customer_ref: string | null }>('SELECT gateway_customer_ref FROM accounts WHERE id = $1', [accountId]);
  return r?.gateway_customer_ref ?? null;
}

export async function insertAccount(q: Queryable, a: Account): Promise<void> {
  await q.query(
    `INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, gateway_customer_ref, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [a.id, a.name, a.email, a.locale, a.domain_zone, a.currency, a.time_zone, a.gateway_customer_ref, a.created_at],
  );
}

/** An account with its subscription's standing, as the operator's list shows it. */
export interface AccountListing extends Account {
  subscription_status: SubscriptionStatus | null;
  plan_id: string | null;
  grace_ends_at: Date | null;
  next_action_at: Date | null;
  next_action: NextAction | null;
}

/**
 * Newest accounts first, optionally only those whose subscription has `status`; `starting_after`:
 * the id of the last account of the previous page (keyset on (created_at, id): stable when many
 * accounts share an instant).
 */
export async function listAccounts(q: Queryable, opts: { status: string | null; limit: number; starting_after?: string | null }): Promise<AccountListing[]> {
  const rows = await q.query<Row>(
    `SELECT a.*, s.status AS subscription_status, s.plan_id, s.grace_ends_at, s.next_action_at, s.next_action
         FROM accounts a LEFT JOIN subscriptions s ON s.account_id = a.id
        WHERE ($1::text IS NULL OR s.status = $1)
          AND ($3::text IS NULL OR (a.created_at, a.id) < (SELECT created_at, id FROM accounts WHERE id = $3))
        ORDER BY a.created_at DESC, a.id DESC LIMIT $2`,
    [opts.status, opts.limit, opts.starting_after ?? null],
  );
  return rows.map((r) => ({
    ...toAccount(r),
    subscription_status: r.subscription_status,
    plan_id: r.plan_id,
    grace_ends_at: r.grace_ends_at,
    next_action_at: r.next_action_at,
    next_action: r.next_action,
  }));
}

export async function activePaymentMethodOf(q: Queryable, accountId: string): Promise<PaymentMethod | null> {
  const [r] = await q.query<Row>(`SELECT * FROM payment_methods WHERE account_id = $1 AND status = 'active' AND role = 'primary'`, [accountId]);
  return r ? toPaymentMethod(r) : null;
}

/** Marks the account's active payment method replaced (before inserting its successor). */
export async function retireActivePaymentMethod(q: Queryable, accountId: string): Promise<void> {
  await q.query(`UPDATE payment_methods SET status = 'replaced' WHERE account_id = $1 AND status = 'active' AND role = 'primary'`, [accountId]);
}

/** Inserts the account's new active payment method (only gateway references and display details: never the card). */
export async function insertPaymentMethod(q: Queryable, pm: Omit<PaymentMethod, 'status'>): Promise<void> {
  await q.query(
    `INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9)`,
    [pm.id, pm.account_id, pm.type, pm.gateway_ref, pm.brand, pm.last4, pm.exp_month, pm.exp_year, pm.created_at],
  );
}

/** The account's backup card (migration 029) with the consent it was saved with; null: none. */
export async function activeBackupCardOf(q: Queryable, accountId: string): Promise<{ payment_method: PaymentMethod; consent_at: Date; consent_text: string } | null> {
  const [r] = await q.query<Row>(`SELECT * FROM payment_methods WHERE account_id = $1 AND status = 'active' AND role = 'backup'`, [accountId]);
  return r ? { payment_method: toPaymentMethod(r), consent_at: new Date(r.consent_at), consent_text: r.consent_text } : null;
}

/** Ends the account's backup card: 'replaced' by a new backup, or 'revoked' (removed by the customer). */
export async function retireBackupCard(q: Queryable, accountId: string, status: 'replaced' | 'revoked'): Promise<number> {
  const rows = await q.query(`UPDATE payment_methods SET status = $2 WHERE account_id = $1 AND status = 'active' AND role = 'backup' RETURNING id`, [accountId, status]);
  return rows.length;
}

/** Inserts the account's new backup card with the customer's consent (never the card itself). */
export async function insertBackupCard(q: Queryable, pm: Omit<PaymentMethod, 'status'>, consent: { at: Date; text: string }): Promise<void> {
  await q.query(
    `INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at, role, consent_at, consent_text)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, 'backup', $10, $11)`,
    [pm.id, pm.account_id, pm.type, pm.gateway_ref, pm.brand, pm.last4, pm.exp_month, pm.exp_year, pm.created_at, consent.at, consent.text],
  );
}

/** What the gateway needs to charge a payment method: its customer and method references. */
export interface GatewayRefs {
  customer_ref: string;
  payment_method_ref: string;
}

/** The gateway references of a payment method and its account; null when either is missing. */
export async function gatewayRefsOf(q: Queryable, paymentMethodId: string | null): Promise<GatewayRefs | null> {
  const [r] = await q.query<{ gateway_customer_ref: string | null; gateway_ref: string | null }>(
    `SELECT a.gateway_customer_ref, pm.gateway_ref FROM payment_methods pm JOIN accounts a ON a.id = pm.account_id WHERE pm.id = $1`,
    [paymentMethodId],
  );
  if (!r?.gateway_customer_ref || !r.gateway_ref) return null;
  return { customer_ref: r.gateway_customer_ref, payment_method_ref: r.gateway_ref };
}

/** The payment method the gateway knows by this reference (the newest, if it was saved twice). */
export async function paymentMethodByGatewayRef(q: Queryable, gatewayRef: string): Promise<PaymentMethod | null> {
  const [r] = await q.query<Row>(`SELECT * FROM payment_methods WHERE gateway_ref = $1 ORDER BY (status = 'active') DESC, created_at DESC LIMIT 1`, [gatewayRef]);
  return r ? toPaymentMethod(r) : null;
}

/** New display details of a saved card (the networks' account updater: new expiry or number); same gateway reference. */
export async function updatePaymentMethodDetails(
  q: Queryable,
  id: string,
  d: { brand: string | null; last4: string | null; exp_month: number | null; exp_year: number | null },
): Promise<void> {
  await q.query(`UPDATE payment_methods SET brand = $2, last4 = $3, exp_month = $4, exp_year = $5 WHERE id = $1`, [id, d.brand, d.last4, d.exp_month, d.exp_year]);
}

/** The account's details for its documents (issue 23): null where the customer gave none. */
export interface BillingDetails {
  name: string | null;
  address: string | null;
  vat_id: string | null;
}

export async function billingDetailsOf(q: Queryable, accountId: string): Promise<BillingDetails | null> {
  const [r] = await q.query<Row>('SELECT billing_name, billing_address, vat_id FROM accounts WHERE id = $1', [accountId]);
  return r ? { name: r.billing_name ?? null, address: r.billing_address ?? null, vat_id: r.vat_id ?? null } : null;
}

/** Replaces them (the caller holds the account's lock); documents already issued keep what they recorded. */
export async function setBillingDetails(q: Queryable, accountId: string, d: BillingDetails): Promise<void> {
  await q.query('UPDATE accounts SET billing_name = $2, billing_address = $3, vat_id = $4 WHERE id = $1', [accountId, d.name, d.address, d.vat_id]);
}

