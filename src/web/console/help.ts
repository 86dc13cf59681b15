// Help requests: the list by status, each with its account, context, answer form and Close.
import type { FastifyInstance } from 'fastify';
import { accountNames } from '../../store/stats.ts';
import { html, attrs, str, type Body, type Html } from '../html.ts';
import { hidden } from '../layout.ts';
import type { Flash } from '../sessions.ts';
import type { HelpRequestView } from '../deps.ts';
import { badge, money, reasonLabel, when } from './format.ts';
import type { ConsoleFrame } from './index.ts';

const STATUSES = ['open', 'answered', 'closed', 'all'];

export function helpRoutes(app: FastifyInstance, c: ConsoleFrame) {
  const { ctx, deps } = c;
  app.get(
    '/console/help',
    c.guard(async (req, reply, s) => {
      const status = str((req.query as Body).status) || 'open';
      const list = await deps.listHelpRequests({ status: status === 'all' ? undefined : status, limit: 200 });
      // The names of all the accounts in one query, not one per request.
      const names = await accountNames(ctx.db, list.map((h) => h.account_id));
      const flash = c.takeFlash(s);
      return c.show(reply, { title: 'Help requests', s, active: 'help', flash, body: helpView({ list, names, status, fieldErrors: flash?.fields ?? {} }, s.csrf) });
    }),
  );

  app.post(
    '/console/help/:id/answer',
    c.act(
      (req) => `/console/help?status=all#hr-${(req.params as { id: string }).id}`,
      async (req): Promise<Flash> => {
        const id = (req.params as { id: string }).id;
        const answer = str((req.body as Body).answer).trim();
        if (!answer) return { kind: 'error', text: 'Write an answer first.', fields: { [`answer-${id}`]: 'Write an answer first.' } };
        await deps.answerHelpRequest(id, answer.slice(0, 5000));
        return { kind: 'success', text: 'Answer sent; the customer sees it on their page and gets an e-mail.' };
      },
    ),
  );

  app.post(
    '/console/help/:id/close',
    c.act(
      () => '/console/help',
      async (req) => {
        await deps.closeHelpRequest((req.params as { id: string }).id);
        return { kind: 'success', text: 'Help request closed.' };
      },
    ),
  );
}

export interface HelpData {
  list: HelpRequestView[];
  /** Account names by id (an id missing here is shown as itself). */
  names: Map<string, string>;
  status: string;
  /** Messages by field id, from the last answer that was refused. */
  fieldErrors: Record<string, string>;
}

export function helpView(d: HelpData, csrf: string): Html {
  const filters = html`<nav aria-label="Filter by status" class="actions">${STATUSES.map(
    (st) => html`<a class="btn btn-secondary" href="/console/help?status=${st}"${attrs({ 'aria-current': st === d.status ? 'page' : null })}>${st}</a>`,
  )}</nav>`;
  const items = d.list.map((h) => helpItem(h, d, csrf));
  return html`<h1>Help requests</h1>${filters}${items.length ? items : html`<p class="muted">No ${d.status === 'all' ? '' : d.status} help requests.</p>`}`;
}

function helpItem(h: HelpRequestView, d: HelpData, csrf: string): Html {
  const fid = `answer-${h.id}`;
  const error = d.fieldErrors[fid];
  const ctxInfo = summarizeHelpContext(h.context);
  return html`<article class="panel" id="hr-${h.id}" aria-labelledby="hr-${h.id}-t">
<h2 id="hr-${h.id}-t"><a href="/console/accounts/${h.account_id}">${d.names.get(h.account_id) ?? h.account_id}</a> ${badge(h.status)}</h2>
<p class="muted small">Sent ${when(h.created_at)} · invoice <span class="mono">${h.invoice_id}</span>${ctxInfo ? ` · ${ctxInfo}` : ''}</p>
<p class="message">${h.message}</p>
${h.answer ? html`<div class="answer"><strong>Answer:</strong> ${h.answer}</div>` : ''}
${
  h.status !== 'closed'
    ? html`<form method="post" action="/console/help/${h.id}/answer">${hidden('_csrf', csrf)}
<div class="field"><label for="${fid}">${h.answer ? 'Answer again' : 'Answer'}</label><textarea id="${fid}" name="answer" rows="3" maxlength="5000"${attrs({ 'aria-invalid': error ? 'true' : null, 'aria-describedby': error ? `${fid}-error` : null })}></textarea>
${error ? html`<span class="error-text" id="${fid}-error">${error}</span>` : ''}</div>
<div class="actions"><button type="submit" class="btn">Send answer</button></div></form>
<form method="post" action="/console/help/${h.id}/close" class="actions">${hidden('_csrf', csrf)}<button type="submit" class="btn btn-danger">Close request</button></form>`
    : html`<p class="muted small">Closed ${when(h.closed_at)}</p>`
}
</article>`;
}

/** What the customer was looking at when asking (invoice, attempts), in one line. */
function summarizeHelpContext(c: unknown): string {
  if (!c || typeof c !== 'object') return '';
  const o = c as Record<string, any>;
  const inv = o.invoice ?? o;
  const parts: string[] = [];
  if (typeof inv.amount === 'number' && typeof inv.currency === 'string') parts.push(money(inv.amount, inv.currency));
  if (typeof inv.status === 'string') parts.push(inv.status.replace(/_/g, ' '));
  const attempts = Array.isArray(o.attempts) ? o.attempts : Array.isArray(inv.attempts) ? inv.attempts : [];
  if (attempts.length) {
    const reasons = [...new Set(attempts.map((a: any) => a.reason).filter(Boolean))].map((r) => reasonLabel(String(r)));
    parts.push(`${attempts.length} attempt${attempts.length === 1 ? '' : 's'}${reasons.length ? `: ${reasons.join(', ')}` : ''}`);
  }
  return parts.join(' · ');
}
