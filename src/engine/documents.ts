// Invoice and credit-note documents (issue 23): read commands the API, the customer's pages and the
// console share. A document exists once its invoice was issued (numbered at finalization, in
// Engine.persist); its PDF is drawn from the stored data each time, the same bytes every time.
import { CommandError } from '../core/errors.ts';
import type { Queryable } from '../store/db.ts';
import { creditNoteById, creditNoteDocumentData, creditNotesOfInvoices, invoiceDocumentData, numbersOfInvoices, type CreditNoteRow } from '../store/documents.ts';
import { invoiceById } from '../store/invoices.ts';
import { renderCreditNotePdf, renderInvoicePdf } from '../notify/documents.ts';

export interface PdfDocument {
  account_id: string;
  number: string;
  filename: string;
  pdf: Buffer;
}

/** The PDF of an issued invoice. Unknown: 404; never issued (voided while open, or still being paid): 409 invoice_not_issued. */
export async function invoicePdf(q: Queryable, invoiceId: string, canSee: (accountId: string) => boolean): Promise<PdfDocument> {
  const inv = await invoiceById(q, invoiceId);
  if (!inv || !canSee(inv.account_id)) throw new CommandError('not_found', 'not_found', `no invoice ${invoiceId}`);
  const data = await invoiceDocumentData(q, invoiceId);
  if (!data)
    throw new CommandError('conflict', 'invoice_not_issued', `invoice ${invoiceId} has no document: it is ${inv.status} and was never issued (an invoice is issued, with a number, once it is paid or past due)`);
  return { account_id: data.account_id, number: data.number, filename: `${data.number}.pdf`, pdf: await renderInvoicePdf(data) };
}

/** A credit note as the API shows it. */
export function creditNoteView(n: CreditNoteRow) {
  return { id: n.id, number: n.number, invoice_id: n.invoice_id, account_id: n.account_id, amount: n.amount, currency: n.currency, reason: n.reason, created_at: n.created_at };
}

export async function creditNote(q: Queryable, id: string, canSee: (accountId: string) => boolean) {
  const n = await creditNoteById(q, id);
  if (!n || !canSee(n.account_id)) throw new CommandError('not_found', 'not_found', `no credit note ${id}`);
  return creditNoteView(n);
}

export async function creditNotePdf(q: Queryable, id: string, canSee: (accountId: string) => boolean): Promise<PdfDocument> {
  const n = await creditNoteDocumentData(q, id);
  if (!n || !canSee(n.account_id)) throw new CommandError('not_found', 'not_found', `no credit note ${id}`);
  const invoice = (await invoiceDocumentData(q, n.invoice_id))!;
  return { account_id: n.account_id, number: n.number, filename: `${n.number}.pdf`, pdf: await renderCreditNotePdf(n, invoice) };
}

/** The numbers and credit notes of these invoices (the purchase history shows them beside each invoice). */
export async function documentsOfInvoices(q: Queryable, invoiceIds: string[]) {
  const [numbers, notes] = await Promise.all([numbersOfInvoices(q, invoiceIds), creditNotesOfInvoices(q, invoiceIds)]);
  const notesOf = new Map<string, CreditNoteRow[]>();
  for (const n of notes) notesOf.set(n.invoice_id, [...(notesOf.get(n.invoice_id) ?? []), n]);
  return { number: (id: string) => numbers.get(id) ?? null, creditNotes: (id: string) => notesOf.get(id) ?? [] };
}
