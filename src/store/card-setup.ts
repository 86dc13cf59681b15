// Card setup sessions (migration 015): the hosted card captures renewd started, bound to an account
// and a hashed state nonce, with the one-time browser return and the completion's lease and result.
import type { Queryable } from './db.ts';

export interface CardSetupRow {
  gateway_session_id: string;
  account_id: string;
  state_hash: string;
  started_by: 'portal' | 'api';
  /** Which card the session saves (migration 029): the main one or the backup. */
  purpose: 'primary' | 'backup';
  return_url: string | null;
  created_at: Date;
  expires_at: Date;
  returned_at: Date | null;
  claimed_at: Date | null;
  completed_at: Date | null;
  payment_method_id: string | null;
  attempt_outcome: string | null;
  attempt_reason: string | null;
}

export async function insertCardSetup(
  q: Queryable,
  r: Pick<CardSetupRow, 'gateway_session_id' | 'account_id' | 'state_hash' | 'started_by' | 'return_url' | 'created_at' | 'expires_at'> & { purpose?: CardSetupRow['purpose'] },
): Promise<void> {
  await q.query(
    `INSERT INTO card_setup_sessions (gateway_session_id, account_id, state_hash, started_by, return_url, created_at, expires_at, purpose)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [r.gateway_session_id, r.account_id, r.state_hash, r.started_by, r.return_url, r.created_at, r.expires_at, r.purpose ?? 'primary'],
  );
}

export async function cardSetupById(q: Queryable, id: string): Promise<CardSetupRow | null> {
  const [r] = await q.query<CardSetupRow>('SELECT * FROM card_setup_sessions WHERE gateway_session_id = $1', [id]);
  return r ?? null;
}

/** Marks the browser's return with the nonce; false when it was already used (a replay). */
export async function markCardSetupReturned(q: Queryable, id: string, now: Date): Promise<boolean> {
  const rows = await q.query('UPDATE card_setup_sessions SET returned_at = $2 WHERE gateway_session_id = $1 AND returned_at IS NULL RETURNING 1', [id, now]);
  return rows.length === 1;
}

/**
 * Takes the completion lease: true when this caller may save the card now (not completed, and no
 * other completion running since `staleBefore`).
 */
export async function claimCardSetup(q: Queryable, id: string, now: Date, staleBefore: Date): Promise<boolean> {
  const rows = await q.query(
    `UPDATE card_setup_sessions SET claimed_at = $2
      WHERE gateway_session_id = $1 AND completed_at IS NULL AND (claimed_at IS NULL OR claimed_at < $3) RETURNING 1`,
    [id, now, staleBefore],
  );
  return rows.length === 1;
}

export async function releaseCardSetup(q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE card_setup_sessions SET claimed_at = NULL WHERE gateway_session_id = $1 AND completed_at IS NULL', [id]);
}

export async function completeCardSetupRow(
  q: Queryable,
  id: string,
  r: { completed_at: Date; payment_method_id: string | null; attempt_outcome: string | null; attempt_reason: string | null },
): Promise<void> {
  await q.query(
    `UPDATE card_setup_sessions SET completed_at = $2, payment_method_id = $3, attempt_outcome = $4, attempt_reason = $5, claimed_at = NULL
      WHERE gateway_session_id = $1 AND completed_at IS NULL`,
    [id, r.completed_at, r.payment_method_id, r.attempt_outcome, r.attempt_reason],
  );
}
