// Who may call: operator (admin) keys and customers' portal sessions. Only SHA-256 hashes of keys
// and tokens are stored; the caller hashes (lib/crypto.ts).
import type { Queryable } from './db.ts';
import type { Row } from './billing.ts';

/** Stores an admin key's hash. Returns true when it was new. */
export async function insertAdminKey(q: Queryable, id: string, keyHash: string): Promise<boolean> {
  const rows = await q.query('INSERT INTO admin_keys (id, key_hash) VALUES ($1, $2) ON CONFLICT (key_hash) DO NOTHING RETURNING id', [id, keyHash]);
  return rows.length > 0;
}

export async function anyAdminKey(q: Queryable): Promise<boolean> {
  const [r] = await q.query('SELECT 1 FROM admin_keys LIMIT 1');
  return !!r;
}

export async function adminKeyExists(q: Queryable, keyHash: string): Promise<boolean> {
  const [admin] = await q.query('SELECT id FROM admin_keys WHERE key_hash = $1', [keyHash]);
  return !!admin;
}

/** A portal session as stored (its token only as a hash, never returned). */
export interface PortalSession {
  id: string;
  account_id: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

function toPortalSession(r: Row): PortalSession {
  return { id: r.id, account_id: r.account_id, created_at: new Date(r.created_at), expires_at: new Date(r.expires_at), revoked_at: r.revoked_at ? new Date(r.revoked_at) : null };
}

/** The session a token's hash opens (expired and revoked ones included: the caller decides). */
export async function portalSessionByTokenHash(q: Queryable, tokenHash: string): Promise<Omit<PortalSession, 'created_at'> | null> {
  const [s] = await q.query<{ id: string; account_id: string; expires_at: Date; revoked_at: Date | null }>(
    'SELECT id, account_id, expires_at, revoked_at FROM portal_sessions WHERE token_hash = $1',
    [tokenHash],
  );
  return s ?? null;
}

export async function insertPortalSession(q: Queryable, s: { id: string; token_hash: string; account_id: string; created_at: Date; expires_at: Date }): Promise<void> {
  await q.query('INSERT INTO portal_sessions (id, token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
    s.id,
    s.token_hash,
    s.account_id,
    s.created_at,
    s.expires_at,
  ]);
}

export async function portalSessionById(q: Queryable, id: string): Promise<PortalSession | null> {
  const [r] = await q.query<Row>('SELECT id, account_id, created_at, expires_at, revoked_at FROM portal_sessions WHERE id = $1', [id]);
  return r ? toPortalSession(r) : null;
}

/** Locks a session for revocation. */
export async function lockPortalSession(q: Queryable, id: string): Promise<PortalSession | null> {
  const [r] = await q.query<Row>('SELECT id, account_id, created_at, expires_at, revoked_at FROM portal_sessions WHERE id = $1 FOR UPDATE', [id]);
  return r ? toPortalSession(r) : null;
}

/** The account's sessions, newest first. */
export async function portalSessionsOf(q: Queryable, accountId: string, limit: number): Promise<PortalSession[]> {
  const rows = await q.query<Row>(
    'SELECT id, account_id, created_at, expires_at, revoked_at FROM portal_sessions WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT $2',
    [accountId, limit],
  );
  return rows.map(toPortalSession);
}

export async function revokePortalSession(q: Queryable, id: string, now: Date): Promise<void> {
  await q.query('UPDATE portal_sessions SET revoked_at = $2 WHERE id = $1', [id, now]);
}
