// The outbox of e-mails: what was (or will be) sent to whom, in which language, and whether it
// went out. Without SMTP_URL nothing is sent and the e-mails wait here ("pending") for a process
// that has it. Operators see every e-mail; a portal token sees only its own account's (another
// account's answers 404). Operators re-queue e-mails no sender will try again ("kept", "failed").
import type { RoutePlugin } from '../route-plugin.ts';
import { canSee, requireAdmin, requireAnyone } from '../auth.ts';
import { CommandError } from '../../core/errors.ts';
import { getNotification, listNotifications, NOTIFICATION_STATUSES, requeueEmail, requeueKeptEmails } from '../../notify/outbox.ts';
import { TEMPLATE_NAMES } from '../../notify/templates.ts';
import { adminSecurity, anyoneSecurity, dateTime, idParam, nullableDateTime, listOut, notFoundResponse, pageLimit, pageOf, pageQuery, problemResponses } from '../schemas.ts';

const notificationOut = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string', example: 'ntf_Q2xL9cB4nH7tR0aE' },
    account_id: { type: ['string', 'null'] },
    template: { type: 'string', description: `one of ${TEMPLATE_NAMES.join(', ')}`, example: 'renewal_failed' },
    to: { type: 'string', example: 'billing@acme.example.fr' },
    subject: { type: 'string' },
    locale: { type: 'string', description: 'the locale the e-mail is written in', example: 'fr-FR' },
    status: { type: 'string', enum: NOTIFICATION_STATUSES, description: 'pending: waiting for a process with SMTP_URL to send it; kept: left unsent by an earlier version without SMTP (re-queue it); failed: every attempt refused' },
    attempts: { type: 'integer' },
    last_error: { type: ['string', 'null'] },
    created_at: dateTime,
    sent_at: nullableDateTime,
  },
} as const;

const notificationDetailOut = {
  ...notificationOut,
  properties: {
    ...notificationOut.properties,
    dedupe_key: { type: 'string', description: 'sent as the X-Renewd-Dedupe-Key header; the Message-ID derives from it' },
    next_attempt_at: nullableDateTime,
    body_text: { type: 'string' },
    body_html: { type: 'string' },
  },
} as const;

export const notificationRoutes: RoutePlugin = async (app, { ctx }) => {
  const { db, clock } = ctx;

  app.get('/v1/notifications', {
    preValidation: requireAnyone,
    schema: {
      tags: ['notifications'],
      summary: 'E-mails in the outbox, newest first',
      description:
        'Operators see all e-mails (filter with `account_id`); a portal token sees its own account’s only. ' +
        'Paginated as every list: `limit` (default 100), `starting_after` = the id of the last e-mail of the previous page, `has_more`; `before` is the former name of starting_after.',
      security: anyoneSecurity,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          account_id: idParam.properties.id,
          ...pageQuery,
          before: { ...idParam.properties.id, description: 'the former name of starting_after' },
          status: { type: 'string', enum: NOTIFICATION_STATUSES },
        },
        example: { account_id: 'acct_Qm1x0fK2p9sLw8Tz', limit: '20' },
      },
      response: { 200: listOut(notificationOut), ...problemResponses, ...notFoundResponse },
    },
  }, async (req) => {
    const q = req.query;
    const limit = pageLimit(q.limit);
    let accountId = q.account_id;
    if (req.principal?.kind === 'customer') {
      accountId ??= req.principal.account_id;
      if (!canSee(req, accountId)) throw new CommandError('not_found', 'not_found', `no account ${accountId}`);
    }
    return pageOf(await listNotifications(db, { account_id: accountId, limit: limit + 1, before: q.starting_after ?? q.before, status: q.status }), limit);
  });

  app.get('/v1/notifications/:id', {
    preValidation: requireAdmin,
    schema: {
      tags: ['notifications'],
      summary: 'One e-mail with its text and HTML parts',
      security: adminSecurity,
      params: idParam,
      response: { 200: notificationDetailOut, ...problemResponses },
    },
  }, async (req) => {
    const { id } = req.params;
    const n = await getNotification(db, id);
    if (!n) throw new CommandError('not_found', 'not_found', `no notification ${id}`);
    return n;
  });

  app.post('/v1/notifications/:id/requeue', {
    preValidation: requireAdmin,
    schema: {
      tags: ['notifications'],
      summary: 'Send an e-mail that no sender will try again (kept or failed) once more',
      description:
        'Puts a `kept` e-mail (left unsent by an earlier version started without SMTP_URL) or a `failed` one back in the queue, ' +
        'due now with a fresh count of attempts; the next process with SMTP_URL sends it (same dedupe key and Message-ID). ' +
        'A sent or still queued e-mail answers 409 not_requeueable.',
      security: adminSecurity,
      params: idParam,
      response: { 200: notificationOut, ...problemResponses, 409: { $ref: 'Problem#' } },
    },
  }, async (req) => requeueEmail(db, req.params.id, clock.now()));

  app.post('/v1/notifications/requeue-kept', {
    preValidation: requireAdmin,
    schema: {
      tags: ['notifications'],
      summary: 'Re-queue every kept e-mail',
      description: 'Every `kept` e-mail back in the queue (see POST /v1/notifications/{id}/requeue); answers how many.',
      security: adminSecurity,
      response: { 200: { type: 'object', properties: { requeued: { type: 'integer' } } }, ...problemResponses },
    },
  }, async () => ({ requeued: await requeueKeptEmails(db, clock.now()) }));
};
