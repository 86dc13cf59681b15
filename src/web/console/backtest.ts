// The policy backtest page: a candidate policy as JSON (prefilled with the policy in force) and a
// window in days, replayed over the recorded failed renewals by the same command as `renewd policy
// backtest` (engine/backtest.ts). Read only: nothing is saved. Every figure of a policy is labelled
// an estimate; causes with too little data are named, not estimated.
import type { FastifyInstance } from 'fastify';
import { comparisonTable } from '../../core/backtest.ts';
import { CommandError } from '../../core/errors.ts';
import { DEFAULT_SINCE_DAYS, MAX_SINCE_DAYS, backtestPolicy, parsePolicyText, type BacktestReport } from '../../engine/backtest.ts';
import { readPolicies } from '../../engine/policy.ts';
import { html, str, type Body, type Html } from '../html.ts';
import { hidden } from '../layout.ts';
import { reasonLabel, when } from './format.ts';
import type { ConsoleFrame } from './index.ts';

export interface BacktestPageData {
  policyText: string;
  since: string;
  report: BacktestReport | null;
  /** The command's refusal: messages by field ('policy', 'since', a policy field). */
  errors: { field: string; message: string }[];
}

export function backtestRoutes(app: FastifyInstance, c: ConsoleFrame) {
  const { ctx } = c;
  app.get(
    '/console/policy/backtest',
    c.guard(async (req, reply, s) => {
      const { policy } = await readPolicies(ctx);
      const data: BacktestPageData = { policyText: JSON.stringify(policy, null, 2), since: String(DEFAULT_SINCE_DAYS), report: null, errors: [] };
      return c.show(reply, { title: 'Policy backtest', s, active: 'policy', body: backtestView(data, s.csrf) });
    }),
  );
  app.post(
    '/console/policy/backtest',
    c.guard(async (req, reply, s) => {
      const body = (req.body ?? {}) as Body;
      const data: BacktestPageData = { policyText: str(body.policy), since: str(body.since).trim() || String(DEFAULT_SINCE_DAYS), report: null, errors: [] };
      try {
        const since_days = /^\d+d?$/.test(data.since) ? Number.parseInt(data.since, 10) : NaN;
        data.report = await backtestPolicy(ctx, { policy: parsePolicyText(data.policyText), since_days });
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        data.errors = err.fields.length ? err.fields : [{ field: 'policy', message: err.message }];
        return c.show(reply, { title: 'Policy backtest', s, active: 'policy', body: backtestView(data, s.csrf) }, 400);
      }
      return c.show(reply, { title: 'Policy backtest', s, active: 'policy', body: backtestView(data, s.csrf) });
    }),
  );
}

export function backtestView(d: BacktestPageData, csrf: string): Html {
  const r = d.report;
  const errorFor = (f: string) => d.errors.filter((e) => (f === 'since' ? e.field === 'since' : e.field !== 'since'));
  const errs = (f: string) => {
    const list = errorFor(f);
    return list.length ? html`<span class="error-text" id="bt-${f}-error">${list.map((e) => `${e.field}: ${e.message}`).join('; ')}</span>` : '';
  };
  const summary = d.errors.length
    ? html`<div id="flash" class="flash flash-error" role="alert" tabindex="-1"><p><strong>No backtest.</strong> Fix the policy or the window.</p><ul>${d.errors.map((e) => html`<li>${e.field}: ${e.message}</li>`)}</ul></div>`
    : '';
  const invalid = (f: string) => (errorFor(f).length ? html` aria-invalid="true" aria-describedby="bt-${f}-error"` : '');
  return html`<h1>Policy backtest</h1>${summary}
<p class="muted">Replays the renewals that failed in the window under a candidate policy, with success rates of automatic retries estimated from this installation's own recorded attempts (by decline cause, attempt number and days since the failure; 95 % Wilson ranges). <strong>Every figure of a policy is an estimate</strong>; the recorded column is what happened. Nothing is saved here: <a href="/console/policy">the policy editor</a> saves. Same command as <span class="mono">renewd policy backtest</span>.</p>
<form method="post" action="/console/policy/backtest" novalidate>${hidden('_csrf', csrf)}
<div class="field"><label for="bt-policy">Candidate policy (JSON: a whole policy, or only the fields to change)</label>
<textarea id="bt-policy" name="policy" rows="16" class="mono"${invalid('policy')}>${d.policyText}</textarea>${errs('policy')}</div>
<div class="field"><label for="bt-since">Failed in the last (days)</label><input type="text" inputmode="numeric" id="bt-since" name="since" value="${d.since}"${invalid('since')}> <span class="hint">1 to ${MAX_SINCE_DAYS}.</span>${errs('since')}</div>
<div class="actions"><button type="submit" class="btn">Run the backtest</button></div>
</form>
${r ? resultView(r) : ''}`;
}

function resultView(r: BacktestReport): Html {
  const t = comparisonTable(r, 'candidate');
  const thin = r.causes.filter((c) => c.insufficient_data);
  return html`<section class="panel" aria-labelledby="bt-result"><h2 id="bt-result">Estimates against what happened</h2>
<p class="muted small">Renewals that failed ${when(r.since)} – ${when(r.until)}. Left out: ${r.left_out_open} still in grace or voided, ${r.left_out_thin} whose cause has too little data.</p>
${r.candidate ? '' : html`<p class="flash flash-error"><strong>No estimate:</strong> too little data (fewer than ${r.min_observations} recorded automatic retries for each cause, or attempts beyond the recorded ones). renewd does not extrapolate.</p>`}
<div class="table-wrap"><table class="data" id="bt-table"><thead><tr>${t.columns.map((col) => html`<th scope="col">${col}</th>`)}</tr></thead><tbody>
${t.rows.map((row) => html`<tr><th scope="row">${row.label}</th>${row.cells.map((cell) => html`<td>${cell}</td>`)}</tr>`)}</tbody></table></div>
<h3>By cause</h3>
<div class="table-wrap"><table class="data" id="bt-causes"><thead><tr><th scope="col">Cause</th><th scope="col">Failed renewals</th><th scope="col">Automatic retries recorded</th><th scope="col">Success (estimate)</th><th scope="col">Data</th></tr></thead><tbody>
${r.causes.map(
  (c) =>
    html`<tr><th scope="row">${c.cause === 'no_payment_method' ? 'No payment method' : reasonLabel(c.cause)}</th><td>${c.renewals}</td><td>${c.observations}</td><td>${c.rate ? `estimate ${(c.rate.value * 100).toFixed(1)} % (${(c.rate.low * 100).toFixed(1)}–${(c.rate.high * 100).toFixed(1)} %)` : '—'}</td><td>${c.insufficient_data ? html`<strong>insufficient data</strong>: ${c.insufficient_data}` : 'enough'}</td></tr>`,
)}</tbody></table></div>
${thin.length ? html`<p>Not estimated (insufficient data): ${thin.map((c) => (c.cause === 'no_payment_method' ? 'No payment method' : reasonLabel(c.cause))).join(', ')}.</p>` : ''}
</section>`;
}
