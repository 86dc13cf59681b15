// No-login links of customer e-mails (table customer_links, migration 014): only the token's
// SHA-256 is stored. The rules (lifetimes, purposes, exchange) are in engine/links.ts.
import type { Queryable } from './db.ts';
import type { Row } from './billing.ts';
import type { LinkPurpose } from '../core/types.ts';

export interface CustomerLink {
  id: string;
  account_id: string;
  purpose: LinkPurpose;
  invoice_id: string | null;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** A link to write: the token itself never reaches the store. */
export interface NewLinkRow {
  id: string;
  token_hash: string;
  account_id: string;
  purpose: LinkPurpose;
  invoice_id: string | null;
  expires_at: Date;
}

const toLink = (r: Row): CustomerLink => ({
  id: r.id,
  account_id: r.account_id,
  purpose: r.purpose,
  invoice_id: r.invoice_id ?? null,
  created_at: new Date(r.created_at),
  expires_at: new Date(r.expires_at),
  revoked_at: r.revoked_at ? new Date(r.revoked_at) : null,
  last_used_at: r.last_used_at ? new Date(r.last_used_at) : null,
});

/** Writes a batch of links in one statement (a billing day's e-mails issue theirs together). */
export async function insertLinks(q: Queryable, rows: NewLinkRow[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `INSERT INTO customer_links (id, token_hash, account_id, purpose, invoice_id, created_at, expires_at)
     SELECT x.id, x.token_hash, x.account_id, x.purpose, x.invoice_id, $2, x.expires_at
       FROM json_to_recordset($1::json) AS x(id text, token_hash text, account_id text, purpose text, invoice_id text, expires_at timestamptz)`,
    [JSON.stringify(rows.map((r) => ({ ...r, expires_at: r.expires_at.toISOString() }))), now],
  );
}

/** The link a token's hash opens, expired and revoked ones included (the caller decides). */
export async function linkByTokenHash(q: Queryable, tokenHash: string): Promise<CustomerLink | null> {
  const [r] = await q.query('SELECT id, account_id, purpose, invoice_id, created_at, expires_at, revoked_at, last_used_at FROM customer_links WHERE token_hash = $1', [tokenHash]);
  return r ? toLink(r) : null;
}

export async function markLinkUsed(q: Queryable, id: string, now: Date): Promise<void> {
  await q.query('UPDATE customer_links SET last_used_at = $2 WHERE id = $1', [id, now]);
}

/** Revokes every link of the account not revoked yet; returns how many. */
export async function revokeLinksOf(q: Queryable, accountId: string, now: Date): Promise<number> {
  const rows = await q.query('UPDATE customer_links SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL RETURNING id', [accountId, now]);
  return rows.length;
}

/** Links of the account that still open the pages (not expired, not revoked). */
export async function countLiveLinks(q: Queryable, accountId: string, now: Date): Promise<number> {
  const [r] = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM customer_links WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2', [accountId, now]);
  return Number(r?.n ?? 0);
}

/**
 * Revokes the account's portal sessions that are still active (table portal_sessions; the operator's
 * revoke ends the signed-in pages opened from links too). Returns how many.
 */
export async function revokeActivePortalSessionsOf(q: Queryable, accountId: string, now: Date): Promise<number> {
  const rows = await q.query('UPDATE portal_sessions SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING id', [accountId, now]);
  return rows.length;
}

/** Accounts whose address on file is this one (case-insensitive), for "e-mail me a link". */
export async function accountIdsByEmail(q: Queryable, email: string, limit: number): Promise<string[]> {
  const rows = await q.query<{ id: string }>('SELECT id FROM accounts WHERE lower(email) = lower($1) ORDER BY created_at LIMIT $2', [email, limit]);
  return rows.map((r) => r.id);
}
