// No-login links in customer e-mails (issue #14). Every e-mail that asks the customer to act carries
// one link per way out (update the card, Retry, Request help, Authenticate…), each its own random
// token (192 bits; only its SHA-256 is stored, table customer_links) bound to one account, one
// purpose and, for invoice purposes, one invoice. Opening a link (GET /portal/links/<token>) is
// exchanged for a portal session and lands on the section the link names; it never consumes the
// link nor acts (people click twice, mail scanners prefetch), so a link works any number of times
// until it expires or an operator revokes it. A dead link offers "Send me a new link", which e-mails
// a fresh one to the address on file, with the same answer whether or not the token was known.
//
// Lifetimes (from the e-mail's own dates, on the service clock):
//   dunning mail (renewal_failed, retry_failed, authentication_required, grace_ending): until grace
//     ends + 7 days (the invoice is still in the history, and help can still be asked, a little after);
//   receipts (purchase_succeeded, renewal_succeeded, retry_succeeded): 7 days;
//   card_expiring, renewal_upcoming: until the renewal date + 7 days (they are sent before it);
//   subscription_canceled: until the paid access ends + 7 days (Resume works until then), else 30 days;
//   downgraded (Restore), plan_changed, help_request_received/answered: 30 days;
//   access_link (a link the customer asked for): 24 hours.
// Never more than 60 days, never less than 1 hour.
import { deleteCustomerWebSessionsOf } from '../store/web-sessions.ts';
import type { Clock } from '../core/clock.ts';
import type { LinkPurpose, TemplateName } from '../core/types.ts';
import type { BillingState } from '../core/machine.ts';
import { toView } from '../core/machine.ts';
import { retryAvailability } from '../core/dunning.ts';
import { CommandError } from '../core/errors.ts';
import type { Db, Queryable } from '../store/db.ts';
import { accountById } from '../store/accounts.ts';
import { insertEvents } from '../store/billing.ts';
import { newId } from '../store/ids.ts';
import {
  accountIdsByEmail,
  countLiveLinks,
  insertLinks,
  linkByTokenHash,
  markLinkUsed,
  revokeActivePortalSessionsOf,
  revokeLinksOf,
  type CustomerLink,
  type NewLinkRow,
} from '../store/links.ts';
import { newSecret, sha256 } from '../lib/crypto.ts';
import { enqueueEmail } from '../notify/outbox.ts';
import { PortalSessions, type NewPortalSession } from './portal.ts';
import { RATE_LIMITS, consume } from './limits.ts';

export { LINK_PURPOSES, type LinkPurpose } from '../core/types.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const LINK_MAX_MS = 60 * DAY;
export const LINK_MIN_MS = HOUR;
export const LINK_AFTER_GRACE_MS = 7 * DAY;
export const RECEIPT_LINK_MS = 7 * DAY;
export const ACCESS_LINK_MS = DAY;
/** The portal session a link opens (as long as the pages' cookie session can live). */
export const LINK_SESSION_MINUTES = 12 * 60;
/** Token prefix: says what it is (a portal-session token starts with ps_, an admin key with rk_). */
export const LINK_TOKEN_PREFIX = 'rl';
const TOKEN_SHAPE = /^rl_[A-Za-z0-9_-]{32}$/;

const DUNNING: readonly TemplateName[] = ['renewal_failed', 'retry_failed', 'authentication_required', 'grace_ending'];

/** One link to issue: the purpose and the invoice it is about. */
export interface LinkSpec {
  purpose: LinkPurpose;
  invoice_id: string | null;
}

/** What the link opens in the pages (the clean URL the browser lands on, with its anchor). */
export function landingOf(purpose: LinkPurpose, invoiceId: string | null): string {
  switch (purpose) {
    case 'billing':
      return '/portal#billing';
    case 'retry':
      return invoiceId ? `/portal#inv-${invoiceId}` : '/portal#history';
    case 'authenticate':
      return invoiceId ? `/portal/invoices/${encodeURIComponent(invoiceId)}/authenticate` : '/portal#billing';
    case 'help':
      return invoiceId ? `/portal#help-${invoiceId}` : '/portal#help';
    case 'subscription':
      return '/portal#subscription';
    case 'restore':
      return '/portal#restore';
    case 'history':
      return '/portal#history';
    case 'invoice':
      // The receipt's invoice document (issue 23): the PDF itself, once signed in.
      return invoiceId ? `/portal/invoices/${encodeURIComponent(invoiceId)}/pdf` : '/portal#history';
  }
}

export function linkUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/portal/links/${token}`;
}

const dateOf = (v: unknown): Date | null => {
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : null;
  return d && !Number.isNaN(d.getTime()) ? d : null;
};

/** Until when the links of this e-mail work (see the table at the top of this file). */
export function linkExpiry(template: TemplateName, dates: { grace_ends_at?: unknown; period_end?: unknown; access_until?: unknown }, now: Date): Date {
  const t = now.getTime();
  const after = (d: Date | null, ms: number, fallback: number) => (d ? d.getTime() + ms : t + fallback);
  let at: number;
  if (DUNNING.includes(template)) at = after(dateOf(dates.grace_ends_at), LINK_AFTER_GRACE_MS, 21 * DAY);
  else if (template === 'purchase_succeeded' || template === 'renewal_succeeded' || template === 'retry_succeeded') at = t + RECEIPT_LINK_MS;
  else if (template === 'card_expiring' || template === 'renewal_upcoming') at = after(dateOf(dates.period_end), 7 * DAY, 30 * DAY);
  else if (template === 'subscription_canceled') at = after(dateOf(dates.access_until), 7 * DAY, 30 * DAY);
  else if (template === 'access_link') at = t + ACCESS_LINK_MS;
  else at = t + 30 * DAY;
  return new Date(Math.min(t + LINK_MAX_MS, Math.max(t + LINK_MIN_MS, at)));
}

/**
 * The links an e-mail carries: every way out it names. Retry only when the policy lets this
 * account retry this invoice now (`retry`), so the e-mail never offers what the page refuses;
 * Authenticate when the bank asks for authentication.
 */
export function linksOf(template: TemplateName, m: { invoice_id?: string | null; reason?: string | null; outcome?: string | null; retry?: boolean }): LinkSpec[] {
  const inv = m.invoice_id ?? null;
  const one = (purpose: LinkPurpose, invoice_id: string | null = null): LinkSpec => ({ purpose, invoice_id });
  const auth = m.outcome === 'requires_action' || m.reason === 'authentication_required';
  switch (template) {
    case 'renewal_failed':
    case 'retry_failed':
    case 'grace_ending':
      return [
        ...(auth && inv ? [one('authenticate', inv)] : []),
        one('billing'),
        ...(m.retry && inv ? [one('retry', inv)] : []),
        ...(inv ? [one('help', inv)] : []),
      ];
    case 'authentication_required':
      return [...(inv ? [one('authenticate', inv)] : []), one('billing'), ...(inv ? [one('help', inv)] : [])];
    case 'card_expiring':
      return [one('billing')];
    case 'downgraded':
      return [one('restore')];
    case 'help_request_received':
    case 'help_request_answered':
      return [one('history')];
    case 'renewal_succeeded':
    case 'retry_succeeded':
      // A receipt links the invoice's PDF with no login, like every link of a customer e-mail
      // (not attached: the document stays one stored rendering the customer reopens, and the
      // link lands in the pages where every document of the account is listed).
      return [one('subscription'), ...(inv ? [one('invoice', inv)] : [])];
    case 'webhook_endpoint_disabled':
    case 'access_link':
      return []; // operator mail; an access link is issued by its own command
    default:
      return [one('subscription')];
  }
}

/** Issued links: the rows to store and the URLs for the e-mail, by purpose. */
export interface IssuedLinks {
  rows: NewLinkRow[];
  urls: Partial<Record<LinkPurpose, string>>;
}

/** Mints the tokens of one e-mail's links (nothing written: the caller stores `rows` in its transaction). */
export function mintLinks(publicUrl: string, accountId: string, specs: LinkSpec[], expiresAt: Date): IssuedLinks {
  const rows: NewLinkRow[] = [];
  const urls: Partial<Record<LinkPurpose, string>> = {};
  for (const s of specs) {
    const token = newSecret(LINK_TOKEN_PREFIX);
    rows.push({ id: newId('lnk'), token_hash: sha256(token), account_id: accountId, purpose: s.purpose, invoice_id: s.invoice_id, expires_at: expiresAt });
    urls[s.purpose] = linkUrl(publicUrl, token);
  }
  return { rows, urls };
}

/** The links of an e-mail the machine emitted, minted at render time (engine persist). */
export function linksForEmail(publicUrl: string, s: BillingState, template: TemplateName, data: Record<string, unknown>, now: Date): IssuedLinks {
  const invoice_id = (data.invoice_id as string | null | undefined) ?? null;
  const needsRetry = (template === 'renewal_failed' || template === 'retry_failed' || template === 'grace_ending') && !!invoice_id;
  const specs = linksOf(template, {
    invoice_id,
    reason: data.reason as string | null | undefined,
    outcome: data.outcome as string | null | undefined,
    retry: needsRetry && retryOffered(s, invoice_id!, now),
  });
  if (specs.length === 0) return { rows: [], urls: {} };
  const expires = linkExpiry(template, { grace_ends_at: data.grace_ends_at ?? s.subscription.grace_ends_at, period_end: data.period_end ?? s.subscription.current_period_end, access_until: data.access_until }, now);
  return mintLinks(publicUrl, s.account.id, specs, expires);
}

/**
 * Whether the page would offer Retry for this invoice right after this step: the same rule
 * (core/dunning.ts retryAvailability) the pages and the API apply, fed from the state the step left.
 * The customer's retries of the last day are counted on the invoice's attempts (the only invoice
 * collecting), which saves a query per e-mail on a billing day.
 */
export function retryOffered(s: BillingState, invoiceId: string, now: Date): boolean {
  const inv = s.invoice;
  if (!inv || inv.id !== invoiceId) return false;
  const since = now.getTime() - DAY;
  return retryAvailability({
    policy: s.policy,
    invoice_status: inv.status,
    domain_zone: s.account.domain_zone,
    payment_method: s.payment_method,
    in_flight: s.attempts.some((a) => a.outcome === 'pending' || a.outcome === 'unknown'),
    manual_retries_last_24h: s.attempts.filter((a) => a.trigger === 'customer_retry' && a.created_at.getTime() > since).length,
    card_attempts: s.card_attempts,
    attempts: s.attempts.map(toView),
    now,
  }).available;
}

/** What opening a link gave. */
export type LinkOpening =
  | { ok: true; account_id: string; purpose: LinkPurpose; invoice_id: string | null; landing: string; session: NewPortalSession }
  | { ok: false; why: 'unknown' | 'expired' | 'revoked' | 'rate_limited'; account_id: string | null };

/** The commands on links: open (exchange), send a new one, revoke. Routes, pages and the CLI share them. */
export class CustomerLinks {
  readonly db: Db;
  readonly clock: Clock;
  readonly publicUrl: string;
  private readonly sessions: PortalSessions;
  constructor(db: Db, clock: Clock, publicUrl: string) {
    this.db = db;
    this.clock = clock;
    this.publicUrl = publicUrl;
    this.sessions = new PortalSessions(db, clock, publicUrl);
  }

  private async find(token: string): Promise<CustomerLink | null> {
    if (!TOKEN_SHAPE.test(token)) return null; // forged or mangled: no database look-up
    return linkByTokenHash(this.db, sha256(token));
  }

  /**
   * Exchanges a link for a new portal session (a GET may call this: the link is neither consumed
   * nor acted on; only last_used_at changes). Rate-limited per link.
   */
  async open(token: string): Promise<LinkOpening> {
    const link = await this.find(token);
    if (!link) return { ok: false, why: 'unknown', account_id: null };
    const now = this.clock.now();
    if (link.revoked_at) return { ok: false, why: 'revoked', account_id: link.account_id };
    if (link.expires_at.getTime() <= now.getTime()) return { ok: false, why: 'expired', account_id: link.account_id };
    const c = await consume(this.db, this.clock, RATE_LIMITS.linkOpens, link.id);
    if (!c.allowed) return { ok: false, why: 'rate_limited', account_id: link.account_id };
    const session = await this.sessions.create(link.account_id, { ttl_minutes: LINK_SESSION_MINUTES });
    await markLinkUsed(this.db, link.id, now);
    return { ok: true, account_id: link.account_id, purpose: link.purpose, invoice_id: link.invoice_id, landing: landingOf(link.purpose, link.invoice_id), session };
  }

  /** The account a token names (any state), to word its dead-link page in the account's language. */
  async accountOf(token: string): Promise<string | null> {
    return (await this.find(token))?.account_id ?? null;
  }

  /**
   * "Send me a new link" from a dead link: a fresh link of the same purpose (and invoice) to the
   * account's address on file. Says nothing back: an unknown token, a rate-limited account and a
   * sent e-mail look the same to the caller (no account enumeration).
   */
  async sendNew(token: string): Promise<void> {
    const link = await this.find(token);
    if (!link) return;
    await this.sendAccessLink(link.account_id, { purpose: link.purpose, invoice_id: link.invoice_id });
  }

  /** "E-mail me a link" from the pages without a session: a Subscription link to each account of this address. Says nothing back. */
  async sendByEmail(email: string): Promise<void> {
    const address = email.trim();
    if (!address || address.length > 320 || !address.includes('@')) return;
    for (const id of await accountIdsByEmail(this.db, address, 5)) await this.sendAccessLink(id, { purpose: 'subscription', invoice_id: null });
  }

  private async sendAccessLink(accountId: string, spec: LinkSpec): Promise<void> {
    const now = this.clock.now();
    await this.db.tx(async (q) => {
      const account = await accountById(q, accountId);
      if (!account?.email) return;
      const c = await consume(q, this.clock, RATE_LIMITS.linkRequests, accountId);
      if (!c.allowed) return;
      const expires = linkExpiry('access_link', {}, now);
      const issued = mintLinks(this.publicUrl, accountId, [spec], expires);
      await insertLinks(q, issued.rows, now);
      await enqueueEmail(q, {
        account_id: accountId,
        to: account.email,
        template: 'access_link',
        dedupe_key: `access_link:${issued.rows[0].id}`,
        now,
        ctx: { locale: account.locale, time_zone: account.time_zone, account_name: account.name, links: issued.urls, link_expires_at: expires },
      });
      await insertEvents(q, [{ account_id: accountId, type: 'customer_link.sent', data: { purpose: spec.purpose, invoice_id: spec.invoice_id, expires_at: expires } }], now);
    });
  }

  /** The operator's revoke: every link of the account and its active portal sessions stop working at once. */
  async revokeAll(accountId: string): Promise<{ account_id: string; links_revoked: number; portal_sessions_revoked: number }> {
    const now = this.clock.now();
    return this.db.tx(async (q) => {
      if (!(await accountById(q, accountId))) throw new CommandError('not_found', 'not_found', `no account ${accountId}`);
      const links = await revokeLinksOf(q, accountId, now);
      const sessions = await revokeActivePortalSessionsOf(q, accountId, now);
      // The browsers signed in with them too, at once and on every instance (they would also end
      // at their next request, their portal sessions being revoked).
      await deleteCustomerWebSessionsOf(q, accountId);
      await insertEvents(q, [{ account_id: accountId, type: 'customer_links.revoked', data: { links_revoked: links, portal_sessions_revoked: sessions } }], now);
      return { account_id: accountId, links_revoked: links, portal_sessions_revoked: sessions };
    });
  }

  /** Links of the account that still open the pages (the console shows it beside the revoke button). */
  async liveCount(accountId: string): Promise<number> {
    return countLiveLinks(this.db, accountId, this.clock.now());
  }
}

/** Stores the links of a batch of e-mails in the caller's transaction (one statement). */
export async function storeLinks(q: Queryable, rows: NewLinkRow[], now: Date): Promise<void> {
  await insertLinks(q, rows, now);
}
