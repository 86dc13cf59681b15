// The outbox of e-mails. enqueueEmail is called INSIDE the transaction of the change that causes
// the e-mail (with that transaction's handle), so an e-mail exists if and only if the change
// committed; the sender delivers it later. The dedupe key makes enqueueing idempotent: the same
// key twice is one e-mail (a re-run step, a retried request), and receivers can dedupe on it.
import type { Queryable } from '../store/db.ts';
import { newId } from '../store/ids.ts';
import { renderEmail, type EmailContext, type TemplateName } from './templates.ts';

export const NOTIFICATION_STATUSES = ['pending', 'sending', 'sent', 'failed', 'kept'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

export interface NotificationSummary {
  id: string;
  account_id: string | null;
  template: string;
  to: string;
  subject: string;
  locale: string;
  status: NotificationStatus;
  attempts: number;
  created_at: Date;
  sent_at: Date | null;
  last_error: string | null;
  dedupe_key: string;
}

export interface NotificationDetail extends NotificationSummary {
  body_text: string;
  body_html: string;
  next_attempt_at: Date | null;
}

export interface EnqueueEmail {
  account_id: string | null;
  to: string;
  template: TemplateName;
  ctx: EmailContext;
  dedupe_key: string;
  now: Date;
}

/** Renders the e-mail and writes it to the outbox (status pending, due now). Returns the id, or null for a duplicate key. */
export async function enqueueEmail(q: Queryable, n: EnqueueEmail): Promise<string | null> {
  if (!n.dedupe_key) throw new RangeError('an e-mail needs a dedupe key');
  if (!n.to) throw new RangeError('an e-mail needs a recipient');
  const mail = renderEmail(n.template, n.ctx);
  const id = newId('ntf');
  const rows = await q.query<{ id: string }>(
    `INSERT INTO notifications (id, account_id, template, locale, to_address, subject, body_text, body_html, dedupe_key, status, attempts, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $10)
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING id`,
    [id, n.account_id, n.template, mail.locale, n.to, mail.subject, mail.text, mail.html, n.dedupe_key, n.now],
  );
  return rows[0]?.id ?? null;
}

const SUMMARY_COLUMNS = `id, account_id, template, to_address AS "to", subject, locale, status, attempts, created_at, sent_at, last_error, dedupe_key`;

/** Newest first. `before`: a notification id (the last one of the previous page) or an instant. */
export async function listNotifications(
  q: Queryable,
  opts: { account_id?: string; limit?: number; before?: string | Date; status?: NotificationStatus } = {},
): Promise<NotificationSummary[]> {
  const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 50), 1), 500);
  const where: string[] = [];
  const params: unknown[] = [];
  if (opts.account_id) {
    params.push(opts.account_id);
    where.push(`account_id = $${params.length}`);
  }
  if (opts.status) {
    params.push(opts.status);
    where.push(`status = $${params.length}`);
  }
  if (opts.before instanceof Date) {
    params.push(opts.before);
    where.push(`created_at < $${params.length}`);
  } else if (typeof opts.before === 'string' && opts.before) {
    params.push(opts.before);
    const p = `$${params.length}`;
    // Keyset pagination on (created_at, id): stable even when many e-mails share an instant.
    where.push(`(created_at, id) < (SELECT created_at, id FROM notifications WHERE id = ${p})`);
  }
  params.push(limit);
  const rows = await q.query<NotificationSummary>(
    `SELECT ${SUMMARY_COLUMNS} FROM notifications ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(dates);
}

export async function getNotification(q: Queryable, id: string): Promise<NotificationDetail | null> {
  const [row] = await q.query<NotificationDetail>(
    `SELECT ${SUMMARY_COLUMNS}, body_text, body_html, next_attempt_at FROM notifications WHERE id = $1`,
    [id],
  );
  return row ? { ...dates(row), next_attempt_at: row.next_attempt_at ? new Date(row.next_attempt_at) : null } : null;
}

function dates<T extends NotificationSummary>(r: T): T {
  return { ...r, created_at: new Date(r.created_at), sent_at: r.sent_at ? new Date(r.sent_at) : null };
}
