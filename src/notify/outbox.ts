// The outbox of e-mails. enqueueEmail is called INSIDE the transaction of the change that causes
// the e-mail (with that transaction's handle), so an e-mail exists if and only if the change
// committed; the sender delivers it later. The dedupe key makes enqueueing idempotent: the same
// key twice is one e-mail (a re-run step, a retried request), and receivers can dedupe on it.
import type { Queryable } from '../store/db.ts';
import { newId } from '../store/ids.ts';
import { CommandError } from '../core/errors.ts';
import { getNotification, insertNotification, REQUEUEABLE_STATUSES, requeueNotifications, type NotificationDetail } from '../store/outbox.ts';
import { renderEmail, type EmailContext, type TemplateName } from './templates.ts';

export { getNotification, listNotifications } from '../store/outbox.ts';
export type { NotificationDetail, NotificationStatus, NotificationSummary } from '../store/outbox.ts';
export { NOTIFICATION_STATUSES } from '../store/outbox.ts';

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
  return insertNotification(q, {
    id: newId('ntf'),
    account_id: n.account_id,
    template: n.template,
    locale: mail.locale,
    to: n.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    dedupe_key: n.dedupe_key,
    now: n.now,
  });
}

/**
 * The operator puts an e-mail no sender will try again back in the queue: 'kept' (written by a
 * process without SMTP_URL before issue 16: it was never sent) or 'failed' (every attempt
 * refused). The next sender configured with SMTP sends it, with its dedupe key and Message-ID.
 * Refused: no such e-mail (not_found), one sent or still queued (conflict not_requeueable).
 */
export async function requeueEmail(q: Queryable, id: string, now: Date): Promise<NotificationDetail> {
  const [done] = await requeueNotifications(q, { ids: [id], statuses: REQUEUEABLE_STATUSES }, now);
  const n = await getNotification(q, id);
  if (!n) throw new CommandError('not_found', 'not_found', `no notification ${id}`);
  if (!done)
    throw new CommandError('conflict', 'not_requeueable', `this e-mail is ${n.status}: only ${REQUEUEABLE_STATUSES.join(' or ')} e-mails are re-queued (a pending one is sent by the next sender with SMTP)`, { email_status: n.status });
  return n;
}

/** Every 'kept' e-mail back in the queue (the console's "Re-queue all kept"); returns how many. */
export async function requeueKeptEmails(q: Queryable, now: Date): Promise<number> {
  return (await requeueNotifications(q, { ids: null, statuses: ['kept'] }, now)).length;
}
