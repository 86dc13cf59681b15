// Who is calling: the operator (admin key) or a customer (portal-session token, one account).
// Keys and tokens are stored as SHA-256 hashes only.
import { sha256 } from '../lib/crypto.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../store/db.ts';
import type { Clock } from '../core/clock.ts';
import { problem, sendProblem } from './problem.ts';

export type Principal = { kind: 'admin' } | { kind: 'customer'; account_id: string; session_id: string } | null;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}


/** Stores an admin key (hashed). Returns true when it was new. */
export async function registerAdminKey(db: Db, key: string): Promise<boolean> {
  const rows = await db.query('INSERT INTO admin_keys (id, key_hash) VALUES ($1, $2) ON CONFLICT (key_hash) DO NOTHING RETURNING id', [
    `ak_${sha256(key).slice(0, 12)}`,
    sha256(key),
  ]);
  return rows.length > 0;
}

export async function hasAdminKey(db: Db): Promise<boolean> {
  const [r] = await db.query('SELECT 1 FROM admin_keys LIMIT 1');
  return !!r;
}

// Admin key hashes seen valid recently: the hot path (every operator call) skips the database.
// Kept briefly, per Db, so a key removed from the table stops working within seconds.
const ADMIN_CACHE_MS = 10_000;
const adminCache = new WeakMap<Db, Map<string, number>>();

export async function resolvePrincipal(db: Db, clock: Clock, header: string | undefined): Promise<Principal | 'invalid'> {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) return 'invalid';
  const h = sha256(m[1]);
  let cache = adminCache.get(db);
  if (!cache) adminCache.set(db, (cache = new Map()));
  const seen = cache.get(h);
  if (seen !== undefined && seen > Date.now()) return { kind: 'admin' };
  if (!m[1].startsWith('ps_')) {
    const [admin] = await db.query('SELECT id FROM admin_keys WHERE key_hash = $1', [h]);
    if (admin) {
      if (cache.size > 1000) cache.clear();
      cache.set(h, Date.now() + ADMIN_CACHE_MS);
      return { kind: 'admin' };
    }
  }
  const [s] = await db.query<{ id: string; account_id: string; expires_at: Date; revoked_at: Date | null }>(
    'SELECT id, account_id, expires_at, revoked_at FROM portal_sessions WHERE token_hash = $1',
    [h],
  );
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
