// The customer's Subscription area at /portal: plan and status, the grace banner, Billing
// information (the current card; "Update card" goes to the gateway's hosted card page), Purchase
// history (attempts, Retry, Request help) and the answers to help requests — in the account's
// language, money and dates in its locale and zone.
//
// Opened from a portal-session link (/portal?token=…): the token is exchanged for a cookie session
// and the address bar loses the token. Every form carries the session's CSRF token.
import { creditNotePdf, invoicePdf, type PdfDocument } from '../engine/documents.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../engine/context.ts';
import { resolvePrincipal } from '../http/auth.ts';
import { CommandError } from '../core/errors.ts';
import { authenticationCheck, completeAuthentication, startAuthentication } from '../engine/authentication.ts';
import { CARD_SETUP_RETURN_PATH, cardSetupForReturn, completeCardSetup, startCardSetup, takeCardSetupReturn, type CardSetupResult } from '../engine/card-setup.ts';
import type { CardSetupRow } from '../store/card-setup.ts';
import { backupCardOf, removeBackupCard } from '../engine/backup-card.ts';
import { DAY, toWall } from '../core/time.ts';
import { prorate } from '../core/proration.ts';
import type { Account, Plan } from '../core/types.ts';
import { html, attrs, sendHtml, str, type Html, type Piece } from './html.ts';
import { page, hidden } from './layout.ts';
import { i18n, languageFromHeader, type CatalogKey, type I18n } from './i18n/index.ts';
import { SessionStore, csrfOk, safeEqual, type CustomerSession, type Flash, type Session, type SessionStoreOptions } from './sessions.ts';
import { consume, RATE_LIMITS } from '../engine/limits.ts';
import { sha256 } from '../lib/crypto.ts';
import type { WebDeps, HelpRequestView } from './deps.ts';
import { linkRoutes, signedOutPage } from './links.ts';

type Invoices = Awaited<ReturnType<AppContext['commands']['invoices']>>;
type InvoiceRow = Invoices[number];
type Body = Record<string, unknown>;

const HOUR_MS = 3_600_000;
/** A return from the bank this soon after its attempt was settled shows that result (not "already handled"). */
const RECENT_MS = 10 * 60_000;
/** The customers' browser sessions: 2 h idle, 12 h at most, 20 per account (sessions.ts). */
export const portalSessions = (ctx: Pick<AppContext, 'db' | 'clock'>, opts: SessionStoreOptions = {}) =>
  new SessionStore<CustomerSession>(ctx.db, 'renewd_portal', '/portal', 2 * HOUR_MS, 12 * HOUR_MS, { billingNow: () => ctx.clock.now().getTime(), ...opts });

const KNOWN_REASONS = new Set([
  'authentication_failed',
  'credit_limit',
  'card_expired_or_inactive',
  'insufficient_funds',
  'issuer_unavailable',
  'payment_system_failure',
  'authentication_required',
  'declined_by_bank',
]);

/** The customer pages as a Fastify plugin (registered by web/routes.ts inside the pages' scope). */
export async function portalPlugin(app: FastifyInstance, { ctx, deps }: { ctx: AppContext; deps: WebDeps }) {
  const sessions = portalSessions(ctx);
  sessions.register(app);
  const { commands } = ctx;

  /** The signed-in customer, with the portal session behind it still valid (not expired, not revoked: sessions.ts). */
  const current = (req: FastifyRequest): Promise<Session<CustomerSession> | null> => sessions.fromRequest(req);

  function plainPage(reply: FastifyReply, req: FastifyRequest, status: number, titleKey: CatalogKey, bodyKey: CatalogKey | null, lang?: string) {
    const t = i18n(lang ?? languageFromHeader(req.headers['accept-language']));
    return sendHtml(
      reply,
      page({
        lang: t.lang,
        title: t.t(titleKey),
        area: 'portal',
        brand: html`<span class="brand">${t.t('meta.title')}</span>`,
        skip: t.t('skip'),
        body: html`<h1>${t.t(titleKey)}</h1>${bodyKey ? html`<p>${t.t(bodyKey)}</p>` : ''}`,
      }),
      status,
    );
  }

  // No session (or one that ended): never a dead end — the page offers to e-mail a link (web/links.ts).
  const expired = (req: FastifyRequest, reply: FastifyReply) => signedOutPage(req, reply);

  /**
   * Signs the browser in with a portal-session token and sends it to `landing` (a clean URL, with
   * the section's #anchor): used by /portal?token= and by the e-mail links (/portal/links/:token).
   */
  async function signIn(req: FastifyRequest, reply: FastifyReply, portalSessionId: string, accountId: string, landing: string) {
    await sessions.destroy(req.cookies?.[sessions.cookieName]);
    const s = await sessions.create({ kind: 'customer', portal_session_id: portalSessionId, account_id: accountId });
    sessions.setCookie(req, reply, s);
    reply.header('cache-control', 'no-store');
    // A link opened from a mail client is a cross-site navigation: a SameSite=Strict cookie set
    // now would not ride on an HTTP redirect of it, so that case continues through a same-site page.
    const site = req.headers['sec-fetch-site'];
    if (!site || site === 'none' || site === 'same-origin') return reply.redirect(landing, 303);
    const account = await commands.getAccount(accountId);
    const t = i18n(account?.locale, account?.time_zone);
    return sendHtml(
      reply,
      html`<!doctype html><html lang="${t.lang}"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${landing}"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${t.t('meta.title')}</title><link rel="stylesheet" href="/assets/web.css"></head><body><main id="main" class="wrap"><p><a href="${landing}">${t.t('page.continue')}</a></p></main></body></html>`,
    );
  }

  // ---- the e-mails' no-login links and the way in without a session (web/links.ts) ----
  await linkRoutes(app, { ctx, signIn });

  // ---- sign-in from a portal-session link, and the page itself ----
  app.get('/portal', async (req, reply) => {
    const token = str((req.query as Body | undefined)?.token);
    if (token) {
      const p = await resolvePrincipal(ctx.db, ctx.clock, `Bearer ${token}`);
      if (!p || p === 'invalid' || p.kind !== 'customer') return expired(req, reply);
      // Each exchange makes a browser session: bounded per portal session, as link opens are per link.
      if (!(await consume(ctx.db, ctx.clock, RATE_LIMITS.portalSignIns, p.session_id)).allowed) return plainPage(reply, req, 429, 'link.dead.title', 'link.dead.tooMany');
      return signIn(req, reply, p.session_id, p.account_id, '/portal');
    }
    const s = await current(req);
    if (!s) return expired(req, reply);
    return sendHtml(reply, await render(s, sessions.takeFlash(s)));
  });

  // ---- actions (post/redirect/get; the result shows at the top of the page) ----
  /**
   * What every customer form needs first: the session (else the signed-out page), its account and
   * language, and the form's CSRF token (else 403). Null once it has answered.
   */
  async function formSession(req: FastifyRequest, reply: FastifyReply): Promise<{ s: Session<CustomerSession>; account: Account; t: I18n } | null> {
    const s = await current(req);
    if (!s) {
      await expired(req, reply);
      return null;
    }
    const account = await commands.requireAccount(s.data.account_id);
    const t = i18n(account.locale, account.time_zone);
    if (!csrfOk(s, req.body)) {
      await plainPage(reply, req, 403, 'page.csrf.title', 'page.csrf.body', t.lang);
      return null;
    }
    return { s, account, t };
  }

  async function action(req: FastifyRequest, reply: FastifyReply, fn: (s: Session<CustomerSession>, t: I18n, account: Account) => Promise<Flash>) {
    const f = await formSession(req, reply);
    if (!f) return reply;
    const { s, account, t } = f;
    try {
      s.flash = await fn(s, t, account);
    } catch (err) {
      req.log.error({ err: { message: (err as Error).message } }, 'portal action failed');
      s.flash = { kind: 'error', text: t.t('result.error') };
    }
    return reply.redirect(`/portal${s.flash?.target ? `#${s.flash.target}` : ''}`, 303);
  }

  const because = (t: I18n, reason: string | null | undefined) => t.t((reason && KNOWN_REASONS.has(reason) ? `because.${reason}` : 'because.declined_by_bank') as CatalogKey);

  /**
   * What a buy-back or a plan change tells the customer when its charge did not go through (the
   * same refusals of the engine for both): authentication needed, declined (with why), still
   * pending, no card. null: another refusal, for the caller's own text.
   */
  function paymentRefusal(t: I18n, err: CommandError, declinedKey: CatalogKey): Flash | null {
    if (err.code === 'payment_failed') {
      if (err.extra.outcome === 'requires_action') return { kind: 'error', text: t.t('result.requires_action'), target: 'billing' };
      return { kind: 'error', text: t.t(declinedKey, { reason: because(t, err.extra.reason as string | null) }), target: 'billing' };
    }
    if (err.code === 'payment_pending') return { kind: 'info', text: t.t('result.pending'), target: 'subscription' };
    if (err.code === 'no_payment_method') return { kind: 'error', text: t.t('restore.noCard'), target: 'billing' };
    return null;
  }

  async function paidUntil(t: I18n, accountId: string) {
    const sub = await commands.subscriptionView(accountId);
    return t.date(sub?.current_period_end ?? null);
  }

  async function outcomeFlash(t: I18n, accountId: string, outcome: string, reason: string | null, declinedKey: CatalogKey): Promise<Flash> {
    if (outcome === 'succeeded') return { kind: 'success', text: t.t('result.paid', { date: await paidUntil(t, accountId) }) };
    if (outcome === 'requires_action') return { kind: 'error', text: t.t('result.requires_action') };
    if (outcome === 'declined') return { kind: 'error', text: t.t(declinedKey, { reason: because(t, reason) }) };
    return { kind: 'info', text: t.t('result.pending') };
  }

  // ---- Billing information: the card is typed on the gateway's hosted page, never here ----
  // "Update card" opens a setup session and sends the browser to the gateway; the browser session
  // keeps the state nonce, so the gateway's return is accepted only in the session that started it.
  app.post('/portal/billing/setup', async (req, reply) => {
    const f = await formSession(req, reply);
    if (!f) return reply;
    const { s, account, t } = f;
    // "Add a backup card" posts here too, with purpose=backup and the consent box (engine/backup-card.ts).
    const b = (req.body ?? {}) as Body;
    const backup = str(b.purpose) === 'backup';
    if (backup && str(b.consent) !== 'yes') {
      s.flash = { kind: 'error', text: t.t('backup.consentRequired'), target: 'backup-card', fields: { consent: t.t('backup.consentRequired') } };
      return reply.redirect('/portal#backup-card', 303);
    }
    try {
      const started = await startCardSetup(ctx, account.id, { return_to: { to: 'portal' }, by: 'customer', ...(backup ? { purpose: 'backup' as const, consent: true } : {}) });
      s.data.cardSetup = { id: started.id, state_hash: sha256(started.state) };
      return reply.header('cache-control', 'no-store').redirect(started.url, 303);
    } catch (err) {
      if (err instanceof CommandError && err.kind === 'rate_limited') s.flash = { kind: 'error', text: t.t('result.tooMany'), target: 'billing' };
      else if (err instanceof CommandError && err.kind === 'unavailable') s.flash = { kind: 'error', text: t.t('setup.unavailable'), target: 'billing' };
      else {
        req.log.error({ err: { message: (err as Error).message } }, 'card setup failed to start');
        s.flash = { kind: 'error', text: t.t('result.error'), target: 'billing' };
      }
      return reply.redirect('/portal#billing', 303);
    }
  });

  // The gateway's return (success_url). Trusts nothing in the query but as a lookup key: the state
  // must hash to the recorded one and be the nonce this browser session holds; the result is read
  // from the gateway by completeCardSetup. A mismatch or a replay changes nothing and says so.
  app.get(CARD_SETUP_RETURN_PATH, async (req, reply) => {
    const q = (req.query ?? {}) as Body;
    const setupId = str(q.session_id);
    const state = str(q.state);
    const row = await cardSetupForReturn(ctx, setupId, state);
    if (row?.started_by === 'api') return apiReturn(req, reply, row);
    const s = await current(req);
    if (!s) {
      // Coming back from the gateway's site is a cross-site navigation: the SameSite=Strict cookie
      // does not ride on it. Continue through a same-site page, which sends it.
      const site = req.headers['sec-fetch-site'];
      if (site === 'cross-site' && row) return continuePage(reply, row.account_id, req.url);
      return expired(req, reply);
    }
    const account = await commands.requireAccount(s.data.account_id);
    const t = i18n(account.locale, account.time_zone);
    const done = (flash: Flash) => {
      s.flash = { ...flash, target: flash.target ?? 'billing' };
      return reply.header('cache-control', 'no-store').redirect('/portal#billing', 303);
    };
    if (!row) return done({ kind: 'error', text: t.t('setup.invalid') });
    if (row.account_id !== account.id) return done({ kind: 'error', text: t.t('setup.mismatch') });
    if (row.returned_at) return done({ kind: 'info', text: t.t('setup.replay') });
    const mine = s.data.cardSetup;
    if (!mine || mine.id !== row.gateway_session_id || !safeEqual(mine.state_hash, state ? sha256(state) : undefined)) return done({ kind: 'error', text: t.t('setup.mismatch') });
    if (!(await takeCardSetupReturn(ctx, row.gateway_session_id))) return done({ kind: 'info', text: t.t('setup.replay') });
    delete s.data.cardSetup;
    try {
      const result = await completeCardSetup(ctx, row.gateway_session_id);
      if (row.purpose === 'backup' && result.status === 'saved' && !result.attempt) return done({ kind: 'success', text: t.t('backup.saved'), target: 'backup-card' });
      return done(await setupFlash(t, account.id, result));
    } catch (err) {
      if (err instanceof CommandError && err.kind === 'rate_limited') return done({ kind: 'error', text: t.t('result.tooMany') });
      if (err instanceof CommandError && err.kind === 'unavailable') return done({ kind: 'error', text: t.t('setup.unavailable') });
      req.log.error({ err: { message: (err as Error).message } }, 'card setup failed to complete');
      return done({ kind: 'error', text: t.t('result.error') });
    }
  });

  /** What the customer reads once the gateway's page is done. */
  async function setupFlash(t: I18n, accountId: string, r: CardSetupResult): Promise<Flash> {
    if (r.status !== 'saved') {
      if (r.status === 'expired') return { kind: 'error', text: t.t('setup.expired') };
      return { kind: 'info', text: t.t(r.status === 'open' ? 'setup.open' : 'setup.pending') };
    }
    if (!r.attempt) return { kind: 'success', text: t.t('result.card.saved') };
    return outcomeFlash(t, accountId, r.attempt.outcome, r.attempt.reason, 'result.card.declined');
  }

  /** A setup opened through the API: complete it, then back to the integrator's return_url (or the result here). */
  async function apiReturn(req: FastifyRequest, reply: FastifyReply, row: CardSetupRow) {
    const account = await commands.requireAccount(row.account_id);
    const t = i18n(account.locale, account.time_zone);
    let code: string;
    let text: string;
    if (!(await takeCardSetupReturn(ctx, row.gateway_session_id))) {
      code = 'replayed';
      text = t.t('setup.replay');
    } else {
      try {
        const r = await completeCardSetup(ctx, row.gateway_session_id);
        code = r.status !== 'saved' ? r.status : !r.attempt ? 'saved' : r.attempt.outcome === 'succeeded' ? 'paid' : r.attempt.outcome === 'declined' ? 'declined' : r.attempt.outcome;
        text = (await setupFlash(t, account.id, r)).text;
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        code = 'error';
        text = err.kind === 'rate_limited' ? t.t('result.tooMany') : err.kind === 'unavailable' ? t.t('setup.unavailable') : t.t('result.error');
      }
    }
    if (row.return_url) {
      const u = new URL(row.return_url);
      u.searchParams.set('card_setup', code);
      return reply.header('cache-control', 'no-store').redirect(u.toString(), 303);
    }
    return sendHtml(
      reply,
      page({
        lang: t.lang,
        title: t.t('billing.heading'),
        area: 'portal',
        brand: html`<span class="brand">${t.t('meta.title')}</span>`,
        skip: t.t('skip'),
        body: html`<h1>${t.t('billing.heading')}</h1><p role="status">${text}</p>`,
      }),
    );
  }

  /** The same-site hop after a cross-site return (the cookie then rides on the next request). */
  async function continuePage(reply: FastifyReply, accountId: string, url: string) {
    const account = await commands.getAccount(accountId);
    const t = i18n(account?.locale, account?.time_zone);
    return sendHtml(
      reply.header('cache-control', 'no-store'),
      html`<!doctype html><html lang="${t.lang}"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${url}"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${t.t('meta.title')}</title><link rel="stylesheet" href="/assets/web.css"></head><body><main id="main" class="wrap"><p><a href="${url}">${t.t('page.continue')}</a></p></main></body></html>`,
    );
  }

  app.post('/portal/invoices/:id/retry', async (req, reply) =>
    action(req, reply, async (s, t, account) => {
      const id = (req.params as { id: string }).id;
      const inv = await commands.getInvoice(id);
      if (!inv || inv.account_id !== account.id) return { kind: 'error', text: t.t('page.notfound.title') };
      try {
        const r = await commands.retry(id, 'customer_retry');
        return outcomeFlash(t, account.id, r.outcome, r.reason ?? null, 'result.retry.declined');
      } catch (err) {
        if (err instanceof CommandError && err.code === 'retry_unavailable') {
          const reason = String(err.extra.reason ?? 'attempt_in_flight');
          return { kind: 'error', text: `${t.t('retry.unavailable')} ${t.t(`retry.unavailable.${reason}` as CatalogKey)}` };
        }
        throw err;
      }
    }),
  );

  // ---- "Choose when we try again" (issue 18 item 4): the day of the next attempt in grace ----
  app.post('/portal/invoices/:id/retry-date', async (req, reply) =>
    action(req, reply, async (_s, t, account) => {
      const id = (req.params as { id: string }).id;
      const inv = await commands.getInvoice(id);
      if (!inv || inv.account_id !== account.id) return { kind: 'error', text: t.t('page.notfound.title') };
      const field = `retry-date-${id}`;
      const refuse = (key: CatalogKey): Flash => ({ kind: 'error', text: t.t(key), target: `when-${id}`, fields: { [field]: t.t(key) } });
      try {
        const r = await commands.chooseRetryDate(id, str((req.body as Body).date).trim(), 'customer');
        return { kind: 'success', text: t.t('retryDate.planned', { date: t.dateTime(r.at) }), target: `inv-${id}` };
      } catch (err) {
        if (err instanceof CommandError && err.code === 'validation_error') return refuse('retryDate.no.invalid');
        if (err instanceof CommandError && err.code === 'retry_date_unavailable') return refuse(RETRY_DATE_TEXT[String(err.extra.reason)] ?? 'retryDate.no.paid');
        throw err;
      }
    }),
  );

  // ---- invoice documents (issue 23): the PDFs of the account's own invoices and credit notes ----
  const sendDocument = async (req: FastifyRequest, reply: FastifyReply, load: (canSee: (accountId: string) => boolean) => Promise<PdfDocument>) => {
    const s = await current(req);
    if (!s) return expired(req, reply);
    try {
      const d = await load((accountId) => accountId === s.data.account_id);
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${d.filename}"`).header('cache-control', 'private, no-store').send(d.pdf);
    } catch (err) {
      if (err instanceof CommandError && (err.kind === 'not_found' || err.code === 'invoice_not_issued')) return plainPage(reply, req, 404, 'page.notfound.title', null);
      throw err;
    }
  };
  app.get('/portal/invoices/:id/pdf', (req, reply) => sendDocument(req, reply, (see) => invoicePdf(ctx.db, (req.params as { id: string }).id, see)));
  app.get('/portal/credit-notes/:id/pdf', (req, reply) => sendDocument(req, reply, (see) => creditNotePdf(ctx.db, (req.params as { id: string }).id, see)));

  // ---- 3-D Secure: authenticate a payment on the bank's page ----
  /** Whether the invoice's history offers "Authenticate the payment": past due, last failure asks for authentication, nothing in flight. */
  app.get('/portal/invoices/:id/authenticate', async (req, reply) => {
    const s = await current(req);
    if (!s) return expired(req, reply);
    const account = await commands.requireAccount(s.data.account_id);
    const t = i18n(account.locale, account.time_zone);
    const id = (req.params as { id: string }).id;
    let check;
    try {
      check = await authenticationCheck(ctx, id, account.id);
    } catch (err) {
      if (err instanceof CommandError && err.kind === 'not_found') return plainPage(reply, req, 404, 'page.notfound.title', null, t.lang);
      throw err;
    }
    const { inv, state, refusal } = check;
    const plans = await commands.listPlans();
    const plan = plans.find((p) => p.id === inv.plan_id);
    const title = t.t(inv.kind === 'purchase' ? 'history.purchase' : inv.kind === 'proration' ? 'history.proration' : 'history.renewal', { plan: plan?.name ?? inv.plan_id });
    const last = [...state.attempts].reverse().find((a) => a.outcome === 'declined' || a.outcome === 'requires_action');
    const csrf = hidden('_csrf', s.csrf);
    const flash = sessions.takeFlash(s);
    const body = html`<h1>${t.t('auth.button')}</h1>
<section class="panel" aria-labelledby="auth-invoice">
<p id="auth-invoice"><strong>${t.t('auth.invoice', { invoice: title, amount: t.money(inv.amount, inv.currency) })}</strong></p>
<p class="muted">${t.t('history.period', { start: t.date(inv.period_start), end: t.date(inv.period_end) })}</p>
${
  refusal
    ? html`<p>${refusal.code === 'attempt_in_flight' ? t.t('auth.inFlight') : t.t('auth.notNeeded')}</p>`
    : html`<p>${t.t('auth.why', { reason: because(t, last?.raw_code === 'payment_intent_authentication_failure' ? 'authentication_failed' : last?.reason) })}</p>
<p>${t.t('auth.intro')}</p>
<form method="post" action="/portal/invoices/${inv.id}/authenticate" class="actions">${csrf}<button type="submit" class="btn">${t.t('auth.button')}</button></form>`
}
<p><a href="/portal#inv-${inv.id}">${t.t('auth.back')}</a></p>
</section>`;
    return sendHtml(
      reply.header('cache-control', 'no-store'),
      page({ lang: t.lang, title: `${t.t('auth.button')} — ${account.name}`, area: 'portal', brand: html`<span class="brand">${t.t('meta.title')}</span>`, skip: t.t('skip'), flash, body }),
    );
  });

  app.post('/portal/invoices/:id/authenticate', async (req, reply) => {
    const f = await formSession(req, reply);
    if (!f) return reply;
    const { s, account, t } = f;
    const id = (req.params as { id: string }).id;
    try {
      // The API's command: a new attempt committed with its key, confirmed on-session; off to the bank's page.
      const session = await startAuthentication(ctx, id, account.id);
      return reply.header('cache-control', 'no-store').redirect(session.url, 303);
    } catch (err) {
      if (!(err instanceof CommandError)) {
        req.log.error({ err: { message: (err as Error).message } }, 'authentication failed to start');
        s.flash = { kind: 'error', text: t.t('result.error') };
      } else if (err.kind === 'not_found') return plainPage(reply, req, 404, 'page.notfound.title', null, t.lang);
      else if (err.code === 'payment_failed') s.flash = { kind: 'error', text: t.t('result.auth.failed', { reason: because(t, err.extra.reason as string | null) }), target: `inv-${id}` };
      else if (err.code === 'payment_pending' || err.code === 'attempt_in_flight') s.flash = { kind: 'info', text: t.t('auth.inFlight'), target: `inv-${id}` };
      else s.flash = { kind: 'info', text: t.t('auth.notNeeded'), target: `inv-${id}` };
      return reply.redirect(`/portal#inv-${id}`, 303);
    }
  });

  // Back from the bank's page. The query only names the PaymentIntent: its state is read from the
  // gateway, and it must belong to an open authentication attempt of this session's account.
  app.get('/portal/authenticate/return', async (req, reply) => {
    const q = (req.query ?? {}) as Body;
    const s = await current(req);
    if (!s) {
      // Coming back from the bank is a cross-site navigation: the SameSite=Strict session cookie
      // rides only on a same-site one, so go on through one hop on this origin (once).
      const site = req.headers['sec-fetch-site'];
      if (site && site !== 'same-origin' && site !== 'none' && !q.hop) {
        const again = `/portal/authenticate/return?${new URLSearchParams({ payment_intent: str(q.payment_intent), hop: '1' }).toString()}`;
        return sendHtml(
          reply.header('cache-control', 'no-store'),
          html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${again}"><meta name="viewport" content="width=device-width, initial-scale=1"><title>renewd</title><link rel="stylesheet" href="/assets/web.css"></head><body><main id="main" class="wrap"><p><a href="${again}">Continue</a></p></main></body></html>`,
        );
      }
      return expired(req, reply);
    }
    const account = await commands.requireAccount(s.data.account_id);
    const t = i18n(account.locale, account.time_zone);
    const r = await completeAuthentication(ctx, account.id, str(q.payment_intent));
    if (r.kind === 'mismatch') s.flash = { kind: 'error', text: t.t('result.auth.mismatch'), target: 'history' };
    else if (r.kind === 'waiting') s.flash = { kind: 'info', text: t.t('result.auth.waiting'), target: `inv-${r.invoice_id}` };
    // Settled moments ago (the gateway's event can arrive before the customer does): that is this
    // return's result. Older: a replayed address, nothing changes and the page says so.
    else if (r.kind === 'already' && !(r.completed_at && ctx.clock.now().getTime() - r.completed_at.getTime() < RECENT_MS))
      s.flash = { kind: 'info', text: t.t('result.auth.already'), target: `inv-${r.invoice_id}` };
    else if (r.outcome === 'succeeded') s.flash = { kind: 'success', text: t.t('result.paid', { date: await paidUntil(t, account.id) }), target: `inv-${r.invoice_id}` };
    else if (r.outcome === 'declined' || r.outcome === 'requires_action')
      s.flash = { kind: 'error', text: t.t('result.auth.failed', { reason: because(t, r.reason === 'authentication_required' ? 'authentication_failed' : r.reason) }), target: `inv-${r.invoice_id}` };
    else s.flash = { kind: 'info', text: t.t('result.pending'), target: `inv-${r.invoice_id}` };
    return reply.header('cache-control', 'no-store').redirect(`/portal${s.flash.target ? `#${s.flash.target}` : ''}`, 303);
  });

  app.post('/portal/invoices/:id/help-requests', async (req, reply) =>
    action(req, reply, async (s, t, account) => {
      const id = (req.params as { id: string }).id;
      const inv = await commands.getInvoice(id);
      if (!inv || inv.account_id !== account.id) return { kind: 'error', text: t.t('page.notfound.title') };
      const message = str((req.body as Body).message).trim();
      if (!message) return { kind: 'error', text: t.t('result.help.empty'), target: `help-${id}`, fields: { [`message-${id}`]: t.t('result.help.empty') } };
      try {
        await deps.createHelpRequest(account.id, id, message.slice(0, 5000));
      } catch (err) {
        if (err instanceof CommandError && err.kind === 'rate_limited') return { kind: 'error', text: t.t('result.tooMany'), target: 'help' };
        if (err instanceof CommandError) return { kind: 'error', text: t.t('result.help.unavailable', { reason: err.message }) };
        throw err;
      }
      return { kind: 'success', text: t.t('result.help.sent'), target: 'help' };
    }),
  );

  // ---- billing details on the account's documents (issue 23) ----
  // The backup card: removed at once (never charged again).
  app.post('/portal/billing/backup/remove', async (req, reply) =>
    action(req, reply, async (_s, t, account) => {
      await removeBackupCard(ctx, account.id);
      return { kind: 'success', text: t.t('backup.removed'), target: 'backup-card' };
    }),
  );

  app.post('/portal/billing/details', async (req, reply) =>
    action(req, reply, async (_s, t, account) => {
      const b = req.body as Body;
      try {
        await commands.setBillingDetails(account.id, { name: str(b.billing_name), address: str(b.billing_address), vat_id: str(b.vat_id) }, 'customer');
      } catch (err) {
        if (err instanceof CommandError && err.kind === 'invalid') {
          const field = String((err.extra.errors as { field: string }[] | undefined)?.[0]?.field ?? 'name');
          const name = field === 'vat_id' ? 'vat_id' : `billing_${field}`;
          return { kind: 'error', text: t.t('billing.details.invalid'), target: 'billing-details', fields: { [name]: t.t('billing.details.invalid') } };
        }
        throw err;
      }
      return { kind: 'success', text: t.t('billing.details.saved'), target: 'billing-details' };
    }),
  );

  // ---- restore / buy back after a downgrade or a cancel ----
  app.post('/portal/subscription/buy', async (req, reply) =>
    action(req, reply, async (s, t, account) => {
      const body = (req.body ?? {}) as Body;
      const plan_id = str(body.plan_id);
      const interval = str(body.interval) === 'year' ? 'year' : 'month';
      const plans = await commands.plansFor(account.id);
      const plan = plans.find((p) => p.id === plan_id);
      if (!plan) return { kind: 'error', text: t.t('result.restore.unavailable'), target: 'restore' };
      try {
        // The API's command: a new period from now, charged at once with the saved card.
        await commands.subscribe({ account_id: account.id, plan_id, interval });
        return { kind: 'success', text: t.t('result.restore.paid', { plan: plan.name, date: await paidUntil(t, account.id) }), target: 'subscription' };
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        const paying = paymentRefusal(t, err, 'result.restore.declined');
        if (paying) return paying;
        if (err.code === 'already_subscribed') return { kind: 'error', text: t.t('result.restore.live'), target: 'subscription' };
        return { kind: 'error', text: t.t('result.restore.unavailable'), target: 'restore' };
      }
    }),
  );

  // ---- cancel and resume: the same engine commands as the API ----
  app.post('/portal/subscription/cancel', async (req, reply) =>
    action(req, reply, async (s, t, account) => {
      const at = str((req.body as Body).at) === 'now' ? 'now' : 'period_end';
      try {
        const v = await commands.cancelSubscription(account.id, at, 'customer');
        if (v.status === 'canceled') return { kind: 'success', text: t.t('result.cancel.now'), target: 'subscription' };
        // An attempt was at the gateway: the cancel waits for its answer (no new attempt meanwhile).
        if (v.status === 'past_due' || at === 'now') return { kind: 'info', text: t.t('result.cancel.pending'), target: 'subscription' };
        return { kind: 'success', text: t.t('result.cancel.scheduled', { date: t.date(v.current_period_end) }), target: 'subscription' };
      } catch (err) {
        if (err instanceof CommandError && err.kind === 'conflict') return { kind: 'error', text: t.t('result.cancel.already'), target: 'subscription' };
        throw err;
      }
    }),
  );

  app.post('/portal/subscription/resume', async (req, reply) =>
    action(req, reply, async (s, t, account) => {
      try {
        const v = await commands.resumeSubscription(account.id, 'customer');
        return { kind: 'success', text: t.t('result.resume.done', { date: t.date(v.current_period_end) }), target: 'subscription' };
      } catch (err) {
        if (err instanceof CommandError && err.code === 'cancel_took_effect') return { kind: 'error', text: t.t('result.resume.tooLate'), target: 'subscription' };
        if (err instanceof CommandError && err.kind === 'conflict') return { kind: 'error', text: t.t('result.resume.none'), target: 'subscription' };
        throw err;
      }
    }),
  );
  // ---- end cancel and resume ----

  // ---- plan change: the same engine command as PATCH …/subscription ----
  app.post('/portal/subscription/plan', async (req, reply) =>
    action(req, reply, async (s, t, account) => {
      const body = (req.body ?? {}) as Body;
      const plan_id = str(body.plan_id);
      const interval = str(body.interval) === 'year' ? 'year' : 'month';
      const plan = (await commands.plansFor(account.id)).find((p) => p.id === plan_id && !p.free);
      if (!plan) return { kind: 'error', text: t.t('result.plan.unavailable'), target: 'change-plan' };
      const before = await commands.subscriptionView(account.id);
      try {
        const v = await commands.changePlan(account.id, { plan_id, interval }, 'customer');
        if (v.scheduled_change) return { kind: 'success', text: t.t('result.plan.scheduled', { plan: plan.name, date: t.date(v.scheduled_change.at) }), target: 'subscription' };
        if (before?.scheduled_change && v.plan_id === before.plan_id) return { kind: 'success', text: t.t('result.plan.kept', { plan: plan.name }), target: 'subscription' };
        if (v.attempt && v.attempt.outcome !== 'succeeded')
          return { kind: 'error', text: t.t('result.plan.graceDeclined', { plan: plan.name, reason: because(t, v.attempt.reason) }), target: 'billing' };
        return { kind: 'success', text: t.t('result.plan.changed', { plan: plan.name }), target: 'subscription' };
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        const paying = paymentRefusal(t, err, 'result.plan.declined');
        if (paying) return paying;
        return { kind: 'error', text: t.t('result.plan.unavailable'), target: 'change-plan' };
      }
    }),
  );

  app.post('/portal/sign-out', async (req, reply) => {
    const s = await sessions.fromRequest(req);
    const account = s ? await commands.getAccount(s.data.account_id) : null;
    if (s && !csrfOk(s, req.body)) return plainPage(reply, req, 403, 'page.csrf.title', 'page.csrf.body');
    await sessions.destroy(s?.id);
    sessions.clearCookie(req, reply);
    return plainPage(reply, req, 200, 'page.signedout', null, account ? i18n(account.locale).lang : undefined);
  });

  // ---- the page ----
  async function render(s: Session<CustomerSession>, flash: Flash | null): Promise<Html> {
    const account = await commands.requireAccount(s.data.account_id);
    const t = i18n(account.locale, account.time_zone);
    const [sub, pm, invoices, plans, help] = await Promise.all([
      commands.subscriptionView(account.id),
      commands.getPaymentMethod(account.id),
      commands.invoices(account.id),
      commands.listPlans(),
      deps.listHelpRequests({ account_id: account.id }).catch(() => [] as HelpRequestView[]),
    ]);
    const details = await commands.billingDetails(account.id);
    const backup = await backupCardOf(ctx, account.id);
    const restore = restoreView(t, csrf_(s.csrf), account, sub, pm, invoices, plans);
    const planName = (id: string | null | undefined) => (id ? plans.find((p) => p.id === id)?.name ?? id : '');
    const now = ctx.clock.now();
    const csrf = hidden('_csrf', s.csrf);
    const fields = flash?.fields ?? {};
    const pastDue = invoices.find((i) => i.status === 'past_due');
    const invoiceTitle = (inv: InvoiceRow) => t.t(inv.kind === 'purchase' ? 'history.purchase' : inv.kind === 'proration' ? 'history.proration' : 'history.renewal', { plan: planName(inv.plan_id) });

    // Grace banner: what failed, why, until when access stays, what happens next.
    let banner: Piece = '';
    if (sub?.status === 'past_due') {
      const failures = (pastDue?.attempts ?? []).filter((a) => a.outcome === 'declined' || a.outcome === 'requires_action');
      const last = failures[failures.length - 1];
      const failedAt = last?.at ?? pastDue?.period_start ?? now;
      const reason = last ? because(t, last.reason) : t.t('because.none');
      const graceEnd = sub.grace_ends_at;
      const days = graceEnd ? Math.max(1, Math.ceil((new Date(graceEnd).getTime() - now.getTime()) / DAY)) : 0;
      banner = html`<section class="banner banner-warn" aria-labelledby="grace-title" id="grace">
<h2 id="grace-title">${t.t('grace.title')}</h2>
<p>${t.t('grace.failed', { date: t.date(failedAt), reason })}</p>
${graceEnd ? html`<p><strong>${t.t('grace.access', { date: t.date(graceEnd), daysLeft: t.daysLeft(days) })}</strong></p>` : ''}
<p>${sub.next_retry_at ? t.t(sub.next_retry_why === 'customer_chosen' ? 'retryDate.planned' : 'grace.next', { date: t.dateTime(sub.next_retry_at) }) : t.t('grace.noAuto')}</p>
${sub.downgrade_paused_at && graceEnd ? html`<p id="grace-paused">${t.t('grace.paused', { date: t.date(graceEnd) })}</p>` : ''}
<p><a href="#billing">${t.t('nav.billing')}</a> · <a href="#history">${t.t('nav.history')}</a></p>
</section>`;
    } else if (sub?.status === 'downgraded') {
      const lost = invoices.find((i) => i.status === 'uncollectible');
      banner = html`<section class="banner banner-warn" aria-labelledby="down-title"><h2 id="down-title">${t.t('downgraded.title')}</h2>
<p>${t.t('downgraded.body', { plan: planName(lost?.plan_id ?? null) || planName(sub.plan_id) })}</p>
<p><a href="#restore">${t.t('restore.heading')}</a></p></section>`;
    }

    // Subscription
    const plan: Plan | undefined = sub ? plans.find((p) => p.id === sub.plan_id) : undefined;
    const price = plan?.prices.find((p) => p.currency === account.currency && p.interval === sub?.interval);
    const statusBadge = (st: string) => {
      const cls = st === 'active' ? 'b-ok' : st === 'past_due' ? 'b-warn' : 'b-neutral';
      return html`<span class="badge ${cls}">${t.t(`sub.status.${st}` as CatalogKey)}</span>`;
    };
    // ---- cancel and resume ----
    // Active or in grace on a paid plan: "Cancel subscription" opens the choices with what each
    // means (a confirm step: nothing happens until one of its buttons). A pending period-end
    // cancel shows Resume instead.
    let cancelBlock: Piece = '';
    const cancelForm = (at: 'now' | 'period_end', label: CatalogKey, cls: string) =>
      html`<form method="post" action="/portal/subscription/cancel" class="actions">${csrf}${hidden('at', at)}<button type="submit" class="btn ${cls}">${t.t(label)}</button></form>`;
    if (sub && plan && !plan.free && (sub.status === 'active' || sub.status === 'past_due')) {
      if (sub.cancel_at_period_end && sub.status === 'active') {
        cancelBlock = html`<div id="resume"><p>${t.t('resume.explain', { date: t.date(sub.current_period_end) })}</p>
<form method="post" action="/portal/subscription/resume" class="actions">${csrf}<button type="submit" class="btn">${t.t('resume.button')}</button></form></div>`;
      } else if (!sub.cancel_at_period_end) {
        cancelBlock = html`<details id="cancel"><summary>${t.t('cancel.summary')}</summary>
${
  sub.status === 'past_due'
    ? html`<p>${t.t('cancel.explain.past_due')}</p>${cancelForm('now', 'cancel.pastDue', 'btn-danger')}`
    : html`<p>${t.t('cancel.explain.active', { plan: planName(sub.plan_id), date: t.date(sub.current_period_end) })}</p>${cancelForm('period_end', 'cancel.atPeriodEnd', 'btn-secondary')}
<p>${t.t('cancel.explain.now')}</p>${cancelForm('now', 'cancel.now', 'btn-danger')}`
}
</details>`;
      }
    }
    // ---- end cancel and resume ----
    // ---- plan change ----
    // The other paid plans in the account's currency, each saying when it applies and what it costs
    // now (the same rule as the engine: core/proration.ts, machine planChangeOf).
    let planBlock: Piece = '';
    if (sub && plan && !plan.free && sub.auto_renew && (sub.status === 'active' || sub.status === 'past_due')) {
      const planForm = (plan_id: string, interval: string, label: string, cls: string) =>
        html`<form method="post" action="/portal/subscription/plan" class="actions">${csrf}${hidden('plan_id', plan_id)}${hidden('interval', interval)}<button type="submit" class="btn ${cls}">${label}</button></form>`;
      const scheduled = sub.scheduled_change
        ? html`<div id="scheduled-change"><p>${t.t('plan.scheduled', { plan: planName(sub.scheduled_change.plan_id), date: t.date(sub.scheduled_change.at) })}</p>
${planForm(sub.plan_id, sub.interval, t.t('plan.keep', { plan: planName(sub.plan_id) }), 'btn-secondary')}</div>`
        : '';
      const offers = plans
        .filter((p) => !p.free)
        .flatMap((p) => p.prices.filter((x) => x.currency === account.currency).map((x) => ({ plan: p, interval: x.interval, amount: x.amount })))
        .filter((o) => !(o.plan.id === sub.plan_id && o.interval === sub.interval))
        .filter((o) => sub.status !== 'past_due' || o.interval === sub.interval)
        .filter((o) => !(sub.scheduled_change && o.plan.id === sub.scheduled_change.plan_id && o.interval === sub.scheduled_change.interval));
      const when = (o: { interval: string; amount: number }) => {
        if (sub.status === 'past_due') return t.t('plan.grace', { amount: t.money(o.amount, account.currency) });
        if (price && o.interval === sub.interval && o.amount > price.amount) {
          const p = prorate({ oldAmount: price.amount, newAmount: o.amount, periodStart: new Date(sub.current_period_start), periodEnd: new Date(sub.current_period_end), at: now });
          return t.t('plan.now', { amount: t.money(p.charge, account.currency) });
        }
        return t.t('plan.periodEnd', { date: t.date(sub.current_period_end) });
      };
      const per = (o: { interval: string; amount: number }) => t.t(o.interval === 'year' ? 'sub.per.year' : 'sub.per.month', { amount: t.money(o.amount, account.currency) });
      planBlock = html`${scheduled}${
        offers.length
          ? html`<details id="change-plan"><summary>${t.t('plan.summary')}</summary>
<p>${t.t('plan.intro')}</p>
<ul class="offers">${offers.map((o) => html`<li><p>${when(o)}</p>${planForm(o.plan.id, o.interval, t.t('plan.choose', { plan: o.plan.name, price: per(o) }), 'btn-secondary')}</li>`)}</ul>
</details>`
          : ''
      }`;
    }
    // ---- end plan change ----
    const subPanel = html`<section class="panel" id="subscription" aria-labelledby="sub-title">
<h2 id="sub-title">${t.t('sub.heading')}</h2>
${
  sub
    ? html`<dl class="facts">
<dt>${t.t('sub.plan')}</dt><dd>${planName(sub.plan_id)}</dd>
<dt>${t.t('sub.status')}</dt><dd>${statusBadge(sub.status)}</dd>
${price && !plan?.free ? html`<dt>${t.t('sub.price')}</dt><dd>${t.t(sub.interval === 'year' ? 'sub.per.year' : 'sub.per.month', { amount: t.money(price.amount, price.currency) })}</dd>` : ''}
${!plan?.free ? html`<dt>${t.t('sub.period')}</dt><dd>${t.date(sub.current_period_start)} – ${t.date(sub.current_period_end)}</dd>` : ''}
</dl>
<p class="muted">${plan?.free ? t.t('sub.free') : sub.status === 'active' ? (sub.auto_renew ? t.t('sub.renews', { date: t.date(sub.current_period_end) }) : t.t('sub.ends', { date: t.date(sub.current_period_end) })) : ''}</p>`
    : html`<p>${t.t('sub.none')}</p>`
}
${planBlock}
${cancelBlock}
</section>`;

    // Billing information: the current card and "Update card" (the gateway's hosted page)
    const fieldError = (name: string) => (fields[name] ? html`<span class="error-text" id="${name}-error">${fields[name]}</span>` : '');
    const described = (name: string, hint?: string) => [hint, fields[name] ? `${name}-error` : null].filter(Boolean).join(' ') || null;
    const billing = html`<section class="panel" id="billing" aria-labelledby="billing-title">
<h2 id="billing-title">${t.t('billing.heading')}</h2>
<h3>${t.t('billing.current')}</h3>
<p id="current-card">${pm ? t.t('billing.card', { brand: brandName(pm.brand ?? pm.type), last4: pm.last4 ?? '····', expiry: t.expiry(pm.exp_month, pm.exp_year) }) : t.t('billing.none')}</p>
<form method="post" action="/portal/billing/setup" class="actions">
${csrf}
${sub?.status === 'past_due' ? html`<p class="muted small">${t.t('billing.graceNote')}</p>` : ''}
<p class="muted small" id="update-card-note">${t.t('billing.updateNote')}</p>
<button type="submit" class="btn" aria-describedby="update-card-note">${t.t('billing.update')}</button>
</form>
<h3 id="backup-card">${t.t('backup.heading')}</h3>
${
  backup
    ? html`<p id="backup-card-line">${t.t('backup.card', { brand: brandName(backup.payment_method.brand ?? backup.payment_method.type), last4: backup.payment_method.last4 ?? '····', expiry: t.expiry(backup.payment_method.exp_month, backup.payment_method.exp_year) })}</p>
<form method="post" action="/portal/billing/backup/remove" class="actions">${csrf}<button type="submit" class="btn btn-secondary">${t.t('backup.remove')}</button></form>`
    : html`<p class="muted" id="backup-card-line">${t.t('backup.none')}</p>`
}
<form method="post" action="/portal/billing/setup" class="actions">
${csrf}${hidden('purpose', 'backup')}
<div class="field"><label class="check"><input type="checkbox" id="backup-consent" name="consent" value="yes"${attrs({ 'aria-invalid': fields.consent ? 'true' : null, 'aria-describedby': described('consent') })}> ${t.t('backup.consent')}</label>${fieldError('consent')}</div>
<button type="submit" class="btn btn-secondary" aria-describedby="update-card-note">${t.t('backup.add')}</button>
</form>
<h3 id="billing-details">${t.t('billing.details.heading')}</h3>
<p class="muted small" id="billing-details-note">${t.t('billing.details.note')}</p>
<form method="post" action="/portal/billing/details">
${csrf}
<div class="field"><label for="billing_name">${t.t('billing.details.name')}</label><input id="billing_name" name="billing_name" maxlength="200" autocomplete="organization" value="${details.name ?? ''}" placeholder="${account.name}"${attrs({ 'aria-invalid': fields.billing_name ? 'true' : null, 'aria-describedby': described('billing_name') })}>${fieldError('billing_name')}</div>
<div class="field"><label for="billing_address">${t.t('billing.details.address')}</label><textarea id="billing_address" name="billing_address" maxlength="500" rows="3" autocomplete="street-address"${attrs({ 'aria-invalid': fields.billing_address ? 'true' : null, 'aria-describedby': described('billing_address') })}>${details.address ?? ''}</textarea>${fieldError('billing_address')}</div>
<div class="field"><label for="vat_id">${t.t('billing.details.vat')}</label><input id="vat_id" name="vat_id" maxlength="32" value="${details.vat_id ?? ''}"${attrs({ 'aria-invalid': fields.vat_id ? 'true' : null, 'aria-describedby': described('vat_id') })}>${fieldError('vat_id')}</div>
<button type="submit" class="btn btn-secondary" aria-describedby="billing-details-note">${t.t('billing.details.save')}</button>
</form>
</section>`;

    // Purchase history
    const invoiceBadge = (st: string) => {
      const cls = st === 'paid' ? 'b-ok' : st === 'past_due' ? 'b-warn' : st === 'uncollectible' ? 'b-err' : 'b-neutral';
      return html`<span class="badge ${cls}">${t.t(`invoice.${st}` as CatalogKey)}</span>`;
    };
    const why = (inv: InvoiceRow, a: InvoiceRow['attempts'][number]) =>
      t.t((a.trigger === 'scheduled' && a.number === 1 && inv.kind === 'renewal' ? 'trigger.renewal' : `trigger.${a.trigger}`) as CatalogKey);
    const reasonLabel = (a: InvoiceRow['attempts'][number]) =>
      a.outcome === 'succeeded' || a.outcome === 'pending' || !a.reason ? '—' : t.t((KNOWN_REASONS.has(a.reason) ? `reason.${a.reason}` : 'reason.declined_by_bank') as CatalogKey);
    // An issued invoice's PDF, and the credit notes that cancel it (never for one voided unissued).
    const documents = (inv: InvoiceRow, titleId: string): Piece =>
      inv.number
        ? html`<p class="documents"><a href="/portal/invoices/${inv.id}/pdf" download="${inv.number}.pdf" aria-describedby="${titleId}">${t.t('history.document', { number: inv.number })}</a>${inv.credit_notes.map(
            (n) => html` · <a href="/portal/credit-notes/${n.id}/pdf" download="${n.number}.pdf" aria-describedby="${titleId}">${t.t('history.creditNote', { number: n.number })}</a>`,
          )}</p>`
        : '';
    const items = invoices.map((inv) => {
      const titleId = `inv-${inv.id}-title`;
      const helpField = `message-${inv.id}`;
      const attempts = inv.attempts.length
        ? html`<table class="attempts"><caption class="visually-hidden">${t.t('history.attempts')}</caption>
<thead><tr><th scope="col">${t.t('history.col.date')}</th><th scope="col">${t.t('history.col.why')}</th><th scope="col">${t.t('history.col.outcome')}</th><th scope="col">${t.t('history.col.reason')}</th></tr></thead>
<tbody>${inv.attempts.map(
            (a) => html`<tr><td data-label="${t.t('history.col.date')}">${t.dateTime(a.at)}</td><td data-label="${t.t('history.col.why')}">${why(inv, a)}</td><td data-label="${t.t('history.col.outcome')}">${t.t(`outcome.${a.outcome}` as CatalogKey)}</td><td data-label="${t.t('history.col.reason')}">${reasonLabel(a)}</td></tr>`,
          )}</tbody></table>`
        : html`<p class="muted">${t.t('history.noAttempts')}</p>`;
      let retry: Piece = '';
      // The last failure asks the customer to authenticate with the bank (3-D Secure): that page first.
      const failures = inv.attempts.filter((a) => a.outcome === 'declined' || a.outcome === 'requires_action');
      const needsAuth = inv.status === 'past_due' && failures.at(-1)?.reason === 'authentication_required' && !inv.attempts.some((a) => a.outcome === 'pending' || a.outcome === 'unknown');
      const authenticate: Piece = needsAuth ? html`<p class="actions"><a class="btn" href="/portal/invoices/${inv.id}/authenticate" aria-describedby="${titleId}">${t.t('auth.button')}</a></p>` : '';
      if (inv.status === 'past_due') {
        retry = inv.retry.available
          ? html`<form method="post" action="/portal/invoices/${inv.id}/retry" class="actions">${csrf}<button type="submit" class="btn" aria-describedby="${titleId}">${t.t('retry.button')}</button></form>`
          : html`<p class="unavailable" id="retry-${inv.id}"><strong>${t.t('retry.unavailable')}</strong> ${t.t(`retry.unavailable.${inv.retry.reason}` as CatalogKey)}</p>`;
      }
      // The customer chooses the day of the next attempt (a day of their calendar, before grace ends).
      let when: Piece = '';
      if (inv.status === 'past_due' && sub?.status === 'past_due' && sub.grace_ends_at && sub.auto_renew) {
        const field = `retry-date-${inv.id}`;
        const day = (d: Date) => {
          const w = toWall(d, account.time_zone);
          return `${w.year}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
        };
        const end = new Date(sub.grace_ends_at);
        when = html`<details id="when-${inv.id}"${attrs({ open: !!fields[field] })}><summary>${t.t('retryDate.heading')}</summary>
<form method="post" action="/portal/invoices/${inv.id}/retry-date">${csrf}
<div class="field"><label for="${field}">${t.t('retryDate.label')}</label><span class="hint" id="${field}-hint">${t.t('retryDate.hint', { date: t.date(end) })}</span>
<input type="date" id="${field}" name="date" required min="${day(new Date(now.getTime() + DAY))}" max="${day(end)}" value="${sub.chosen_retry_at ? day(new Date(sub.chosen_retry_at)) : ''}"${attrs({ 'aria-invalid': fields[field] ? 'true' : null, 'aria-describedby': described(field, `${field}-hint`) })}>${fieldError(field)}</div>
<button type="submit" class="btn btn-secondary">${t.t('retryDate.button')}</button>
</form></details>`;
      }
      return html`<li class="invoice" id="inv-${inv.id}"><article aria-labelledby="${titleId}">
<div class="invoice-head"><h3 id="${titleId}">${invoiceTitle(inv)}</h3><span class="amount">${t.money(inv.amount, inv.currency)}</span></div>
<p>${invoiceBadge(inv.status)} <span class="muted">${t.t('history.period', { start: t.date(inv.period_start), end: t.date(inv.period_end) })}</span></p>
${documents(inv, titleId)}
${attempts}
${authenticate}
${retry}
${when}
<details id="help-${inv.id}"${attrs({ open: !!fields[helpField] })}><summary>${t.t('help.button')}</summary>
<form method="post" action="/portal/invoices/${inv.id}/help-requests">${csrf}
<div class="field"><label for="${helpField}">${t.t('help.message')}</label><span class="hint" id="${helpField}-hint">${t.t('help.hint')}</span>
<textarea id="${helpField}" name="message" maxlength="5000" rows="4"${attrs({ 'aria-invalid': fields[helpField] ? 'true' : null, 'aria-describedby': described(helpField, `${helpField}-hint`) })}></textarea>${fieldError(helpField)}</div>
<button type="submit" class="btn btn-secondary">${t.t('help.send')}</button>
</form></details>
</article></li>`;
    });
    const history = html`<section class="panel" id="history" aria-labelledby="history-title">
<h2 id="history-title">${t.t('history.heading')}</h2>
${invoices.length ? html`<ul class="invoices">${items}</ul>` : html`<p>${t.t('history.empty')}</p>`}
</section>`;

    // Help requests and their answers
    const byId = new Map(invoices.map((i) => [i.id, i]));
    const helpBadge = (st: string) => html`<span class="badge ${st === 'answered' ? 'b-ok' : st === 'open' ? 'b-warn' : 'b-neutral'}">${t.t(`help.status.${st === 'answered' || st === 'closed' ? st : 'open'}` as CatalogKey)}</span>`;
    const helpSection = html`<section class="panel" id="help" aria-labelledby="help-title">
<h2 id="help-title">${t.t('help.heading')}</h2>
${
  help.length
    ? help.map((h) => {
        const inv = byId.get(h.invoice_id);
        return html`<article class="help-item" aria-label="${t.t('help.sentOn', { date: t.dateTime(h.created_at) })}">
<p>${helpBadge(h.status)} <span class="muted small">${t.t('help.sentOn', { date: t.dateTime(h.created_at) })}${inv ? html` · ${t.t('help.about', { invoice: `${invoiceTitle(inv)}, ${t.money(inv.amount, inv.currency)}` })}` : ''}</span></p>
<p class="message"><span class="visually-hidden">${t.t('help.yours')}: </span>${h.message}</p>
${h.answer ? html`<div class="answer"><strong>${t.t('help.answer')}:</strong> ${h.answer}</div>` : ''}
</article>`;
      })
    : html`<p class="muted">${t.t('help.none')}</p>`
}
</section>`;

    const nav = html`<nav aria-label="${t.t('nav.label')}"><ul>
<li><a href="#subscription">${t.t('nav.subscription')}</a></li>
<li><a href="#billing">${t.t('nav.billing')}</a></li>
<li><a href="#history">${t.t('nav.history')}</a></li>
<li><a href="#help">${t.t('nav.help')}</a></li>
</ul></nav>`;
    const signOut = html`<form method="post" action="/portal/sign-out">${csrf}<button type="submit" class="linkish">${t.t('signout')}</button></form>`;
    return page({
      lang: t.lang,
      title: `${t.t('meta.title')} — ${account.name}`,
      area: 'portal',
      brand: html`<span class="brand">${t.t('meta.title')}</span>`,
      skip: t.t('skip'),
      nav,
      headerEnd: signOut,
      flash,
      footer: html`<p>${t.t('footer')}</p>`,
      body: html`<h1>${account.name} <span class="muted small">${account.email}</span></h1>${banner}${subPanel}${restore}${billing}${history}${helpSection}`,
    });
  }
}

export function brandName(brand: string): string {
  const names: Record<string, string> = { visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover', diners: 'Diners Club', jcb: 'JCB', unionpay: 'UnionPay', card: 'Card' };
  return names[brand.toLowerCase()] ?? brand;
}

// ---- restore / buy back after a downgrade or a cancel ----

const csrf_ = (token: string) => hidden('_csrf', token);

/** A refused day of the next attempt, in the customer's words (core/machine.ts RETRY_DATE_REFUSALS). */
const RETRY_DATE_TEXT: Record<string, CatalogKey> = {
  invoice_not_past_due: 'retryDate.no.paid',
  date_not_in_future: 'retryDate.no.past',
  outside_grace: 'retryDate.no.grace',
  network_cap: 'retryDate.no.network',
  network_advice: 'retryDate.no.network',
  no_automatic_retry: 'retryDate.no.card',
};
type SubView = Awaited<ReturnType<AppContext['commands']['subscriptionView']>>;
type PmView = Awaited<ReturnType<AppContext['commands']['getPaymentMethod']>>;

/** The plan and interval the account had: its latest paid plan's invoice (a void purchase attempt does not count). */
export function previousPlan(sub: NonNullable<SubView>, invoices: Invoices, plans: Plan[]): { plan: Plan; interval: 'month' | 'year' } | null {
  const last = invoices.find((i) => i.status !== 'void' && !plans.find((p) => p.id === i.plan_id)?.free);
  const plan = last && plans.find((p) => p.id === last.plan_id);
  return plan ? { plan, interval: sub.interval === 'year' ? 'year' : 'month' } : null;
}

/**
 * On the free plan after a downgrade or a cancel (or never started): one "Restore <plan>" action —
 * the plan and interval the account had, at today's price, with the saved card — and the other paid
 * plans in the account's currency. Empty while a paid subscription is live.
 */
export function restoreView(t: I18n, csrf: Html, account: Account, sub: SubView, pm: PmView, invoices: Invoices, plans: Plan[]): Piece {
  const current = sub ? plans.find((p) => p.id === sub.plan_id) : undefined;
  const live = sub && (sub.status === 'past_due' || (sub.status === 'active' && current && !current.free));
  if (live) return '';
  const offers = plans
    .filter((p) => !p.free && !p.archived) // an archived plan is not bought back either
    .flatMap((p) => p.prices.filter((x) => x.currency === account.currency).map((x) => ({ plan: p, interval: x.interval, amount: x.amount })));
  const prev = sub ? previousPlan(sub, invoices, plans) : null;
  const main = prev ? offers.find((o) => o.plan.id === prev.plan.id && o.interval === prev.interval) : undefined;
  const others = offers.filter((o) => o !== main);
  const priceOf = (o: { interval: string; amount: number }) => t.t(o.interval === 'year' ? 'sub.per.year' : 'sub.per.month', { amount: t.money(o.amount, account.currency) });
  const form = (o: { plan: Plan; interval: string }, label: string, cls: string) =>
    html`<form method="post" action="/portal/subscription/buy" class="actions">${csrf}${hidden('plan_id', o.plan.id)}${hidden('interval', o.interval)}<button type="submit" class="${cls}">${label}</button></form>`;
  let body: Piece;
  if (offers.length === 0) body = html`<p>${t.t('restore.noPlans')}</p>`;
  else if (!pm) body = html`<p>${t.t('restore.noCard')} <a href="#billing">${t.t('nav.billing')}</a></p>`;
  else {
    const card = t.t('billing.card', { brand: brandName(pm.brand ?? pm.type), last4: pm.last4 ?? '····', expiry: t.expiry(pm.exp_month, pm.exp_year) });
    body = html`${main ? html`<p>${t.t('restore.offer', { plan: main.plan.name, price: priceOf(main) })}</p>${form(main, t.t('restore.button', { plan: main.plan.name }), 'btn')}` : ''}
<p class="muted small">${t.t('restore.card', { card })}</p>
${others.length ? html`<h3>${t.t('restore.others')}</h3><ul class="offers">${others.map((o) => html`<li>${form(o, t.t('restore.buy', { plan: o.plan.name, price: priceOf(o) }), main ? 'btn btn-secondary' : 'btn')}</li>`)}</ul>` : ''}`;
  }
  return html`<section class="panel" id="restore" aria-labelledby="restore-title">
<h2 id="restore-title">${t.t('restore.heading')}</h2>
<p>${t.t('restore.intro')}</p>
${body}
</section>`;
}
