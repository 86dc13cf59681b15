// The pages as one route plugin: the customer's Subscription area (/portal), the operator console
// (/console) and their assets (/assets). Registered in its own encapsulated scope, so the strict
// CSP, cookies, form parsing and HTML error pages apply to the pages only, never to the JSON API.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { FastifyError, FastifyTypeProviderDefault } from 'fastify';
import helmet from '@fastify/helmet';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { RoutePlugin } from '../http/route-plugin.ts';
import type { AppContext } from '../engine/context.ts';
import { portalPlugin } from './portal.ts';
import { consolePlugin } from './console/index.ts';
import { webDeps } from './deps.ts';
import { html, sendHtml } from './html.ts';
import { page } from './layout.ts';

const asset = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url));
const ASSETS: Record<string, { body: Buffer; type: string; etag: string }> = Object.fromEntries(
  [
    ['web.css', 'text/css; charset=utf-8'],
    ['web.js', 'text/javascript; charset=utf-8'],
  ].map(([name, type]) => {
    const body = asset(name);
    return [name, { body, type, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` }];
  }),
);

/** Content-Security-Policy: nothing but this origin; no inline script or style; no framing. */
export const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  objectSrc: ["'none'"],
};

/** Where Stripe's hosted pages live: Checkout (the card page) and the 3-D Secure redirect host. */
export const STRIPE_CHECKOUT_ORIGIN = 'https://checkout.stripe.com';
export const STRIPE_AUTHENTICATION_ORIGIN = 'https://hooks.stripe.com';

/**
 * Where the pages' forms may lead besides this origin: the gateway's pages a form POST is
 * 303-redirected to ("Update card" to the hosted card page, "Authenticate the payment" to the
 * issuer's page), since Chrome enforces form-action on the redirects after a form POST too. The
 * sandbox PSP's origin for the built-in gateway; Stripe Checkout's and Stripe's 3-D Secure host.
 */
export function gatewayFormOrigins(ctx: Pick<AppContext, 'gatewayKind' | 'sandboxUrl'>): string[] {
  if (ctx.gatewayKind === 'sandbox') return ctx.sandboxUrl ? [new URL(ctx.sandboxUrl).origin] : [];
  return [STRIPE_CHECKOUT_ORIGIN, STRIPE_AUTHENTICATION_ORIGIN];
}

/** The pages' CSP for this service: form-action widened only to the gateway's own pages. */
export function cspDirectives(ctx: Pick<AppContext, 'gatewayKind' | 'sandboxUrl'>) {
  return { ...CSP_DIRECTIVES, formAction: [...CSP_DIRECTIVES.formAction, ...gatewayFormOrigins(ctx)] };
}

export const webRoutes: RoutePlugin = async (typed, { ctx }) => {
  // Pages read forms and query strings themselves: Fastify's default (untyped) provider.
  const app = typed.withTypeProvider<FastifyTypeProviderDefault>();
  const deps = webDeps(ctx);
  await app.register(async (scope) => {
    await scope.register(helmet, {
      global: true,
      contentSecurityPolicy: { useDefaults: false, directives: cspDirectives(ctx) },
      // Plain HTTP in development and tests; behind TLS the proxy sets HSTS.
      strictTransportSecurity: false,
      crossOriginEmbedderPolicy: false,
      referrerPolicy: { policy: 'no-referrer' },
    });
    await scope.register(cookie);
    await scope.register(formbody, { bodyLimit: 64 * 1024 });

    scope.get('/assets/:name', async (req, reply) => {
      const a = ASSETS[(req.params as { name: string }).name];
      if (!a) return reply.code(404).type('text/plain').send('not found');
      if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
      return reply.header('cache-control', 'public, max-age=300').header('etag', a.etag).type(a.type).send(a.body);
    });

    // Errors on a page are pages too (never a stack trace, never the request body).
    scope.setErrorHandler((err: FastifyError, req, reply) => {
      const status = typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) req.log.error({ err: { message: err?.message, stack: err?.stack } }, 'page failed');
      const title = status === 404 ? 'Not found' : status < 500 ? 'This request could not be handled' : 'Something went wrong';
      return sendHtml(
        reply,
        page({ lang: 'en', title, area: 'portal', brand: html`<span class="brand">renewd</span>`, skip: 'Skip to the content', body: html`<h1>${title}</h1><p>Go back and try again.</p>` }),
        status,
      );
    });

    await scope.register(portalPlugin, { ctx, deps });
    await scope.register(consolePlugin, { ctx, deps });
  });
};
