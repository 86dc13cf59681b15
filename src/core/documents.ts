// Invoice documents (issue 23): which invoices a step finalizes (they take a legal number), which
// issued invoices it cancels (they take a credit note), the numbers' shape and the tax split.
// Pure: the store allocates the numbers in the transaction that persists the step.
import type { InvoiceStatus } from './types.ts';

/**
 * An invoice is finalized (issued: it is a legal document with a number) once it is paid, or due
 * and unpaid (a renewal that became past due; it stays issued when later closed uncollectible).
 * An invoice voided while still open (a declined purchase or proration, a renewal whose first
 * charge was declined after a cancel) was never issued and takes no number.
 */
export const FINAL_STATUSES: readonly InvoiceStatus[] = ['paid', 'past_due', 'uncollectible'];

export const isFinal = (status: InvoiceStatus): boolean => FINAL_STATUSES.includes(status);

interface Changed {
  id: string;
  status: InvoiceStatus;
}

/**
 * What one step does to documents. `before` is the invoice being collected as loaded (null: none);
 * `updated` its state after the step (same id), `created` a new invoice the step made.
 * - finalized: invoices that became final in this step (each takes the next invoice number);
 * - credited: issued invoices this step voided (a cancel in grace, a plan change in grace that
 *   replaces the past-due invoice): each takes a credit note for its whole amount.
 */
export function documentChanges(before: Changed | null, updated: Changed | null, created: Changed | null): { finalized: string[]; credited: string[] } {
  const finalized: string[] = [];
  const credited: string[] = [];
  if (updated && before && before.id === updated.id) {
    if (!isFinal(before.status) && isFinal(updated.status)) finalized.push(updated.id);
    if (isFinal(before.status) && before.status !== 'paid' && updated.status === 'void') credited.push(updated.id);
  }
  if (created && isFinal(created.status)) finalized.push(created.id);
  return { finalized, credited };
}

/** A document number: prefix, year, then the sequence padded to 6 digits (more when it outgrows them). */
export function documentNumber(prefix: string, year: number, seq: number): string {
  return `${prefix}-${year}-${String(seq).padStart(6, '0')}`;
}

/**
 * The tax inside a price: prices are charged as they are (tax included), so the document splits
 * the total into net and tax at the rate (in basis points: 2000 = 20 %). The tax is rounded half
 * up to a minor unit and net + tax = total always.
 */
export function splitTax(total: number, rateBp: number): { net: number; tax: number } {
  if (rateBp <= 0 || total === 0) return { net: total, tax: 0 };
  const t = BigInt(total);
  const r = BigInt(rateBp);
  // tax = total × r / (10000 + r), rounded half up.
  const den = 10_000n + r;
  const tax = (2n * t * r + den) / (2n * den);
  return { net: Number(t - tax), tax: Number(tax) };
}
