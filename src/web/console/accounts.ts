// The accounts list, filtered by subscription status.
import type { FastifyInstance } from 'fastify';
import { html, attrs, str, type Body, type Html } from '../html.ts';
import { NEXT_SHORT, badge, when } from './format.ts';
import type { ConsoleFrame } from './index.ts';

const STATUSES = ['active', 'past_due', 'downgraded', 'canceled', 'incomplete'];

/** A row of commands.listAccounts: the account with its subscription's status and next action. */
type AccountRow = Record<string, any>;

export function accountsRoutes(app: FastifyInstance, c: ConsoleFrame) {
  app.get(
    '/console/accounts',
    c.guard(async (req, reply, s) => {
      const status = str((req.query as Body).status);
      const rows = await c.ctx.commands.listAccounts({ status: STATUSES.includes(status) ? status : undefined, limit: 500 });
      return c.show(reply, { title: 'Accounts', s, active: 'accounts', flash: c.takeFlash(s), body: accountsView(rows, status) });
    }),
  );
}

export function accountsView(rows: AccountRow[], status: string): Html {
  const filters = html`<nav aria-label="Filter by status" class="actions">${['', ...STATUSES].map(
    (st) => html`<a class="btn btn-secondary" href="/console/accounts${st ? `?status=${st}` : ''}"${attrs({ 'aria-current': st === status ? 'page' : null })}>${st ? st.replace('_', ' ') : 'all'}</a>`,
  )}</nav>`;
  return html`<h1>Accounts</h1>${filters}
<div class="table-wrap" role="region" aria-label="Accounts" tabindex="0"><table class="data"><thead><tr><th scope="col">Account</th><th scope="col">Zone</th><th scope="col">Locale</th><th scope="col">Plan</th><th scope="col">Status</th><th scope="col">Grace ends</th><th scope="col">Next action</th></tr></thead><tbody>
${rows.map(
  (a) => html`<tr><td><a href="/console/accounts/${a.id}">${a.name}</a><br><span class="muted small">${a.email}</span></td><td>.${a.domain_zone}</td><td>${a.locale}</td><td>${a.plan_id ?? '—'}</td><td>${badge(a.subscription_status)}</td><td>${when(a.grace_ends_at)}</td><td>${a.next_action ? html`${NEXT_SHORT[a.next_action] ?? a.next_action} ${when(a.next_action_at)}` : '—'}</td></tr>`,
)}
</tbody></table></div>${rows.length ? '' : html`<p class="muted">No accounts.</p>`}`;
}
