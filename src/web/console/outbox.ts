// The outbox: every e-mail renewd wrote (sent over SMTP when SMTP_URL is set), and one e-mail's
// HTML (framed, sandboxed) and text.
import type { FastifyInstance } from 'fastify';
import { html, str, type Body, type Html } from '../html.ts';
import { hidden } from '../layout.ts';
import type { Flash } from '../sessions.ts';
import type { NotificationView } from '../deps.ts';
import { badge, when } from './format.ts';
import type { ConsoleFrame } from './index.ts';

export function outboxRoutes(app: FastifyInstance, c: ConsoleFrame) {
  app.get(
    '/console/outbox',
    c.guard(async (req, reply, s) => {
      const accountId = str((req.query as Body).account_id) || undefined;
      const mails = await c.deps.listNotifications({ account_id: accountId, limit: 300 });
      return c.show(reply, { title: 'Outbox', s, active: 'outbox', flash: c.takeFlash(s), body: outboxView(mails, s.csrf) });
    }),
  );

  app.get(
    '/console/outbox/:id',
    c.guard(async (req, reply, s) => {
      const m = await c.deps.getNotification((req.params as { id: string }).id);
      if (!m) return c.show(reply, { title: 'Not found', s, active: 'outbox', body: html`<h1>No such e-mail</h1><p><a href="/console/outbox">Outbox</a></p>` }, 404);
      return c.show(reply, { title: m.subject, s, active: 'outbox', flash: c.takeFlash(s), body: mailView(m, s.csrf) });
    }),
  );

  // The HTML part as the customer's mail client shows it, framed by the e-mail's page. Its own CSP:
  // no script, no request anywhere (images only inline), and a sandbox; framed by this origin only.
  app.get(
    '/console/outbox/:id/html',
    c.guard(async (req, reply) => {
      const m = await c.deps.getNotification((req.params as { id: string }).id);
      if (!m) return reply.code(404).type('text/plain').send('No such e-mail');
      return reply
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox")
        .header('x-frame-options', 'SAMEORIGIN')
        .type('text/html; charset=utf-8')
        .send(m.body_html);
    }),
  );

  // The same commands as POST /v1/notifications/{id}/requeue and /v1/notifications/requeue-kept.
  app.post(
    '/console/outbox/:id/requeue',
    c.act(
      (req) => `/console/outbox/${encodeURIComponent((req.params as { id: string }).id)}`,
      async (req): Promise<Flash> => {
        const m = await c.deps.requeueNotification((req.params as { id: string }).id);
        return { kind: 'success', text: `Re-queued: “${m.subject}” to ${m.to} is sent by the next process with SMTP_URL.` };
      },
    ),
  );

  app.post(
    '/console/outbox/requeue-kept',
    c.act(
      () => '/console/outbox',
      async (): Promise<Flash> => {
        const n = await c.deps.requeueKeptNotifications();
        return { kind: 'success', text: n ? `${n} kept e-mail${n === 1 ? '' : 's'} re-queued.` : 'No kept e-mail to re-queue.' };
      },
    ),
  );
}

/** Statuses no sender tries again: the operator re-queues them. */
const REQUEUEABLE = new Set(['kept', 'failed']);

export function outboxView(mails: NotificationView[], csrf: string): Html {
  const kept = mails.filter((m) => m.status === 'kept').length;
  return html`<h1>Outbox</h1><p class="muted">E-mails written by renewd, newest first. A process started with SMTP_URL sends them; until one runs they wait here as pending.</p>
${kept ? html`<form method="post" action="/console/outbox/requeue-kept" class="actions">${hidden('_csrf', csrf)}<p>${kept} e-mail${kept === 1 ? ' was' : 's were'} left unsent (kept). <button type="submit" class="btn btn-secondary">Re-queue all kept e-mails</button></p></form>` : ''}
${
  mails.length
    ? html`<div class="table-wrap" role="region" aria-label="E-mails" tabindex="0"><table class="data"><thead><tr><th scope="col">Created</th><th scope="col">To</th><th scope="col">Template</th><th scope="col">Locale</th><th scope="col">Subject</th><th scope="col">Status</th></tr></thead><tbody>
${mails.map(
  (m) => html`<tr><td>${when(m.created_at)}</td><td>${m.account_id ? html`<a href="/console/accounts/${m.account_id}">${m.to}</a>` : m.to}</td><td>${m.template}</td><td>${m.locale}</td>
<td><a href="/console/outbox/${m.id}">${m.subject}</a></td><td>${badge(m.status)}</td></tr>`,
)}</tbody></table></div>`
    : html`<p class="muted">The outbox is empty.</p>`
}`;
}

export function mailView(m: NotificationView & { body_text: string }, csrf: string): Html {
  return html`<p><a href="/console/outbox">← Outbox</a></p><h1>${m.subject}</h1>
<section class="panel" aria-label="E-mail"><dl class="facts"><dt>To</dt><dd>${m.to}</dd><dt>Template</dt><dd>${m.template} (${m.locale})</dd><dt>Created</dt><dd>${when(m.created_at)}</dd><dt>Status</dt><dd>${badge(m.status)}${m.sent_at ? html` ${when(m.sent_at)}` : ''}</dd>
${m.account_id ? html`<dt>Account</dt><dd><a href="/console/accounts/${m.account_id}">${m.account_id}</a></dd>` : ''}</dl>
${REQUEUEABLE.has(m.status) ? html`<form method="post" action="/console/outbox/${m.id}/requeue">${hidden('_csrf', csrf)}<button type="submit" class="btn btn-secondary">Re-queue this e-mail</button></form>` : ''}
<h2>As the customer sees it</h2><iframe class="mail-html" sandbox src="/console/outbox/${m.id}/html" title="The e-mail's HTML part" loading="lazy"></iframe>
<h2>Text</h2><pre class="body">${m.body_text}</pre></section>`;
}
