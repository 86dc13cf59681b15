// Who is calling: the operator (admin key) or a customer (portal-session token, one account).
// Keys and tokens are stored as SHA-256 hashes only.
import { sha256 } from '../lib/crypto.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../store/db.ts';
import { activeAdminKeyByHash, portalSessionByTokenHash, touchAdminKey } from '../store/credentials.ts';
import type { Clock } from '../core/clock.ts';
import { problem, sendProblem } from './problem.ts';

export type Principal = { kind: 'admin'; key_id: string } | { kind: 'customer'; account_id: string; session_id: string } | null;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}


// Admin key hashes seen valid recently: the hot path (every operator call) skips the database.
// Kept briefly, per Db, so a key revoked elsewhere (another instance, `renewd keys revoke`) stops
// working within seconds; a revocation in this process forgets it at once (forgetAdminKeys).
const ADMIN_CACHE_MS = 10_000;
const adminCache = new WeakMap<Db, Map<string, { id: string; until: number }>>();

/** Forget the cached keys of this database (after a revocation). */
export function forgetAdminKeys(db: Db) {
  adminCache.delete(db);
}

export async function resolvePrincipal(db: Db, clock: Clock, header: string | undefined): Promise<Principal | 'invalid'> {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) return 'invalid';
  const h = sha256(m[1]);
  let cache = adminCache.get(db);
  if (!cache) adminCache.set(db, (cache = new Map()));
  const seen = cache.get(h);
  if (seen !== undefined && seen.until > Date.now()) return { kind: 'admin', key_id: seen.id };
  if (!m[1].startsWith('ps_')) {
    const key = await activeAdminKeyByHash(db, h);
    if (key) {
      if (cache.size > 1000) cache.clear();
      cache.set(h, { id: key.id, until: Date.now() + ADMIN_CACHE_MS });
      // "Last used" to the nearest cache period: one write per key per 10 s, not one per request.
      await touchAdminKey(db, key.id, new Date());
      return { kind: 'admin', key_id: key.id };
    }
  }
  const s = await portalSessionByTokenHash(db, h);
  if (s && !s.revoked_at && new Date(s.expires_at).getTime() > clock.now().getTime()) return { kind: 'customer', account_id: s.account_id, session_id: s.id };
  return 'invalid';
}

/**
 * The operator only: a customer token gets 403, nothing at all gets 401. Routes declare it as their
 * `preValidation` hook, so who may call is answered before what they sent is validated.
 */
export async function requireAdmin(req: FastifyRequest, reply: FastifyReply) {
  if (!req.principal) return sendProblem(reply, problem(401, 'unauthorized', 'send Authorization: Bearer <admin key>'));
  if (req.principal.kind !== 'admin') return sendProblem(reply, problem(403, 'forbidden', 'this endpoint is for operators'));
}

/** The operator or a customer (a route's `preValidation` hook); handlers then check the account with canSee(). */
export async function requireAnyone(req: FastifyRequest, reply: FastifyReply) {
  if (!req.principal) return sendProblem(reply, problem(401, 'unauthorized', 'send Authorization: Bearer <admin key or portal token>'));
}

/** A customer reaches only their own account; anything else looks like it does not exist. */
export function canSee(req: FastifyRequest, accountId: string): boolean {
  const p = req.principal;
  return !!p && (p.kind === 'admin' || p.account_id === accountId);
}
