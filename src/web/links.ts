// The no-login links of customer e-mails, as pages (engine/links.ts holds the rules):
//   GET  /portal/links/:token   a live link → a portal session, the cookie, and the section it names
//                               (the token leaves the address bar); a GET never consumes nor acts.
//                               A dead link (expired, revoked, unknown, forged) → a page that offers
//                               "Send me a new link".
//   POST /portal/links/new      {token}: e-mails a fresh link of the same purpose to the address on file
//   POST /portal/links/request  {email}: e-mails a Subscription link to the accounts of that address
// Both POSTs answer the same neutral page whatever happened (no account enumeration). They run
// before any session exists, so their CSRF check is a double-submit cookie (as the console sign-in).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../engine/context.ts';
import { CustomerLinks } from '../engine/links.ts';
import { html, sendHtml, str, type Piece } from './html.ts';
import { page, hidden } from './layout.ts';
import { i18n, languageFromHeader, type CatalogKey, type I18n } from './i18n/index.ts';
import { random, safeEqual } from './sessions.ts';

type Body = Record<string, unknown>;
/** Signs the browser in with a portal session (its id) and sends it to `landing` (portal.ts). */
export type SignIn = (req: FastifyRequest, reply: FastifyReply, portalSessionId: string, accountId: string, landing: string) => Promise<unknown>;

const FORM_CSRF = 'renewd_link_form';

function shell(t: I18n, title: string, body: Piece) {
  return page({ lang: t.lang, title, area: 'portal', brand: html`<span class="brand">${t.t('meta.title')}</span>`, skip: t.t('skip'), body });
}

/** A fresh double-submit token for the page's form (cookie + hidden field). */
function formToken(req: FastifyRequest, reply: FastifyReply): string {
  const token = random(24);
  reply.setCookie(FORM_CSRF, token, { path: '/portal', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https' });
  return token;
}

const formOk = (req: FastifyRequest) => safeEqual(str((req.body as Body | undefined)?._csrf), req.cookies?.[FORM_CSRF]);

/** The e-mail form: the way in without a session (bare /portal, a session that ended). */
function emailForm(t: I18n, csrf: string, error: string | null): Piece {
  return html`<form method="post" action="/portal/links/request" novalidate>
${hidden('_csrf', csrf)}
<div class="field"><label for="link-email">${t.t('link.signin.email')}</label>
<input id="link-email" name="email" type="email" autocomplete="email" maxlength="320" required${error ? html` aria-invalid="true" aria-describedby="link-email-error"` : ''}>${error ? html`<span class="error-text" id="link-email-error">${error}</span>` : ''}</div>
<button type="submit" class="btn">${t.t('link.signin.send')}</button>
</form>`;
}

/** The pages without a session: never a dead end — an e-mail address brings a link. */
export function signedOutPage(req: FastifyRequest, reply: FastifyReply, status = 401, lang?: string, error: CatalogKey | null = null) {
  const t = i18n(lang ?? languageFromHeader(req.headers['accept-language']));
  const body = html`<h1>${t.t('link.signin.title')}</h1><p>${t.t('link.signin.body')}</p>${emailForm(t, formToken(req, reply), error ? t.t(error) : null)}`;
  return sendHtml(reply.header('cache-control', 'no-store'), shell(t, t.t('link.signin.title'), body), status);
}

export async function linkRoutes(app: FastifyInstance, { ctx, signIn }: { ctx: AppContext; signIn: SignIn }) {
  const links = new CustomerLinks(ctx.db, ctx.clock, ctx.publicUrl);

  async function languageOfAccount(req: FastifyRequest, accountId: string | null) {
    const account = accountId ? await ctx.commands.getAccount(accountId) : null;
    return account ? i18n(account.locale, account.time_zone) : i18n(languageFromHeader(req.headers['accept-language']));
  }

  /** A link that does not open the pages: say so and offer a new one (the e-mail form too). */
  function deadLinkPage(req: FastifyRequest, reply: FastifyReply, t: I18n, token: string, tooMany: boolean) {
    const csrf = formToken(req, reply);
    const body = html`<h1>${t.t('link.dead.title')}</h1>
<p>${t.t(tooMany ? 'link.dead.tooMany' : 'link.dead.body')}</p>
<form method="post" action="/portal/links/new">${hidden('_csrf', csrf)}${hidden('token', token)}<button type="submit" class="btn">${t.t('link.dead.send')}</button></form>
<h2>${t.t('link.signin.title')}</h2><p>${t.t('link.signin.body')}</p>${emailForm(t, csrf, null)}`;
    return sendHtml(reply.header('cache-control', 'no-store'), shell(t, t.t('link.dead.title'), body), tooMany ? 429 : 410);
  }

  /** The one answer of both "send me a link" forms, whatever happened. */
  function sentPage(req: FastifyRequest, reply: FastifyReply) {
    const t = i18n(languageFromHeader(req.headers['accept-language']));
    return sendHtml(reply.header('cache-control', 'no-store'), shell(t, t.t('link.sent.title'), html`<h1>${t.t('link.sent.title')}</h1><p role="status">${t.t('link.sent.body')}</p>`));
  }

  const csrfRefused = (req: FastifyRequest, reply: FastifyReply) => {
    const t = i18n(languageFromHeader(req.headers['accept-language']));
    return sendHtml(reply, shell(t, t.t('page.csrf.title'), html`<h1>${t.t('page.csrf.title')}</h1><p>${t.t('page.csrf.body')}</p>`), 403);
  };

  app.get('/portal/links/:token', async (req, reply) => {
    const token = (req.params as { token: string }).token;
    const opened = await links.open(token);
    if (opened.ok) return signIn(req, reply, opened.session.id, opened.account_id, opened.landing);
    return deadLinkPage(req, reply, await languageOfAccount(req, opened.account_id), token, opened.why === 'rate_limited');
  });

  app.post('/portal/links/new', async (req, reply) => {
    if (!formOk(req)) return csrfRefused(req, reply);
    await links.sendNew(str((req.body as Body).token));
    return sentPage(req, reply);
  });

  app.post('/portal/links/request', async (req, reply) => {
    if (!formOk(req)) return csrfRefused(req, reply);
    const email = str((req.body as Body).email).trim();
    if (!email) return signedOutPage(req, reply, 400, undefined, 'link.signin.empty');
    await links.sendByEmail(email);
    return sentPage(req, reply);
  });
}
