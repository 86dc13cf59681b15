// One account: the account and its subscription, its main and backup cards (and the operator's
// Remove backup card), invoices with their attempts (and the operator's Retry), the timeline with
// what happens next, its help requests and its e-mails.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../engine/context.ts';
import type { Account, Interval, PaymentMethod, Plan } from '../../core/types.ts';
import { CommandError } from '../../core/errors.ts';
import type { Flash } from '../sessions.ts';
import { html, str, type Body, type Html } from '../html.ts';
import { hidden } from '../layout.ts';
import type { HelpRequestView, NotificationView } from '../deps.ts';
import { NEXT_ACTION, badge, money, reasonLabel, when, words } from './format.ts';
import type { ConsoleFrame } from './index.ts';
import { CustomerLinks } from '../../engine/links.ts';
import { creditNotePdf, invoicePdf, type PdfDocument } from '../../engine/documents.ts';
import { backupCardOf, removeBackupCard } from '../../engine/backup-card.ts';
import { brandName } from '../portal.ts';
import { declineCodeMeaning } from '../../core/declines.ts';

type Commands = AppContext['commands'];
export interface AccountData {
  account: Account;
  sub: Awaited<ReturnType<Commands['subscriptionView']>>;
  pm: Awaited<ReturnType<Commands['getPaymentMethod']>>;
  /** The backup card with the customer's recorded consent (engine/backup-card.ts); null when none. */
  backup: Awaited<ReturnType<typeof backupCardOf>>;
  invoices: Awaited<ReturnType<Commands['invoices']>>;
  timeline: Awaited<ReturnType<Commands['timeline']>>;
  help: HelpRequestView[];
  mails: NotificationView[];
  /** Every plan (the plan-change form offers the paid ones on offer in the account's currency). */
  plans?: Plan[];
  /** E-mail links of the account that still open its pages (beside the revoke button). */
  liveLinks?: number;
}

export function accountRoutes(app: FastifyInstance, c: ConsoleFrame) {
  const { commands } = c.ctx;
  const links = new CustomerLinks(c.ctx.db, c.ctx.clock, c.ctx.publicUrl);
  app.get(
    '/console/accounts/:id',
    c.guard(async (req, reply, s) => {
      const id = (req.params as { id: string }).id;
      const account = await commands.getAccount(id);
      if (!account) return c.show(reply, { title: 'Not found', s, body: html`<h1>No such account</h1><p><a href="/console/accounts">All accounts</a></p>` }, 404);
      const [sub, pm, backup, invoices, timeline, help, mails, plans, liveLinks] = await Promise.all([
        commands.subscriptionView(id),
        commands.getPaymentMethod(id),
        backupCardOf(c.ctx, id),
        commands.invoices(id),
        commands.timeline(id),
        c.deps.listHelpRequests({ account_id: id }).catch(() => []),
        c.deps.listNotifications({ account_id: id, limit: 50 }).catch(() => []),
        commands.listPlans(),
        links.liveCount(id),
      ]);
      const body = accountView({ account, sub, pm, backup, invoices, timeline, help, mails, plans, liveLinks }, s.csrf);
      return c.show(reply, { title: account.name, s, active: 'accounts', flash: c.takeFlash(s), body });
    }),
  );

  // ---- invoice documents (issue 23): the operator sees every account's ----
  const sendDocument = (load: (id: string) => Promise<PdfDocument>) =>
    c.guard(async (req, reply, s) => {
      try {
        const d = await load((req.params as { id: string }).id);
        return reply.type('application/pdf').header('content-disposition', `inline; filename="${d.filename}"`).header('cache-control', 'private, no-store').send(d.pdf);
      } catch (err) {
        if (err instanceof CommandError && (err.kind === 'not_found' || err.code === 'invoice_not_issued'))
          return c.show(reply, { title: 'Not found', s, body: html`<h1>No such document</h1><p>${err.message}</p>` }, 404);
        throw err;
      }
    });
  app.get('/console/invoices/:id/pdf', sendDocument((id) => invoicePdf(c.ctx.db, id, () => true)));
  app.get('/console/credit-notes/:id/pdf', sendDocument((id) => creditNotePdf(c.ctx.db, id, () => true)));

  const back = (req: { params: unknown }) => `/console/accounts/${encodeURIComponent((req.params as { id: string }).id)}`;

  // ---- the customer's e-mail links: the same engine command as POST /v1/accounts/{id}/links/revoke ----
  app.post(
    '/console/accounts/:id/links/revoke',
    c.act(back, async (req) => {
      const r = await links.revokeAll((req.params as { id: string }).id);
      return { kind: 'success', text: `Revoked ${r.links_revoked} e-mail link(s) and ${r.portal_sessions_revoked} active portal session(s). The customer can ask for a new link, sent to the address on file.` };
    }),
  );

  // ---- the backup card: the same engine command as DELETE /v1/accounts/{id}/backup-payment-method ----
  app.post(
    '/console/accounts/:id/backup/remove',
    c.act(back, async (req) => {
      const removed = await removeBackupCard(c.ctx, (req.params as { id: string }).id);
      return removed
        ? { kind: 'success', text: 'Backup card removed: it will not be charged again.' }
        : { kind: 'info', text: 'No backup card to remove: nothing changed.' };
    }),
  );

  // ---- cancel and resume ----
  app.post(
    '/console/accounts/:id/cancel',
    c.act(back, async (req) => {
      const id = (req.params as { id: string }).id;
      const at = str((req.body as Body).at) === 'now' ? 'now' : 'period_end';
      const v = await commands.cancelSubscription(id, at, 'operator');
      return { kind: 'success', text: v.status === 'canceled' ? 'Canceled: collection stopped, the account is on the free plan.' : `Cancel ${v.cancel_at ? `scheduled for ${when(v.cancel_at)}` : 'waiting for the payment in flight'}.` };
    }),
  );
  app.post(
    '/console/accounts/:id/resume',
    c.act(back, async (req) => {
      await commands.resumeSubscription((req.params as { id: string }).id, 'operator');
      return { kind: 'success', text: 'Cancel undone: the subscription renews as before.' };
    }),
  );

  // ---- plan change: the same engine command as PATCH …/subscription, by the operator ----
  app.post(
    '/console/accounts/:id/plan',
    c.act(back, async (req) => {
      const id = (req.params as { id: string }).id;
      const [plan_id, iv] = str((req.body as Body).choice).split(':');
      const interval: Interval | undefined = iv === 'year' || iv === 'month' ? iv : undefined;
      if (!plan_id) return { kind: 'error', text: 'Choose a plan.' };
      const account = await commands.requireAccount(id);
      const before = await commands.subscriptionView(id);
      const plans = await commands.listPlans();
      try {
        return planChangeFlash(account, before, await commands.changePlan(id, { plan_id, interval }, 'operator'), plans);
      } catch (err) {
        return planChangeRefused(err);
      }
    }),
  );

  app.post(
    '/console/invoices/:id/retry',
    c.act(
      (req) => `/console/accounts/${encodeURIComponent(str((req.body as Body).account_id) || '')}`,
      async (req) => {
        const id = (req.params as { id: string }).id;
        const r = await commands.retry(id, 'operator');
        return { kind: r.outcome === 'succeeded' ? 'success' : 'error', text: `Operator retry: ${r.outcome}${r.reason ? ` (${reasonLabel(r.reason)})` : ''}; invoice is ${words(r.invoice_status)}.` };
      },
    ),
  );
}

export function accountView(d: AccountData, csrf: string): Html {
  const { account } = d;
  return html`<p><a href="/console/accounts">← Accounts</a></p><h1>${account.name} <span class="mono muted small">${account.id}</span></h1>
<div class="grid-2"><div>${factsView(d, csrf)}${accessView(d, csrf)}${invoicesView(d, csrf)}</div><div>${timelineView(d.timeline)}${helpView(d.help)}${mailsView(d.mails)}</div></div>`;
}

/** The customer's way in: e-mail links and portal sessions, and the button that ends them all. */
function accessView({ account, liveLinks }: AccountData, csrf: string): Html {
  return html`<section class="panel" aria-labelledby="access-title"><h2 id="access-title">Customer access</h2>
<p>${liveLinks === undefined ? '' : html`<strong>${String(liveLinks)}</strong> e-mail link(s) still open the customer's pages without a password. `}Revoking ends every e-mail link and every active portal session of this account at once (a forwarded or leaked e-mail); the customer can ask for a new link, which goes to the address on file.</p>
<form method="post" action="/console/accounts/${account.id}/links/revoke" class="actions">${hidden('_csrf', csrf)}<button type="submit" class="btn btn-danger">Revoke links and sessions</button></form>
</section>`;
}

/** A saved card in one line: brand, last 4, expiry. */
function cardLine(pm: PaymentMethod): string {
  return `${brandName(pm.brand ?? pm.type)} ···· ${pm.last4 ?? '····'} (exp. ${pm.exp_month ?? '?'}/${pm.exp_year ?? '?'})`;
}

/** The backup card beside the main one: the card, and when the customer agreed to what (the recorded sentence). */
function backupFacts(backup: AccountData['backup']): Html {
  if (!backup) return html`<dt>Backup card</dt><dd id="backup-card">No backup card</dd>`;
  return html`<dt>Backup card</dt><dd id="backup-card">${cardLine(backup.payment_method)}<br><span class="small">Consent given ${when(backup.consent_at)}: <q>${backup.consent_text}</q></span></dd>`;
}

/** The operator's Remove backup card, only when there is one. */
function backupActions(accountId: string, backup: AccountData['backup'], csrf: string): Html | '' {
  if (!backup) return '';
  return html`<form method="post" action="/console/accounts/${accountId}/backup/remove" class="actions">${hidden('_csrf', csrf)}<button type="submit" class="btn btn-secondary">Remove backup card</button></form>`;
}

function factsView({ account, sub, pm, backup, plans }: AccountData, csrf: string): Html {
  return html`<section class="panel" aria-labelledby="acct-title"><h2 id="acct-title">Account and subscription</h2><dl class="facts">
<dt>E-mail</dt><dd>${account.email}</dd>
<dt>Locale · zone · time zone</dt><dd>${account.locale} · .${account.domain_zone} · ${account.time_zone}</dd>
<dt>Currency</dt><dd>${account.currency}</dd>
<dt>Plan</dt><dd>${sub ? html`${sub.plan_id} (${sub.interval}ly) ${badge(sub.status)}` : 'no subscription'}</dd>
${sub ? html`<dt>Current period</dt><dd>${when(sub.current_period_start)} → ${when(sub.current_period_end)}</dd><dt>Auto-renew</dt><dd>${sub.auto_renew ? 'on' : 'off'}</dd>` : ''}
${sub?.cancel_at_period_end ? html`<dt>Cancel</dt><dd><strong>pending</strong>: ${sub.cancel_at ? html`ends ${when(sub.cancel_at)}, then the free plan` : 'takes effect when the payment in flight is answered'}</dd>` : ''}
${sub?.scheduled_change ? html`<dt>Plan change</dt><dd><strong>scheduled</strong>: ${sub.scheduled_change.plan_id} (${sub.scheduled_change.interval}ly) from ${when(sub.scheduled_change.at)}</dd>` : ''}
${sub?.grace_ends_at ? html`<dt>Grace ends</dt><dd>${when(sub.grace_ends_at)}</dd>` : ''}
<dt>Payment method</dt><dd>${pm ? cardLine(pm) : 'none'}</dd>
${backupFacts(backup)}
</dl>${backupActions(account.id, backup, csrf)}${cancelActions(account.id, sub, csrf)}${planChangeForm(account, sub, plans ?? [], csrf)}</section>`;
}

// ---- plan change: the operator's form, the same command as the API ----
/** The paid plans on offer with a price in the account's currency, as plan:interval choices; only for a live subscription. */
export function planChangeForm(account: Account, sub: AccountData['sub'], plans: Plan[], csrf: string): Html | '' {
  if (!sub || (sub.status !== 'active' && sub.status !== 'past_due')) return '';
  const choices = plans
    .filter((p) => !p.free && !p.archived)
    .flatMap((p) => p.prices.filter((x) => x.currency === account.currency).map((x) => ({ plan: p, interval: x.interval, amount: x.amount })));
  if (choices.length === 0) return '';
  const current = (o: { plan: Plan; interval: string }) => o.plan.id === sub.plan_id && o.interval === sub.interval;
  return html`<form method="post" action="/console/accounts/${account.id}/plan" class="actions" aria-label="Change plan">${hidden('_csrf', csrf)}
<label for="plan-choice">Change plan</label> <select id="plan-choice" name="choice">${choices.map(
    (o) => html`<option value="${o.plan.id}:${o.interval}"${current(o) ? html` selected` : ''}>${o.plan.name} — ${money(o.amount, account.currency)}/${o.interval}${current(o) ? ' (current)' : ''}</option>`,
  )}</select>
<button type="submit" class="btn btn-secondary">Change plan</button>
<span class="muted small">A dearer plan applies now with the prorated rest charged; a cheaper one or another interval at the period end; in grace at once.</span></form>`;
}

type ChangeResult = Awaited<ReturnType<Commands['changePlan']>>;

/** What the operator is told after a plan change: applied now (and what was charged), scheduled, unscheduled, or declined in grace. */
export function planChangeFlash(account: Account, before: AccountData['sub'], v: ChangeResult, plans: Plan[]): Flash {
  const name = (id: string | null | undefined) => plans.find((p) => p.id === id)?.name ?? id ?? '';
  const a = v.attempt;
  if (v.scheduled_change)
    return { kind: 'success', text: `Plan change scheduled: ${name(v.scheduled_change.plan_id)} (${v.scheduled_change.interval}ly) from ${when(v.scheduled_change.at)}; nothing charged now.` };
  if (before?.scheduled_change && v.plan_id === before.plan_id) return { kind: 'success', text: `Scheduled change dropped: the subscription stays on ${name(v.plan_id)}.` };
  if (a && a.outcome !== 'succeeded')
    return { kind: 'error', text: `Changed to ${name(v.plan_id)}, but the charge of ${money(a.amount, a.currency)} was declined (${reasonLabel(a.reason)}): still past due, grace unchanged.` };
  const charged = a ? `; ${money(a.amount, a.currency)} ${before?.status === 'past_due' ? 'charged for the past-due period' : 'prorated charged'}` : '';
  return { kind: 'success', text: `Plan changed now to ${name(v.plan_id)} (${v.interval}ly)${charged}.` };
}

/** A refused or declined plan change: the reason, and that nothing changed. */
export function planChangeRefused(err: unknown): Flash {
  if (!(err instanceof CommandError)) throw err;
  if (err.code === 'payment_failed') return { kind: 'error', text: `Declined (${reasonLabel((err.extra.reason as string | null) ?? String(err.extra.outcome ?? ''))}): the plan is unchanged.` };
  if (err.code === 'payment_pending') return { kind: 'info', text: 'The gateway has not answered yet: the plan changes if the payment went through.' };
  return { kind: 'error', text: `Refused: ${err.message}.` };
}

// ---- cancel and resume: the operator's buttons, the same commands as the API ----
function cancelActions(accountId: string, sub: AccountData['sub'], csrf: string): Html | '' {
  if (!sub || (sub.status !== 'active' && sub.status !== 'past_due')) return '';
  const form = (action: string, at: string | null, label: string, cls: string) =>
    html`<form method="post" action="/console/accounts/${accountId}/${action}">${hidden('_csrf', csrf)}${at ? hidden('at', at) : ''}<button type="submit" class="btn ${cls}">${label}</button></form>`;
  if (sub.cancel_at_period_end && sub.status === 'active') return html`<div class="actions">${form('resume', null, 'Resume (undo the cancel)', 'btn-secondary')}</div>`;
  if (sub.cancel_at_period_end) return '';
  return sub.status === 'past_due'
    ? html`<div class="actions">${form('cancel', 'now', 'Cancel now (stop collection, free plan)', 'btn-danger')}</div>`
    : html`<div class="actions">${form('cancel', 'period_end', 'Cancel at period end', 'btn-secondary')}${form('cancel', 'now', 'Cancel now (free plan)', 'btn-danger')}</div>`;
}

function timelineView(timeline: AccountData['timeline']): Html {
  const next = timeline.next;
  return html`<section class="panel" aria-labelledby="tl-title"><h2 id="tl-title">Timeline</h2>
<ol class="timeline">
${next ? html`<li class="next"><time>${when(next.at)}</time><strong>Next: ${NEXT_ACTION[String(next.action)] ?? next.action ?? ''}</strong>${next.retry_why ? html` <span class="muted">(${words(next.retry_why)})</span>` : ''}</li>` : html`<li class="next"><strong>Nothing scheduled</strong></li>`}
${timeline.events.map((e) => html`<li><time>${when(e.at)}</time>${describeEvent(e.type, (e.data ?? {}) as Record<string, any>)}</li>`)}
</ol></section>`;
}

function invoicesView({ account, invoices }: AccountData, csrf: string): Html {
  return html`<section class="panel" aria-labelledby="inv-title"><h2 id="inv-title">Invoices and attempts</h2>
${invoices.length ? '' : html`<p class="muted">No invoices.</p>`}
${invoices.map(
  (i) => html`<article class="invoice" aria-label="Invoice ${i.id}"><div class="invoice-head"><h3>${i.kind} · ${i.plan_id} <span class="mono muted">${i.id}</span></h3><span class="amount">${money(i.amount, i.currency)}</span></div>
<p>${badge(i.status)} <span class="muted small">${when(i.period_start)} → ${when(i.period_end)}</span></p>
${
  i.number
    ? html`<p class="small">Invoice <a href="/console/invoices/${i.id}/pdf" download="${i.number}.pdf"><span class="mono">${i.number}</span> (PDF)</a>${i.credit_notes.map(
        (n) => html` · credit note <a href="/console/credit-notes/${n.id}/pdf" download="${n.number}.pdf"><span class="mono">${n.number}</span> (PDF)</a> −${money(n.amount, n.currency)} (${words(n.reason)})`,
      )}</p>`
    : html`<p class="muted small">Not issued: no number, no document.</p>`
}
${
  i.attempts.length
    ? html`<div class="table-wrap"><table class="data"><thead><tr><th scope="col">#</th><th scope="col">At</th><th scope="col">Trigger</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">Class</th></tr></thead><tbody>
${i.attempts.map((a) => html`<tr><td>${a.number}</td><td>${when(a.at)}</td><td>${a.trigger}</td><td>${badge(a.outcome)}</td><td>${a.reason ? reasonLabel(a.reason) : '—'}</td><td>${a.retry_class ?? '—'}</td></tr>`)}
</tbody></table></div>`
    : ''
}
${
  i.status === 'past_due'
    ? html`<form method="post" action="/console/invoices/${i.id}/retry" class="actions">${hidden('_csrf', csrf)}${hidden('account_id', account.id)}<button type="submit" class="btn btn-secondary">Retry now (operator)</button>
${i.retry.available ? '' : html`<span class="muted small">Customer Retry unavailable: ${i.retry.reason}</span>`}</form>`
    : ''
}
</article>`,
)}</section>`;
}

function helpView(help: HelpRequestView[]): Html | string {
  if (!help.length) return '';
  return html`<section class="panel" aria-labelledby="acct-help"><h2 id="acct-help">Help requests</h2>${help.map(
    (h) => html`<div class="help-item"><p>${badge(h.status)} <span class="muted small">${when(h.created_at)}</span> <a href="/console/help?status=all#hr-${h.id}">open</a></p><p class="message">${h.message}</p>${h.answer ? html`<div class="answer">${h.answer}</div>` : ''}</div>`,
  )}</section>`;
}

function mailsView(mails: NotificationView[]): Html {
  return html`<section class="panel" aria-labelledby="acct-mail"><h2 id="acct-mail">E-mails</h2>${
    mails.length
      ? html`<div class="table-wrap"><table class="data"><thead><tr><th scope="col">When</th><th scope="col">Template</th><th scope="col">Subject</th><th scope="col">Status</th></tr></thead><tbody>
${mails.map((m) => html`<tr><td>${when(m.created_at)}</td><td>${m.template}</td><td>${m.subject}</td><td>${badge(m.status)}</td></tr>`)}</tbody></table></div>`
      : html`<p class="muted">No e-mails.</p>`
  }</section>`;
}

/** A raw decline code as the attempt kept it, with what it means when renewd knows it (core/declines.ts). */
function explained(code: unknown, field: 'code' | 'network' | 'advice', shown: string): string | null {
  if (typeof code !== 'string' || !code) return null;
  const meaning = declineCodeMeaning(field, code);
  return meaning ? `${shown}: ${meaning}` : shown;
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
      if (d.kind === 'proration')
        return html`Proration invoice ${m(d.amount, d.currency)} (${d.from_plan_id} → ${d.plan_id}, rest of the period ${when(d.period_start)} → ${when(d.period_end)})`;
      return html`${d.kind === 'purchase' ? 'Purchase' : 'Renewal'} invoice ${m(d.amount, d.currency)} for ${when(d.period_start)} → ${when(d.period_end)}${d.replaces ? html` (replaces ${d.replaces})` : ''}`;
    case 'payment_attempt.started':
      return html`Attempt #${d.number} started (${words(d.trigger)})`;
    case 'payment_attempt.failed':
      return html`<strong>Attempt #${d.number} ${words(d.outcome ?? 'failed')}</strong>: ${reasonLabel(d.reason)} <span class="muted small">(${[
        explained(d.raw_code, 'code', d.raw_code),
        explained(d.network_code, 'network', `network ${d.network_code}`),
        explained(d.advice_code, 'advice', `advice ${d.advice_code}`),
        d.retry_class && `class ${d.retry_class}`,
      ]
        .filter(Boolean)
        .join('; ')})</span>`;
    case 'payment_attempt.unknown':
      return html`Attempt outcome unknown: it will be reconciled with its idempotency key`;
    case 'payment_attempt.rate_limited':
      return html`The gateway asked to slow down: the attempt is made with the same key at ${when(d.retry_at)} (not counted)`;
    case 'payment_attempt.not_made':
      return html`The cancel closed the attempt waiting for the gateway's rate limit: it was never sent, nothing was charged`;
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
      return d.next_retry_at ? html`Retry planned for ${when(d.next_retry_at)} (${words(d.why)})` : html`No automatic retry: ${words(d.why)}`;
    case 'dunning.reminder_sent':
      return html`Reminder e-mailed: ${d.days_left} day(s) of grace left`;
    case 'dunning.downgrade_paused':
      return html`<strong>Downgrade paused</strong>: a help request waits for an answer (at the latest until ${when(d.grace_ends_at)})`;
    case 'dunning.downgrade_resumed':
      return html`Downgrade clock running again after the answer: grace until ${when(d.grace_ends_at)}`;
    case 'dunning.downgrade_not_paused':
      return html`Help request: downgrade not paused (${words(d.why)})`;
    case 'dunning.retry_date_chosen':
      return html`Next attempt chosen by the ${d.by === 'operator' ? 'operator' : 'customer'} for ${when(d.at)}`;
    case 'invoice.uncollectible':
      return html`<strong>Invoice closed as uncollectible</strong> after ${d.attempts} attempt(s)`;
    case 'subscription.downgraded':
      return html`<strong>Downgraded</strong> from ${d.from_plan_id} to ${d.to_plan_id}`;
    case 'subscription.canceled':
      return d.immediate
        ? html`<strong>Canceled</strong> by the ${d.by === 'operator' ? 'operator' : 'customer'}: collection stopped, moved from ${d.from_plan_id} to ${d.to_plan_id}`
        : html`Canceled (auto-renew off) at the end of the period`;
    case 'subscription.cancel_scheduled':
      return d.why === 'payment_in_flight_succeeded'
        ? html`<strong>Cancel kept for the period end</strong>: the payment in flight when the cancel was asked succeeded; ends ${when(d.cancel_at)}`
        : html`<strong>Cancel scheduled</strong> by the ${d.by === 'operator' ? 'operator' : 'customer'}: ends ${when(d.cancel_at)}`;
    case 'subscription.cancel_requested':
      return html`Cancel asked while a payment was in flight: it takes effect when the gateway answers (no new attempt)`;
    case 'subscription.plan_changed':
      return d.scheduled
        ? html`<strong>Plan changed</strong> at the renewal (scheduled): ${d.from_plan_id} → ${d.plan_id} (${d.interval})`
        : html`<strong>Plan changed</strong> ${d.from_plan_id} → ${d.plan_id}${d.in_grace ? ' in grace: the past-due invoice was replaced' : typeof d.amount === 'number' && d.amount > 0 ? html`, prorated ${m(d.amount, d.currency)} paid` : ''}`;
    case 'subscription.plan_change_scheduled':
      return html`Plan change scheduled by the ${d.by === 'operator' ? 'operator' : 'customer'}: ${d.from_plan_id} → ${d.plan_id} (${d.interval}) on ${when(d.at)}`;
    case 'subscription.plan_change_unscheduled':
      return html`Scheduled plan change to ${d.plan_id} undone`;
    case 'subscription.resumed':
      return html`Cancel undone (resumed) by the ${d.by === 'operator' ? 'operator' : 'customer'}`;
    case 'payment_method.updated':
      return html`Billing information updated`;
    case 'payment_method.backup_saved':
      return html`Backup card saved with the customer's consent`;
    case 'payment_method.backup_removed':
      return html`Backup card removed: it is never charged again`;
    case 'retry.refused':
      return html`Retry refused (${words(d.trigger)}): ${words(d.reason)}`;
    case 'invoice.finalized':
      return html`Invoice issued: <span class="mono">${d.number}</span> ${m(d.amount, d.currency)}`;
    case 'credit_note.created':
      return html`<strong>Credit note</strong> <span class="mono">${d.number}</span> ${m(d.amount, d.currency)} cancels the issued invoice (${words(d.reason)})`;
    case 'invoice.voided':
      return d.reason === 'canceled' ? html`<strong>Invoice voided</strong>: the subscription was canceled` : html`Purchase invoice voided (${reasonLabel(d.reason)})`;
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
