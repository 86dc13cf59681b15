// Invoice documents (issue 23): legal numbers handed out at finalization, credit notes, and what a
// document shows, read back from stored data only (so a document renders the same bytes every time).
import type { Queryable } from './db.ts';
import type { Row } from './billing.ts';
import { documentNumber } from '../core/documents.ts';
import type { InvoiceKind, InvoiceStatus } from '../core/types.ts';

/** The operator's settings a finalized document records (snapshotted: a later change alters no issued document). */
export interface SellerSnapshot {
  name: string;
  address: string | null;
  vat_id: string | null;
}

export interface IssueSettings {
  invoicePrefix: string;
  creditNotePrefix: string;
  seller: SellerSnapshot;
  /** Tax rate in basis points (2000 = 20 %); prices include it. */
  taxRateBp: number;
}

/**
 * Hands out `n` consecutive numbers of a series (prefix, year) and returns the first. One statement
 * takes the counter row's lock and moves it, and the lock is held until the caller's transaction
 * ends: concurrent batches take turns, and a batch that rolls back gives its block back, so the
 * numbers that reach the database run without a gap and are never handed out twice.
 */
async function allocate(q: Queryable, prefix: string, year: number, n: number): Promise<number> {
  const [r] = await q.query<{ first: string | number }>(
    `INSERT INTO document_series (prefix, year, next) VALUES ($1, $2, $3::bigint + 1)
     ON CONFLICT (prefix, year) DO UPDATE SET next = document_series.next + $3::bigint
     RETURNING next - $3::bigint AS first`,
    [prefix, year, n],
  );
  return Number(r.first);
}

export interface Finalized {
  id: string;
  account_id: string;
  subscription_id: string;
  number: string;
  amount: number;
  currency: string;
}

/**
 * Numbers the invoices a batch finalized, in id order, in the caller's transaction, and records
 * what their documents show that could change later (seller, tax rate, the buyer's details, the
 * plan's name). An invoice that already has a number keeps it (and then the block would have a
 * hole: refused, the batch rolls back).
 */
export async function finalizeInvoices(q: Queryable, ids: readonly string[], s: IssueSettings, now: Date): Promise<Finalized[]> {
  if (ids.length === 0) return [];
  const sorted = [...ids].sort();
  const year = now.getUTCFullYear();
  const first = await allocate(q, s.invoicePrefix, year, sorted.length);
  const rows = sorted.map((id, k) => ({ id, seq: first + k, number: documentNumber(s.invoicePrefix, year, first + k) }));
  const done = await q.query<Row>(
    `UPDATE invoices i SET number = x.number, number_prefix = $2, number_year = $3, number_seq = x.seq, finalized_at = $4,
            issued = jsonb_build_object('seller', $5::jsonb, 'tax_rate_bp', $6::int, 'plan_name', p.name,
              'buyer', jsonb_build_object('name', COALESCE(a.billing_name, a.name), 'email', a.email, 'address', a.billing_address, 'vat_id', a.vat_id,
                                          'locale', a.locale, 'time_zone', a.time_zone))
       FROM json_to_recordset($1::json) AS x(id text, seq bigint, number text), accounts a, plans p
      WHERE i.id = x.id AND i.number IS NULL AND a.id = i.account_id AND p.id = i.plan_id
      RETURNING i.id, i.account_id, i.subscription_id, i.number, i.amount, i.currency`,
    [JSON.stringify(rows), s.invoicePrefix, year, now, JSON.stringify(s.seller), s.taxRateBp],
  );
  if (done.length !== rows.length) throw new Error(`${rows.length - done.length} invoice(s) to number were already numbered or missing; batch refused (a number would be lost)`);
  return done.map((r) => ({ id: r.id, account_id: r.account_id, subscription_id: r.subscription_id, number: r.number, amount: Number(r.amount), currency: r.currency }));
}

export interface CreditNoteRow {
  id: string;
  number: string;
  invoice_id: string;
  account_id: string;
  amount: number;
  currency: string;
  reason: string;
  created_at: Date;
}

/**
 * Issues a credit note cancelling each of these issued invoices in full (in invoice-id order), from
 * the credit-note series, in the caller's transaction. Taken after the invoice numbers (always in
 * that order: two series rows, one lock order). The invoice's issued snapshot is the credit note's.
 */
export async function issueCreditNotes(
  q: Queryable,
  items: readonly { invoice_id: string; reason: string }[],
  s: IssueSettings,
  now: Date,
  newId: (prefix: string) => string,
): Promise<CreditNoteRow[]> {
  if (items.length === 0) return [];
  // An invoice issued before numbering began (pre_numbering, no number) was never a numbered
  // document: voiding it needs no credit note, and refusing would block its cancel forever.
  const numbered = new Set((await q.query<Row>('SELECT id FROM invoices WHERE id = ANY($1) AND number IS NOT NULL', [items.map((x) => x.invoice_id)])).map((r) => r.id as string));
  const sorted = items.filter((x) => numbered.has(x.invoice_id)).sort((a, b) => (a.invoice_id < b.invoice_id ? -1 : a.invoice_id > b.invoice_id ? 1 : 0));
  if (sorted.length === 0) return [];
  const year = now.getUTCFullYear();
  const first = await allocate(q, s.creditNotePrefix, year, sorted.length);
  const rows = sorted.map((x, k) => ({ id: newId('cn'), invoice_id: x.invoice_id, reason: x.reason, seq: first + k, number: documentNumber(s.creditNotePrefix, year, first + k) }));
  const done = await q.query<Row>(
    `INSERT INTO credit_notes (id, number, number_prefix, number_year, number_seq, invoice_id, account_id, amount, currency, reason, issued, created_at)
     SELECT x.id, x.number, $2, $3, x.seq, i.id, i.account_id, i.amount, i.currency, x.reason,
            COALESCE(i.issued, '{}'::jsonb) || jsonb_build_object('seller', $5::jsonb, 'tax_rate_bp', COALESCE((i.issued->>'tax_rate_bp')::int, $6::int)), $4
       FROM json_to_recordset($1::json) AS x(id text, invoice_id text, reason text, seq bigint, number text)
       JOIN invoices i ON i.id = x.invoice_id AND i.number IS NOT NULL
     RETURNING id, number, invoice_id, account_id, amount, currency, reason, created_at`,
    [JSON.stringify(rows), s.creditNotePrefix, year, now, JSON.stringify(s.seller), s.taxRateBp],
  );
  if (done.length !== rows.length) throw new Error(`${rows.length - done.length} credit note(s) for unnumbered invoices; batch refused (a number would be lost)`);
  return done.map(toCreditNote);
}

function toCreditNote(r: Row): CreditNoteRow {
  return { id: r.id, number: r.number, invoice_id: r.invoice_id, account_id: r.account_id, amount: Number(r.amount), currency: r.currency, reason: r.reason, created_at: new Date(r.created_at) };
}

/** The credit notes of these invoices, oldest first. */
export async function creditNotesOfInvoices(q: Queryable, invoiceIds: readonly string[]): Promise<CreditNoteRow[]> {
  if (invoiceIds.length === 0) return [];
  return (await q.query<Row>('SELECT * FROM credit_notes WHERE invoice_id = ANY($1) ORDER BY created_at, number', [invoiceIds])).map(toCreditNote);
}

export async function creditNoteById(q: Queryable, id: string): Promise<CreditNoteRow | null> {
  const [r] = await q.query<Row>('SELECT * FROM credit_notes WHERE id = $1', [id]);
  return r ? toCreditNote(r) : null;
}

/** The numbers of these invoices (null: not finalized). */
export async function numbersOfInvoices(q: Queryable, invoiceIds: readonly string[]): Promise<Map<string, string | null>> {
  if (invoiceIds.length === 0) return new Map();
  const rows = await q.query<Row>('SELECT id, number FROM invoices WHERE id = ANY($1)', [invoiceIds]);
  return new Map(rows.map((r) => [r.id as string, (r.number as string | null) ?? null]));
}

/** Everything an invoice's document shows, from stored rows only. */
export interface InvoiceDocumentData {
  id: string;
  account_id: string;
  number: string;
  kind: InvoiceKind;
  status: InvoiceStatus;
  amount: number;
  currency: string;
  interval: string;
  plan_id: string;
  period_start: Date;
  period_end: Date;
  finalized_at: Date;
  paid_at: Date | null;
  issued: {
    seller: SellerSnapshot;
    tax_rate_bp: number;
    plan_name: string;
    buyer: { name: string; email: string; address: string | null; vat_id: string | null; locale: string; time_zone: string };
  };
  /** The card the invoice was paid with (paid invoices). */
  card: { brand: string | null; last4: string | null } | null;
  /** A proration's parts (from its invoice.created event): the new plan's share and the credit for the old one. */
  proration: { from_plan_name: string | null; new_share: number; credit: number } | null;
  credit_notes: CreditNoteRow[];
}

/** An invoice's document data, or null when it has no number (never finalized: no document). */
export async function invoiceDocumentData(q: Queryable, invoiceId: string): Promise<InvoiceDocumentData | null> {
  const [r] = await q.query<Row>(
    `SELECT i.*,
            (SELECT json_build_object('brand', pm.brand, 'last4', pm.last4) FROM payment_attempts pa JOIN payment_methods pm ON pm.id = pa.payment_method_id
              WHERE pa.invoice_id = i.id AND pa.outcome = 'succeeded' LIMIT 1) AS card,
            (SELECT json_build_object('from_plan_name', (SELECT fp.name FROM plans fp WHERE fp.id = e.data->>'from_plan_id'),
                                      'new_share', (e.data->>'new_share')::bigint, 'credit', (e.data->>'credit')::bigint)
               FROM events e WHERE e.invoice_id = i.id AND e.type = 'invoice.created' AND i.kind = 'proration' AND e.data ? 'new_share'
              ORDER BY e.id LIMIT 1) AS proration
       FROM invoices i WHERE i.id = $1 AND i.number IS NOT NULL`,
    [invoiceId],
  );
  if (!r) return null;
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  const proration = json(r.proration) as Row | null;
  return {
    id: r.id,
    account_id: r.account_id,
    number: r.number,
    kind: r.kind,
    status: r.status,
    amount: Number(r.amount),
    currency: r.currency,
    interval: r.interval,
    plan_id: r.plan_id,
    period_start: new Date(r.period_start),
    period_end: new Date(r.period_end),
    finalized_at: new Date(r.finalized_at),
    paid_at: r.paid_at ? new Date(r.paid_at) : null,
    issued: json(r.issued),
    card: json(r.card) ?? null,
    proration: proration ? { from_plan_name: proration.from_plan_name ?? null, new_share: Number(proration.new_share), credit: Number(proration.credit) } : null,
    credit_notes: await creditNotesOfInvoices(q, [r.id]),
  };
}

/** A credit note with what its document shows (seller, buyer, tax rate, plan name as issued). */
export async function creditNoteDocumentData(q: Queryable, id: string): Promise<(CreditNoteRow & { issued: InvoiceDocumentData['issued'] }) | null> {
  const [r] = await q.query<Row>('SELECT * FROM credit_notes WHERE id = $1', [id]);
  if (!r) return null;
  return { ...toCreditNote(r), issued: typeof r.issued === 'string' ? JSON.parse(r.issued) : r.issued };
}
