// The dunning policy editor: the default policy as a form, saved through the policy command
// (engine/policy.ts savePolicy: the same validation and re-planning as PUT /v1/dunning-policy),
// with the command's field errors next to the fields; and the overrides, read-only.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { DunningPolicy, PolicyOverride } from '../../core/dunning.ts';
import { CommandError } from '../../core/errors.ts';
import { DECLINE_REASONS, PM_TYPES, RETRY_CLASSES } from '../../core/types.ts';
import { readPolicies, savePolicy, type PolicyView } from '../../engine/policy.ts';
import { STATUS_OF_KIND } from '../../http/problem.ts';
import { html, attrs, str, strs, type Body, type Html } from '../html.ts';
import { hidden } from '../layout.ts';
import type { Flash, OperatorSession, Session } from '../sessions.ts';
import { REASON_LABEL } from './format.ts';
import type { ConsoleFrame } from './index.ts';

/** Retry classes (§3), as the editor offers them. */
const CLASS_LABEL: Record<string, string> = {
  soon: 'soon: retry within hours (technical)',
  later: 'later: retry over days (funds, limits)',
  customer: 'customer: wait for a new card or authentication',
  never: 'never: no retry',
};

interface PolicyPageOptions {
  /** The form as typed (after a refusal); the policy in force otherwise. */
  values?: Record<string, string>;
  /** Messages by form field. */
  errors?: Record<string, string>;
  /** Messages about no one field. */
  general?: string[];
  flash?: Flash | null;
  status?: number;
}

export function policyRoutes(app: FastifyInstance, c: ConsoleFrame) {
  const { ctx } = c;
  const showPolicy = async (reply: FastifyReply, s: Session<OperatorSession>, o: PolicyPageOptions) => {
    const policies = await readPolicies(ctx);
    const body = policyView(policies, o, s.csrf);
    const hasErrors = Object.keys(o.errors ?? {}).length > 0 || Boolean(o.general?.length);
    return c.show(reply, { title: 'Dunning policy', s, active: 'policy', flash: hasErrors ? null : o.flash, body }, o.status ?? 200);
  };

  app.get('/console/policy', c.guard(async (req, reply, s) => showPolicy(reply, s, { flash: c.takeFlash(s) })));

  app.post(
    '/console/policy',
    c.guard(async (req, reply, s) => {
      const { values, policy, errors } = formToPolicy((req.body ?? {}) as Body);
      if (Object.keys(errors).length) return showPolicy(reply, s, { values, errors, status: 400 });
      try {
        await savePolicy(ctx, 'default', policy);
      } catch (err) {
        if (!(err instanceof CommandError)) {
          req.log.error({ err: { message: (err as Error).message } }, 'saving the policy failed');
          return showPolicy(reply, s, { values, errors: {}, general: ['Saving failed (500).'], status: 500 });
        }
        const { fieldErrors, general } = refusal(err, values);
        return showPolicy(reply, s, { values, errors: fieldErrors, general, status: STATUS_OF_KIND[err.kind] >= 500 ? 500 : 400 });
      }
      s.flash = { kind: 'success', text: 'Policy saved. Retries of accounts in grace were re-planned.' };
      return reply.redirect('/console/policy', 303);
    }),
  );
}

/**
 * The command's field errors on the form's fields: `retry_schedule[2]` is the retry schedule
 * ("[2]: must be in increasing order"), `decline_rules.x` its select; anything else is general.
 */
export function refusal(err: CommandError, values: Record<string, string>): { fieldErrors: Record<string, string>; general: string[] } {
  const fieldErrors: Record<string, string> = {};
  const general: string[] = [];
  for (const e of err.fields) {
    const path = String(e.field ?? '');
    const base = path.replace(/\[\d+\]$/, '').replace(/\.\d+$/, '');
    const name = Object.keys(values).includes(base) || base.startsWith('decline_rules.') ? base : null;
    const msg = path !== base ? `${path.slice(base.length).replace(/^\./, 'item ')}: ${e.message}` : e.message;
    if (name) fieldErrors[name] = fieldErrors[name] ? `${fieldErrors[name]}; ${msg}` : msg;
    else general.push(`${path || 'policy'} ${e.message}`);
  }
  if (!Object.keys(fieldErrors).length && !general.length) general.push(err.message);
  return { fieldErrors, general };
}

const fid = (name: string) => `f-${name.replace(/\./g, '-')}`;

export function policyView(policies: PolicyView, o: PolicyPageOptions, csrf: string): Html {
  const v = o.values ?? policyToForm(policies.policy);
  const errors = o.errors ?? {};
  const err = (name: string) => (errors[name] ? html`<span class="error-text" id="${fid(name)}-error">${errors[name]}</span>` : '');
  const a = (name: string, hint?: string) =>
    attrs({ 'aria-invalid': errors[name] ? 'true' : null, 'aria-describedby': [hint ? `${fid(name)}-hint` : null, errors[name] ? `${fid(name)}-error` : null].filter(Boolean).join(' ') || null });
  const num = (name: string, label: string, hint: string) =>
    html`<div class="field"><label for="${fid(name)}">${label}</label><span class="hint" id="${fid(name)}-hint">${hint}</span><input type="text" inputmode="decimal" id="${fid(name)}" name="${name}" value="${v[name] ?? ''}"${a(name, hint)}>${err(name)}</div>`;
  const overrides = Object.entries(policies.overrides);
  const errorSummary =
    Object.keys(errors).length || o.general?.length
      ? html`<div id="flash" class="flash flash-error" role="alert" tabindex="-1"><p><strong>The policy was not saved.</strong> Fix the fields marked below.</p>
${o.general?.length ? html`<ul>${o.general.map((g) => html`<li>${g}</li>`)}</ul>` : ''}
<ul>${Object.entries(errors).map(([k, m]) => html`<li><a href="#${fid(k)}">${k}</a>: ${m}</li>`)}</ul></div>`
      : '';
  return html`<h1>Dunning policy</h1>${errorSummary}
<p class="muted">The default policy for every account. Saving re-plans the retries of every account in grace at once. Same rules as <span class="mono">PUT /v1/dunning-policy</span>.</p>
<p><a href="/console/policy/backtest">Backtest a policy</a>: what another policy would have recovered from this installation's recorded failed renewals (estimates), before saving it.</p>
<form method="post" action="/console/policy" novalidate>${hidden('_csrf', csrf)}
<div class="grid-2"><div class="panel">
<h2>Grace and retries</h2>
${num('grace_days', 'Grace period (days)', 'Days of full access after a failed renewal, 1 to 60.')}
${num('retry_schedule', 'Retry schedule (days after the failure)', 'Comma-separated, increasing, inside the grace period, e.g. 1, 3, 5, 7.')}
${num('technical_retry_hours', 'Quick retries after technical declines (hours)', 'Issuer unavailable or system failure, e.g. 2, 8.')}
${num('reminder_days', 'Reminders (days before grace ends)', 'e.g. 7, 2.')}
${num('max_automatic_attempts', 'Automatic attempts per invoice', 'The renewal charge included; at most 20.')}
${num('help_pause_days', 'Downgrade paused for a help request (days)', 'While a help request on a past-due invoice waits for an answer, the downgrade waits too, at most this long per grace period; 0 turns it off, at most 30.')}
${num('backup_after_failures', 'Backup card after (failures of the main card)', "Then the next retry charges the customer's backup card, if they saved one with consent; 1 to 20.")}
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
<div class="panel"><h2>Payment incidents</h2><p class="muted small">When technical failures (issuer unavailable, gateway errors and timeouts) rise far above their usual rate, for the gateway or a card brand: no attempt on the invoices concerned while it lasts, their grace extended by its length, their retries spread once it closes.</p>
<div class="field"><label class="check"><input type="checkbox" id="f-incidents-enabled" name="incidents.enabled" value="on"${attrs({ checked: v['incidents.enabled'] === 'on' })}> Detect payment incidents</label></div>
<div class="grid">
${num('incidents.window_minutes', 'Window (minutes)', 'The recent failures counted, e.g. 15.')}
${num('incidents.baseline_hours', 'Baseline (hours)', 'The usual rate is taken from this long before the window, e.g. 24.')}
${num('incidents.min_declines', 'Technical failures to open', 'At least this many in the window, e.g. 20.')}
${num('incidents.ratio', 'Times the usual rate', 'And at least this many times the baseline rate, e.g. 5.')}
${num('incidents.spread_minutes', 'Spread the held retries over (minutes)', 'After the incident closes, e.g. 60.')}
</div></div>
<div class="actions"><button type="submit" class="btn">Save the policy</button> <a href="/console/policy">Discard changes</a></div>
</form>
<section class="panel" aria-labelledby="ov-title"><h2 id="ov-title">Overrides</h2>${
    overrides.length
      ? html`<p class="muted small">Per plan or domain zone (edit them with <span class="mono">PUT /v1/dunning-policy/overrides/{scope}</span>).</p><div class="table-wrap"><table class="data"><thead><tr><th scope="col">Scope</th><th scope="col">Override</th></tr></thead><tbody>
${overrides.map(([k, ov]) => html`<tr><td class="mono">${k}</td><td class="mono">${JSON.stringify(ov)}</td></tr>`)}</tbody></table></div>`
      : html`<p class="muted">No overrides.</p>`
  }</section>`;
}

const INCIDENT_NUMBERS = ['window_minutes', 'baseline_hours', 'min_declines', 'ratio', 'spread_minutes'] as const;

function policyToForm(p: DunningPolicy): Record<string, string> {
  const v: Record<string, string> = {
    grace_days: String(p.grace_days),
    retry_schedule: p.retry_schedule.join(', '),
    technical_retry_hours: p.technical_retry_hours.join(', '),
    reminder_days: p.reminder_days.join(', '),
    max_automatic_attempts: String(p.max_automatic_attempts),
    help_pause_days: String(p.help_pause_days),
    backup_after_failures: String(p.backup_after_failures),
    'caps.attempts_per_card_30d': String(p.caps.attempts_per_card_30d),
    'caps.declines_per_card_24h': String(p.caps.declines_per_card_24h),
    'manual_retry.enabled': p.manual_retry.enabled ? 'on' : '',
    'manual_retry.max_per_day': String(p.manual_retry.max_per_day),
    'manual_retry.disabled_domain_zones': p.manual_retry.disabled_domain_zones.join(', '),
    'manual_retry.disabled_payment_methods': p.manual_retry.disabled_payment_methods.join(','),
  };
  for (const r of DECLINE_REASONS) v[`decline_rules.${r}`] = p.decline_rules[r] ?? '';
  v['incidents.enabled'] = p.incidents.enabled ? 'on' : '';
  for (const k of INCIDENT_NUMBERS) v[`incidents.${k}`] = String(p.incidents[k]);
  return v;
}

/** The form as a full policy, or the fields that are not numbers. Range rules are the command's job. */
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
  const pms = strs(body['manual_retry.disabled_payment_methods']);
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
    help_pause_days: number('help_pause_days'),
    backup_after_failures: number('backup_after_failures'),
  } as PolicyOverride;
  // A form without the incident fields (an older page, a script) leaves them to the default.
  if (one('incidents.window_minutes') !== '') {
    values['incidents.enabled'] = one('incidents.enabled') ? 'on' : '';
    const incidents: Record<string, number | boolean> = { enabled: values['incidents.enabled'] === 'on' };
    for (const k of INCIDENT_NUMBERS) incidents[k] = number(`incidents.${k}`);
    policy.incidents = incidents as PolicyOverride['incidents'];
  }
  return { values, policy, errors };
}
