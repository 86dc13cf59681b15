// Help requests: one per question about an invoice, with the snapshot the operator answers from
// (stored as JSON, as it was when the customer asked).
import type { Queryable } from './db.ts';
import type { HelpContext, HelpRequest, HelpRequestStatus } from '../core/types.ts';
import type { Row } from './billing.ts';

function toHelpRequest(r: Row): HelpRequest {
  return {
    id: r.id,
    account_id: r.account_id,
    invoice_id: r.invoice_id,
    message: r.message,
    status: r.status,
    answer: r.answer ?? null,
    context: typeof r.context === 'string' ? JSON.parse(r.context) : r.context,
    created_at: new Date(r.created_at),
    answered_at: r.answered_at ? new Date(r.answered_at) : null,
    closed_at: r.closed_at ? new Date(r.closed_at) : null,
  };
}

export async function insertHelpRequest(
  q: Queryable,
  h: { id: string; account_id: string; invoice_id: string; message: string; context: HelpContext; now: Date },
): Promise<void> {
  await q.query(
    `INSERT INTO help_requests (id, account_id, invoice_id, message, context, status, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6)`,
    [h.id, h.account_id, h.invoice_id, h.message, JSON.stringify(h.context), h.now],
  );
}

export async function helpRequestById(q: Queryable, id: string): Promise<HelpRequest | null> {
  const [r] = await q.query<Row>('SELECT * FROM help_requests WHERE id = $1', [id]);
  return r ? toHelpRequest(r) : null;
}

/** Locks a help request for an answer or a close (two operators never both change it). */
export async function lockHelpRequest(q: Queryable, id: string): Promise<HelpRequest | null> {
  const [r] = await q.query<Row>('SELECT * FROM help_requests WHERE id = $1 FOR UPDATE', [id]);
  return r ? toHelpRequest(r) : null;
}

/** Newest first; each filter is optional. */
export async function listHelpRequests(
  q: Queryable,
  f: { status: HelpRequestStatus | null; account_id: string | null; invoice_id: string | null; limit: number; starting_after?: string | null },
): Promise<HelpRequest[]> {
  const rows = await q.query<Row>(
    `SELECT * FROM help_requests
        WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR account_id = $2) AND ($3::text IS NULL OR invoice_id = $3)
          AND ($5::text IS NULL OR (created_at, id) < (SELECT created_at, id FROM help_requests WHERE id = $5))
        ORDER BY created_at DESC, id DESC LIMIT $4`,
    [f.status, f.account_id, f.invoice_id, f.limit, f.starting_after ?? null],
  );
  return rows.map(toHelpRequest);
}

export async function markHelpRequestAnswered(q: Queryable, id: string, answer: string, now: Date): Promise<void> {
  await q.query(`UPDATE help_requests SET status = 'answered', answer = $2, answered_at = $3 WHERE id = $1`, [id, answer, now]);
}

export async function markHelpRequestClosed(q: Queryable, id: string, now: Date): Promise<void> {
  await q.query(`UPDATE help_requests SET status = 'closed', closed_at = $2 WHERE id = $1`, [id, now]);
}

/** How many requests about the invoice still wait for an answer (status open). */
export async function openHelpRequestsOfInvoice(q: Queryable, invoiceId: string): Promise<number> {
  const [r] = await q.query<Row>(`SELECT count(*)::int AS n FROM help_requests WHERE invoice_id = $1 AND status = 'open'`, [invoiceId]);
  return Number(r?.n ?? 0);
}
