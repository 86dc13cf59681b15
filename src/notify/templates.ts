// E-mail templates: one definition per template, messages from the locale catalogs, money and
// dates formatted with Intl in the account's locale and time zone. Pure functions, no I/O.
//
// A template is a list of blocks. A paragraph lists message keys in order of preference and the
// first one whose {placeholders} all have a value is used (e.g. "the payment of {amount} failed",
// else "the payment failed"); a paragraph none of whose messages can be filled is left out, so a
// missing optional value never shows up as "undefined" or as a raw {placeholder}.
import { DECLINE_REASONS, TEMPLATE_NAMES, type DeclineReason, type LinkPurpose, type TemplateName } from '../core/types.ts';
import { currencyExponent, formatMoney } from '../core/money.ts';
import { dateTimeFormat, formatDateIn, numberFormat, pluralRulesFor, validTimeZone } from '../core/intl.ts';
import { en, type Catalog, type MessageKey } from './locales/en.ts';
import { fr } from './locales/fr.ts';
import { de } from './locales/de.ts';
import { es } from './locales/es.ts';
import { it } from './locales/it.ts';
import { pt } from './locales/pt.ts';
import { pl } from './locales/pl.ts';

export const CATALOGS = { en, fr, de, es, it, pt, pl } satisfies Record<string, Catalog>;
export type Language = keyof typeof CATALOGS;
export const LANGUAGES = Object.keys(CATALOGS) as Language[];

export { TEMPLATE_NAMES, type TemplateName };

export function isTemplateName(s: string): s is TemplateName {
  return (TEMPLATE_NAMES as readonly string[]).includes(s);
}

export interface EmailContext {
  /** BCP 47 tag of the account (fr-FR, de, pt-BR…); unknown languages fall back to English. */
  locale: string;
  /** IANA time zone in which dates are shown (Europe/Paris); an invalid one falls back to UTC. */
  time_zone: string;
  account_name: string;
  /**
   * The e-mail's no-login links, by purpose (engine/links.ts mints them: one token per way out).
   * A link block whose purpose is missing is left out, so an e-mail never shows a way out it was
   * not given (Retry only when the policy allows it).
   */
  links?: Partial<Record<LinkPurpose, string>>;
  /** Until when the links work (told in the access_link e-mail). */
  link_expires_at?: Date;
  /** Without `links` only (previews, operator tools): the pages' address, used for every link but Retry. */
  portal_url?: string;
  plan_name?: string;
  /** Integer minor units of `currency` (cents for EUR, yen for JPY). */
  amount?: number;
  currency?: string;
  period_end?: Date;
  /** When a scheduled plan change takes effect. */
  change_at?: Date;
  /** Until when a canceled subscription keeps its paid features (a period-end cancel). */
  access_until?: Date;
  /** A payment that was in flight when the customer canceled and went through (minor units of `currency`). */
  paid_amount?: number;
  grace_ends_at?: Date;
  next_retry_at?: Date | null;
  reason?: DeclineReason;
  days_left?: number;
  card_brand?: string;
  card_last4?: string;
  exp_month?: number;
  exp_year?: number;
  invoice_id?: string;
  help_request_id?: string;
  /** The operator's answer to a help request (plain text, may span lines). */
  answer?: string;
  outcome?: 'succeeded' | 'declined' | 'requires_action';
  /** Without `links` only: where the customer authenticates a payment; the portal when not given. */
  auth_url?: string;
  // Operator e-mails (webhook_endpoint_disabled)
  endpoint_id?: string;
  endpoint_url?: string;
  failing_since?: Date;
  last_error?: string;
  // Operator e-mails (incident_opened)
  incident_scope?: string;
  incident_opened_at?: Date;
  technical_declines?: number;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
  /** The locale the e-mail was written in: the account's when its language has a catalog, else "en". */
  locale: string;
  language: Language;
}

type Vars = Partial<Record<string, string>>;
type Block =
  /** `when`: only in an e-mail that carries that link (e.g. the Retry sentence with the Retry link). */
  | { p: MessageKey[]; when?: LinkPurpose }
  | { details: [MessageKey, string][] }
  | { quote: 'answer' }
  | { link: LinkPurpose };

/** The button of each link purpose. */
const LINK_LABEL: Record<LinkPurpose, MessageKey> = {
  billing: 'link.billing',
  retry: 'link.retry',
  authenticate: 'link.authenticate',
  help: 'link.help',
  subscription: 'link.portal',
  restore: 'link.restore',
  history: 'link.history',
  invoice: 'link.invoice',
};

/** Every way out of a payment problem, in the order the e-mail lists them. */
const WAYS_OUT: Block[] = [{ link: 'authenticate' }, { link: 'billing' }, { link: 'retry' }, { link: 'help' }];
/** What to do, sentence by sentence: each names a way out the e-mail links to. */
const TODO: Block[] = [{ p: ['todo'] }, { p: ['todo.retry'], when: 'retry' }, { p: ['todo.help'], when: 'help' }];

interface TemplateDef {
  subject: MessageKey;
  operator?: boolean;
  blocks: Block[];
}

const receipt: Block = {
  details: [
    ['label.plan', 'plan_name'],
    ['label.amount', 'amount'],
    ['label.payment_method', 'card'],
    ['label.paid_until', 'period_end'],
    ['label.invoice', 'invoice_id'],
  ],
};
const dunning: Block = {
  details: [
    ['label.amount', 'amount'],
    ['label.payment_method', 'card'],
    ['label.invoice', 'invoice_id'],
    ['label.access_until', 'grace_ends_at'],
    ['label.next_retry', 'next_retry_at'],
  ],
};

const TEMPLATES: Record<TemplateName, TemplateDef> = {
  purchase_succeeded: {
    subject: 'purchase_succeeded.subject',
    blocks: [{ p: ['purchase_succeeded.body', 'purchase_succeeded.body_short'] }, receipt, { link: 'subscription' }],
  },
  renewal_succeeded: {
    subject: 'renewal_succeeded.subject',
    blocks: [{ p: ['renewal_succeeded.body', 'renewal_succeeded.body_short'] }, receipt, { link: 'subscription' }, { link: 'invoice' }],
  },
  retry_succeeded: {
    subject: 'retry_succeeded.subject',
    blocks: [{ p: ['retry_succeeded.body', 'retry_succeeded.body_short'] }, receipt, { link: 'subscription' }, { link: 'invoice' }],
  },
  renewal_failed: {
    subject: 'renewal_failed.subject',
    blocks: [
      { p: ['renewal_failed.body_amount', 'renewal_failed.body'] },
      { p: ['why'] },
      { p: ['access'] },
      ...TODO,
      { p: ['next_retry'] },
      dunning,
      ...WAYS_OUT,
    ],
  },
  retry_failed: {
    subject: 'retry_failed.subject',
    blocks: [
      { p: ['retry_failed.body_amount', 'retry_failed.body'] },
      { p: ['why'] },
      { p: ['access'] },
      ...TODO,
      { p: ['next_retry'] },
      dunning,
      ...WAYS_OUT,
    ],
  },
  authentication_required: {
    subject: 'authentication_required.subject',
    blocks: [
      { p: ['authentication_required.body_amount', 'authentication_required.body'] },
      { p: ['access'] },
      { p: ['authentication_required.todo'] },
      { p: ['todo.help'], when: 'help' },
      dunning,
      ...WAYS_OUT,
    ],
  },
  card_expiring: {
    subject: 'card_expiring.subject',
    blocks: [{ p: ['card_expiring.body_card', 'card_expiring.body'] }, { p: ['card_expiring.todo'] }, { link: 'billing' }],
  },
  renewal_upcoming: {
    subject: 'renewal_upcoming.subject',
    blocks: [
      { p: ['renewal_upcoming.body'] },
      { p: ['renewal_upcoming.amount_card', 'renewal_upcoming.amount'] },
      { p: ['renewal_upcoming.todo'] },
      { link: 'subscription' },
    ],
  },
  grace_ending: {
    subject: 'grace_ending.subject',
    blocks: [
      { p: ['grace_ending.body', 'grace_ending.body_short'] },
      { p: ['why'] },
      ...TODO,
      { p: ['next_retry'] },
      dunning,
      ...WAYS_OUT,
    ],
  },
  downgraded: {
    subject: 'downgraded.subject',
    blocks: [{ p: ['downgraded.body'] }, { p: ['downgraded.invoice'] }, { p: ['downgraded.restore'] }, { link: 'restore' }],
  },
  subscription_canceled: {
    subject: 'subscription_canceled.subject',
    blocks: [
      { p: ['subscription_canceled.body_until', 'subscription_canceled.body_now'] },
      { p: ['subscription_canceled.paid_in_flight'] },
      { p: ['subscription_canceled.invoice'] },
      { p: ['subscription_canceled.no_charge'] },
      { p: ['subscription_canceled.resume', 'subscription_canceled.restore'] },
      { link: 'subscription' },
    ],
  },
  plan_changed: {
    subject: 'plan_changed.subject',
    blocks: [
      { p: ['plan_changed.body_scheduled', 'plan_changed.body_now'] },
      { p: ['plan_changed.charged'] },
      { p: ['plan_changed.grace'] },
      { p: ['plan_changed.unschedule'] },
      { link: 'subscription' },
    ],
  },
  help_request_received: {
    subject: 'help_request_received.subject',
    blocks: [
      { p: ['help_request_received.body_invoice', 'help_request_received.body'] },
      { details: [['label.request', 'help_request_id'], ['label.invoice', 'invoice_id']] },
      { link: 'history' },
    ],
  },
  help_request_answered: {
    subject: 'help_request_answered.subject',
    blocks: [
      { p: ['help_request_answered.body'] },
      { quote: 'answer' },
      { p: ['help_request_answered.more'] },
      { details: [['label.request', 'help_request_id'], ['label.invoice', 'invoice_id']] },
      { link: 'history' },
    ],
  },
  webhook_endpoint_disabled: {
    subject: 'webhook_endpoint_disabled.subject',
    operator: true,
    blocks: [
      { p: ['webhook_endpoint_disabled.body_since', 'webhook_endpoint_disabled.body'] },
      { p: ['webhook_endpoint_disabled.last_error'] },
      { p: ['webhook_endpoint_disabled.todo'] },
    ],
  },
  incident_opened: {
    subject: 'incident_opened.subject',
    operator: true,
    blocks: [{ p: ['incident_opened.body'] }, { p: ['incident_opened.todo'] }],
  },
  access_link: {
    subject: 'access_link.subject',
    blocks: [
      { p: ['access_link.body'] },
      // The one link the customer asked for, whichever its purpose.
      ...(['subscription', 'billing', 'retry', 'authenticate', 'help', 'restore', 'history'] as const).map((link): Block => ({ link })),
      { p: ['access_link.expires'] },
      { p: ['access_link.ignore'] },
    ],
  },
};

// ---------------------------------------------------------------------------------------------
// Locale, money, dates

// Resolving a locale tag costs an Intl call; a billing day resolves one per e-mail. Bounded cache.
const localeCache = new Map<string, { locale: string; language: Language }>();

/** The catalog for a locale: exact language (fr-CA → fr), else English. */
export function resolveLocale(tag: string | null | undefined): { locale: string; language: Language } {
  const raw = String(tag ?? '');
  let hit = localeCache.get(raw);
  if (!hit) {
    hit = resolveLocaleUncached(raw);
    if (localeCache.size >= 1000) localeCache.clear();
    localeCache.set(raw, hit);
  }
  return { locale: hit.locale, language: hit.language };
}

function resolveLocaleUncached(raw: string): { locale: string; language: Language } {
  let canonical: string | undefined;
  try {
    canonical = Intl.getCanonicalLocales(raw.replace(/_/g, '-'))[0];
  } catch {
    canonical = undefined;
  }
  const language = canonical?.split('-')[0].toLowerCase();
  if (canonical && language && Object.hasOwn(CATALOGS, language)) return { locale: canonical, language: language as Language };
  return { locale: 'en', language: 'en' };
}

export { currencyExponent, formatMoney };

export function formatDate(d: Date, locale: string, timeZone: string): string {
  return formatDateIn(dateTimeFormat(locale, { dateStyle: 'long', timeZone }), d);
}

function formatDateTime(d: Date, locale: string, timeZone: string): string {
  return formatDateIn(dateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short', timeZone }), d);
}

const BRANDS: Record<string, string> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  american_express: 'American Express',
  discover: 'Discover',
  diners: 'Diners Club',
  jcb: 'JCB',
  unionpay: 'UnionPay',
  cartes_bancaires: 'Cartes Bancaires',
  eftpos_au: 'eftpos',
};

export function cardLabel(brand: string | undefined, last4: string | undefined): string | undefined {
  if (!last4) return undefined;
  const b = brand ? (BRANDS[brand.toLowerCase()] ?? brand.charAt(0).toUpperCase() + brand.slice(1)) : '';
  return `${b ? b + ' ' : ''}•••• ${last4}`;
}

function toDate(v: unknown): Date | undefined {
  const d = v instanceof Date ? v : typeof v === 'string' || typeof v === 'number' ? new Date(v) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
}

function nonEmpty(s: unknown): string | undefined {
  return typeof s === 'string' && s.trim() !== '' ? s : undefined;
}

function variables(ctx: EmailContext, locale: string, catalog: Catalog): Vars {
  const tz = validTimeZone(ctx.time_zone);
  const date = (v: unknown) => {
    const d = toDate(v);
    return d ? formatDate(d, locale, tz) : undefined;
  };
  let amount: string | undefined;
  if (typeof ctx.amount === 'number' && Number.isFinite(ctx.amount) && ctx.currency) {
    try {
      amount = formatMoney(ctx.amount, ctx.currency.toUpperCase(), locale);
    } catch {
      amount = `${ctx.amount} ${ctx.currency}`; // not an ISO 4217 code Intl knows: show it raw
    }
  }
  let paid_amount: string | undefined;
  if (typeof ctx.paid_amount === 'number' && Number.isFinite(ctx.paid_amount) && ctx.currency) {
    try {
      paid_amount = formatMoney(ctx.paid_amount, ctx.currency.toUpperCase(), locale);
    } catch {
      paid_amount = `${ctx.paid_amount} ${ctx.currency}`;
    }
  }
  let days: string | undefined;
  if (typeof ctx.days_left === 'number' && Number.isFinite(ctx.days_left) && ctx.days_left >= 0) {
    const n = Math.round(ctx.days_left);
    const cat = pluralRulesFor(locale).select(n);
    const key = (['one', 'few', 'many'].includes(cat) ? `days.${cat}` : 'days.other') as MessageKey;
    days = catalog[key].replace('{n}', numberFormat(locale).format(n));
  }
  const failing = toDate(ctx.failing_since);
  return {
    account_name: nonEmpty(ctx.account_name),
    plan_name: nonEmpty(ctx.plan_name),
    amount,
    period_end: date(ctx.period_end),
    access_until: date(ctx.access_until),
    change_at: date(ctx.change_at),
    paid_amount,
    grace_ends_at: date(ctx.grace_ends_at),
    next_retry_at: date(ctx.next_retry_at),
    reason: ctx.reason && (DECLINE_REASONS as readonly string[]).includes(ctx.reason) ? catalog[`reason.${ctx.reason}` as MessageKey] : undefined,
    days,
    card: cardLabel(nonEmpty(ctx.card_brand), nonEmpty(ctx.card_last4)),
    expiry:
      Number.isInteger(ctx.exp_month) && Number.isInteger(ctx.exp_year) && ctx.exp_month! >= 1 && ctx.exp_month! <= 12
        ? `${String(ctx.exp_month).padStart(2, '0')}/${ctx.exp_year}`
        : undefined,
    invoice_id: nonEmpty(ctx.invoice_id),
    help_request_id: nonEmpty(ctx.help_request_id),
    answer: nonEmpty(ctx.answer),
    endpoint_id: nonEmpty(ctx.endpoint_id),
    endpoint_url: nonEmpty(ctx.endpoint_url),
    failing_since: failing ? formatDateTime(failing, locale, tz) : undefined,
    last_error: nonEmpty(ctx.last_error),
    incident_scope: nonEmpty(ctx.incident_scope),
    incident_opened_at: toDate(ctx.incident_opened_at) ? formatDateTime(toDate(ctx.incident_opened_at)!, locale, tz) : undefined,
    technical_declines: typeof ctx.technical_declines === 'number' && Number.isFinite(ctx.technical_declines) ? numberFormat(locale).format(ctx.technical_declines) : undefined,
    link_expires_at: toDate(ctx.link_expires_at) ? formatDateTime(toDate(ctx.link_expires_at)!, locale, tz) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering

const PLACEHOLDER = /\{([a-z_]+)\}/g;

/** The message with its placeholders filled, or null when one of them has no value. */
function fill(message: string, vars: Vars): string | null {
  let missing = false;
  // One pass: a value that itself contains "{…}" is never substituted again.
  const out = message.replace(PLACEHOLDER, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) {
      missing = true;
      return '';
    }
    return v;
  });
  return missing ? null : out;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const htmlText = (s: string) => escapeHtml(s).replace(/\n/g, '<br>');
const isHttpUrl = (u: string | undefined): u is string => !!u && /^https?:\/\/[^\s]+$/i.test(u);

type Part =
  | { kind: 'p'; text: string }
  | { kind: 'details'; rows: [string, string][] }
  | { kind: 'quote'; text: string }
  | { kind: 'link'; label: string; url: string };

export function renderEmail(template: TemplateName, ctx: EmailContext): RenderedEmail {
  const def = TEMPLATES[template];
  if (!def) throw new RangeError(`unknown e-mail template "${template}"`);
  const { locale, language } = resolveLocale(ctx.locale);
  const catalog: Catalog = CATALOGS[language];
  const vars = variables(ctx, locale, catalog);

  // The subject is always produced: a missing value leaves a gap rather than a placeholder.
  const subject =
    fill(catalog[def.subject], vars) ??
    catalog[def.subject]
      .replace(PLACEHOLDER, (_, n: string) => vars[n] ?? '')
      .replace(/\s{2,}/g, ' ')
      .trim();

  const parts: Part[] = [];
  const greeting = def.operator ? catalog['greeting.operator'] : (fill(catalog.greeting, vars) ?? catalog['greeting.operator']);
  parts.push({ kind: 'p', text: greeting });
  const urls = linkUrls(template, def, ctx);
  for (const b of def.blocks) {
    if ('p' in b) {
      if (b.when && !urls[b.when]) continue;
      for (const key of b.p) {
        const text = fill(catalog[key], vars);
        if (text !== null) {
          parts.push({ kind: 'p', text });
          break;
        }
      }
    } else if ('details' in b) {
      const rows = b.details.filter(([, v]) => vars[v] !== undefined).map(([label, v]) => [catalog[label], vars[v]!] as [string, string]);
      if (rows.length) parts.push({ kind: 'details', rows });
    } else if ('quote' in b) {
      if (vars[b.quote]) parts.push({ kind: 'quote', text: vars[b.quote]! });
    } else {
      const url = urls[b.link];
      if (url) parts.push({ kind: 'link', label: catalog[LINK_LABEL[b.link]], url });
    }
  }
  parts.push({ kind: 'p', text: catalog.closing });
  const footer = def.operator ? catalog['footer.operator'] : (fill(catalog.footer, vars) ?? catalog['footer.operator']);

  return { subject, text: toText(parts, footer, catalog), html: toHtml(parts, footer, subject, locale), locale, language };
}

/**
 * The address of each link block: the engine's no-login links (`ctx.links`). Without them (a
 * preview), the pages' address with the section's anchor; Retry is then left out (nobody checked
 * that the policy allows it), and so is Authenticate unless the bank asked for it.
 */
function linkUrls(template: TemplateName, def: TemplateDef, ctx: EmailContext): Partial<Record<LinkPurpose, string>> {
  if (ctx.links) return Object.fromEntries(Object.entries(ctx.links).filter(([, u]) => nonEmpty(u)));
  const base = nonEmpty(ctx.portal_url);
  const out: Partial<Record<LinkPurpose, string>> = {};
  const auth = template === 'authentication_required' || ctx.outcome === 'requires_action' || ctx.reason === 'authentication_required';
  const purposes = def.blocks.flatMap((b) => ('link' in b ? [b.link] : []));
  // One button is enough for a preview: the first purpose the e-mail names that it can fill.
  for (const p of purposes) {
    if (p === 'retry' || p === 'help') continue;
    if (p === 'authenticate') {
      if (!auth) continue;
      const url = nonEmpty(ctx.auth_url) ?? base;
      if (url) out.authenticate = url;
      break;
    }
    if (base) out[p] = p === 'subscription' || base.includes('#') ? base : `${base}#${p}`;
    break;
  }
  return out;
}

function toText(parts: Part[], footer: string, catalog: Catalog): string {
  const row = (label: string, value: string) => catalog['label.row'].replace('{label}', () => label).replace('{value}', () => value);
  const chunks = parts.map((p) => {
    switch (p.kind) {
      case 'p':
        return p.text;
      case 'details':
        return p.rows.map(([l, v]) => row(l, v)).join('\n');
      case 'quote':
        return p.text
          .split(/\r?\n/)
          .map((l) => `> ${l}`)
          .join('\n');
      case 'link':
        return row(p.label, p.url);
    }
  });
  return `${chunks.join('\n\n')}\n\n-- \n${footer}\n`;
}

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

function toHtml(parts: Part[], footer: string, subject: string, locale: string): string {
  const body = parts
    .map((p) => {
      switch (p.kind) {
        case 'p':
          return `<p style="margin:0 0 16px">${htmlText(p.text)}</p>`;
        case 'details':
          return (
            `<table role="presentation" style="border-collapse:collapse;margin:0 0 16px;width:100%">` +
            p.rows
              .map(
                ([l, v]) =>
                  `<tr><td style="padding:6px 12px 6px 0;color:#555;border-top:1px solid #e5e5e5;vertical-align:top">${htmlText(l)}</td>` +
                  `<td style="padding:6px 0;border-top:1px solid #e5e5e5;font-weight:600">${htmlText(v)}</td></tr>`,
              )
              .join('') +
            `</table>`
          );
        case 'quote':
          return `<blockquote style="margin:0 0 16px;padding:8px 16px;border-left:4px solid #d0d0d0;color:#333">${htmlText(p.text)}</blockquote>`;
        case 'link':
          // Only http(s) addresses become links; anything else is shown as text.
          return isHttpUrl(p.url)
            ? `<p style="margin:24px 0"><a href="${escapeHtml(p.url)}" style="display:inline-block;padding:10px 18px;background:#1a56db;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">${htmlText(p.label)}</a></p>`
            : `<p style="margin:0 0 16px">${htmlText(p.label)} ${htmlText(p.url)}</p>`;
      }
    })
    .join('\n');
  return (
    `<!doctype html>\n<html lang="${escapeHtml(locale)}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(subject)}</title></head>\n` +
    `<body style="margin:0;padding:0;background:#f4f4f5">` +
    `<div style="max-width:560px;margin:0 auto;padding:24px;background:#ffffff;font-family:${FONT};font-size:15px;line-height:1.5;color:#1f1f1f">\n` +
    `${body}\n` +
    `<p style="margin:24px 0 0;font-size:12px;color:#6b6b6b">${htmlText(footer)}</p>` +
    `</div></body></html>\n`
  );
}
