// E-mail templates: one definition per template, messages from the shared catalogs (core/messages,
// ICU MessageFormat, the `email.*` keys and the shared `because.*` / `days`), money and dates
// formatted with Intl in the account's locale and time zone. Pure functions, no I/O.
//
// A template is a list of blocks. A paragraph lists message keys in order of preference and the
// first one whose {arguments} all have a value is used (e.g. "the payment of {amount} failed",
// else "the payment failed"); a paragraph none of whose messages can be filled is left out, so a
// missing optional value never shows up as "undefined" or as a raw {argument}. A block (and a
// subject) may apply only `when` a condition holds: the e-mail carries a link, or the decline is (or
// is not) technical, so a failure the card is not to blame for gets its own subject and "what to do".
import { DECLINE_REASONS, TEMPLATE_NAMES, type DeclineReason, type LinkPurpose, type TemplateName } from '../core/types.ts';
import { currencyExponent, formatMoney } from '../core/money.ts';
import { isTechnicalReason } from '../core/declines.ts';
import { dateTimeFormat, formatDateIn, numberFormat, validTimeZone } from '../core/intl.ts';
import { CATALOGS, LANGUAGES, compile, formatMessage, type Language, type MessageKey } from '../core/messages/index.ts';

export { CATALOGS, LANGUAGES, type Language };

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
  /** Why the next attempt is then: `customer_chosen` words it as the day the customer picked. */
  next_retry_why?: string | null;
  /** While a help request waits: the downgrade is paused, until this at the latest. */
  downgrade_paused_until?: Date | null;
  reason?: DeclineReason;
  days_left?: number;
  card_brand?: string;
  card_last4?: string;
  /** The payment was made with the customer's backup card (then card_brand/card_last4 are the backup's). */
  paid_with_backup?: boolean;
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
/**
 * When a block or a subject applies. A link purpose: only in an e-mail that carries that link (e.g.
 * the Retry sentence with the Retry link). `technical`: only when the decline's reason is technical
 * (the bank or the payment system could not be reached, core/declines.ts isTechnicalReason: not the
 * card's fault); `not_technical`: in every other case (a card decline, no reason at all).
 */
type Condition = LinkPurpose | 'technical' | 'not_technical';
type Block =
  /** `when`: every condition listed holds. */
  | { p: MessageKey[]; when?: Condition | Condition[] }
  | { details: [MessageKey, string][] }
  | { quote: 'answer' }
  | { link: LinkPurpose };

/** The button of each link purpose. */
const LINK_LABEL: Record<LinkPurpose, MessageKey> = {
  billing: 'email.link.billing',
  retry: 'email.link.retry',
  authenticate: 'email.link.authenticate',
  help: 'email.link.help',
  subscription: 'email.link.portal',
  restore: 'email.link.restore',
  history: 'email.link.history',
  invoice: 'email.link.invoice',
};

/** Every way out of a payment problem, in the order the e-mail lists them. */
const WAYS_OUT: Block[] = [{ link: 'authenticate' }, { link: 'billing' }, { link: 'retry' }, { link: 'help' }];
/**
 * What to do, sentence by sentence: each names a way out the e-mail links to. After a technical
 * failure the card is not blamed: nothing to do, the automatic retry and its date (else that none
 * comes), and the other ways out for who prefers not to wait.
 */
const TODO: Block[] = [
  { p: ['email.todo'], when: 'not_technical' },
  { p: ['email.todo.retry'], when: ['not_technical', 'retry'] },
  { p: ['email.todo.technical', 'email.todo.technical_no_retry'], when: 'technical' },
  { p: ['email.todo.technical.retry'], when: ['technical', 'retry'] },
  { p: ['email.todo.help'], when: 'help' },
];
/** The next automatic attempt (a technical failure's "what to do" already gives its date). */
const NEXT_RETRY: Block = { p: ['email.next_retry.chosen', 'email.next_retry'], when: 'not_technical' };

interface TemplateDef {
  /** One subject, or a list: the first whose `when` holds (the last one has none). */
  subject: MessageKey | { key: MessageKey; when?: Condition }[];
  operator?: boolean;
  blocks: Block[];
}

const receipt: Block = {
  details: [
    ['email.label.plan', 'plan_name'],
    ['email.label.amount', 'amount'],
    ['email.label.payment_method', 'card'],
    ['email.label.paid_until', 'period_end'],
    ['email.label.invoice', 'invoice_id'],
  ],
};
const dunning: Block = {
  details: [
    ['email.label.amount', 'amount'],
    ['email.label.payment_method', 'card'],
    ['email.label.invoice', 'invoice_id'],
    ['email.label.access_until', 'grace_ends_at'],
    ['email.label.next_retry', 'next_retry_at'],
  ],
};

const TEMPLATES: Record<TemplateName, TemplateDef> = {
  purchase_succeeded: {
    subject: 'email.purchase_succeeded.subject',
    blocks: [{ p: ['email.purchase_succeeded.body', 'email.purchase_succeeded.body_short'] }, receipt, { link: 'subscription' }],
  },
  renewal_succeeded: {
    subject: 'email.renewal_succeeded.subject',
    blocks: [{ p: ['email.renewal_succeeded.body', 'email.renewal_succeeded.body_short'] }, { p: ['email.paid_with_backup'] }, receipt, { link: 'subscription' }, { link: 'invoice' }],
  },
  retry_succeeded: {
    subject: 'email.retry_succeeded.subject',
    blocks: [{ p: ['email.retry_succeeded.body', 'email.retry_succeeded.body_short'] }, { p: ['email.paid_with_backup'] }, receipt, { link: 'subscription' }, { link: 'invoice' }],
  },
  renewal_failed: {
    subject: [{ key: 'email.renewal_failed.subject_technical', when: 'technical' }, { key: 'email.renewal_failed.subject' }],
    blocks: [
      { p: ['email.renewal_failed.body_amount', 'email.renewal_failed.body'] },
      { p: ['email.why'] },
      { p: ['email.access'] },
      ...TODO,
      NEXT_RETRY,
      dunning,
      ...WAYS_OUT,
    ],
  },
  retry_failed: {
    subject: [{ key: 'email.retry_failed.subject_technical', when: 'technical' }, { key: 'email.retry_failed.subject' }],
    blocks: [
      { p: ['email.retry_failed.body_amount', 'email.retry_failed.body'] },
      { p: ['email.why'] },
      { p: ['email.access'] },
      ...TODO,
      NEXT_RETRY,
      dunning,
      ...WAYS_OUT,
    ],
  },
  authentication_required: {
    subject: 'email.authentication_required.subject',
    blocks: [
      { p: ['email.authentication_required.body_amount', 'email.authentication_required.body'] },
      { p: ['email.access'] },
      { p: ['email.authentication_required.todo'] },
      { p: ['email.todo.help'], when: 'help' },
      dunning,
      ...WAYS_OUT,
    ],
  },
  card_expiring: {
    subject: 'email.card_expiring.subject',
    blocks: [{ p: ['email.card_expiring.body_card', 'email.card_expiring.body'] }, { p: ['email.card_expiring.todo'] }, { link: 'billing' }],
  },
  renewal_upcoming: {
    subject: 'email.renewal_upcoming.subject',
    blocks: [
      { p: ['email.renewal_upcoming.body'] },
      { p: ['email.renewal_upcoming.amount_card', 'email.renewal_upcoming.amount'] },
      { p: ['email.renewal_upcoming.todo'] },
      { link: 'subscription' },
    ],
  },
  grace_ending: {
    subject: 'email.grace_ending.subject',
    blocks: [
      { p: ['email.grace_ending.body', 'email.grace_ending.body_short'] },
      { p: ['email.downgrade_paused'] },
      { p: ['email.why'] },
      ...TODO,
      NEXT_RETRY,
      dunning,
      ...WAYS_OUT,
    ],
  },
  downgraded: {
    subject: 'email.downgraded.subject',
    blocks: [{ p: ['email.downgraded.body'] }, { p: ['email.downgraded.invoice'] }, { p: ['email.downgraded.restore'] }, { link: 'restore' }],
  },
  subscription_canceled: {
    subject: 'email.subscription_canceled.subject',
    blocks: [
      { p: ['email.subscription_canceled.body_until', 'email.subscription_canceled.body_now'] },
      { p: ['email.subscription_canceled.paid_in_flight'] },
      { p: ['email.subscription_canceled.invoice'] },
      { p: ['email.subscription_canceled.no_charge'] },
      { p: ['email.subscription_canceled.resume', 'email.subscription_canceled.restore'] },
      { link: 'subscription' },
    ],
  },
  plan_changed: {
    subject: 'email.plan_changed.subject',
    blocks: [
      { p: ['email.plan_changed.body_scheduled', 'email.plan_changed.body_now'] },
      { p: ['email.plan_changed.charged'] },
      { p: ['email.plan_changed.grace'] },
      { p: ['email.plan_changed.unschedule'] },
      { link: 'subscription' },
    ],
  },
  help_request_received: {
    subject: 'email.help_request_received.subject',
    blocks: [
      { p: ['email.help_request_received.body_invoice', 'email.help_request_received.body'] },
      { p: ['email.downgrade_paused'] },
      { details: [['email.label.request', 'help_request_id'], ['email.label.invoice', 'invoice_id']] },
      { link: 'history' },
    ],
  },
  help_request_answered: {
    subject: 'email.help_request_answered.subject',
    blocks: [
      { p: ['email.help_request_answered.body'] },
      { quote: 'answer' },
      { p: ['email.help_request_answered.grace'] },
      { p: ['email.help_request_answered.more'] },
      { details: [['email.label.request', 'help_request_id'], ['email.label.invoice', 'invoice_id']] },
      { link: 'history' },
    ],
  },
  webhook_endpoint_disabled: {
    subject: 'email.webhook_endpoint_disabled.subject',
    operator: true,
    blocks: [
      { p: ['email.webhook_endpoint_disabled.body_since', 'email.webhook_endpoint_disabled.body'] },
      { p: ['email.webhook_endpoint_disabled.last_error'] },
      { p: ['email.webhook_endpoint_disabled.todo'] },
    ],
  },
  incident_opened: {
    subject: 'email.incident_opened.subject',
    operator: true,
    blocks: [{ p: ['email.incident_opened.body'] }, { p: ['email.incident_opened.todo'] }],
  },
  access_link: {
    subject: 'email.access_link.subject',
    blocks: [
      { p: ['email.access_link.body'] },
      // The one link the customer asked for, whichever its purpose.
      ...(['subscription', 'billing', 'retry', 'authenticate', 'help', 'restore', 'history'] as const).map((link): Block => ({ link })),
      { p: ['email.access_link.expires'] },
      { p: ['email.access_link.ignore'] },
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

function variables(ctx: EmailContext, locale: string, language: Language): Vars {
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
    days = formatMessage(language, locale, 'days', { n: Math.round(ctx.days_left) });
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
    chosen_retry_at: ctx.next_retry_why === 'customer_chosen' ? date(ctx.next_retry_at) : undefined,
    paused_until: date(ctx.downgrade_paused_until),
    reason: ctx.reason && (DECLINE_REASONS as readonly string[]).includes(ctx.reason) ? formatMessage(language, locale, `because.${ctx.reason}`) : undefined,
    days,
    card: cardLabel(nonEmpty(ctx.card_brand), nonEmpty(ctx.card_last4)),
    backup_card: ctx.paid_with_backup ? cardLabel(nonEmpty(ctx.card_brand), nonEmpty(ctx.card_last4)) ?? '' : undefined,
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

/** The message with its arguments filled, or null when one of them has no value. */
function fill(language: Language, locale: string, key: MessageKey, vars: Vars): string | null {
  for (const name of compile(CATALOGS[language][key], locale).args.keys()) if (vars[name] === undefined) return null;
  return formatMessage(language, locale, key, vars);
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
  const vars = variables(ctx, locale, language);
  const msg = (key: MessageKey) => formatMessage(language, locale, key);
  const urls = linkUrls(template, def, ctx);
  const technical = isTechnicalReason(ctx.reason);
  const holds = (when: Condition | Condition[] | undefined): boolean =>
    (when === undefined ? [] : Array.isArray(when) ? when : [when]).every((c) =>
      c === 'technical' ? technical : c === 'not_technical' ? !technical : !!urls[c],
    );

  // The subject is always produced: a missing value leaves a gap rather than a placeholder.
  const subjectKey = typeof def.subject === 'string' ? def.subject : def.subject.find((s) => holds(s.when))!.key;
  const subject = fill(language, locale, subjectKey, vars) ?? formatMessage(language, locale, subjectKey, vars, () => '').replace(/\s{2,}/g, ' ').trim();

  const parts: Part[] = [];
  const greeting = def.operator ? msg('email.greeting.operator') : (fill(language, locale, 'email.greeting', vars) ?? msg('email.greeting.operator'));
  parts.push({ kind: 'p', text: greeting });
  for (const b of def.blocks) {
    if ('p' in b) {
      if (!holds(b.when)) continue;
      for (const key of b.p) {
        const text = fill(language, locale, key, vars);
        if (text !== null) {
          parts.push({ kind: 'p', text });
          break;
        }
      }
    } else if ('details' in b) {
      const rows = b.details.filter(([, v]) => vars[v] !== undefined).map(([label, v]) => [msg(label), vars[v]!] as [string, string]);
      if (rows.length) parts.push({ kind: 'details', rows });
    } else if ('quote' in b) {
      if (vars[b.quote]) parts.push({ kind: 'quote', text: vars[b.quote]! });
    } else {
      const url = urls[b.link];
      if (url) parts.push({ kind: 'link', label: msg(LINK_LABEL[b.link]), url });
    }
  }
  parts.push({ kind: 'p', text: msg('email.closing') });
  const footer = def.operator ? msg('email.footer.operator') : (fill(language, locale, 'email.footer', vars) ?? msg('email.footer.operator'));
  const row = (label: string, value: string) => formatMessage(language, locale, 'email.label.row', { label, value });

  return { subject, text: toText(parts, footer, row), html: toHtml(parts, footer, subject, locale), locale, language };
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

function toText(parts: Part[], footer: string, row: (label: string, value: string) => string): string {
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
