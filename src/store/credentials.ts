// Who may call: operator (admin) keys and customers' portal sessions. Only SHA-256 hashes of keys
// and tokens are stored; the caller hashes (lib/crypto.ts).
import type { Queryable } from './db.ts';
import type { Row } from './billing.ts';

/** An admin key as stored: never the key, only its hash (not returned) and its last four characters. */
export interface AdminKeyRecord {
  id: string;
  name: string;
  source: 'legacy' | 'environment' | 'generated' | 'operator';
  last4: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const ADMIN_KEY_COLUMNS = 'id, name, source, last4, created_at, last_used_at, revoked_at';

function toAdminKey(r: Row): AdminKeyRecord {
  const d = (v: unknown) => (v ? new Date(v as string) : null);
  return { id: r.id, name: r.name, source: r.source, last4: r.last4 ?? null, created_at: new Date(r.created_at), last_used_at: d(r.last_used_at), revoked_at: d(r.revoked_at) };
}

/**
 * Stores an admin key's hash. A key stored before and revoked stays revoked (a revoked key is never
 * brought back by being configured again). Returns the stored key's record.
 */
export async function insertAdminKey(
  q: Queryable,
  k: { id: string; keyHash: string; name: string; source: AdminKeyRecord['source']; last4: string; now: Date },
): Promise<{ key: AdminKeyRecord; created: boolean }> {
  const rows = await q.query<Row>(
    `INSERT INTO admin_keys (id, key_hash, name, source, last4, created_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (key_hash) DO NOTHING RETURNING ${ADMIN_KEY_COLUMNS}`,
    [k.id, k.keyHash, k.name, k.source, k.last4, k.now],
  );
  if (rows.length) return { key: toAdminKey(rows[0]), created: true };
  const [r] = await q.query<Row>(`SELECT ${ADMIN_KEY_COLUMNS} FROM admin_keys WHERE key_hash = $1`, [k.keyHash]);
  return { key: toAdminKey(r), created: false };
}

/** Whether any key that is not revoked exists. */
export async function anyAdminKey(q: Queryable): Promise<boolean> {
  const [r] = await q.query('SELECT 1 FROM admin_keys WHERE revoked_at IS NULL LIMIT 1');
  return !!r;
}

/** The key a hash opens, if it is not revoked. */
export async function activeAdminKeyByHash(q: Queryable, keyHash: string): Promise<{ id: string } | null> {
  const [admin] = await q.query<{ id: string }>('SELECT id FROM admin_keys WHERE key_hash = $1 AND revoked_at IS NULL', [keyHash]);
  return admin ?? null;
}

export async function listAdminKeys(q: Queryable): Promise<AdminKeyRecord[]> {
  const rows = await q.query<Row>(`SELECT ${ADMIN_KEY_COLUMNS} FROM admin_keys ORDER BY revoked_at IS NOT NULL, created_at DESC, id`);
  return rows.map(toAdminKey);
}

export async function lockAdminKey(q: Queryable, id: string): Promise<AdminKeyRecord | null> {
  const [r] = await q.query<Row>(`SELECT ${ADMIN_KEY_COLUMNS} FROM admin_keys WHERE id = $1 FOR UPDATE`, [id]);
  return r ? toAdminKey(r) : null;
}

/** Keys not revoked, counted under a lock on all of them (so two revocations cannot leave none). */
export async function lockActiveAdminKeys(q: Queryable): Promise<string[]> {
  const rows = await q.query<{ id: string }>('SELECT id FROM admin_keys WHERE revoked_at IS NULL ORDER BY id FOR UPDATE');
  return rows.map((r) => r.id);
}

export async function revokeAdminKeys(q: Queryable, ids: string[], now: Date): Promise<void> {
  if (ids.length) await q.query('UPDATE admin_keys SET revoked_at = $2 WHERE id = ANY($1) AND revoked_at IS NULL', [ids, now]);
}

/** Keys from the environment or a first start (and older ones), other than `keepId`: replaced by a new environment key. */
export async function unnamedAdminKeysOtherThan(q: Queryable, keepId: string): Promise<string[]> {
  const rows = await q.query<{ id: string }>(
    `SELECT id FROM admin_keys WHERE id <> $1 AND revoked_at IS NULL AND source IN ('legacy', 'environment', 'generated')`,
    [keepId],
  );
  return rows.map((r) => r.id);
}

/** Records use (the caller limits how often: not a write per request). */
export async function touchAdminKey(q: Queryable, id: string, at: Date): Promise<void> {
  await q.query('UPDATE admin_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)', [id, at]);
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
