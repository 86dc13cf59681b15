// Idempotency-Key on every /v1 request that changes something (POST, PUT, PATCH, DELETE): the
// first answer (status and body) is kept in idempotent_requests under (scope = caller + route, key) with a keyed hash of
// the request; the same key with the same request replays that answer without doing anything
// again (header `Idempotent-Replayed: true`); the same key with another request is refused (422
// idempotency_key_reused); a duplicate arriving while the first is still running gets 409.
//
// Every such route honours it (issue 17: a key sent to POST /v1/accounts used to be ignored, and a
// retried request created a second account); the header stays optional. A route whose answer
// cannot be kept refuses the key instead — `config: { idempotent: { refused: why } }`, 400
// idempotency_key_not_supported — rather than ignore it: an answer that shows a secret once (a
// portal token, an admin key: only their hashes are stored, so a replay could not show them), or
// the gateway's events (deduplicated by the gateway's event id). Answers are kept
// 24 hours (service clock). Server errors (5xx) and rate-limit answers (429) are not kept: the
// same key may be sent again. Only a keyed hash of the request is stored, never its body.
//
// Card data never enters the hash (issue 16): a hash over a card number, expiry or CVC can be
// checked against guesses by anyone who reads the database (the hash secret sits in it too), and a
// 3-digit CVC falls after a thousand tries. So the request's fingerprint replaces a body's `card`
// object by a fixed marker before hashing. "The same request" for a card body therefore means the
// same caller, method, path and non-card fields (`type`, `token`): the same key sent again with
// another card number replays the first answer (its last4 says which card was saved) instead of
// answering 422. The key names the operation "replace this account's card"; comparing the cards
// would need something derived from them at rest, which is what must not be there.
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { AppContext } from '../engine/context.ts';
import type { Db } from '../store/db.ts';
import {
  claimIdempotencyKey,
  deleteIdempotentRequest,
  deleteIdempotentRequestsBefore,
  idempotencyHashSecret,
  idempotentRequest,
  keepIdempotentAnswer,
  releaseIdempotencyKey,
} from '../store/idempotency.ts';
import { problem, sendProblem } from './problem.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Idempotency-Key on this route: honoured (the default for /v1 routes that change something), or refused with the reason. */
    idempotent?: boolean | { refused: string };
  }
  interface FastifyRequest {
    idempotency: { scope: string; key: string } | null;
  }
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** How long an answer is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** A request still "in progress" after this long is taken as abandoned (its process died). */
export const IN_PROGRESS_STALE_MS = 10 * 60_000;
const KEY_RE = /^[\x21-\x7e]{1,255}$/;
const IN_PROGRESS = 0;

/** The header as OpenAPI documents it (and Fastify validates it). */
export const idempotencyHeaderSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x21-\\x7e]+$',
  description:
    'Optional. A unique key (e.g. a UUID) per operation: sending the same request again with the same key replays the first answer ' +
    '(header Idempotent-Replayed: true) and does nothing twice. Another request with the same key: 422 idempotency_key_reused; ' +
    'while the first is still running: 409. Kept 24 hours.',
  example: '5f0c1d2e-8a7b-4c3d-9e1f-2a3b4c5d6e7f',
} as const;

/** The header as documented on a route that refuses it. */
export function refusedHeaderSchema(why: string) {
  return { type: 'string', description: `Not supported here: a request with Idempotency-Key is refused (400 idempotency_key_not_supported), because ${why}.` } as const;
}

/** Whether a route takes part: /v1 routes that change something, unless they opt out (`idempotent: false`). */
function idempotencyOf(route: RouteOptions): true | { refused: string } | null {
  const methods = [route.method].flat();
  if (!route.url.startsWith('/v1/') || methods.every((m) => m === 'GET' || m === 'HEAD')) return route.config?.idempotent === true ? true : null;
  const c = route.config?.idempotent;
  if (c === false) return null;
  return typeof c === 'object' ? c : true;
}

/** Body as canonical JSON: keys sorted at every level, so field order does not matter. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

// One secret per installation (in settings), so a stored hash cannot be matched against guessed
// card numbers without the database's secret too.
const secrets = new WeakMap<Db, Promise<string>>();
function hashSecret(db: Db): Promise<string> {
  let s = secrets.get(db);
  if (!s) {
    s = idempotencyHashSecret(db, randomBytes(32).toString('base64url'));
    s.catch(() => secrets.delete(db));
    secrets.set(db, s);
  }
  return s;
}

/** Marker standing for the card data of a request body in its fingerprint. */
export const CARD_MARKER = '[card data: not fingerprinted]';

/** The body as fingerprinted: a top-level `card` object (number, expiry, CVC) replaced by CARD_MARKER. */
export function fingerprintBody(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const o = body as Record<string, unknown>;
  return 'card' in o && o.card !== undefined ? { ...o, card: CARD_MARKER } : o;
}

export async function requestHash(db: Db, method: string, url: string, body: unknown): Promise<string> {
  return createHmac('sha256', await hashSecret(db)).update(`${method}\n${url}\n${canonicalJson(fingerprintBody(body))}`).digest('hex');
}

function scopeOf(req: FastifyRequest): string | null {
  const p = req.principal;
  if (!p) return null;
  const who = p.kind === 'admin' ? 'admin' : `account:${p.account_id}`;
  return `${who} ${req.method} ${req.routeOptions.url ?? ''}`;
}

/**
 * Adds the Idempotency-Key handling to every route registered afterwards with
 * `config: { idempotent: true }`: a preHandler after the route's own (so authentication and
 * validation answer first and are never kept) and an onSend hook that keeps the first answer.
 */
export function installIdempotency(app: FastifyInstance, ctx: Pick<AppContext, 'db' | 'clock'>) {
  const { db, clock } = ctx;
  app.decorateRequest('idempotency', null);

  async function preHandler(req: FastifyRequest, reply: FastifyReply) {
    if (reply.sent) return;
    const raw = req.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined) return;
    const key = Array.isArray(raw) ? null : raw;
    if (key === null || !KEY_RE.test(key))
      return sendProblem(reply, problem(400, 'validation_error', 'Idempotency-Key must be one header of 1 to 255 visible ASCII characters'));
    const scope = scopeOf(req);
    if (!scope) return; // not authenticated: the route's own check answers
    const hash = await requestHash(db, req.method, req.url, req.body);
    if (Math.random() < 0.01) void sweepIdempotentRequests(db, clock.now()).catch(() => {});
    for (let tries = 0; tries < 3; tries++) {
      const now = clock.now();
      if (await claimIdempotencyKey(db, { scope, key, request_hash: hash, in_progress: IN_PROGRESS, now })) {
        req.idempotency = { scope, key };
        return;
      }
      const row = await idempotentRequest(db, scope, key);
      if (!row) continue; // released in between: claim again
      const age = now.getTime() - new Date(row.created_at).getTime();
      const stale = age >= IDEMPOTENCY_TTL_MS || (row.status_code === IN_PROGRESS && age >= IN_PROGRESS_STALE_MS);
      if (stale) {
        await deleteIdempotentRequest(db, scope, key, row.created_at);
        continue;
      }
      if (row.request_hash !== hash)
        return sendProblem(
          reply,
          problem(422, 'idempotency_key_reused', 'this Idempotency-Key was already used with a different request; use a new key for a new request', { idempotency_key: key }),
        );
      if (row.status_code === IN_PROGRESS)
        return sendProblem(reply, problem(409, 'conflict', 'a request with this Idempotency-Key is still being processed; try again shortly', { idempotency_key: key }));
      reply.code(row.status_code).header(REPLAYED_HEADER, 'true');
      if (row.body === null || row.status_code === 204) return reply.send();
      return reply.type(row.status_code >= 400 ? 'application/problem+json; charset=utf-8' : 'application/json; charset=utf-8').send(JSON.stringify(row.body));
    }
    return sendProblem(reply, problem(409, 'conflict', 'a request with this Idempotency-Key is being processed; try again shortly', { idempotency_key: key }));
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    const mode = idempotencyOf(route);
    if (!mode) return;
    const own = route.preHandler ? (Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]) : [];
    if (mode !== true) {
      const refuse = async (req: FastifyRequest, reply: FastifyReply) => {
        if (reply.sent || req.headers[IDEMPOTENCY_HEADER] === undefined) return;
        return sendProblem(reply, problem(400, 'idempotency_key_not_supported', `Idempotency-Key is not supported on this operation: ${mode.refused}; send the request without it`));
      };
      route.preHandler = [...own, refuse] as RouteOptions['preHandler'];
      if (route.schema) {
        const s = route.schema as Record<string, any>;
        route.schema = { ...s, headers: { type: 'object', ...(s.headers ?? {}), properties: { ...(s.headers?.properties ?? {}), [IDEMPOTENCY_HEADER]: refusedHeaderSchema(mode.refused) } } };
      }
      return;
    }
    route.preHandler = [...own, preHandler] as RouteOptions['preHandler'];
    if (route.schema) {
      const s = route.schema as Record<string, any>;
      route.schema = {
        ...s,
        headers: {
          type: 'object',
          ...(s.headers ?? {}),
          properties: { ...(s.headers?.properties ?? {}), [IDEMPOTENCY_HEADER]: idempotencyHeaderSchema },
        },
        response: { ...(s.response ?? {}), 409: { $ref: 'Problem#' }, 422: { $ref: 'Problem#' } },
      };
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const idem = req.idempotency;
    if (!idem) return payload;
    req.idempotency = null;
    const status = reply.statusCode;
    try {
      if (status >= 500 || status === 429) {
        // Nothing to replay: let the caller send the same key again.
        await releaseIdempotencyKey(db, idem.scope, idem.key, IN_PROGRESS);
      } else {
        let body: unknown = null;
        if (typeof payload === 'string' && payload.length > 0) {
          try {
            body = JSON.parse(payload);
          } catch {
            body = payload;
          }
        }
        await keepIdempotentAnswer(db, idem.scope, idem.key, status, body, IN_PROGRESS);
      }
    } catch (err) {
      req.log.error({ err: { message: (err as Error).message } }, 'could not keep the idempotent answer');
      await releaseIdempotencyKey(db, idem.scope, idem.key, IN_PROGRESS).catch(() => {});
    }
    return payload;
  });
}

/** Deletes answers older than the replay window. */
export async function sweepIdempotentRequests(db: Db, now: Date): Promise<void> {
  await deleteIdempotentRequestsBefore(db, new Date(now.getTime() - IDEMPOTENCY_TTL_MS));
}
