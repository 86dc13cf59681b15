// The operator console at /console: sign in with the admin key; dashboard (accounts in grace,
// money recovered and lost, recovery rate by decline reason and by attempt number, involuntary
// churn over time), each account's timeline, help requests, the outbox, the dunning policy
// editor, webhooks, and the test clock when it is on.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../engine/context.ts';
import { resolvePrincipal } from '../http/auth.ts';
import { CommandError } from '../core/errors.ts';
import { advanceTestClock } from '../engine/advance.ts';
import { DAY } from '../core/time.ts';
import { formatMoney } from '../core/money.ts';
import { DEFAULT_POLICY, mergePolicy, type DunningPolicy } from '../core/dunning.ts';
import { DECLINE_REASONS, RETRY_CLASSES } from '../core/types.ts';
import { loadPolicies } from '../store/billing.ts';
import { EVENT_TYPE_PATTERN, KNOWN_EVENT_TYPES } from '../notify/events.ts';
import { accountsInGrace, churnByWeek, recoveryByReason, recoveryTotals, subscriptionsByStatus, successByAttemptNumber } from '../store/stats.ts';
import { html, attrs, type Html, type Piece } from './html.ts';
import { page, hidden } from './layout.ts';
import { SessionStore, csrfOk, random, safeEqual, type Flash, type OperatorSession, type Session } from './sessions.ts';
import { COLORS, columnChart, pct, rateBar, stackedBar, swatch } from './charts.ts';
import { sendHtml, str } from './portal.ts';
import type { WebDeps } from './deps.ts';

type Body = Record<string, unknown>;
const HOUR_MS = 3_600_000;
const LOGIN_CSRF = 'renewd_console_login';

const dtFmt = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
const dFmt = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
export const when = (d: Date | string | null | undefined) => (d ? `${dtFmt.format(d instanceof Date ? d : new Date(d))} UTC` : '—');
const money = (amount: number, currency: string | null) => (currency ? formatMoney(amount, currency, 'en-GB') : '—');

const REASON_LABEL: Record<string, string> = {
  credit_limit: 'Credit limit reached',
  card_expired_or_inactive: 'Card expired or inactive',
  insufficient_funds: 'Insufficient funds',
  issuer_unavailable: 'Issuer unavailable',
  payment_system_failure: 'Payment-system failure',
  authentication_required: 'Authentication required',
  declined_by_bank: 'Declined by bank',
};
/** What the engine does next (subscriptions.next_action), in words. */
const NEXT_ACTION: Record<string, string> = {
  renew: 'renewal charge',
  retry: 'automatic retry',
  remind: 'reminder e-mail (grace ending)',
  end_grace: 'grace ends: downgrade to the free plan if still unpaid',
  expire: 'period ends: move to the free plan (auto-renew off)',
};
/** Retry classes (§3), as the policy editor offers them. */
const CLASS_LABEL: Record<string, string> = {
  soon: 'soon: retry within hours (technical)',
  later: 'later: retry over days (funds, limits)',
  customer: 'customer: wait for a new card or authentication',
  never: 'never: no retry',
};
const NEXT_SHORT: Record<string, string> = { renew: 'renewal', retry: 'retry', remind: 'reminder', end_grace: 'grace ends', expire: 'period ends' };
const reasonLabel = (r: string | null | undefined) => (r ? REASON_LABEL[r] ?? r : 'No payment method');

const STATUS_BADGE: Record<string, string> = {
  active: 'b-ok',
  paid: 'b-ok',
  answered: 'b-ok',
  sent: 'b-ok',
  succeeded: 'b-ok',
  enabled: 'b-ok',
  past_due: 'b-warn',
  open: 'b-warn',
  pending: 'b-warn',
  declined: 'b-err',
  uncollectible: 'b-err',
  failed: 'b-err',
  downgraded: 'b-err',
  requires_action: 'b-warn',
};
const badge = (s: string | null | undefined) => html`<span class="badge ${STATUS_BADGE[s ?? ''] ?? 'b-neutral'}">${(s ?? 'none').replace(/_/g, ' ')}</span>`;

/** Policy form fields, in the order shown. */
const NUMBER_FIELDS = ['grace_days', 'max_automatic_attempts', 'caps.attempts_per_card_30d', 'caps.declines_per_card_24h', 'manual_retry.max_per_day'] as const;
const LIST_FIELDS = ['retry_schedule', 'technical_retry_hours', 'reminder_days'] as const;
const PM_TYPES = ['card', 'sepa_debit', 'paypal', 'bank_transfer'] as const;

export async function consoleRoutes(app: FastifyInstance, ctx: AppContext, deps: WebDeps) {
  const sessions = new SessionStore<OperatorSession>('renewd_console', '/console', 8 * HOUR_MS, 24 * HOUR_MS);
  const { commands } = ctx;
  const failedLogins = new Map<string, { count: number; since: number }>();
  let clockQueue: Promise<unknown> = Promise.resolve();

  async function current(req: FastifyRequest): Promise<Session<OperatorSession> | null> {
    const s = sessions.fromRequest(req);
    if (!s) return null;
    // The key is checked again on every request: a removed key signs its sessions out.
    const p = await resolvePrincipal(ctx.db, ctx.clock, `Bearer ${s.data.key}`);
    if (!p || p === 'invalid' || p.kind !== 'admin') {
      sessions.destroy(s.id);
      return null;
    }
    return s;
  }

  function forbidden(reply: FastifyReply) {
    return sendHtml(reply, shell({ title: 'Form expired', body: html`<h1>This form has expired</h1><p>Reload the page and try again.</p>` }), 403);
  }

  function shell(o: { title: string; body: Piece; s?: Session<OperatorSession>; active?: string; flash?: Flash | null; openHelp?: number }): Html {
    const items: [string, string, string][] = [
      ['dashboard', '/console', 'Dashboard'],
      ['accounts', '/console/accounts', 'Accounts'],
      ['help', '/console/help', 'Help requests'],
      ['outbox', '/console/outbox', 'Outbox'],
      ['policy', '/console/policy', 'Dunning policy'],
      ...(deps.webhooks ? ([['webhooks', '/console/webhooks', 'Webhooks']] as [string, string, string][]) : []),
    ];
    const nav = o.s
      ? html`<nav aria-label="Console"><ul>${items.map(([k, href, label]) => html`<li><a href="${href}"${attrs({ 'aria-current': o.active === k ? 'page' : null })}>${label}</a></li>`)}</ul></nav>`
      : '';
    const end = o.s ? html`<form method="post" action="/console/logout">${hidden('_csrf', o.s.csrf)}<button type="submit" class="linkish">Sign out</button></form>` : '';
    return page({
      lang: 'en',
      title: `${o.title} — renewd console`,
      area: 'console',
      brand: html`<a class="brand" href="/console">renewd<small>operator console</small></a>`,
      skip: 'Skip to the content',
      nav,
      headerEnd: end,
      flash: o.flash,
      footer: html`<p>${ctx.testClock ? html`Test clock on — now <strong>${when(ctx.clock.now())}</strong>. ` : ''}All times UTC.</p>`,
      body: o.body,
    });
  }

  /** Pages behind sign-in: the session (or a redirect to the login form). */
  function guard(handler: (req: FastifyRequest, reply: FastifyReply, s: Session<OperatorSession>) => Promise<unknown>) {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      const s = await current(req);
      if (!s) {
        if (req.method === 'GET') return reply.header('cache-control', 'no-store').redirect('/console/login', 303);
        return sendHtml(reply, shell({ title: 'Signed out', body: html`<h1>You are signed out</h1><p><a href="/console/login">Sign in</a> again.</p>` }), 401);
      }
      if (req.method === 'POST' && !csrfOk(s, req.body)) return forbidden(reply);
      return handler(req, reply, s);
    };
  }

  /** POST → do it, keep the message for the next page, redirect (post/redirect/get). */
  function act(to: (req: FastifyRequest) => string, fn: (req: FastifyRequest, s: Session<OperatorSession>) => Promise<Flash>) {
    return guard(async (req, reply, s) => {
      try {
        s.flash = await fn(req, s);
      } catch (err) {
        if (err instanceof CommandError) s.flash = { kind: 'error', text: err.message };
        else {
          req.log.error({ err: { message: (err as Error).message } }, 'console action failed');
          s.flash = { kind: 'error', text: `Failed: ${(err as Error).message}` };
        }
      }
      return reply.redirect(to(req), 303);
    });
  }

  // ---- sign in / out ----
  function loginPage(reply: FastifyReply, req: FastifyRequest, error: string | null, status = 200) {
    const token = random(24);
    reply.setCookie(LOGIN_CSRF, token, { path: '/console', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https' });
    return sendHtml(
      reply,
      shell({
        title: 'Sign in',
        body: html`<div class="login panel"><h1>Operator sign-in</h1>
${error ? html`<div id="flash" class="flash flash-error" role="alert" tabindex="-1"><p>${error}</p></div>` : ''}
<form method="post" action="/console/login">${hidden('_csrf', token)}
<div class="field"><label for="admin-key">Admin key</label><span class="hint" id="admin-key-hint">The RENEWD_ADMIN_KEY (or the key printed at the first start).</span>
<input type="password" id="admin-key" name="key" autocomplete="current-password" required aria-describedby="admin-key-hint"${attrs({ 'aria-invalid': error ? 'true' : null })}></div>
<button type="submit" class="btn">Sign in</button>
</form></div>`,
      }),
      status,
    );
  }

  app.get('/console/login', async (req, reply) => {
    if (await current(req)) return reply.redirect('/console', 303);
    return loginPage(reply, req, null);
  });

  app.post('/console/login', async (req, reply) => {
    const body = (req.body ?? {}) as Body;
    if (!safeEqual(str(body._csrf), req.cookies?.[LOGIN_CSRF])) return forbidden(reply);
    const ip = req.ip;
    const now = Date.now();
    const f = failedLogins.get(ip);
    if (f && now - f.since < 15 * 60_000 && f.count >= 10) return loginPage(reply, req, 'Too many failed attempts; wait 15 minutes.', 429);
    const key = str(body.key).trim();
    const p = key && !/\s/.test(key) ? await resolvePrincipal(ctx.db, ctx.clock, `Bearer ${key}`) : null;
    if (!p || p === 'invalid' || p.kind !== 'admin') {
      failedLogins.set(ip, f && now - f.since < 15 * 60_000 ? { count: f.count + 1, since: f.since } : { count: 1, since: now });
      return loginPage(reply, req, 'That admin key is not valid.', 401);
    }
    failedLogins.delete(ip);
    sessions.destroy(req.cookies?.[sessions.cookieName]);
    const s = sessions.create({ kind: 'operator', key });
    sessions.setCookie(req, reply, s);
    reply.clearCookie(LOGIN_CSRF, { path: '/console' });
    return reply.redirect('/console', 303);
  });

  app.post('/console/logout', async (req, reply) => {
    const s = sessions.fromRequest(req);
    if (s && !csrfOk(s, req.body)) return forbidden(reply);
    sessions.destroy(s?.id);
    sessions.clearCookie(req, reply);
    return reply.redirect('/console/login', 303);
  });

  // ---- dashboard ----
  app.get(
    '/console',
    guard(async (req, reply, s) => {
      const now = ctx.clock.now();
      const [grace, totals, byReason, byNumber, statuses, open] = await Promise.all([
        accountsInGrace(ctx.db),
        recoveryTotals(ctx.db),
        recoveryByReason(ctx.db),
        successByAttemptNumber(ctx.db),
        subscriptionsByStatus(ctx.db),
        deps.listHelpRequests({ status: 'open' }).catch(() => []),
      ]);
      // Up to 12 weeks; leading weeks with nothing at all are left out (a young installation), keeping at least 6.
      const allWeeks = await churnByWeek(ctx.db, new Date(now.getTime() - 11 * 7 * DAY), now);
      const firstBusy = allWeeks.findIndex((w) => w.failed + w.recovered + w.churned + w.canceled > 0);
      const weeks = allWeeks.slice(Math.max(0, Math.min(firstBusy < 0 ? allWeeks.length : firstBusy, allWeeks.length - 6)));
      const count = (st: string) => statuses.find((x) => x.status === st)?.count ?? 0;
      const recoveredN = totals.reduce((a, t) => a + t.recovered_count, 0);
      const lostN = totals.reduce((a, t) => a + t.lost_count, 0);
      // Amounts per currency, leaving out currencies with nothing in this column.
      const moneyList = (k: 'recovered' | 'lost' | 'at_risk') => {
        const some = totals.filter((t) => t[k] !== 0);
        return some.length ? some.map((t) => money(t[k], t.currency)).join(' · ') : money(0, totals[0]?.currency ?? 'EUR');
      };
      const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

      const kpis = html`<section aria-labelledby="kpi-title"><h2 id="kpi-title" class="visually-hidden">Key figures</h2><div class="kpis">
<div class="kpi"><div class="label">Accounts in grace</div><div class="value">${count('past_due')}</div><div class="sub">${moneyList('at_risk')} at risk</div></div>
<div class="kpi"><div class="label">Revenue recovered</div><div class="value">${moneyList('recovered')}</div><div class="sub">${plural(recoveredN, 'renewal', 'renewals')} paid after failing</div></div>
<div class="kpi"><div class="label">Revenue lost</div><div class="value">${moneyList('lost')}</div><div class="sub">${plural(lostN, 'renewal', 'renewals')} closed unpaid</div></div>
<div class="kpi"><div class="label">Recovery rate</div><div class="value">${pct(recoveredN, recoveredN + lostN)}</div><div class="sub">of failed renewals that ended</div></div>
<div class="kpi"><div class="label">Subscriptions</div><div class="value">${count('active') + count('past_due')} paid</div><div class="sub">${count('active')} active · ${count('downgraded')} downgraded · ${count('canceled')} canceled</div></div>
<div class="kpi"><div class="label">Open help requests</div><div class="value"><a href="/console/help">${open.length}</a></div><div class="sub">waiting for an answer</div></div>
</div></section>`;

      const graceTable = html`<section class="panel" aria-labelledby="grace-title"><h2 id="grace-title">Accounts in grace</h2>
${
  grace.length
    ? html`<div class="table-wrap" role="region" aria-label="Table: grace accounts" tabindex="0"><table class="data"><thead><tr>
<th scope="col">Account</th><th scope="col">Plan</th><th scope="col" class="num">Amount</th><th scope="col">Last decline</th><th scope="col" class="num">Attempts</th><th scope="col">Next</th><th scope="col">Grace ends</th></tr></thead><tbody>
${grace.map(
  (g) => html`<tr><td><a href="/console/accounts/${g.account_id}">${g.name}</a> <span class="muted small">.${g.domain_zone}</span></td><td>${g.plan_id}</td><td class="num">${money(g.amount, g.currency)}</td>
<td>${reasonLabel(g.last_reason)}</td><td class="num">${g.attempts}</td>
<td>${g.next_retry_at ? html`retry ${when(g.next_retry_at)}` : html`<span class="muted">no automatic retry (${(g.next_retry_why ?? '').replace(/_/g, ' ')})</span>`}</td>
<td>${when(g.grace_ends_at)}</td></tr>`,
)}</tbody></table></div>`
    : html`<p class="muted">No account is in grace.</p>`
}</section>`;

      const reasonRows = byReason.map((r) => {
        const ended = r.recovered + r.lost;
        return html`<tr><th scope="row">${reasonLabel(r.reason)}</th>
<td class="chart-cell">${stackedBar([
          { value: r.recovered, color: COLORS.recovered, label: 'Recovered' },
          { value: r.lost, color: COLORS.lost, label: 'Lost' },
          { value: r.open, color: COLORS.open, label: 'In grace' },
        ])}</td>
<td class="num">${r.recovered}</td><td class="num">${r.lost}</td><td class="num">${r.open}</td><td class="num"><strong>${pct(r.recovered, ended)}</strong></td></tr>`;
      });
      const reasonChart = html`<section class="panel" aria-labelledby="reason-title"><h2 id="reason-title">Recovery rate by decline reason</h2>
<p class="muted small">Failed renewals by the reason of their first decline. Rate = recovered ÷ (recovered + lost).</p>
<ul class="legend"><li>${swatch(COLORS.recovered)}Recovered</li><li>${swatch(COLORS.lost)}Lost</li><li>${swatch(COLORS.open)}Still in grace</li></ul>
${
  byReason.length
    ? html`<div class="table-wrap" role="region" aria-label="Table: recovery by reason" tabindex="0"><table class="data"><thead><tr><th scope="col">Reason</th><th scope="col" class="chart-col">Outcome</th><th scope="col" class="num">Recovered</th><th scope="col" class="num">Lost</th><th scope="col" class="num">In grace</th><th scope="col" class="num">Rate</th></tr></thead>
<tbody>${reasonRows}</tbody></table></div>`
    : html`<p class="muted">No failed renewal yet.</p>`
}</section>`;

      const numberChart = html`<section class="panel" aria-labelledby="num-title"><h2 id="num-title">Success rate by attempt number</h2>
<p class="muted small">Attempt 1 is the renewal charge; 2 and up are retries (scheduled, Retry button, new card).</p>
${
  byNumber.length
    ? html`<div class="table-wrap" role="region" aria-label="Table: success by attempt" tabindex="0"><table class="data"><thead><tr><th scope="col">Attempt</th><th scope="col" class="chart-col">Success rate</th><th scope="col" class="num">Succeeded</th><th scope="col" class="num">Made</th><th scope="col" class="num">Rate</th></tr></thead>
<tbody>${byNumber.map(
        (r) => html`<tr><th scope="row">#${r.number}${r.number >= 12 ? '+' : ''}</th><td class="chart-cell">${rateBar(r.attempts ? r.succeeded / r.attempts : null)}</td><td class="num">${r.succeeded}</td><td class="num">${r.attempts}</td><td class="num"><strong>${pct(r.succeeded, r.attempts)}</strong></td></tr>`,
      )}</tbody></table></div>`
    : html`<p class="muted">No renewal attempt yet.</p>`
}</section>`;

      const labels = weeks.map((w) => dFmt.format(w.week));
      const churnChart = html`<section class="panel" aria-labelledby="churn-title"><h2 id="churn-title">Involuntary churn over time</h2>
<p class="muted small">Per week (starting Monday, UTC), up to the last 12 weeks: renewals that failed, that were recovered, and accounts downgraded when grace ended unpaid.</p>
${columnChart({
  id: 'churn',
  title: 'Failed renewals, recoveries and involuntary churn per week',
  description: weeks.map((w, i) => `Week of ${labels[i]}: ${w.failed} failed, ${w.recovered} recovered, ${w.churned} downgraded`).join('; '),
  labels,
  series: [
    { name: 'Renewals failed', color: COLORS.failed, values: weeks.map((w) => w.failed) },
    { name: 'Recovered', color: COLORS.recovered, values: weeks.map((w) => w.recovered) },
    { name: 'Downgraded (involuntary churn)', color: COLORS.lost, values: weeks.map((w) => w.churned) },
  ],
})}
<details><summary>Show the numbers</summary><div class="table-wrap"><table class="data"><thead><tr><th scope="col">Week of</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Recovered</th><th scope="col" class="num">Downgraded</th><th scope="col" class="num">Canceled (voluntary)</th></tr></thead>
<tbody>${weeks.map((w, i) => html`<tr><th scope="row">${labels[i]}</th><td class="num">${w.failed}</td><td class="num">${w.recovered}</td><td class="num">${w.churned}</td><td class="num">${w.canceled}</td></tr>`)}</tbody></table></div></details>
</section>`;

      const clock = ctx.testClock
        ? html`<section class="panel" aria-labelledby="clock-title"><h2 id="clock-title">Test clock</h2>
<p>Now: <strong id="clock-now">${when(now)}</strong>. Advancing runs every renewal, retry, reminder, downgrade, e-mail and webhook due on the way.</p>
<form method="post" action="/console/test-clock/advance" class="row">${hidden('_csrf', s.csrf)}
<div class="field"><label for="advance-days">Advance by (days)</label><input type="number" id="advance-days" name="days" min="0.01" max="3660" step="any" value="1" required></div>
<div class="field actions"><button type="submit" class="btn">Advance time</button></div></form></section>`
        : '';

      return sendHtml(
        reply,
        shell({
          title: 'Dashboard',
          s,
          active: 'dashboard',
          flash: sessions.takeFlash(s),
          body: html`<h1>Dashboard</h1>${kpis}${clock}${graceTable}<div class="grid-2">${reasonChart}${numberChart}</div>${churnChart}`,
        }),
      );
    }),
  );

  app.post(
    '/console/test-clock/advance',
    act(
      () => '/console',
      async (req) => {
        const tc = ctx.testClock;
        if (!tc) return { kind: 'error', text: 'The test clock is off (start renewd with RENEWD_TEST_CLOCK=1).' };
        const days = Number(str((req.body as Body).days));
        if (!Number.isFinite(days) || days <= 0 || days > 3660) return { kind: 'error', text: 'Give a number of days from 0.01 to 3660.' };
        const run = clockQueue.then(() => advanceTestClock(ctx.db, tc, new Date(tc.now().getTime() + days * DAY), ctx.runners));
        clockQueue = run.catch(() => {});
        const r = await run;
        return { kind: 'success', text: `Test clock advanced by ${days} day${days === 1 ? '' : 's'} to ${when(r.now)} (${r.steps} steps of due work).` };
      },
    ),
  );

  // ---- accounts ----
  app.get(
    '/console/accounts',
    guard(async (req, reply, s) => {
      const status = str((req.query as Body).status);
      const valid = ['active', 'past_due', 'downgraded', 'canceled', 'incomplete'];
      const rows = await commands.listAccounts({ status: valid.includes(status) ? status : undefined, limit: 500 });
      const filters = html`<nav aria-label="Filter by status" class="actions">${['', ...valid].map(
        (st) => html`<a class="btn btn-secondary" href="/console/accounts${st ? `?status=${st}` : ''}"${attrs({ 'aria-current': st === status ? 'page' : null })}>${st ? st.replace('_', ' ') : 'all'}</a>`,
      )}</nav>`;
      return sendHtml(
        reply,
        shell({
          title: 'Accounts',
          s,
          active: 'accounts',
          flash: sessions.takeFlash(s),
          body: html`<h1>Accounts</h1>${filters}
<div class="table-wrap" role="region" aria-label="Accounts" tabindex="0"><table class="data"><thead><tr><th scope="col">Account</th><th scope="col">Zone</th><th scope="col">Locale</th><th scope="col">Plan</th><th scope="col">Status</th><th scope="col">Grace ends</th><th scope="col">Next action</th></tr></thead><tbody>
${rows.map(
  (a: any) => html`<tr><td><a href="/console/accounts/${a.id}">${a.name}</a><br><span class="muted small">${a.email}</span></td><td>.${a.domain_zone}</td><td>${a.locale}</td><td>${a.plan_id ?? '—'}</td><td>${badge(a.subscription_status)}</td><td>${when(a.grace_ends_at)}</td><td>${a.next_action ? html`${NEXT_SHORT[a.next_action] ?? a.next_action} ${when(a.next_action_at)}` : '—'}</td></tr>`,
)}
</tbody></table></div>${rows.length ? '' : html`<p class="muted">No accounts.</p>`}`,
        }),
      );
    }),
  );

  app.get(
    '/console/accounts/:id',
    guard(async (req, reply, s) => {
      const id = (req.params as { id: string }).id;
      const account = await commands.getAccount(id);
      if (!account) return sendHtml(reply, shell({ title: 'Not found', s, body: html`<h1>No such account</h1><p><a href="/console/accounts">All accounts</a></p>` }), 404);
      const [sub, pm, invoices, timeline, help, mails] = await Promise.all([
        commands.subscriptionView(id),
        commands.getPaymentMethod(id),
        commands.invoices(id),
        commands.timeline(id),
        deps.listHelpRequests({ account_id: id }).catch(() => []),
        deps.listNotifications({ account_id: id, limit: 50 }).catch(() => []),
      ]);
      const facts = html`<section class="panel" aria-labelledby="acct-title"><h2 id="acct-title">Account and subscription</h2><dl class="facts">
<dt>E-mail</dt><dd>${account.email}</dd>
<dt>Locale · zone · time zone</dt><dd>${account.locale} · .${account.domain_zone} · ${account.time_zone}</dd>
<dt>Currency</dt><dd>${account.currency}</dd>
<dt>Plan</dt><dd>${sub ? html`${sub.plan_id} (${sub.interval}ly) ${badge(sub.status)}` : 'no subscription'}</dd>
${sub ? html`<dt>Current period</dt><dd>${when(sub.current_period_start)} → ${when(sub.current_period_end)}</dd><dt>Auto-renew</dt><dd>${sub.auto_renew ? 'on' : 'off'}</dd>` : ''}
${sub?.grace_ends_at ? html`<dt>Grace ends</dt><dd>${when(sub.grace_ends_at)}</dd>` : ''}
<dt>Payment method</dt><dd>${pm ? `${pm.brand ?? pm.type} ···· ${pm.last4 ?? ''} (exp. ${pm.exp_month ?? '?'}/${pm.exp_year ?? '?'})` : 'none'}</dd>
</dl></section>`;
      const next = timeline.next;
      const events = html`<section class="panel" aria-labelledby="tl-title"><h2 id="tl-title">Timeline</h2>
<ol class="timeline">
${next ? html`<li class="next"><time>${when(next.at)}</time><strong>Next: ${NEXT_ACTION[String(next.action)] ?? next.action ?? ''}</strong>${next.retry_why ? html` <span class="muted">(${String(next.retry_why).replace(/_/g, ' ')})</span>` : ''}</li>` : html`<li class="next"><strong>Nothing scheduled</strong></li>`}
${timeline.events.map((e) => html`<li><time>${when(e.at)}</time>${describeEvent(e.type, (e.data ?? {}) as Record<string, any>)}</li>`)}
</ol></section>`;
      const inv = html`<section class="panel" aria-labelledby="inv-title"><h2 id="inv-title">Invoices and attempts</h2>
${invoices.length ? '' : html`<p class="muted">No invoices.</p>`}
${invoices.map(
  (i) => html`<article class="invoice" aria-label="Invoice ${i.id}"><div class="invoice-head"><h3>${i.kind} · ${i.plan_id} <span class="mono muted">${i.id}</span></h3><span class="amount">${money(i.amount, i.currency)}</span></div>
<p>${badge(i.status)} <span class="muted small">${when(i.period_start)} → ${when(i.period_end)}</span></p>
${
  i.attempts.length
    ? html`<div class="table-wrap"><table class="data"><thead><tr><th scope="col">#</th><th scope="col">At</th><th scope="col">Trigger</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">Class</th></tr></thead><tbody>
${i.attempts.map((a) => html`<tr><td>${a.number}</td><td>${when(a.at)}</td><td>${a.trigger}</td><td>${badge(a.outcome)}</td><td>${a.reason ? reasonLabel(a.reason) : '—'}</td><td>${a.retry_class ?? '—'}</td></tr>`)}
</tbody></table></div>`
    : ''
}
${
  i.status === 'past_due'
    ? html`<form method="post" action="/console/invoices/${i.id}/retry" class="actions">${hidden('_csrf', s.csrf)}${hidden('account_id', id)}<button type="submit" class="btn btn-secondary">Retry now (operator)</button>
${i.retry.available ? '' : html`<span class="muted small">Customer Retry unavailable: ${i.retry.reason}</span>`}</form>`
    : ''
}
</article>`,
)}</section>`;
      const helpList = help.length
        ? html`<section class="panel" aria-labelledby="acct-help"><h2 id="acct-help">Help requests</h2>${help.map(
            (h) => html`<div class="help-item"><p>${badge(h.status)} <span class="muted small">${when(h.created_at)}</span> <a href="/console/help?status=all#hr-${h.id}">open</a></p><p class="message">${h.message}</p>${h.answer ? html`<div class="answer">${h.answer}</div>` : ''}</div>`,
          )}</section>`
        : '';
      const mailList = html`<section class="panel" aria-labelledby="acct-mail"><h2 id="acct-mail">E-mails</h2>${
        mails.length
          ? html`<div class="table-wrap"><table class="data"><thead><tr><th scope="col">When</th><th scope="col">Template</th><th scope="col">Subject</th><th scope="col">Status</th></tr></thead><tbody>
${mails.map((m) => html`<tr><td>${when(m.created_at)}</td><td>${m.template}</td><td>${m.subject}</td><td>${badge(m.status)}</td></tr>`)}</tbody></table></div>`
          : html`<p class="muted">No e-mails.</p>`
      }</section>`;
      return sendHtml(
        reply,
        shell({
          title: account.name,
          s,
          active: 'accounts',
          flash: sessions.takeFlash(s),
          body: html`<p><a href="/console/accounts">← Accounts</a></p><h1>${account.name} <span class="mono muted small">${account.id}</span></h1>
<div class="grid-2"><div>${facts}${inv}</div><div>${events}${helpList}${mailList}</div></div>`,
        }),
      );
    }),
  );

  app.post(
    '/console/invoices/:id/retry',
    act(
      (req) => `/console/accounts/${encodeURIComponent(str((req.body as Body).account_id) || '')}`,
      async (req) => {
        const id = (req.params as { id: string }).id;
        const r = await commands.retry(id, 'operator');
        return { kind: r.outcome === 'succeeded' ? 'success' : 'error', text: `Operator retry: ${r.outcome}${r.reason ? ` (${reasonLabel(r.reason)})` : ''}; invoice is ${r.invoice_status.replace(/_/g, ' ')}.` };
      },
    ),
  );

  // ---- help requests ----
  app.get(
    '/console/help',
    guard(async (req, reply, s) => {
      const status = str((req.query as Body).status) || 'open';
      const list = await deps.listHelpRequests({ status: status === 'all' ? undefined : status, limit: 200 });
      const names = new Map<string, string>();
      for (const h of list) if (!names.has(h.account_id)) names.set(h.account_id, (await commands.getAccount(h.account_id))?.name ?? h.account_id);
      const flash = sessions.takeFlash(s);
      const fields = flash?.fields ?? {};
      const filters = html`<nav aria-label="Filter by status" class="actions">${['open', 'answered', 'closed', 'all'].map(
        (st) => html`<a class="btn btn-secondary" href="/console/help?status=${st}"${attrs({ 'aria-current': st === status ? 'page' : null })}>${st}</a>`,
      )}</nav>`;
      const items = list.map((h) => {
        const fid = `answer-${h.id}`;
        const ctxInfo = summarizeHelpContext(h.context);
        return html`<article class="panel" id="hr-${h.id}" aria-labelledby="hr-${h.id}-t">
<h2 id="hr-${h.id}-t"><a href="/console/accounts/${h.account_id}">${names.get(h.account_id)}</a> ${badge(h.status)}</h2>
<p class="muted small">Sent ${when(h.created_at)} · invoice <span class="mono">${h.invoice_id}</span>${ctxInfo ? ` · ${ctxInfo}` : ''}</p>
<p class="message">${h.message}</p>
${h.answer ? html`<div class="answer"><strong>Answer:</strong> ${h.answer}</div>` : ''}
${
  h.status !== 'closed'
    ? html`<form method="post" action="/console/help/${h.id}/answer">${hidden('_csrf', s.csrf)}
<div class="field"><label for="${fid}">${h.answer ? 'Answer again' : 'Answer'}</label><textarea id="${fid}" name="answer" rows="3" maxlength="5000"${attrs({ 'aria-invalid': fields[fid] ? 'true' : null, 'aria-describedby': fields[fid] ? `${fid}-error` : null })}></textarea>
${fields[fid] ? html`<span class="error-text" id="${fid}-error">${fields[fid]}</span>` : ''}</div>
<div class="actions"><button type="submit" class="btn">Send answer</button></div></form>
<form method="post" action="/console/help/${h.id}/close" class="actions">${hidden('_csrf', s.csrf)}<button type="submit" class="btn btn-danger">Close request</button></form>`
    : html`<p class="muted small">Closed ${when(h.closed_at)}</p>`
}
</article>`;
      });
      return sendHtml(
        reply,
        shell({
          title: 'Help requests',
          s,
          active: 'help',
          flash,
          body: html`<h1>Help requests</h1>${filters}${items.length ? items : html`<p class="muted">No ${status === 'all' ? '' : status} help requests.</p>`}`,
        }),
      );
    }),
  );

  app.post(
    '/console/help/:id/answer',
    act(
      (req) => `/console/help?status=all#hr-${(req.params as { id: string }).id}`,
      async (req) => {
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
    act(
      () => '/console/help',
      async (req) => {
        await deps.closeHelpRequest((req.params as { id: string }).id);
        return { kind: 'success', text: 'Help request closed.' };
      },
    ),
  );

  // ---- outbox ----
  app.get(
    '/console/outbox',
    guard(async (req, reply, s) => {
      const accountId = str((req.query as Body).account_id) || undefined;
      const mails = await deps.listNotifications({ account_id: accountId, limit: 300 });
      return sendHtml(
        reply,
        shell({
          title: 'Outbox',
          s,
          active: 'outbox',
          flash: sessions.takeFlash(s),
          body: html`<h1>Outbox</h1><p class="muted">E-mails written by renewd (sent over SMTP when SMTP_URL is set; kept here either way). Newest first.</p>
${
  mails.length
    ? html`<div class="table-wrap" role="region" aria-label="E-mails" tabindex="0"><table class="data"><thead><tr><th scope="col">Created</th><th scope="col">To</th><th scope="col">Template</th><th scope="col">Locale</th><th scope="col">Subject</th><th scope="col">Status</th></tr></thead><tbody>
${mails.map(
  (m) => html`<tr><td>${when(m.created_at)}</td><td>${m.account_id ? html`<a href="/console/accounts/${m.account_id}">${m.to}</a>` : m.to}</td><td>${m.template}</td><td>${m.locale}</td>
<td><a href="/console/outbox/${m.id}">${m.subject}</a></td><td>${badge(m.status)}</td></tr>`,
)}</tbody></table></div>`
    : html`<p class="muted">The outbox is empty.</p>`
}`,
        }),
      );
    }),
  );

  app.get(
    '/console/outbox/:id',
    guard(async (req, reply, s) => {
      const m = await deps.getNotification((req.params as { id: string }).id);
      if (!m) return sendHtml(reply, shell({ title: 'Not found', s, active: 'outbox', body: html`<h1>No such e-mail</h1><p><a href="/console/outbox">Outbox</a></p>` }), 404);
      return sendHtml(
        reply,
        shell({
          title: m.subject,
          s,
          active: 'outbox',
          body: html`<p><a href="/console/outbox">← Outbox</a></p><h1>${m.subject}</h1>
<section class="panel" aria-label="E-mail"><dl class="facts"><dt>To</dt><dd>${m.to}</dd><dt>Template</dt><dd>${m.template} (${m.locale})</dd><dt>Created</dt><dd>${when(m.created_at)}</dd><dt>Status</dt><dd>${badge(m.status)}${m.sent_at ? html` ${when(m.sent_at)}` : ''}</dd>
${m.account_id ? html`<dt>Account</dt><dd><a href="/console/accounts/${m.account_id}">${m.account_id}</a></dd>` : ''}</dl>
<h2>Text</h2><pre class="body">${m.body_text}</pre></section>`,
        }),
      );
    }),
  );

  // ---- webhooks ----
  // The same functions as /v1/webhook-endpoints (deps.webhooks): endpoints with their status,
  // registering one (URL + event types; the signing secret is shown once), enable/disable, and the
  // deliveries with each attempt.
  const WEBHOOK_GROUPS: [string, string][] = [
    ['*', 'All events'],
    ['subscription.*', 'Subscriptions (renewed, past due, downgraded…)'],
    ['invoice.*', 'Invoices (created, paid, uncollectible…)'],
    ['payment_attempt.*', 'Payment attempts'],
    ['payment_method.*', 'Payment methods'],
    ['dunning.*', 'Dunning (retries planned, reminders)'],
    ['help_request.*', 'Help requests'],
  ];
  const EVENT_TYPE_RE = new RegExp(EVENT_TYPE_PATTERN);

  async function webhooksPage(
    reply: FastifyReply,
    s: Session<OperatorSession>,
    o: { endpoint?: string; flash?: Flash | null; values?: Record<string, string>; groups?: string[]; errors?: Record<string, string>; status?: number },
  ) {
    const wh = deps.webhooks;
    if (!wh) return sendHtml(reply, shell({ title: 'Webhooks', s, active: 'webhooks', body: html`<h1>Webhooks</h1><p>Webhooks are not available in this build.</p>` }), 404);
    const [endpoints, deliveries] = await Promise.all([wh.endpoints(), wh.deliveries({ endpoint_id: o.endpoint, limit: 200 })]);
    const urlOf = new Map(endpoints.map((e) => [e.id, e.url]));
    const disabledIds = new Set(endpoints.filter((e) => e.status === 'disabled').map((e) => e.id));
    const shown = o.endpoint ? endpoints.find((e) => e.id === o.endpoint) : undefined;
    const errors = o.errors ?? {};
    const values = o.values ?? {};
    const groups = new Set(o.groups ?? []);
    const secret = o.flash?.values?.secret;
    const errText = (k: string) => (errors[k] ? html`<span class="error-text" id="wh-${k}-error">${errors[k]}</span>` : '');
    const describedBy = (k: string, hint: boolean) => [hint ? `wh-${k}-hint` : null, errors[k] ? `wh-${k}-error` : null].filter(Boolean).join(' ') || null;

    const errorSummary = Object.keys(errors).length
      ? html`<div id="flash" class="flash flash-error" role="alert" tabindex="-1"><p><strong>The endpoint was not added.</strong></p>
<ul>${Object.entries(errors).map(([k, m]) => html`<li><a href="#wh-${k === 'event_types' ? 'type-0' : k}">${m}</a></li>`)}</ul></div>`
      : '';
    const secretBox = secret
      ? html`<section class="panel secret" aria-labelledby="secret-title"><h2 id="secret-title">Signing secret</h2>
<p>For <span class="mono">${o.flash?.values?.url ?? ''}</span>. Copy it now: it is not shown again. Each delivery carries <span class="mono">Renewd-Signature: t=…,v1=…</span>, the HMAC-SHA256 of <span class="mono">"&lt;t&gt;.&lt;raw body&gt;"</span> keyed with this secret.</p>
<p><label for="wh-secret">Secret</label><input type="text" id="wh-secret" class="mono" readonly value="${secret}" spellcheck="false"></p></section>`
      : '';

    const endpointRows = endpoints.map((e) => {
      const next = e.status === 'enabled' ? 'disabled' : 'enabled';
      const health =
        e.status === 'disabled'
          ? html`<br><span class="muted small">${e.disabled_reason ?? ''}</span>`
          : e.consecutive_failures
            ? html`<br><span class="muted small">${e.consecutive_failures} failed attempt(s) in a row since ${when(e.failing_since)}</span>`
            : '';
      return html`<tr><td><span class="mono">${e.url}</span>${e.description ? html`<br><span class="muted small">${e.description}</span>` : ''}</td>
<td>${e.event_types.join(', ')}</td><td>${badge(e.status)}${health}</td><td>${when(e.created_at)}</td>
<td><div class="actions"><a href="/console/webhooks?endpoint=${e.id}#del-title"${attrs({ 'aria-current': o.endpoint === e.id ? 'true' : null })}>Deliveries<span class="visually-hidden"> to ${e.url}</span></a>
<form method="post" action="/console/webhooks/${e.id}/status">${hidden('_csrf', s.csrf)}${hidden('status', next)}<button type="submit" class="btn ${next === 'disabled' ? 'btn-danger' : 'btn-secondary'}">${next === 'disabled' ? 'Disable' : 'Enable'}<span class="visually-hidden"> ${e.url}</span></button></form></div></td></tr>`;
    });
    const endpointsPanel = html`<section class="panel" aria-labelledby="ep-title"><h2 id="ep-title">Endpoints</h2>${
      endpoints.length
        ? html`<div class="table-wrap" role="region" aria-label="Table: webhook endpoints" tabindex="0"><table class="data"><thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead><tbody>
${endpointRows}</tbody></table></div>`
        : html`<p class="muted">No endpoint yet. Add one below (or with <span class="mono">POST /v1/webhook-endpoints</span>).</p>`
    }</section>`;

    const form = html`<section class="panel" aria-labelledby="add-title"><h2 id="add-title">Add an endpoint</h2>
<form method="post" action="/console/webhooks" novalidate>${hidden('_csrf', s.csrf)}
<div class="field"><label for="wh-url">Endpoint URL</label><span class="hint" id="wh-url-hint">An http(s) URL that accepts POSTed JSON, e.g. https://example.com/renewd/webhooks.</span>
<input type="text" inputmode="url" id="wh-url" name="url" maxlength="2000" spellcheck="false" autocomplete="off" value="${values.url ?? ''}"${attrs({ 'aria-invalid': errors.url ? 'true' : null, 'aria-describedby': describedBy('url', true) })}>${errText('url')}</div>
<div class="field"><label for="wh-description">Description (optional)</label>
<input type="text" id="wh-description" name="description" maxlength="500" value="${values.description ?? ''}"${attrs({ 'aria-invalid': errors.description ? 'true' : null, 'aria-describedby': describedBy('description', false) })}>${errText('description')}</div>
<fieldset${attrs({ 'aria-describedby': describedBy('event_types', true) })}><legend>Event types</legend><span class="hint" id="wh-event_types-hint">Choose at least one group, or name event types below.</span>
${WEBHOOK_GROUPS.map(([v, label], i) => html`<label class="check"><input type="checkbox" id="wh-type-${i}" name="event_types" value="${v}"${attrs({ checked: groups.has(v) })}> ${label} <span class="mono muted">${v}</span></label>`)}
<div class="field"><label for="wh-more">Other event types</label><span class="hint" id="wh-more-hint">Comma-separated, e.g. subscription.renewed, invoice.paid. Known types: ${KNOWN_EVENT_TYPES.join(', ')}.</span>
<input type="text" id="wh-more" name="more_event_types" spellcheck="false" autocomplete="off" value="${values.more_event_types ?? ''}"${attrs({ 'aria-invalid': errors.event_types ? 'true' : null, 'aria-describedby': describedBy('more', true) })}></div>
${errText('event_types')}</fieldset>
<div class="actions"><button type="submit" class="btn">Add endpoint</button></div></form></section>`;

    const attemptLog = (d: (typeof deliveries)[number]) =>
      d.attempt_log && d.attempt_log.length > 1
        ? html`<details><summary>${d.attempt_log.length} attempts</summary><ol>${d.attempt_log.map((a) => html`<li>${when(a.attempted_at)}: ${a.status_code ?? ''} ${a.error ?? 'OK'} <span class="muted small">(${a.duration_ms} ms)</span></li>`)}</ol></details>`
        : '';
    const deliveriesPanel = html`<section class="panel" aria-labelledby="del-title"><h2 id="del-title">${shown ? html`Deliveries to <span class="mono">${shown.url}</span>` : 'Recent deliveries'}</h2>
${shown ? html`<p><a href="/console/webhooks#del-title">All endpoints</a></p>` : ''}
${
  deliveries.length
    ? html`<div class="table-wrap" role="region" aria-label="Table: webhook deliveries" tabindex="0"><table class="data"><thead><tr><th scope="col">Created</th><th scope="col">Event</th><th scope="col">Endpoint</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Last answer</th><th scope="col">Delivered / next try</th></tr></thead><tbody>
${deliveries.map(
  (d) => html`<tr><td>${when(d.created_at)}</td><td>${d.event_type}${d.event_id ? html`<br><span class="mono muted small">${d.event_id}</span>` : ''}</td><td class="mono">${urlOf.get(d.endpoint_id) ?? d.endpoint_id}</td><td>${badge(d.status)}</td><td class="num">${d.attempts}</td>
<td>${d.last_status_code !== null ? html`HTTP ${d.last_status_code}` : ''}${d.last_error ? html` <span class="small">${d.last_error}</span>` : ''}${attemptLog(d)}</td>
<td>${
    d.delivered_at
      ? when(d.delivered_at)
      : d.status === 'pending' && disabledIds.has(d.endpoint_id)
        ? html`<span class="muted">held while the endpoint is disabled</span>`
        : d.next_attempt_at && d.status === 'pending'
          ? html`next ${when(d.next_attempt_at)}`
          : '—'
  }</td></tr>`,
)}</tbody></table></div>`
    : html`<p class="muted">No deliveries yet.</p>`
}</section>`;

    return sendHtml(
      reply,
      shell({
        title: 'Webhooks',
        s,
        active: 'webhooks',
        flash: errorSummary ? null : o.flash,
        body: html`<h1>Webhooks</h1>${errorSummary}
<p class="muted">renewd POSTs each event as JSON <span class="mono">{id, type, created, data}</span> to the endpoints subscribed to its type, signed with the endpoint's secret, and retries failures with backoff for about a day (1m, 5m, 30m, 2h, 5h, 10h, 12h). Same as <span class="mono">/v1/webhook-endpoints</span>.</p>
${secretBox}${endpointsPanel}${form}${deliveriesPanel}`,
      }),
      o.status ?? 200,
    );
  }

  app.get(
    '/console/webhooks',
    guard(async (req, reply, s) => {
      const endpoint = str((req.query as Body).endpoint) || undefined;
      return webhooksPage(reply, s, { endpoint, flash: sessions.takeFlash(s), groups: [] });
    }),
  );

  app.post(
    '/console/webhooks',
    guard(async (req, reply, s) => {
      const wh = deps.webhooks;
      if (!wh) return webhooksPage(reply, s, {});
      const body = (req.body ?? {}) as Body;
      const url = str(body.url).trim();
      const description = str(body.description).trim();
      const more = str(body.more_event_types).trim();
      const groups = ([] as unknown[]).concat(body.event_types ?? []).map(String).filter((g) => WEBHOOK_GROUPS.some(([v]) => v === g));
      const extra = more.split(/[\s,;]+/).filter(Boolean);
      const values = { url, description, more_event_types: more };
      const errors: Record<string, string> = {};
      // The API's rules (its JSON schema and createEndpoint's checks), as messages next to the fields.
      if (!url) errors.url = 'Enter the URL that receives the events.';
      else if (url.length > 2000) errors.url = 'The URL is longer than 2000 characters.';
      else {
        let u: URL | null = null;
        try {
          u = new URL(url);
        } catch {
          errors.url = `"${url}" is not a valid URL (it starts with https:// or http://).`;
        }
        if (u && u.protocol !== 'http:' && u.protocol !== 'https:') errors.url = 'Only http and https URLs can receive webhooks.';
      }
      if (description.length > 500) errors.description = 'The description is longer than 500 characters.';
      const bad = extra.filter((t) => t.length > 100 || !EVENT_TYPE_RE.test(t));
      if (bad.length) errors.event_types = `${bad.map((b) => `"${b}"`).join(', ')} ${bad.length === 1 ? 'is not an event type' : 'are not event types'} (e.g. invoice.paid, invoice.*, *).`;
      else if (groups.length + extra.length === 0) errors.event_types = 'Choose at least one event type.';
      else if (groups.length + extra.length > 100) errors.event_types = 'At most 100 event types.';
      if (Object.keys(errors).length) return webhooksPage(reply, s, { values, groups, errors, status: 400 });
      try {
        const ep = await wh.create({ url, event_types: [...groups, ...extra], description: description || null });
        s.flash = { kind: 'success', text: `Endpoint added: ${ep.url}. It receives ${ep.event_types.join(', ')} from now on.`, values: { secret: ep.secret, url: ep.url } };
      } catch (err) {
        if (err instanceof RangeError) {
          const m = /^(url|event_types): (.*)$/.exec(err.message);
          return webhooksPage(reply, s, { values, groups, errors: { [m ? m[1] : 'url']: m ? m[2] : err.message }, status: 400 });
        }
        throw err;
      }
      return reply.redirect('/console/webhooks', 303);
    }),
  );

  app.post(
    '/console/webhooks/:id/status',
    act(
      () => '/console/webhooks',
      async (req) => {
        const id = (req.params as { id: string }).id;
        const status = str((req.body as Body).status);
        if (status !== 'enabled' && status !== 'disabled') return { kind: 'error', text: 'Choose enable or disable.' };
        const ep = await deps.webhooks?.setStatus(id, status);
        if (!ep) return { kind: 'error', text: `No webhook endpoint ${id}.` };
        return { kind: 'success', text: status === 'enabled' ? `Endpoint ${ep.url} enabled; its pending deliveries resume.` : `Endpoint ${ep.url} disabled; nothing is sent to it until it is enabled again.` };
      },
    ),
  );

  // ---- dunning policy ----
  async function policyPage(reply: FastifyReply, s: Session<OperatorSession>, o: { values?: Record<string, string>; errors?: Record<string, string>; general?: string[]; flash?: Flash | null; status?: number }) {
    const all = await loadPolicies(ctx.db);
    const effective = mergePolicy(DEFAULT_POLICY, all.get('default'));
    const v = o.values ?? policyToForm(effective);
    const errors = o.errors ?? {};
    const err = (name: string) => (errors[name] ? html`<span class="error-text" id="${fid(name)}-error">${errors[name]}</span>` : '');
    const a = (name: string, hint?: string) =>
      attrs({ 'aria-invalid': errors[name] ? 'true' : null, 'aria-describedby': [hint ? `${fid(name)}-hint` : null, errors[name] ? `${fid(name)}-error` : null].filter(Boolean).join(' ') || null });
    const num = (name: string, label: string, hint: string) =>
      html`<div class="field"><label for="${fid(name)}">${label}</label><span class="hint" id="${fid(name)}-hint">${hint}</span><input type="text" inputmode="decimal" id="${fid(name)}" name="${name}" value="${v[name] ?? ''}"${a(name, hint)}>${err(name)}</div>`;
    const overrides = [...all].filter(([k]) => k !== 'default');
    const errorSummary = Object.keys(errors).length || o.general?.length
      ? html`<div id="flash" class="flash flash-error" role="alert" tabindex="-1"><p><strong>The policy was not saved.</strong> Fix the fields marked below.</p>
${o.general?.length ? html`<ul>${o.general.map((g) => html`<li>${g}</li>`)}</ul>` : ''}
<ul>${Object.entries(errors).map(([k, m]) => html`<li><a href="#${fid(k)}">${k}</a>: ${m}</li>`)}</ul></div>`
      : '';
    const body = html`<h1>Dunning policy</h1>${errorSummary}
<p class="muted">The default policy for every account. Saving re-plans the retries of every account in grace at once. Same rules as <span class="mono">PUT /v1/dunning-policy</span>.</p>
<form method="post" action="/console/policy" novalidate>${hidden('_csrf', s.csrf)}
<div class="grid-2"><div class="panel">
<h2>Grace and retries</h2>
${num('grace_days', 'Grace period (days)', 'Days of full access after a failed renewal, 1 to 60.')}
${num('retry_schedule', 'Retry schedule (days after the failure)', 'Comma-separated, increasing, inside the grace period, e.g. 1, 3, 5, 7.')}
${num('technical_retry_hours', 'Quick retries after technical declines (hours)', 'Issuer unavailable or system failure, e.g. 2, 8.')}
${num('reminder_days', 'Reminders (days before grace ends)', 'e.g. 7, 2.')}
${num('max_automatic_attempts', 'Automatic attempts per invoice', 'The renewal charge included; at most 20.')}
</div><div class="panel">
<h2>Card network caps</h2>
${num('caps.attempts_per_card_30d', 'Attempts per card in 30 days', "At most 20 (Visa's limit).")}
${num('caps.declines_per_card_24h', 'Declines per card in 24 hours', "At most 10 (Mastercard's limit).")}
<h2>Retry button (customers)</h2>
<div class="field"><label class="check"><input type="checkbox" id="f-manual_retry-enabled" name="manual_retry.enabled" value="on"${attrs({ checked: v['manual_retry.enabled'] === 'on' })}> Customers may press Retry</label></div>
${num('manual_retry.max_per_day', 'Retries per customer per day', '0 to 50.')}
${num('manual_retry.disabled_domain_zones', 'Domain zones without Retry', 'Comma-separated, lower case, e.g. ru, by.')}
<fieldset${a('manual_retry.disabled_payment_methods')}><legend>Payment methods without Retry</legend>
${PM_TYPES.map((t) => html`<label class="check"><input type="checkbox" name="manual_retry.disabled_payment_methods" value="${t}"${attrs({ checked: (v['manual_retry.disabled_payment_methods'] ?? '').split(',').includes(t) })}> ${t.replace('_', ' ')}</label>`)}
${err('manual_retry.disabled_payment_methods')}</fieldset>
</div></div>
<div class="panel"><h2>Per decline reason</h2><p class="muted small">How a decline is handled. Card-network hard declines stay "never" whatever is chosen here.</p>
<div class="grid">${DECLINE_REASONS.map(
      (r) => html`<div class="field"><label for="${fid(`decline_rules.${r}`)}">${REASON_LABEL[r]}</label><select id="${fid(`decline_rules.${r}`)}" name="decline_rules.${r}"${a(`decline_rules.${r}`)}>
<option value="">default (from the decline code)</option>${RETRY_CLASSES.map((c) => html`<option value="${c}"${attrs({ selected: v[`decline_rules.${r}`] === c })}>${CLASS_LABEL[c] ?? c}</option>`)}</select>${err(`decline_rules.${r}`)}</div>`,
    )}</div></div>
<div class="actions"><button type="submit" class="btn">Save the policy</button> <a href="/console/policy">Discard changes</a></div>
</form>
<section class="panel" aria-labelledby="ov-title"><h2 id="ov-title">Overrides</h2>${
      overrides.length
        ? html`<p class="muted small">Per plan or domain zone (edit them with <span class="mono">PUT /v1/dunning-policy/overrides/{scope}</span>).</p><div class="table-wrap"><table class="data"><thead><tr><th scope="col">Scope</th><th scope="col">Override</th></tr></thead><tbody>
${overrides.map(([k, o]) => html`<tr><td class="mono">${k}</td><td class="mono">${JSON.stringify(o)}</td></tr>`)}</tbody></table></div>`
        : html`<p class="muted">No overrides.</p>`
    }</section>`;
    return sendHtml(reply, shell({ title: 'Dunning policy', s, active: 'policy', flash: errorSummary ? null : o.flash, body }), o.status ?? 200);
  }

  app.get('/console/policy', guard(async (req, reply, s) => policyPage(reply, s, { flash: sessions.takeFlash(s) })));

  app.post(
    '/console/policy',
    guard(async (req, reply, s) => {
      const body = (req.body ?? {}) as Body;
      const { values, policy, errors } = formToPolicy(body);
      if (Object.keys(errors).length) return policyPage(reply, s, { values, errors, status: 400 });
      // The same endpoint as the API, as this operator: same schema, same validation, same re-planning.
      const res = await app.inject({
        method: 'PUT',
        url: '/v1/dunning-policy',
        headers: { authorization: `Bearer ${s.data.key}`, 'content-type': 'application/json' },
        payload: JSON.stringify(policy),
      });
      if (res.statusCode === 200) {
        s.flash = { kind: 'success', text: 'Policy saved. Retries of accounts in grace were re-planned.' };
        return reply.redirect('/console/policy', 303);
      }
      let problem: { detail?: string; errors?: { field: string; message: string }[] } = {};
      try {
        problem = JSON.parse(res.body);
      } catch {
        /* not JSON */
      }
      const fieldErrors: Record<string, string> = {};
      const general: string[] = [];
      for (const e of problem.errors ?? []) {
        const path = String(e.field ?? '').replace(/^body\/?/, '').replace(/\//g, '.');
        const base = path.replace(/\[\d+\]$/, '').replace(/\.\d+$/, '');
        const name = Object.keys(values).includes(base) || base.startsWith('decline_rules.') ? base : null;
        const msg = path !== base ? `${path.slice(base.length).replace(/^\./, 'item ')}: ${e.message}` : e.message;
        if (name) fieldErrors[name] = fieldErrors[name] ? `${fieldErrors[name]}; ${msg}` : msg;
        else general.push(`${path || 'policy'} ${e.message}`);
      }
      if (!Object.keys(fieldErrors).length && !general.length) general.push(problem.detail ?? `Saving failed (${res.statusCode}).`);
      return policyPage(reply, s, { values, errors: fieldErrors, general, status: res.statusCode >= 500 ? 500 : 400 });
    }),
  );

  // Console pages under /console that do not exist: an HTML 404.
  app.get('/console/*', async (req, reply) => {
    const s = await current(req);
    return sendHtml(reply, shell({ title: 'Not found', s: s ?? undefined, body: html`<h1>Page not found</h1><p><a href="/console">Dashboard</a></p>` }), 404);
  });
}

const fid = (name: string) => `f-${name.replace(/\./g, '-')}`;

function policyToForm(p: DunningPolicy): Record<string, string> {
  const v: Record<string, string> = {
    grace_days: String(p.grace_days),
    retry_schedule: p.retry_schedule.join(', '),
    technical_retry_hours: p.technical_retry_hours.join(', '),
    reminder_days: p.reminder_days.join(', '),
    max_automatic_attempts: String(p.max_automatic_attempts),
    'caps.attempts_per_card_30d': String(p.caps.attempts_per_card_30d),
    'caps.declines_per_card_24h': String(p.caps.declines_per_card_24h),
    'manual_retry.enabled': p.manual_retry.enabled ? 'on' : '',
    'manual_retry.max_per_day': String(p.manual_retry.max_per_day),
    'manual_retry.disabled_domain_zones': p.manual_retry.disabled_domain_zones.join(', '),
    'manual_retry.disabled_payment_methods': p.manual_retry.disabled_payment_methods.join(','),
  };
  for (const r of DECLINE_REASONS) v[`decline_rules.${r}`] = p.decline_rules[r] ?? '';
  return v;
}

/** The form as a full policy, or the fields that are not numbers. Range rules are the API's job. */
export function formToPolicy(body: Body) {
  const values: Record<string, string> = {};
  const errors: Record<string, string> = {};
  const one = (k: string) => str(body[k]).trim();
  const number = (k: string): number => {
    const s = one(k);
    values[k] = s;
    if (!/^-?\d+(\.\d+)?$/.test(s)) {
      errors[k] = s === '' ? 'Enter a number.' : `"${s}" is not a number.`;
      return NaN;
    }
    return Number(s);
  };
  const list = (k: string): number[] => {
    const s = one(k);
    values[k] = s;
    const parts = s.split(/[\s,;]+/).filter(Boolean);
    const bad = parts.filter((p) => !/^-?\d+(\.\d+)?$/.test(p));
    if (bad.length) errors[k] = `${bad.map((b) => `"${b}"`).join(', ')} ${bad.length === 1 ? 'is not a number' : 'are not numbers'}; separate numbers with commas.`;
    return parts.map(Number);
  };
  const pms = ([] as unknown[]).concat(body['manual_retry.disabled_payment_methods'] ?? []).map(String);
  values['manual_retry.disabled_payment_methods'] = pms.join(',');
  values['manual_retry.enabled'] = one('manual_retry.enabled') ? 'on' : '';
  const zones = one('manual_retry.disabled_domain_zones');
  values['manual_retry.disabled_domain_zones'] = zones;
  const decline_rules: Record<string, string> = {};
  for (const r of DECLINE_REASONS) {
    const c = one(`decline_rules.${r}`);
    values[`decline_rules.${r}`] = c;
    if (c) decline_rules[r] = c;
  }
  const policy = {
    grace_days: number('grace_days'),
    retry_schedule: list('retry_schedule'),
    technical_retry_hours: list('technical_retry_hours'),
    reminder_days: list('reminder_days'),
    max_automatic_attempts: number('max_automatic_attempts'),
    decline_rules,
    caps: { attempts_per_card_30d: number('caps.attempts_per_card_30d'), declines_per_card_24h: number('caps.declines_per_card_24h') },
    manual_retry: {
      enabled: values['manual_retry.enabled'] === 'on',
      disabled_domain_zones: zones.split(/[\s,;]+/).filter(Boolean).map((z) => z.replace(/^\./, '')),
      disabled_payment_methods: pms,
      max_per_day: number('manual_retry.max_per_day'),
    },
    final_action: 'downgrade',
  };
  return { values, policy, errors };
}

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

/** One line of the timeline, in words. */
export function describeEvent(type: string, d: Record<string, any>): Html {
  const m = (amount: unknown, cur: unknown) => (typeof amount === 'number' && typeof cur === 'string' ? money(amount, cur) : '');
  switch (type) {
    case 'account.created':
      return html`Account created (zone .${d.domain_zone ?? '?'})`;
    case 'subscription.created':
      return html`Subscription created for plan ${d.plan_id}`;
    case 'invoice.created':
      return html`${d.kind === 'purchase' ? 'Purchase' : 'Renewal'} invoice ${m(d.amount, d.currency)} for ${when(d.period_start)} → ${when(d.period_end)}`;
    case 'payment_attempt.started':
      return html`Attempt #${d.number} started (${String(d.trigger ?? '').replace(/_/g, ' ')})`;
    case 'payment_attempt.failed':
      return html`<strong>Attempt #${d.number} ${String(d.outcome ?? 'failed').replace(/_/g, ' ')}</strong>: ${reasonLabel(d.reason)} <span class="muted small">(${[d.raw_code, d.network_code && `network ${d.network_code}`, d.advice_code && `advice ${d.advice_code}`, d.retry_class && `class ${d.retry_class}`].filter(Boolean).join(', ')})</span>`;
    case 'payment_attempt.unknown':
      return html`Attempt outcome unknown: it will be reconciled with its idempotency key`;
    case 'payment_attempt.skipped':
      return html`No payment method on file: attempt skipped`;
    case 'invoice.paid':
      return html`<strong>Invoice paid</strong> ${m(d.amount, d.currency)}${d.recovered ? ' (recovered)' : ''}`;
    case 'subscription.started':
      return html`Subscription started on ${d.plan_id}, until ${when(d.period_end)}`;
    case 'subscription.renewed':
      return html`<strong>Renewed</strong> until ${when(d.period_end)}${d.recovered ? ' after recovery' : ''}`;
    case 'subscription.past_due':
      return html`<strong>Renewal failed</strong> (${reasonLabel(d.reason)}); grace until ${when(d.grace_ends_at)}`;
    case 'dunning.retry_planned':
      return d.next_retry_at ? html`Retry planned for ${when(d.next_retry_at)} (${String(d.why ?? '').replace(/_/g, ' ')})` : html`No automatic retry: ${String(d.why ?? '').replace(/_/g, ' ')}`;
    case 'dunning.reminder_sent':
      return html`Reminder e-mailed: ${d.days_left} day(s) of grace left`;
    case 'invoice.uncollectible':
      return html`<strong>Invoice closed as uncollectible</strong> after ${d.attempts} attempt(s)`;
    case 'subscription.downgraded':
      return html`<strong>Downgraded</strong> from ${d.from_plan_id} to ${d.to_plan_id}`;
    case 'subscription.canceled':
      return html`Canceled (auto-renew off) at the end of the period`;
    case 'payment_method.updated':
      return html`Billing information updated`;
    case 'retry.refused':
      return html`Retry refused (${String(d.trigger ?? '').replace(/_/g, ' ')}): ${String(d.reason ?? '').replace(/_/g, ' ')}`;
    case 'invoice.voided':
      return html`Purchase invoice voided (${reasonLabel(d.reason)})`;
    case 'subscription.auto_renew_changed':
      return html`Auto-renew turned ${d.auto_renew ? 'on' : 'off'}`;
    case 'portal_session.created':
      return html`Link to the customer's Subscription page issued${d.expires_at ? html` (valid until ${when(d.expires_at)})` : ''}`;
    case 'portal_session.revoked':
      return html`Link to the customer's Subscription page revoked`;
    case 'help_request.created': {
      const reasons = Array.isArray(d.decline_reasons) ? d.decline_reasons.map((r: unknown) => reasonLabel(String(r))) : [];
      return html`<strong>Help requested</strong> by the ${d.requested_by === 'operator' ? 'operator' : 'customer'}${reasons.length ? ` (${reasons.join(', ')})` : ''} <a href="/console/help?status=all#hr-${String(d.help_request_id ?? '')}">read</a>`;
    }
    case 'help_request.answered':
      return html`Help request answered; the answer was e-mailed`;
    case 'help_request.closed':
      return html`Help request closed`;
    default:
      return html`${type} <span class="muted small mono">${Object.keys(d).length ? JSON.stringify(d) : ''}</span>`;
  }
}
