// The operator console at /console: sign in with the admin key; dashboard (accounts in grace,
// money recovered and lost, recovery rate by decline reason and by attempt number, involuntary
// churn over time), each account's timeline, help requests, the outbox, the dunning policy
// editor, webhooks, and the test clock when it is on.
//
// This file is the console's frame: who is signed in (cookie sessions, the key re-checked on every
// request, a throttle on failed sign-ins), the CSRF check on every form, and the page shell. Each
// page is a file of its own (views are pure functions of their data; handlers load the data
// through the commands and call the view) and gets the frame as a `ConsoleFrame`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../engine/context.ts';
import { failureThrottle } from '../../http/auth-throttle.ts';
import { resolvePrincipal } from '../../http/auth.ts';
import { CommandError } from '../../core/errors.ts';
import { html, attrs, sendHtml, str, type Body, type Html, type Piece } from '../html.ts';
import { page, hidden } from '../layout.ts';
import { SessionStore, csrfOk, random, safeEqual, type Flash, type OperatorSession, type Session, type SessionStoreOptions } from '../sessions.ts';
import type { WebDeps } from '../deps.ts';
import { when } from './format.ts';
import { openIncidents, type Incident } from '../../store/incidents.ts';
import { dashboardRoutes } from './dashboard.ts';
import { clockRoutes } from './clock.ts';
import { accountsRoutes } from './accounts.ts';
import { accountRoutes } from './account.ts';
import { helpRoutes } from './help.ts';
import { outboxRoutes } from './outbox.ts';
import { webhooksRoutes } from './webhooks.ts';
import { policyRoutes } from './policy.ts';
import { backtestRoutes } from './backtest.ts';
import { keysRoutes } from './keys.ts';

const HOUR_MS = 3_600_000;
const LOGIN_CSRF = 'renewd_console_login';

/** The operators' browser sessions: 8 h idle, 24 h at most, 20 per admin key (sessions.ts). */
export const operatorSessions = (ctx: Pick<AppContext, 'db'>, opts: SessionStoreOptions = {}) => new SessionStore<OperatorSession>(ctx.db, 'renewd_console', '/console', 8 * HOUR_MS, 24 * HOUR_MS, opts);

export interface ConsoleOptions {
  ctx: AppContext;
  deps: WebDeps;
  /** Who is signed in; one store per process unless given. */
  sessions?: SessionStore<OperatorSession>;
}

export type OperatorHandler = (req: FastifyRequest, reply: FastifyReply, s: Session<OperatorSession>) => Promise<unknown>;
type RouteHandler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface ShellOptions {
  title: string;
  body: Piece;
  s?: Session<OperatorSession>;
  /** The navigation entry of this page. */
  active?: string;
  flash?: Flash | null;
}

/** The frame the pages are built in. */
export interface ConsoleFrame {
  ctx: AppContext;
  deps: WebDeps;
  /** A page behind sign-in: the handler gets the session; POSTs have passed the CSRF check. */
  guard(handler: OperatorHandler): RouteHandler;
  /** POST → do it, keep the message for the next page, redirect (post/redirect/get). */
  act(to: (req: FastifyRequest) => string, fn: (req: FastifyRequest, s: Session<OperatorSession>) => Promise<Flash>): RouteHandler;
  /** Sends a page in the console's shell. */
  show(reply: FastifyReply, o: ShellOptions, status?: number): FastifyReply;
  /** The one-shot message left by the last action. */
  takeFlash(s: Session<OperatorSession>): Flash | null;
}

/** The console as a Fastify plugin, registered by web/routes.ts inside the pages' scope. */
export async function consolePlugin(app: FastifyInstance, opts: ConsoleOptions) {
  const { ctx, deps } = opts;
  const sessions = opts.sessions ?? operatorSessions(ctx);
  sessions.register(app);
  // At most 10 wrong keys per address in 15 minutes (wall-clock time: it is about people).
  const throttle = failureThrottle({ limit: 10, windowMs: 15 * 60_000 });

  // The key is checked again on every request (sessions.ts): a revoked key signs its sessions out.
  const current = (req: FastifyRequest): Promise<Session<OperatorSession> | null> => sessions.fromRequest(req);

  // The open payment incidents, read once per console request for the banner every page shows.
  const incidentsOf = new WeakMap<FastifyRequest, Incident[]>();
  app.addHook('preHandler', async (req) => {
    incidentsOf.set(req, await openIncidents(ctx.db));
  });
  const show = (reply: FastifyReply, o: ShellOptions, status = 200) =>
    sendHtml(reply, shell(o, { webhooks: deps.webhooks !== null, testClockNow: ctx.testClock ? ctx.clock.now() : null, incidents: incidentsOf.get(reply.request) ?? [] }), status);
  const forbidden = (reply: FastifyReply) => show(reply, { title: 'Form expired', body: html`<h1>This form has expired</h1><p>Reload the page and try again.</p>` }, 403);

  const guard = (handler: OperatorHandler): RouteHandler => async (req, reply) => {
    const s = await current(req);
    if (!s) {
      if (req.method === 'GET') return reply.header('cache-control', 'no-store').redirect('/console/login', 303);
      return show(reply, { title: 'Signed out', body: html`<h1>You are signed out</h1><p><a href="/console/login">Sign in</a> again.</p>` }, 401);
    }
    if (req.method === 'POST' && !csrfOk(s, req.body)) return forbidden(reply);
    return handler(req, reply, s);
  };

  const act: ConsoleFrame['act'] = (to, fn) =>
    guard(async (req, reply, s) => {
      try {
        s.flash = await fn(req, s);
      } catch (err) {
        if (err instanceof CommandError) s.flash = { kind: 'error', text: err.message };
        else {
          req.log.error({ err: { message: (err as Error).message } }, 'console action failed');
          s.flash = { kind: 'error', text: `Failed: ${(err as Error).message}` };
        }
      }
      return reply.redirect(to(req), 303);
    });

  const c: ConsoleFrame = { ctx, deps, guard, act, show, takeFlash: (s) => sessions.takeFlash(s) };

  // ---- sign in / out ----
  function loginPage(reply: FastifyReply, req: FastifyRequest, error: string | null, status = 200) {
    const token = random(24);
    reply.setCookie(LOGIN_CSRF, token, { path: '/console', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https' });
    return show(reply, { title: 'Sign in', body: loginView(token, error) }, status);
  }

  app.get('/console/login', async (req, reply) => {
    if (await current(req)) return reply.redirect('/console', 303);
    return loginPage(reply, req, null);
  });

  app.post('/console/login', async (req, reply) => {
    const body = (req.body ?? {}) as Body;
    if (!safeEqual(str(body._csrf), req.cookies?.[LOGIN_CSRF])) return forbidden(reply);
    const key = str(body.key).trim();
    // A correct key always signs in, however many wrong ones came from this address before (an
    // office behind one proxy is one address); only wrong keys are throttled.
    const keyId = key && !/\s/.test(key) ? await adminKeyId(ctx, key) : null;
    if (!keyId) {
      const wait = throttle.blockedFor(req.ip);
      if (wait) return loginPage(reply.header('retry-after', String(wait)), req, `Too many wrong keys from this address; wait ${Math.ceil(wait / 60)} minute(s).`, 429);
      throttle.failed(req.ip);
      return loginPage(reply, req, 'That admin key is not valid.', 401);
    }
    await sessions.destroy(req.cookies?.[sessions.cookieName]);
    const s = await sessions.create({ kind: 'operator', key_id: keyId });
    sessions.setCookie(req, reply, s);
    reply.clearCookie(LOGIN_CSRF, { path: '/console' });
    return reply.redirect('/console', 303);
  });

  app.post('/console/logout', async (req, reply) => {
    const s = await sessions.fromRequest(req);
    if (s && !csrfOk(s, req.body)) return forbidden(reply);
    await sessions.destroy(s?.id);
    sessions.clearCookie(req, reply);
    return reply.redirect('/console/login', 303);
  });

  // ---- the pages ----
  dashboardRoutes(app, c);
  clockRoutes(app, c);
  accountsRoutes(app, c);
  accountRoutes(app, c);
  helpRoutes(app, c);
  outboxRoutes(app, c);
  webhooksRoutes(app, c);
  policyRoutes(app, c);
  backtestRoutes(app, c);
  keysRoutes(app, c);

  // Console pages under /console that do not exist: an HTML 404.
  app.get('/console/*', async (req, reply) => {
    const s = await current(req);
    return show(reply, { title: 'Not found', s: s ?? undefined, body: html`<h1>Page not found</h1><p><a href="/console">Dashboard</a></p>` }, 404);
  });
}

/** The id of this admin key if it is one (active), else null. */
async function adminKeyId(ctx: AppContext, key: string): Promise<string | null> {
  const p = await resolvePrincipal(ctx.db, ctx.clock, `Bearer ${key}`);
  return p && p !== 'invalid' && p.kind === 'admin' ? p.key_id : null;
}


const NAV: [string, string, string][] = [
  ['dashboard', '/console', 'Dashboard'],
  ['accounts', '/console/accounts', 'Accounts'],
  ['help', '/console/help', 'Help requests'],
  ['outbox', '/console/outbox', 'Outbox'],
  ['policy', '/console/policy', 'Dunning policy'],
  ['webhooks', '/console/webhooks', 'Webhooks'],
  ['keys', '/console/keys', 'Admin keys'],
];

/** The console's page shell: navigation and sign-out when signed in, the test clock in the footer. */
export function shell(o: ShellOptions, env: { webhooks: boolean; testClockNow: Date | null; incidents?: Incident[] }): Html {
  const items = NAV.filter(([k]) => k !== 'webhooks' || env.webhooks);
  const nav = o.s
    ? html`<nav aria-label="Console"><ul>${items.map(([k, href, label]) => html`<li><a href="${href}"${attrs({ 'aria-current': o.active === k ? 'page' : null })}>${label}</a></li>`)}</ul></nav>`
    : '';
  const end = o.s ? html`<form method="post" action="/console/logout">${hidden('_csrf', o.s.csrf)}<button type="submit" class="linkish">Sign out</button></form>` : '';
  return page({
    lang: 'en',
    title: `${o.title} — renewd console`,
    area: 'console',
    brand: html`<a class="brand" href="/console">renewd<small>operator console</small></a>`,
    skip: 'Skip to the content',
    nav,
    headerEnd: end,
    flash: o.flash,
    footer: html`<p>${env.testClockNow ? html`Test clock on — now <strong>${when(env.testClockNow)}</strong>. ` : ''}All times UTC.</p>`,
    body: o.s && env.incidents?.length ? html`${incidentBanner(env.incidents)}${o.body}` : o.body,
  });
}

/** On every page while a payment incident is open (core/incidents.ts). */
export function incidentBanner(open: Incident[]): Html {
  return html`<div class="flash flash-error incident-banner" role="status"><p><strong>Payment incident</strong> — ${open.map(
    (i, n) => html`${n ? '; ' : ''}${i.scope === 'gateway' ? 'the payment gateway' : `${i.scope.replace(/^brand:/, '')} cards`} since ${when(i.opened_at)} (${i.technical_declines} technical failures in the window)`,
  )}. No payment attempt is made on the invoices it covers; their grace is extended by its length when it closes, and their retries are spread. Customers get no "payment failed" e-mail for it.</p></div>`;
}

export function loginView(csrf: string, error: string | null): Html {
  return html`<div class="login panel"><h1>Operator sign-in</h1>
${error ? html`<div id="flash" class="flash flash-error" role="alert" tabindex="-1"><p>${error}</p></div>` : ''}
<form method="post" action="/console/login">${hidden('_csrf', csrf)}
<div class="field"><label for="admin-key">Admin key</label><span class="hint" id="admin-key-hint">The RENEWD_ADMIN_KEY, the key printed at the first start, or a key created under Admin keys.</span>
<input type="password" id="admin-key" name="key" autocomplete="current-password" required aria-describedby="admin-key-hint"${attrs({ 'aria-invalid': error ? 'true' : null })}></div>
<button type="submit" class="btn">Sign in</button>
</form></div>`;
}
