// The e-mail outbox as stored (table notifications): the row enqueueEmail writes, the reads the
// API and console page through, and the sender's claim / mark statements (notify/sender.ts says
// how a round uses them).
import type { Queryable } from './db.ts';
import type { OutboxRow } from './billing.ts';

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

/** One rendered e-mail, due now: the row the engine's batches write too (billing.ts), with its time. */
export type NotificationInsert = OutboxRow & { now: Date };

/** Writes the e-mail (status pending, due now). Returns the id, or null for a duplicate key. */
export async function insertNotification(q: Queryable, n: NotificationInsert): Promise<string | null> {
  const rows = await q.query<{ id: string }>(
    `INSERT INTO notifications (id, account_id, template, locale, to_address, subject, body_text, body_html, dedupe_key, status, attempts, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $10)
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING id`,
    [n.id, n.account_id, n.template, n.locale, n.to, n.subject, n.text, n.html, n.dedupe_key, n.now],
  );
  return rows[0]?.id ?? null;
}

const SUMMARY_COLUMNS = `id, account_id, template, to_address AS "to", subject, locale, status, attempts, created_at, sent_at, last_error, dedupe_key`;

/** Newest first. `before`: a notification id (the last one of the previous page) or an instant. */
export async function listNotifications(
  q: Queryable,
  opts: { account_id?: string; limit?: number; before?: string | Date; status?: NotificationStatus } = {},
): Promise<NotificationSummary[]> {
  const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 50), 1), 1001);
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

// ---------------------------------------------------------------------------------------------
// The sender's statements

/** A claimed e-mail, as the sender sends it. */
export interface ClaimedNotification {
  id: string;
  to_address: string;
  subject: string;
  body_text: string;
  body_html: string;
  dedupe_key: string;
  locale: string;
  attempts: number;
}

/** Statuses an operator may put back in the queue: never delivered, and no sender will try again. */
export const REQUEUEABLE_STATUSES = ['kept', 'failed'] as const;

/**
 * Puts e-mails that no sender will try again ('kept' by an earlier version without SMTP, or
 * 'failed') back in the queue, due at `now` with a fresh count of attempts. `ids` null: every
 * such e-mail of `status`. Returns the ids re-queued.
 */
export async function requeueNotifications(q: Queryable, sel: { ids: string[] | null; statuses: readonly string[] }, now: Date): Promise<string[]> {
  const rows = await q.query<{ id: string }>(
    `UPDATE notifications SET status = 'pending', next_attempt_at = $1, attempts = 0, last_error = NULL
      WHERE status = ANY($2::text[]) AND ($3::text[] IS NULL OR id = ANY($3::text[]))
      RETURNING id`,
    [now, [...sel.statuses], sel.ids],
  );
  return rows.map((r) => r.id);
}

/** Claims up to `limit` due e-mails: status 'sending', attempts + 1, leased until leaseUntil. */
export async function claimDueNotifications(q: Queryable, now: Date, limit: number, leaseUntil: Date): Promise<ClaimedNotification[]> {
  return q.query<ClaimedNotification>(
    `WITH due AS (
       SELECT id FROM notifications
        WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1
        ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
     UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1, next_attempt_at = $3
       FROM due WHERE n.id = due.id
     RETURNING n.id, n.to_address, n.subject, n.body_text, n.body_html, n.dedupe_key, n.locale, n.attempts`,
    [now, limit, leaseUntil],
  );
}

/** A failed send: 'pending' again at nextAttemptAt, or 'failed' for good when nextAttemptAt is null. */
export async function markNotificationFailed(q: Queryable, id: string, nextAttemptAt: Date | null, error: string): Promise<void> {
  await q.query(
    `UPDATE notifications SET status = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1 AND status = 'sending'`,
    [id, nextAttemptAt === null ? 'failed' : 'pending', nextAttemptAt, error],
  );
}

export async function markNotificationSent(q: Queryable, id: string, now: Date): Promise<void> {
  await q.query(`UPDATE notifications SET status = 'sent', sent_at = $2, next_attempt_at = NULL, last_error = NULL WHERE id = $1 AND status = 'sending'`, [id, now]);
}
