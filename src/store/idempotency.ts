// Idempotent requests: the first answer to (scope, key), with a keyed hash of the request. A row
// whose status_code is 0 is a request still in progress (see http/idempotency.ts).
import type { Queryable } from './db.ts';

/** The installation's secret for request hashes: created once (the first caller wins), then read. */
export async function idempotencyHashSecret(q: Queryable, fresh: string): Promise<string> {
  await q.query(`INSERT INTO settings (key, value) VALUES ('idempotency_hash_secret', $1) ON CONFLICT (key) DO NOTHING`, [JSON.stringify(fresh)]);
  const [r] = await q.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'idempotency_hash_secret'`);
  return r.value;
}

export interface IdempotentRequest {
  request_hash: string;
  status_code: number;
  body: unknown;
  created_at: Date;
}

/** Claims (scope, key) for a request in progress; false when a row is already there. */
export async function claimIdempotencyKey(
  q: Queryable,
  r: { scope: string; key: string; request_hash: string; in_progress: number; now: Date },
): Promise<boolean> {
  const claimed = await q.query(
    `INSERT INTO idempotent_requests (scope, key, request_hash, status_code, body, created_at) VALUES ($1, $2, $3, $4, 'null', $5)
         ON CONFLICT (scope, key) DO NOTHING RETURNING key`,
    [r.scope, r.key, r.request_hash, r.in_progress, r.now],
  );
  return claimed.length > 0;
}

export async function idempotentRequest(q: Queryable, scope: string, key: string): Promise<IdempotentRequest | null> {
  const [row] = await q.query<IdempotentRequest>('SELECT request_hash, status_code, body, created_at FROM idempotent_requests WHERE scope = $1 AND key = $2', [
    scope,
    key,
  ]);
  return row ?? null;
}

/** Deletes the row read at `createdAt` (a stale one), unless another request replaced it since. */
export async function deleteIdempotentRequest(q: Queryable, scope: string, key: string, createdAt: Date): Promise<void> {
  await q.query('DELETE FROM idempotent_requests WHERE scope = $1 AND key = $2 AND created_at = $3', [scope, key, createdAt]);
}

/** Gives up a claim still in progress (nothing to replay: the key may be sent again). */
export async function releaseIdempotencyKey(q: Queryable, scope: string, key: string, inProgress: number): Promise<void> {
  await q.query('DELETE FROM idempotent_requests WHERE scope = $1 AND key = $2 AND status_code = $3', [scope, key, inProgress]);
}

/** Keeps the answer of a claim still in progress. */
export async function keepIdempotentAnswer(q: Queryable, scope: string, key: string, status: number, body: unknown, inProgress: number): Promise<void> {
  await q.query('UPDATE idempotent_requests SET status_code = $3, body = $4 WHERE scope = $1 AND key = $2 AND status_code = $5', [
    scope,
    key,
    status,
    JSON.stringify(body),
    inProgress,
  ]);
}

export async function deleteIdempotentRequestsBefore(q: Queryable, before: Date): Promise<void> {
  await q.query('DELETE FROM idempotent_requests WHERE created_at < $1', [before]);
}
