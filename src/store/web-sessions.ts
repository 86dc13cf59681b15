// Browser sessions of the pages (table web_sessions, migration 020): stored by the SHA-256 of the
// cookie's id, capped per owner (account or admin key), ended by idle time, age, or the end of what
// signed them in (the portal session, the admin key). The rules are in web/sessions.ts.
import type { Queryable, Db } from './db.ts';

export type WebSessionKind = 'customer' | 'operator';

export interface WebSessionRow {
  id_hash: string;
  kind: WebSessionKind;
  owner_id: string;
  portal_session_id: string | null;
  csrf: string;
  flash: unknown;
  card_setup: unknown;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  ends_at: Date;
  /** Customer: the portal session behind it (null when it is gone). */
  ps_account_id: string | null;
  ps_expires_at: Date | null;
  ps_revoked_at: Date | null;
  /** Operator: the admin key behind it is still there and not revoked. */
  key_active: boolean;
}

/**
 * Stores a new session and keeps the owner's live sessions at `cap`: its ended ones are deleted and
 * then the oldest beyond the cap (the newest sign-in always stays). One transaction, serialized per
 * owner, so concurrent sign-ins cannot leave more than the cap. Answers how many were dropped.
 */
export async function insertWebSession(
  db: Db,
  s: { id_hash: string; kind: WebSessionKind; owner_id: string; portal_session_id: string | null; csrf: string; created_at: Date; expires_at: Date; ends_at: Date },
  cap: number,
): Promise<number> {
  return db.tx(async (q) => {
    await q.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`web_sessions:${s.kind}:${s.owner_id}`]);
    await q.query(
      `INSERT INTO web_sessions (id_hash, kind, owner_id, portal_session_id, csrf, created_at, last_seen_at, expires_at, ends_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)`,
      [s.id_hash, s.kind, s.owner_id, s.portal_session_id, s.csrf, s.created_at, s.expires_at, s.ends_at],
    );
    await q.query(`DELETE FROM web_sessions WHERE kind = $1 AND owner_id = $2 AND ends_at <= $3`, [s.kind, s.owner_id, s.created_at]);
    const dropped = await q.query<{ id_hash: string }>(
      `DELETE FROM web_sessions WHERE id_hash IN (
         SELECT id_hash FROM web_sessions WHERE kind = $1 AND owner_id = $2 ORDER BY created_at DESC, (id_hash = $4) DESC, id_hash DESC OFFSET $3)
       RETURNING id_hash`,
      [s.kind, s.owner_id, cap, s.id_hash],
    );
    // Ended sessions of anyone, a few at a time: the table holds what is live, give or take.
    await q.query(`DELETE FROM web_sessions WHERE id_hash IN (SELECT id_hash FROM web_sessions WHERE ends_at <= $1 LIMIT 100)`, [s.created_at]);
    return dropped.length;
  });
}

/** The session with this id hash, with what signed it in. */
export async function webSessionByHash(q: Queryable, idHash: string): Promise<WebSessionRow | null> {
  const [r] = await q.query<WebSessionRow>(
    `SELECT w.*, ps.account_id AS ps_account_id, ps.expires_at AS ps_expires_at, ps.revoked_at AS ps_revoked_at,
            (k.id IS NOT NULL AND k.revoked_at IS NULL) AS key_active
       FROM web_sessions w
       LEFT JOIN portal_sessions ps ON ps.id = w.portal_session_id
       LEFT JOIN admin_keys k ON w.kind = 'operator' AND k.id = w.owner_id
      WHERE w.id_hash = $1`,
    [idHash],
  );
  return r ?? null;
}

/** Seen again: its idle end moves (never past its absolute end). */
export async function touchWebSession(q: Queryable, idHash: string, at: Date, endsAt: Date): Promise<void> {
  await q.query(`UPDATE web_sessions SET last_seen_at = $2, ends_at = LEAST(expires_at, $3) WHERE id_hash = $1`, [idHash, at, endsAt]);
}

/** The message for the next page and the card page in progress. */
export async function saveWebSessionState(q: Queryable, idHash: string, flash: unknown, cardSetup: unknown): Promise<void> {
  await q.query(`UPDATE web_sessions SET flash = $2::jsonb, card_setup = $3::jsonb WHERE id_hash = $1`, [
    idHash,
    flash == null ? null : JSON.stringify(flash),
    cardSetup == null ? null : JSON.stringify(cardSetup),
  ]);
}

export async function deleteWebSession(q: Queryable, idHash: string): Promise<void> {
  await q.query(`DELETE FROM web_sessions WHERE id_hash = $1`, [idHash]);
}

/** Signs out every browser of an account (the operator's "revoke links and sessions"). Answers how many. */
export async function deleteCustomerWebSessionsOf(q: Queryable, accountId: string): Promise<number> {
  const rows = await q.query<{ id_hash: string }>(`DELETE FROM web_sessions WHERE kind = 'customer' AND owner_id = $1 RETURNING id_hash`, [accountId]);
  return rows.length;
}

/** Live sessions of an owner (tests, the console). */
export async function countWebSessions(q: Queryable, kind: WebSessionKind, ownerId: string, now: Date): Promise<number> {
  const [r] = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM web_sessions WHERE kind = $1 AND owner_id = $2 AND ends_at > $3`, [kind, ownerId, now]);
  return r.n;
}
