// One Fastify server: the JSON API under /v1, its OpenAPI document, the customer pages and the
// operator console. Every error leaves as problem+json.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import type { AppContext } from '../engine/context.ts';
import { resolvePrincipal } from './auth.ts';
import { failureThrottle } from './auth-throttle.ts';
import { problem, problemOf, problemSchema, sendProblem, PROBLEM_TYPES } from './problem.ts';
import { CommandError } from '../core/errors.ts';
import { conflictOf } from '../engine/conflicts.ts';
import { billingRoutes } from './routes/billing.ts';
import { documentRoutes } from './routes/documents.ts';
import { policyRoutes } from './routes/policy.ts';
import { testClockRoutes } from './routes/test-clock.ts';
import { portalRoutes } from './routes/portal.ts';
import { linkRoutes } from './routes/links.ts';
import { helpRoutes } from './routes/help.ts';
import { adminKeyRoutes } from './routes/admin-keys.ts';
import { authenticationRoutes } from './routes/authentication.ts';
import { cardSetupRoutes } from './routes/card-setup.ts';
import { backupCardRoutes } from './routes/backup-card.ts';
import { installIdempotency } from './idempotency.ts';
import type { RoutePlugin, RoutePluginOptions } from './route-plugin.ts';

export type { RoutePlugin } from './route-plugin.ts';

export interface ServerOptions {
  logger?: FastifyServerOptions['logger'];
  /** Route plugins of other parts (pages, webhooks…), registered after the core API. */
  plugins?: RoutePlugin[];
  bodyLimit?: number;
  /** Fastify's trustProxy (RENEWD_TRUST_PROXY): whose X-Forwarded-For/-Proto to believe for the client address and https. */
  trustProxy?: boolean | number | string;
  /** Wrong keys or tokens per client address per minute before 429 (default 20; a correct key is never refused). */
  authFailuresPerMinute?: number;
  /** Slow clients (issue 16): defaults as config.ts's. */
  limits?: Partial<ConnectionLimits>;
}

export interface ConnectionLimits {
  /** The whole request (headers and body) must arrive within this; 0: no limit. */
  requestTimeoutMs: number;
  /** The headers must arrive within this. */
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Connections open at once; a connection over the cap is closed at once. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000, maxConnections: 1024 };

/**
 * Node's http options for these limits. Node checks the request and header timeouts on a timer
 * (every 30 s by default), so a slow client could stay that much longer: the timer runs at a
 * quarter of the shortest timeout, at most every second.
 */
function httpOptions(l: ConnectionLimits) {
  const shortest = Math.min(...[l.requestTimeoutMs, l.headersTimeoutMs].filter((ms) => ms > 0));
  const headersTimeout = l.requestTimeoutMs > 0 ? Math.min(l.headersTimeoutMs, l.requestTimeoutMs) : l.headersTimeoutMs;
  return {
    requestTimeout: l.requestTimeoutMs,
    headersTimeout,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: Number.isFinite(shortest) ? Math.max(10, Math.min(1000, Math.floor(shortest / 4))) : 30_000,
  };
}

export async function buildServer(ctx: AppContext, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...opts.limits };
  const app = Fastify({
    logger: withRedaction(opts.logger ?? false),
    // A hop count trusts that many proxies in front (Fastify's types take it as a function).
    trustProxy: typeof opts.trustProxy === 'number' ? ((hops: number) => (_addr: string, i: number) => i < hops)(opts.trustProxy) : (opts.trustProxy ?? false),
    bodyLimit: opts.bodyLimit ?? 256 * 1024,
    // Slow clients (slow headers, a body that trickles, idle keep-alive) are cut off, and the
    // connections are capped, so a few hundred sockets cannot hold the server.
    http: httpOptions(limits),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Closed schemas: wrong types and unknown fields are refused, never coerced or dropped.
    // `example` is an OpenAPI annotation on schemas: known to the validator, never checked.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, keywords: ['example'] } },
    // Errors the router raises before any route runs (a path segment over 100 characters, a
    // malformed percent-encoding) leave as problem+json like every other error.
    frameworkErrors: (err, _req, reply) =>
      sendProblem(reply, problem(err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400, 'validation_error', err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is too long' : 'the URL is not valid')),
  });

  app.addSchema(problemSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'renewd API',
        version: '0.1.0',
        description:
          'Subscription renewals and payment recovery. Errors are application/problem+json with a stable `type` ' +
          `(urn:renewd:problem:<code>); codes: ${Object.keys(PROBLEM_TYPES).join(', ')}. ` +
          'Lists answer {data, has_more} and page with `limit` and `starting_after` (the id of the last item of the previous page). ' +
          'Idempotency-Key is honoured on every request that changes something, except where an operation says it is refused. ' +
          'What a GET answers, the matching PUT or PATCH takes back unchanged (readOnly members are accepted and ignored).',
      },
      components: {
        securitySchemes: {
          adminKey: { type: 'http', scheme: 'bearer', description: 'an admin key: RENEWD_ADMIN_KEY, or one created with `renewd keys create`, the console or POST /v1/admin-keys' },
          portalToken: { type: 'http', scheme: 'bearer', description: 'token of a portal session (one account)' },
          gatewaySignature: { type: 'apiKey', in: 'header', name: 'Stripe-Signature', description: "the gateway's signature of the event body with the endpoint secret (STRIPE_WEBHOOK_SECRET)" },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (json.$id as string) ?? `def-${i}` },
    transform: documentDefaults,
    transformObject: (d) => completeDocument((d as { openapiObject: OpenApiDocument }).openapiObject, ctx.publicUrl) as object,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/health', { schema: { hide: true } }, async () => ({ ok: true, now: ctx.clock.now() }));

  await app.register(authentication, { ctx, authFailuresPerMinute: opts.authFailuresPerMinute });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    // A refusal of the database that stands for a conflict (engine/conflicts.ts) is that conflict, never a 500.
    const conflict = err instanceof CommandError ? null : conflictOf(err);
    if (conflict) {
      req.log.warn({ err: { message: err.message, code: err.code } }, 'database refusal answered as a conflict');
      return sendProblem(reply, problemOf(conflict));
    }
    if (err instanceof CommandError) {
      // A limit says when it resets; HTTP says it in Retry-After (seconds).
      if (err.kind === 'rate_limited' && typeof err.extra.retry_after === 'number') reply.header('Retry-After', String(err.extra.retry_after));
      return sendProblem(reply, problemOf(err));
    }
    if (err.validation) {
      const errors = err.validation.map((v) => ({ field: `${err.validationContext}${v.instancePath}`, message: v.message, params: v.params }));
      return sendProblem(reply, problem(400, 'validation_error', err.message, { errors }));
    }
    // Fastify's own errors (body too large: 413) are RangeErrors too, with their status: keep it.
    if (err instanceof RangeError && typeof err.statusCode !== 'number') return sendProblem(reply, problem(400, 'validation_error', err.message));
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status === 413) return sendProblem(reply, problem(413, 'payload_too_large', 'the request body is too large'));
    if (status === 415) return sendProblem(reply, problem(415, 'unsupported_media_type', 'send application/json'));
    if (status >= 400 && status < 500) return sendProblem(reply, problem(status, 'validation_error', err.message));
    // Only the message: request bodies (which may hold card data) are never logged.
    req.log.error({ err: { message: err.message, stack: err.stack } }, 'request failed');
    return sendProblem(reply, problem(500, 'internal_error', 'something went wrong on our side; nothing was charged twice'));
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, problem(404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`)));

  await app.register(idempotency, { ctx });
  // Each route module is its own encapsulated plugin: what one adds (hooks, decorators) stays in it.
  for (const plugin of [billingRoutes, documentRoutes, policyRoutes, testClockRoutes, portalRoutes, linkRoutes, helpRoutes, authenticationRoutes, adminKeyRoutes, cardSetupRoutes, backupCardRoutes, ...(opts.plugins ?? [])]) await app.register(plugin, { ctx });
  if (limits.maxConnections > 0) app.server.maxConnections = limits.maxConnections;
  return app;
}

// fastify-plugin on purpose for these two: what they add (the `principal` of every request, the
// Idempotency-Key hooks) must reach every route plugin registered after them, so they do not get
// a scope of their own. Route plugins keep theirs.

/** Who is calling, on every request: `req.principal`; a key or token that is not valid answers 401. */
const authentication = fp<RoutePluginOptions & { authFailuresPerMinute?: number }>(
  async (app, { ctx, authFailuresPerMinute }) => {
    app.decorateRequest('principal', null);
    const throttle = failureThrottle({ limit: authFailuresPerMinute });
    app.addHook('onRequest', async (req, reply) => {
      const p = await resolvePrincipal(ctx.db, ctx.clock, req.headers.authorization);
      if (p === 'invalid') {
        // Only wrong keys are throttled: a correct one was already accepted above, whatever came before.
        const wait = throttle.blockedFor(req.ip);
        if (wait) return sendProblem(reply.header('retry-after', String(wait)), problem(429, 'rate_limited', `too many requests with a wrong key or token from this address: wait ${wait} s`));
        throttle.failed(req.ip);
        return sendProblem(reply, problem(401, 'unauthorized', 'the key or token is not valid (or has expired)'));
      }
      req.principal = p;
    });
  },
  { name: 'authentication' },
);

/** Before any route plugin: its onRoute hook equips each route registered with `config: { idempotent: true }`. */
const idempotency = fp<RoutePluginOptions>(async (app, { ctx }) => installIdempotency(app, ctx), { name: 'idempotency' });

/**
 * OpenAPI only (never the runtime schema): a /v1 route that declares no tag, summary or
 * responses still shows up documented, with its problem answers; routes outside /v1 (pages,
 * console, assets) are left out.
 *
 * The error statuses every route can answer are added here, once, from what the route is (issue
 * 17: the document must list what the server really sends): 400 (validation, a bad
 * Idempotency-Key, a malformed URL), 401 (a wrong key or token), 429 (too many wrong keys from one
 * address: authentication runs before every route) and 500 everywhere; 403 on operator-only
 * routes (a portal token); 404 and 414 (a path segment over 100 characters) where the path has
 * parameters; 413 and 415 where a body is read.
 */
function documentDefaults({ schema, url, route }: { schema: any; url: string; route: { method: string | string[] } }) {
  if (schema?.hide) return { schema, url };
  // The document describes the JSON API; the customer pages and the console are HTML, not API.
  if (!url.startsWith('/v1/')) return { schema: { ...(schema ?? {}), hide: true }, url };
  const s = { ...(schema ?? {}) };
  const method = Array.isArray(route.method) ? route.method[0] : route.method;
  if (!s.tags) s.tags = [url.split('/')[2].replace(/-/g, ' ')];
  if (!s.summary) s.summary = `${method} ${url}`;
  const ok = method === 'POST' ? '201' : method === 'DELETE' ? '204' : '200';
  const has2xx = s.response && Object.keys(s.response).some((k) => k.startsWith('2') || k === 'default');
  const problemRef = { $ref: 'Problem#' };
  const operatorOnly = Array.isArray(s.security) && s.security.length > 0 && s.security.every((r: object) => Object.keys(r).length === 1 && 'adminKey' in r);
  const hasParams = url.includes('/:');
  const readsBody = method !== 'GET' && method !== 'HEAD';
  s.response = {
    ...(has2xx ? {} : { [ok]: ok === '204' ? { type: 'null', description: 'Done' } : { description: 'OK', type: 'object', additionalProperties: true } }),
    400: problemRef,
    401: problemRef,
    ...(operatorOnly ? { 403: problemRef } : {}),
    ...(hasParams ? { 404: problemRef, 414: problemRef } : {}),
    ...(readsBody ? { 413: problemRef, 415: problemRef } : {}),
    429: problemRef,
    500: problemRef,
    ...(s.response ?? {}),
  };
  return { schema: s, url };
}

type OpenApiOperation = { operationId?: string; summary?: string; description?: string; security?: Record<string, string[]>[]; responses?: Record<string, any> };
type OpenApiDocument = { servers?: { url: string; description?: string }[]; paths?: Record<string, Record<string, OpenApiOperation>> } & Record<string, unknown>;

const PROBLEM_DESCRIPTIONS: Record<string, string> = {
  400: 'The request is not valid (validation_error, or a refusal named by `code`)',
  401: 'No key or token, or one that is not valid (unauthorized)',
  402: 'A payment was declined (`code` and `reason` say why)',
  403: 'A portal token on an operator route (forbidden)',
  404: 'Not found (or not this customer’s)',
  409: 'Conflict with the current state (`code` says which)',
  413: 'The request body is too large (payload_too_large)',
  414: 'A path segment is too long (validation_error)',
  415: 'The body is not application/json (unsupported_media_type)',
  422: 'The Idempotency-Key was used with another request (idempotency_key_reused)',
  429: 'Too many requests (rate_limited); Retry-After says when to try again',
  500: 'Something went wrong on our side (internal_error); nothing was charged twice',
  503: 'A service it depends on (the payment gateway) is unavailable; try again later',
};

const ACTIONS = new Set(['archive', 'unarchive', 'cancel', 'resume', 'retry', 'revoke', 'answer', 'close', 'requeue', 'requeue-kept', 'advance', 'redeliver']);
const camel = (w: string) => w.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
const pascal = (w: string) => camel(w).replace(/^./, (c) => c.toUpperCase());
const singular = (w: string) => (w.endsWith('ies') ? `${w.slice(0, -3)}y` : w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w);

/**
 * A stable operationId from the method and path when the route names none (code generators name
 * their methods after it): GET /v1/accounts → listAccounts, GET /v1/accounts/{id}/invoices →
 * listAccountInvoices, POST /v1/plans/{id}/archive → archivePlan, PATCH … → update…, PUT … → set….
 */
export function operationIdOf(method: string, path: string): string {
  const parts = path.split('/').slice(2);
  const last = parts[parts.length - 1];
  const action = method === 'post' && ACTIONS.has(last) ? camel(last) : null;
  const words = action ? parts.slice(0, -1) : parts;
  const collection = !words[words.length - 1].startsWith('{');
  const verb =
    action ??
    (method === 'get' ? (collection && /[^s]s$/.test(words[words.length - 1]) ? 'list' : 'get') : method === 'post' ? 'create' : method === 'put' ? 'set' : method === 'patch' ? 'update' : 'delete');
  const nouns = words
    .map((w, i) => ({ w, i }))
    .filter(({ w }) => !w.startsWith('{'))
    .map(({ w, i }) => (verb === 'list' && i === words.length - 1 ? w : !action || words[i + 1]?.startsWith('{') ? singular(w) : w));
  return verb + nouns.map(pascal).join('');
}

function whoMayCall(op: OpenApiOperation): string {
  const schemes = new Set((op.security ?? []).flatMap((r) => Object.keys(r)));
  if (schemes.has('gatewaySignature')) return 'Called by the payment gateway, signed (Stripe-Signature).';
  if (schemes.has('portalToken') && schemes.has('adminKey')) return "With the admin key, or a customer's portal token for their own account (another account's answers 404).";
  if (schemes.has('portalToken')) return "With a customer's portal token.";
  return 'Operators only (admin key); a portal token answers 403.';
}

/**
 * The whole document once built: where the API is (`servers`), an operationId and a description
 * on every operation, and every error answer declared as what it is on the wire —
 * application/problem+json with the Problem schema.
 */
function completeDocument(doc: OpenApiDocument, publicUrl: string): OpenApiDocument {
  const paths: NonNullable<OpenApiDocument['paths']> = {};
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    paths[path] = {};
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'patch', 'delete'].includes(method)) {
        paths[path][method] = op;
        continue;
      }
      const responses: Record<string, any> = {};
      for (const [code, r] of Object.entries(op.responses ?? {})) {
        responses[code] =
          Number(code) >= 400
            ? { description: PROBLEM_DESCRIPTIONS[code] ?? r.description ?? 'A problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } }
            : r;
      }
      const who = whoMayCall(op);
      paths[path][method] = {
        ...op,
        operationId: op.operationId ?? operationIdOf(method, path),
        description: op.description ? `${op.description}\n\n${who}` : `${op.summary ?? ''}. ${who}`,
        responses,
      };
    }
  }
  return { ...doc, servers: [{ url: publicUrl.replace(/\/+$/, ''), description: 'this renewd (RENEWD_PUBLIC_URL)' }], paths };
}

/**
 * Request log lines without credentials in the URL: a portal link carries its session token in
 * `?token=` (GET /portal?token=…), an e-mail link its token in the path (/portal/links/<token>),
 * and Fastify logs every request's URL at level info.
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|key|api_key|access_token)=)[^&#]*/gi, '$1[redacted]').replace(/(\/portal\/links\/)[^/?#]+/g, '$1[redacted]');
}

function withRedaction(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return logger;
  const base = typeof logger === 'object' ? logger : {};
  const req = (r: any) => ({
    method: r.method,
    url: redactUrl(String(r.url ?? '')),
    version: r.headers?.['accept-version'],
    host: r.host,
    remoteAddress: r.ip,
    remotePort: r.socket ? r.socket.remotePort : undefined,
  });
  return { ...base, serializers: { req, ...('serializers' in base ? base.serializers : {}) } } as FastifyServerOptions['logger'];
}
