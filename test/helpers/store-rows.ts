// Rows for store tests, inserted as the product writes them: an account, a card (primary unless
// given a role; a backup carries its consent), a subscription, an invoice, a payment attempt.
// Each takes only what a test varies; the rest is a plain monthly EUR "pro" customer in France.
import type { Queryable } from '../../src/store/db.ts';
import { insertAccount as storeInsertAccount } from '../../src/store/accounts.ts';

/** An account through the store's own statement (src/store/accounts.ts), with the rows' defaults. */
export async function insertAccount(q: Queryable, id: string, opts: { zone?: string; currency?: string; created_at: Date }) {
  await storeInsertAccount(q, { id, name: 'A', email: 'a@example.com', locale: 'fr-FR', domain_zone: opts.zone ?? 'fr', currency: opts.currency ?? 'EUR', time_zone: 'Europe/Paris', gateway_customer_ref: 'cus_x', created_at: opts.created_at });
}

/** A card; without `role` the column's default (primary). A backup needs `consent_at`. */
export async function insertCard(
  q: Queryable,
  id: string,
  account: string,
  opts: { created_at: Date; brand?: string; role?: 'primary' | 'backup'; consent_at?: Date },
) {
  if (opts.role)
    await q.query(
      `INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at, role, consent_at, consent_text)
       VALUES ($1, $2, 'card', 'pm_x', $3, '4242', 12, 2030, 'active', $4, $5, $6, $7)`,
      [id, account, opts.brand ?? 'visa', opts.created_at, opts.role, opts.consent_at ?? null, opts.consent_at ? 'I agree' : null],
    );
  else
    await q.query(
      `INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
       VALUES ($1, $2, 'card', 'pm_x', $3, '4242', 12, 2030, 'active', $4)`,
      [id, account, opts.brand ?? 'visa', opts.created_at],
    );
}

/** Raw SQL, unlike the store's `insertSubscription` (a new subscription only): a test sets grace, a schedule, a pause. */
export async function insertSubscription(
  q: Queryable,
  id: string,
  account: string,
  opts: {
    plan?: string;
    status?: string;
    start: Date;
    end: Date;
    grace_ends_at?: Date | null;
    next_action_at?: Date | null;
    next_action?: string | null;
    scheduled?: { plan: string; interval: 'month' | 'year' };
    grace_pause_ms?: number;
    grace_pause_hold_ms?: number;
  },
) {
  await q.query(
    `INSERT INTO subscriptions (id, account_id, plan_id, interval, status, billing_anchor, current_period_start, current_period_end, grace_ends_at, next_action_at, next_action,
                                scheduled_plan_id, scheduled_interval, grace_pause_ms, grace_pause_hold_ms, created_at)
     VALUES ($1, $2, $3, 'month', $4, $5, $5, $6, $7, $8, $9, $10, $11, $12, $13, $5)`,
    [
      id, account, opts.plan ?? 'pro', opts.status ?? 'active', opts.start, opts.end, opts.grace_ends_at ?? null, opts.next_action_at ?? null,
      opts.next_action ?? null, opts.scheduled?.plan ?? null, opts.scheduled?.interval ?? null, opts.grace_pause_ms ?? 0, opts.grace_pause_hold_ms ?? 0,
    ],
  );
}

export async function insertInvoice(
  q: Queryable,
  id: string,
  account: string,
  subscription: string,
  opts: { plan?: string; amount?: number; start: Date; end: Date; status: string; kind?: string; failed_at?: Date | null; paid_at?: Date | null; reminders_sent?: number[] },
) {
  await q.query(
    `INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, failed_at, created_at, paid_at, reminders_sent)
     VALUES ($1, $2, $3, $4, $5, 'EUR', $6, $7, $8, $9, 'month', $10, $6, $11, $12)`,
    [id, account, subscription, opts.plan ?? 'pro', opts.amount ?? 2900, opts.start, opts.end, opts.status, opts.kind ?? 'renewal', opts.failed_at ?? null, opts.paid_at ?? null, opts.reminders_sent ?? []],
  );
}

/** A completed attempt (its answer came at `at`). */
export async function insertAttempt(
  q: Queryable,
  id: string,
  opts: { invoice: string; account: string; card: string; number: number; outcome: string; reason?: string | null; retry_class?: string | null; at: Date },
) {
  await q.query(
    `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at, completed_at)
     VALUES ($1, $2, $3, $4, $5, 'scheduled', $1, $6, $7, $8, 2900, 'EUR', $9, $9)`,
    [id, opts.invoice, opts.account, opts.card, opts.number, opts.outcome, opts.reason ?? null, opts.retry_class ?? null, opts.at],
  );
}
