// Invoices and their payment attempts as people read them (the purchase history, a help request's
// snapshot, the Retry check). The engine writes both through saveSteps (billing.ts).
import type { Queryable } from './db.ts';
import type { AttemptState, InvoiceState } from '../core/machine.ts';
import { toAttempt, toInvoice, type Row } from './billing.ts';

export async function invoiceById(q: Queryable, id: string): Promise<InvoiceState | null> {
  const [r] = await q.query<Row>('SELECT * FROM invoices WHERE id = $1', [id]);
  return r ? toInvoice(r) : null;
}

/** The account's invoices, newest first. */
export async function invoicesOfAccount(q: Queryable, accountId: string): Promise<InvoiceState[]> {
  return (await q.query<Row>('SELECT * FROM invoices WHERE account_id = $1 ORDER BY created_at DESC, id', [accountId])).map(toInvoice);
}

/** Every attempt on the account's invoices, in attempt-number order. */
export async function attemptsOfAccount(q: Queryable, accountId: string): Promise<AttemptState[]> {
  return (await q.query<Row>('SELECT * FROM payment_attempts WHERE account_id = $1 ORDER BY number', [accountId])).map(toAttempt);
}

export async function attemptsOfInvoice(q: Queryable, invoiceId: string): Promise<AttemptState[]> {
  return (await q.query<Row>('SELECT * FROM payment_attempts WHERE invoice_id = $1 ORDER BY number', [invoiceId])).map(toAttempt);
}

/** How many times the customer pressed Retry since `since` (the policy's daily limit). */
export async function customerRetriesSince(q: Queryable, accountId: string, since: Date): Promise<number> {
  const manual = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM payment_attempts WHERE account_id = $1 AND trigger = 'customer_retry' AND created_at > $2`,
    [accountId, since],
  );
  return manual[0].n;
}

/** The attempt made under this idempotency key (unique), or null. */
export async function attemptByIdempotencyKey(q: Queryable, key: string): Promise<AttemptState | null> {
  const [r] = await q.query<Row>('SELECT * FROM payment_attempts WHERE idempotency_key = $1', [key]);
  return r ? toAttempt(r) : null;
}

export async function attemptById(q: Queryable, id: string): Promise<AttemptState | null> {
  const [r] = await q.query<Row>('SELECT * FROM payment_attempts WHERE id = $1', [id]);
  return r ? toAttempt(r) : null;
}

/** The attempt whose charge has this gateway reference (PaymentIntent id), or null. */
export async function attemptByGatewayRef(q: Queryable, ref: string): Promise<AttemptState | null> {
  const [r] = await q.query<Row>('SELECT * FROM payment_attempts WHERE gateway_ref = $1 ORDER BY created_at DESC LIMIT 1', [ref]);
  return r ? toAttempt(r) : null;
}
