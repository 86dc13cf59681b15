// The dashboard: key figures, the test clock (when it is on), accounts in grace, recovery rate by
// decline reason and by attempt number, and involuntary churn per week.
import type { FastifyInstance } from 'fastify';
import { DAY } from '../../core/time.ts';
import {
  accountsInGrace,
  churnByWeek,
  recoveryByReason,
  recoveryTotals,
  subscriptionsByStatus,
  successByAttemptNumber,
  type AttemptNumberStats,
  type ChurnWeek,
  type GraceAccount,
  type RecoveryByCurrency,
  type RecoveryByReason,
  type StatusCount,
} from '../../store/stats.ts';
import { gatewayQueue, paceBuckets, type GatewayQueue, type PaceView } from '../../store/pace.ts';
import { listIncidents, type Incident } from '../../store/incidents.ts';
import { html, type Html } from '../html.ts';
import { COLORS, columnChart, pct, rateBar, stackedBar, swatch } from '../charts.ts';
import { dayMonth, money, reasonLabel, when, words } from './format.ts';
import { clockPanel } from './clock.ts';
import type { ConsoleFrame } from './index.ts';

export interface DashboardData {
  grace: GraceAccount[];
  totals: RecoveryByCurrency[];
  byReason: RecoveryByReason[];
  byNumber: AttemptNumberStats[];
  statuses: StatusCount[];
  openHelpRequests: number;
  weeks: ChurnWeek[];
}

export function dashboardRoutes(app: FastifyInstance, c: ConsoleFrame) {
  const { ctx, deps } = c;
  app.get(
    '/console',
    c.guard(async (req, reply, s) => {
      const now = ctx.clock.now();
      const [grace, totals, byReason, byNumber, statuses, open, allWeeks] = await Promise.all([
        accountsInGrace(ctx.db),
        recoveryTotals(ctx.db),
        recoveryByReason(ctx.db),
        successByAttemptNumber(ctx.db),
        subscriptionsByStatus(ctx.db),
        deps.listHelpRequests({ status: 'open' }).catch(() => []),
        // Up to 12 weeks.
        churnByWeek(ctx.db, new Date(now.getTime() - 11 * 7 * DAY), now),
      ]);
      const data = { grace, totals, byReason, byNumber, statuses, openHelpRequests: open.length, weeks: recentWeeks(allWeeks) };
      const clock = ctx.testClock ? clockPanel(now, s.csrf) : '';
      // A paced installation (RENEWD_GATEWAY_RATE): the billing day's queue and when it should end.
      const buckets = await paceBuckets(ctx.db, now, ctx.gatewayKind);
      const pace = buckets.length ? paceView(buckets, await gatewayQueue(ctx.db, now), now) : '';
      const incidents = incidentsView(await listIncidents(ctx.db, 10));
      return c.show(reply, { title: 'Dashboard', s, active: 'dashboard', flash: c.takeFlash(s), body: html`<h1>Dashboard</h1>${kpisView(data)}${pace}${clock}${incidents}${dashboardView(data)}` });
    }),
  );
}

/**
 * The gateway's pace: the rate the billing day goes at now (lowered while the gateway answers 429),
 * what is due, and when the queue should be through at that rate (the customers' share apart).
 */
export function paceView(buckets: PaceView[], q: GatewayQueue, now: Date): Html {
  const billing = buckets.find((b) => b.bucket.endsWith(':billing'));
  const customer = buckets.find((b) => b.bucket.endsWith(':customer'));
  if (!billing) return html``;
  const rate = billing.rate;
  const end = q.due > 0 ? new Date(now.getTime() + Math.ceil((q.due / rate) * 1000)) : null;
  const slowed = rate < billing.ceiling;
  return html`<section class="panel" aria-labelledby="pace-title"><h2 id="pace-title">Gateway pace</h2>
<dl class="facts"><dt>Billing rate</dt><dd>${rate.toFixed(1)} requests/s${slowed ? html` (lowered from ${billing.ceiling.toFixed(1)} after 429s)` : ''}</dd>
<dt>Kept for customers</dt><dd>${customer ? `${customer.ceiling.toFixed(1)} requests/s` : '—'}</dd>
<dt>Due now</dt><dd>${plural(q.due, 'subscription', 'subscriptions')}${q.rate_limited ? html`, of which ${plural(q.rate_limited, 'attempt waits', 'attempts wait')} for the gateway's rate limit` : ''}</dd>
<dt>Expected end</dt><dd>${end ? when(end) : 'nothing due'}</dd>
<dt>429s received</dt><dd>${billing.rate_limited}${billing.last_429_at ? html`, the last ${when(billing.last_429_at)}` : ''}</dd></dl></section>`;
}

/** Leading weeks with nothing at all are left out (a young installation), keeping at least 6. */
export function recentWeeks(all: ChurnWeek[]): ChurnWeek[] {
  const firstBusy = all.findIndex((w) => w.failed + w.recovered + w.churned + w.canceled > 0);
  return all.slice(Math.max(0, Math.min(firstBusy < 0 ? all.length : firstBusy, all.length - 6)));
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function kpisView(d: DashboardData): Html {
  const count = (st: string) => d.statuses.find((x) => x.status === st)?.count ?? 0;
  const recoveredN = d.totals.reduce((a, t) => a + t.recovered_count, 0);
  const lostN = d.totals.reduce((a, t) => a + t.lost_count, 0);
  // Amounts per currency, leaving out currencies with nothing in this column.
  const moneyList = (k: 'recovered' | 'lost' | 'at_risk') => {
    const some = d.totals.filter((t) => t[k] !== 0);
    return some.length ? some.map((t) => money(t[k], t.currency)).join(' · ') : money(0, d.totals[0]?.currency ?? 'EUR');
  };
  return html`<section aria-labelledby="kpi-title"><h2 id="kpi-title" class="visually-hidden">Key figures</h2><div class="kpis">
<div class="kpi"><div class="label">Accounts in grace</div><div class="value">${count('past_due')}</div><div class="sub">${moneyList('at_risk')} at risk</div></div>
<div class="kpi"><div class="label">Revenue recovered</div><div class="value">${moneyList('recovered')}</div><div class="sub">${plural(recoveredN, 'renewal', 'renewals')} paid after failing</div></div>
<div class="kpi"><div class="label">Revenue lost</div><div class="value">${moneyList('lost')}</div><div class="sub">${plural(lostN, 'renewal', 'renewals')} closed unpaid</div></div>
<div class="kpi"><div class="label">Recovery rate</div><div class="value">${pct(recoveredN, recoveredN + lostN)}</div><div class="sub">of failed renewals that ended</div></div>
<div class="kpi"><div class="label">Subscriptions</div><div class="value">${count('active') + count('past_due')} paid</div><div class="sub">${count('active')} active · ${count('past_due')} in grace (past due)</div><div class="sub">on the free plan: ${count('downgraded')} downgraded · ${count('canceled')} canceled</div></div>
<div class="kpi"><div class="label">Open help requests</div><div class="value"><a href="/console/help">${d.openHelpRequests}</a></div><div class="sub">waiting for an answer</div></div>
</div></section>`;
}

/** Everything below the key figures (and the test clock). */
export function dashboardView(d: DashboardData): Html {
  return html`${graceView(d.grace)}<div class="grid-2 tables">${reasonView(d.byReason)}${attemptNumberView(d.byNumber)}</div>${churnView(d.weeks)}`;
}

function graceView(grace: GraceAccount[]): Html {
  return html`<section class="panel" aria-labelledby="grace-title"><h2 id="grace-title">Accounts in grace</h2>
${
  grace.length
    ? html`<div class="table-wrap" role="region" aria-label="Table: grace accounts" tabindex="0"><table class="data"><thead><tr>
<th scope="col">Account</th><th scope="col">Plan</th><th scope="col" class="num">Amount</th><th scope="col">Last decline</th><th scope="col" class="num">Attempts</th><th scope="col">Next</th><th scope="col">Grace ends</th></tr></thead><tbody>
${grace.map(
  (g) => html`<tr><td><a href="/console/accounts/${g.account_id}">${g.name}</a> <span class="muted small">.${g.domain_zone}</span></td><td>${g.plan_id}</td><td class="num">${money(g.amount, g.currency)}</td>
<td>${reasonLabel(g.last_reason)}</td><td class="num">${g.attempts}</td>
<td>${g.next_retry_at ? html`retry ${when(g.next_retry_at)}` : html`<span class="muted">no automatic retry (${words(g.next_retry_why)})</span>`}</td>
<td>${when(g.grace_ends_at)}</td></tr>`,
)}</tbody></table></div>`
    : html`<p class="muted">No account is in grace.</p>`
}</section>`;
}

function reasonView(byReason: RecoveryByReason[]): Html {
  const rows = byReason.map((r) => {
    const ended = r.recovered + r.lost;
    return html`<tr><th scope="row">${reasonLabel(r.reason)}</th>
<td class="chart-cell">${stackedBar([
      { value: r.recovered, color: COLORS.recovered, label: 'Recovered' },
      { value: r.lost, color: COLORS.lost, label: 'Lost' },
      { value: r.open, color: COLORS.open, label: 'In grace' },
    ])}</td>
<td class="num">${r.recovered}</td><td class="num">${r.lost}</td><td class="num">${r.open}</td><td class="num"><strong>${pct(r.recovered, ended)}</strong></td></tr>`;
  });
  return html`<section class="panel" aria-labelledby="reason-title"><h2 id="reason-title">Recovery rate by decline reason</h2>
<p class="muted small">Failed renewals by the reason of their first decline. Rate = recovered ÷ (recovered + lost).</p>
<ul class="legend"><li>${swatch(COLORS.recovered)}Recovered</li><li>${swatch(COLORS.lost)}Lost</li><li>${swatch(COLORS.open)}Still in grace</li></ul>
${
  byReason.length
    ? html`<div class="table-wrap" role="region" aria-label="Table: recovery by reason" tabindex="0"><table class="data"><thead><tr><th scope="col">Reason</th><th scope="col" class="chart-col">Outcome</th><th scope="col" class="num">Recovered</th><th scope="col" class="num">Lost</th><th scope="col" class="num">In grace</th><th scope="col" class="num">Rate</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
    : html`<p class="muted">No failed renewal yet.</p>`
}</section>`;
}

function attemptNumberView(byNumber: AttemptNumberStats[]): Html {
  return html`<section class="panel" aria-labelledby="num-title"><h2 id="num-title">Success rate by attempt number</h2>
<p class="muted small">Attempt 1 is the renewal charge; 2 and up are retries (scheduled, Retry button, new card).</p>
${
  byNumber.length
    ? html`<div class="table-wrap" role="region" aria-label="Table: success by attempt" tabindex="0"><table class="data"><thead><tr><th scope="col">Attempt</th><th scope="col" class="chart-col">Success rate</th><th scope="col" class="num">Succeeded</th><th scope="col" class="num">Made</th><th scope="col" class="num">Rate</th></tr></thead>
<tbody>${byNumber.map(
        (r) => html`<tr><th scope="row">#${r.number}${r.number >= 12 ? '+' : ''}</th><td class="chart-cell">${rateBar(r.attempts ? r.succeeded / r.attempts : null)}</td><td class="num">${r.succeeded}</td><td class="num">${r.attempts}</td><td class="num"><strong>${pct(r.succeeded, r.attempts)}</strong></td></tr>`,
      )}</tbody></table></div>`
    : html`<p class="muted">No renewal attempt yet.</p>`
}</section>`;
}

function churnView(weeks: ChurnWeek[]): Html {
  const labels = weeks.map((w) => dayMonth.format(w.week));
  return html`<section class="panel" aria-labelledby="churn-title"><h2 id="churn-title">Involuntary churn over time</h2>
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
}

/** The latest payment incidents (core/incidents.ts): open ones first; nothing when there never was one. */
export function incidentsView(list: (Incident & { subscriptions: number })[]): Html | '' {
  if (list.length === 0) return '';
  const scope = (s: string) => (s === 'gateway' ? 'Payment gateway' : `${s.replace(/^brand:/, '')} cards`);
  return html`<section class="panel" aria-labelledby="incidents-title"><h2 id="incidents-title">Payment incidents</h2>
<p class="muted small">Technical payment failures far above their usual rate. While one is open no attempt is made on the invoices it covers; when it closes their grace is extended by its length and their retries are spread.</p>
<div class="table-wrap" role="region" aria-label="Table: payment incidents" tabindex="0"><table class="data"><thead><tr><th scope="col">Scope</th><th scope="col">Opened</th><th scope="col">Closed</th><th scope="col" class="num">Technical failures</th><th scope="col" class="num">Baseline</th><th scope="col" class="num">Subscriptions extended</th></tr></thead>
<tbody>${list.map(
    (i) => html`<tr><th scope="row">${scope(i.scope)}</th><td>${when(i.opened_at)}</td><td>${i.closed_at ? when(i.closed_at) : html`<strong>open</strong>`}</td><td class="num">${i.technical_declines}</td><td class="num">${i.baseline}</td><td class="num">${i.subscriptions}</td></tr>`,
  )}</tbody></table></div></section>`;
}
