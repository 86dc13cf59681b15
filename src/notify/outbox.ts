// The outbox of e-mails. enqueueEmail is called INSIDE the transaction of the change that causes
// the e-mail (with that transaction's handle), so an e-mail exists if and only if the change
// committed; the sender delivers it later. The dedupe key makes enqueueing idempotent: the same
// key twice is one e-mail (a re-run step, a retried request), and receivers can dedupe on it.
import type { Queryable } from '../store/db.ts';
import { newId } from '../store/ids.ts';
import { insertNotification } from '../store/outbox.ts';
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
