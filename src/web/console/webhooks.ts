// Webhooks, with the same functions as /v1/webhook-endpoints (deps.webhooks): endpoints with their
// status, registering one (URL + event types; the signing secret is shown once), enable/disable,
// and the deliveries with each attempt. What makes an endpoint valid is the command's rule: the
// page checks only what its form requires, and shows the command's refusals next to the fields.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CommandError, type FieldError } from '../../core/errors.ts';
import { KNOWN_EVENT_TYPES } from '../../notify/events.ts';
import { html, attrs, str, strs, type Body, type Html } from '../html.ts';
import { hidden } from '../layout.ts';
import type { Flash, OperatorSession, Session } from '../sessions.ts';
import type { WebhookDeliveryView, WebhookEndpointView } from '../deps.ts';
import { badge, when } from './format.ts';
import type { ConsoleFrame } from './index.ts';

const WEBHOOK_GROUPS: [string, string][] = [
  ['*', 'All events'],
  ['subscription.*', 'Subscriptions (renewed, past due, downgraded…)'],
  ['invoice.*', 'Invoices (created, paid, uncollectible…)'],
  ['payment_attempt.*', 'Payment attempts'],
  ['payment_method.*', 'Payment methods'],
  ['dunning.*', 'Dunning (retries planned, reminders)'],
  ['help_request.*', 'Help requests'],
];

/** The "Add an endpoint" form as typed. */
interface EndpointForm {
  url: string;
  description: string;
  /** The groups ticked. */
  groups: string[];
  /** "Other event types", as typed. */
  more: string;
}

interface WebhooksPageOptions {
  endpoint?: string;
  flash?: Flash | null;
  form?: EndpointForm;
  errors?: Record<string, string>;
  status?: number;
}

export function webhooksRoutes(app: FastifyInstance, c: ConsoleFrame) {
  app.get(
    '/console/webhooks',
    c.guard(async (req, reply, s) => {
      const endpoint = str((req.query as Body).endpoint) || undefined;
      return showWebhooks(c, reply, s, { endpoint, flash: c.takeFlash(s) });
    }),
  );

  app.post(
    '/console/webhooks',
    c.guard(async (req, reply, s) => {
      const wh = c.deps.webhooks;
      if (!wh) return showWebhooks(c, reply, s, {});
      const form = readForm((req.body ?? {}) as Body);
      const eventTypes = eventTypesOf(form);
      const errors = formErrors(form);
      // Without any event type the command is still asked (it refuses an endpoint without event
      // types too), so a bad URL shows in the same round; other form errors stop here.
      const onlyNoEventTypes = Object.keys(errors).length === 1 && eventTypes.length === 0;
      if (Object.keys(errors).length && !onlyNoEventTypes) return showWebhooks(c, reply, s, { form, errors, status: 400 });
      try {
        const ep = await wh.create({ url: form.url, event_types: eventTypes, description: form.description || null });
        s.flash = { kind: 'success', text: `Endpoint added: ${ep.url}. It receives ${ep.event_types.join(', ')} from now on.`, values: { secret: ep.secret, url: ep.url } };
      } catch (err) {
        const refused = refusedFields(err);
        if (!refused) throw err;
        return showWebhooks(c, reply, s, { form, errors: { ...refused, ...errors }, status: 400 });
      }
      return reply.redirect('/console/webhooks', 303);
    }),
  );

  app.post(
    '/console/webhooks/:id/status',
    c.act(
      () => '/console/webhooks',
      async (req): Promise<Flash> => {
        const id = (req.params as { id: string }).id;
        const status = str((req.body as Body).status);
        if (status !== 'enabled' && status !== 'disabled') return { kind: 'error', text: 'Choose enable or disable.' };
        const ep = await c.deps.webhooks?.setStatus(id, status);
        if (!ep) return { kind: 'error', text: `No webhook endpoint ${id}.` };
        return { kind: 'success', text: status === 'enabled' ? `Endpoint ${ep.url} enabled; its pending deliveries resume.` : `Endpoint ${ep.url} disabled; nothing is sent to it until it is enabled again.` };
      },
    ),
  );
}

async function showWebhooks(c: ConsoleFrame, reply: FastifyReply, s: Session<OperatorSession>, o: WebhooksPageOptions) {
  const wh = c.deps.webhooks;
  if (!wh) return c.show(reply, { title: 'Webhooks', s, active: 'webhooks', body: html`<h1>Webhooks</h1><p>Webhooks are not available in this build.</p>` }, 404);
  const [endpoints, deliveries] = await Promise.all([wh.endpoints(), wh.deliveries({ endpoint_id: o.endpoint, limit: 200 })]);
  const hasErrors = Object.keys(o.errors ?? {}).length > 0;
  return c.show(reply, { title: 'Webhooks', s, active: 'webhooks', flash: hasErrors ? null : o.flash, body: webhooksView({ endpoints, deliveries }, o, s.csrf) }, o.status ?? 200);
}

function readForm(body: Body): EndpointForm {
  return {
    url: str(body.url).trim(),
    description: str(body.description).trim(),
    groups: strs(body.event_types).filter((g) => WEBHOOK_GROUPS.some(([v]) => v === g)),
    more: str(body.more_event_types).trim(),
  };
}

const eventTypesOf = (f: EndpointForm) => [...f.groups, ...f.more.split(/[\s,;]+/).filter(Boolean)];

/** What the form itself requires: the fields filled in, within the sizes its inputs allow. */
function formErrors(f: EndpointForm): Record<string, string> {
  const errors: Record<string, string> = {};
  const types = eventTypesOf(f);
  if (!f.url) errors.url = 'Enter the URL that receives the events.';
  else if (f.url.length > 2000) errors.url = 'The URL is longer than 2000 characters.';
  if (f.description.length > 500) errors.description = 'The description is longer than 500 characters.';
  if (types.length === 0) errors.event_types = 'Choose at least one event type.';
  else if (types.length > 100) errors.event_types = 'At most 100 event types.';
  return errors;
}

/** The command's refusal of the input as messages by form field; null for any other error. */
export function refusedFields(err: unknown): Record<string, string> | null {
  if (err instanceof CommandError && err.kind === 'invalid') return byFormField(err.fields.length ? err.fields : [{ field: 'url', message: err.message }]);
  return null;
}

/** Field errors on the form's fields (event_types[3] is the event types), each as a sentence. */
function byFormField(fields: FieldError[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fields) {
    const k = e.field.startsWith('event_types') ? 'event_types' : e.field === 'description' ? 'description' : 'url';
    const message = e.message.charAt(0).toUpperCase() + e.message.slice(1);
    out[k] = out[k] ? `${out[k]}; ${message}` : message;
  }
  return out;
}

export function webhooksView(d: { endpoints: WebhookEndpointView[]; deliveries: WebhookDeliveryView[] }, o: WebhooksPageOptions, csrf: string): Html {
  const errors = o.errors ?? {};
  const errorSummary = Object.keys(errors).length
    ? html`<div id="flash" class="flash flash-error" role="alert" tabindex="-1"><p><strong>The endpoint was not added.</strong></p>
<ul>${Object.entries(errors).map(([k, m]) => html`<li><a href="#wh-${k === 'event_types' ? 'type-0' : k}">${m}</a></li>`)}</ul></div>`
    : '';
  const secret = o.flash?.values?.secret;
  const secretBox = secret
    ? html`<section class="panel secret" aria-labelledby="secret-title"><h2 id="secret-title">Signing secret</h2>
<p>For <span class="mono">${o.flash?.values?.url ?? ''}</span>. Copy it now: it is not shown again. Each delivery carries <span class="mono">Renewd-Signature: t=…,v1=…</span>, the HMAC-SHA256 of <span class="mono">"&lt;t&gt;.&lt;raw body&gt;"</span> keyed with this secret.</p>
<p><label for="wh-secret">Secret</label><input type="text" id="wh-secret" class="mono" readonly value="${secret}" spellcheck="false"></p></section>`
    : '';
  return html`<h1>Webhooks</h1>${errorSummary}
<p class="muted">renewd POSTs each event as JSON <span class="mono">{id, type, created, data}</span> to the endpoints subscribed to its type, signed with the endpoint's secret, and retries failures with backoff for about a day (1m, 5m, 30m, 2h, 5h, 10h, 12h). Same as <span class="mono">/v1/webhook-endpoints</span>.</p>
${secretBox}${endpointsView(d.endpoints, o.endpoint, csrf)}${formView(o.form, errors, csrf)}${deliveriesView(d.endpoints, d.deliveries, o.endpoint)}`;
}

function endpointsView(endpoints: WebhookEndpointView[], selected: string | undefined, csrf: string): Html {
  const rows = endpoints.map((e) => {
    const next = e.status === 'enabled' ? 'disabled' : 'enabled';
    const health =
      e.status === 'disabled'
        ? html`<br><span class="muted small">${e.disabled_reason ?? ''}</span>`
        : e.consecutive_failures
          ? html`<br><span class="muted small">${e.consecutive_failures} failed attempt(s) in a row since ${when(e.failing_since)}</span>`
          : '';
    return html`<tr><td><span class="mono">${e.url}</span>${e.description ? html`<br><span class="muted small">${e.description}</span>` : ''}</td>
<td>${e.event_types.join(', ')}</td><td>${badge(e.status)}${health}</td><td>${when(e.created_at)}</td>
<td><div class="actions"><a href="/console/webhooks?endpoint=${e.id}#del-title"${attrs({ 'aria-current': selected === e.id ? 'true' : null })}>Deliveries<span class="visually-hidden"> to ${e.url}</span></a>
<form method="post" action="/console/webhooks/${e.id}/status">${hidden('_csrf', csrf)}${hidden('status', next)}<button type="submit" class="btn ${next === 'disabled' ? 'btn-danger' : 'btn-secondary'}">${next === 'disabled' ? 'Disable' : 'Enable'}<span class="visually-hidden"> ${e.url}</span></button></form></div></td></tr>`;
  });
  return html`<section class="panel" aria-labelledby="ep-title"><h2 id="ep-title">Endpoints</h2>${
    endpoints.length
      ? html`<div class="table-wrap" role="region" aria-label="Table: webhook endpoints" tabindex="0"><table class="data"><thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead><tbody>
${rows}</tbody></table></div>`
      : html`<p class="muted">No endpoint yet. Add one below (or with <span class="mono">POST /v1/webhook-endpoints</span>).</p>`
  }</section>`;
}

function formView(form: EndpointForm | undefined, errors: Record<string, string>, csrf: string): Html {
  const groups = new Set(form?.groups ?? []);
  const errText = (k: string) => (errors[k] ? html`<span class="error-text" id="wh-${k}-error">${errors[k]}</span>` : '');
  const describedBy = (k: string, hint: boolean) => [hint ? `wh-${k}-hint` : null, errors[k] ? `wh-${k}-error` : null].filter(Boolean).join(' ') || null;
  return html`<section class="panel" aria-labelledby="add-title"><h2 id="add-title">Add an endpoint</h2>
<form method="post" action="/console/webhooks" novalidate>${hidden('_csrf', csrf)}
<div class="field"><label for="wh-url">Endpoint URL</label><span class="hint" id="wh-url-hint">An http(s) URL that accepts POSTed JSON, e.g. https://example.com/renewd/webhooks.</span>
<input type="text" inputmode="url" id="wh-url" name="url" maxlength="2000" spellcheck="false" autocomplete="off" value="${form?.url ?? ''}"${attrs({ 'aria-invalid': errors.url ? 'true' : null, 'aria-describedby': describedBy('url', true) })}>${errText('url')}</div>
<div class="field"><label for="wh-description">Description (optional)</label>
<input type="text" id="wh-description" name="description" maxlength="500" value="${form?.description ?? ''}"${attrs({ 'aria-invalid': errors.description ? 'true' : null, 'aria-describedby': describedBy('description', false) })}>${errText('description')}</div>
<fieldset${attrs({ 'aria-describedby': describedBy('event_types', true) })}><legend>Event types</legend><span class="hint" id="wh-event_types-hint">Choose at least one group, or name event types below.</span>
${WEBHOOK_GROUPS.map(([v, label], i) => html`<label class="check"><input type="checkbox" id="wh-type-${i}" name="event_types" value="${v}"${attrs({ checked: groups.has(v) })}> ${label} <span class="mono muted">${v}</span></label>`)}
<div class="field"><label for="wh-more">Other event types</label><span class="hint" id="wh-more-hint">Comma-separated, e.g. subscription.renewed, invoice.paid. Known types: ${KNOWN_EVENT_TYPES.join(', ')}.</span>
<input type="text" id="wh-more" name="more_event_types" spellcheck="false" autocomplete="off" value="${form?.more ?? ''}"${attrs({ 'aria-invalid': errors.event_types ? 'true' : null, 'aria-describedby': describedBy('more', true) })}></div>
${errText('event_types')}</fieldset>
<div class="actions"><button type="submit" class="btn">Add endpoint</button></div></form></section>`;
}

function deliveriesView(endpoints: WebhookEndpointView[], deliveries: WebhookDeliveryView[], selected: string | undefined): Html {
  const urlOf = new Map(endpoints.map((e) => [e.id, e.url]));
  const disabledIds = new Set(endpoints.filter((e) => e.status === 'disabled').map((e) => e.id));
  const shown = selected ? endpoints.find((e) => e.id === selected) : undefined;
  const attemptLog = (d: WebhookDeliveryView) =>
    d.attempt_log && d.attempt_log.length > 1
      ? html`<details><summary>${d.attempt_log.length} attempts</summary><ol>${d.attempt_log.map((a) => html`<li>${when(a.attempted_at)}: ${a.status_code ?? ''} ${a.error ?? 'OK'} <span class="muted small">(${a.duration_ms} ms)</span></li>`)}</ol></details>`
      : '';
  const nextTry = (d: WebhookDeliveryView) =>
    d.delivered_at
      ? when(d.delivered_at)
      : d.status === 'pending' && disabledIds.has(d.endpoint_id)
        ? html`<span class="muted">held while the endpoint is disabled</span>`
        : d.next_attempt_at && d.status === 'pending'
          ? html`next ${when(d.next_attempt_at)}`
          : '—';
  return html`<section class="panel" aria-labelledby="del-title"><h2 id="del-title">${shown ? html`Deliveries to <span class="mono">${shown.url}</span>` : 'Recent deliveries'}</h2>
${shown ? html`<p><a href="/console/webhooks#del-title">All endpoints</a></p>` : ''}
${
  deliveries.length
    ? html`<div class="table-wrap" role="region" aria-label="Table: webhook deliveries" tabindex="0"><table class="data"><thead><tr><th scope="col">Created</th><th scope="col">Event</th><th scope="col">Endpoint</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Last answer</th><th scope="col">Delivered / next try</th></tr></thead><tbody>
${deliveries.map(
  (d) => html`<tr><td>${when(d.created_at)}</td><td>${d.event_type}${d.event_id ? html`<br><span class="mono muted small">${d.event_id}</span>` : ''}</td><td class="mono">${urlOf.get(d.endpoint_id) ?? d.endpoint_id}</td><td>${badge(d.status)}</td><td class="num">${d.attempts}</td>
<td>${d.last_status_code !== null ? html`HTTP ${d.last_status_code}` : ''}${d.last_error ? html` <span class="small">${d.last_error}</span>` : ''}${attemptLog(d)}</td>
<td>${nextTry(d)}</td></tr>`,
)}</tbody></table></div>`
    : html`<p class="muted">No deliveries yet.</p>`
}</section>`;
}
