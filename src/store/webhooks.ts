// Webhooks as stored: endpoints (webhook_endpoints), the fan-out cursor (settings row), deliveries
// (webhook_deliveries) and their attempt log (webhook_delivery_attempts). notify/ says when each
// statement runs: webhook-endpoints.ts (the operator's commands), fan-out.ts, webhook-delivery.ts.
import type { Db, Queryable } from './db.ts';

export const ENDPOINT_STATUSES = ['enabled', 'disabled'] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  /** Event types, '*' for all, or a prefix such as 'invoice.*'. */
  event_types: string[];
  status: EndpointStatus;
  consecutive_failures: number;
  /** First failed attempt since the last success; null while healthy. */
  failing_since: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date | null;
}

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryAttempt {
  attempt: number;
  attempted_at: Date;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface WebhookDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  attempt_log: DeliveryAttempt[];
  payload?: WebhookPayload;
}

export interface WebhookPayload {
  /** evt_<number>: the same id in every delivery of the event; receivers dedupe on it. */
  id: string;
  type: string;
  /** When the event happened (ISO 8601). */
  created: string;
  data: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Endpoints

const ENDPOINT_COLUMNS = `id, url, description, event_types, status, consecutive_failures, failing_since, disabled_at, disabled_reason, created_at, updated_at`;

function endpointRow(r: any): WebhookEndpoint {
  const d = (v: unknown) => (v ? new Date(v as string) : null);
  return {
    id: r.id,
    url: r.url,
    description: r.description ?? null,
    event_types: r.event_types,
    status: r.status,
    consecutive_failures: Number(r.consecutive_failures),
    failing_since: d(r.failing_since),
    disabled_at: d(r.disabled_at),
    disabled_reason: r.disabled_reason ?? null,
    created_at: new Date(r.created_at),
    updated_at: d(r.updated_at),
  };
}

/** A new enabled endpoint (its secret is stored but not read back). */
export async function insertEndpoint(
  q: Queryable,
  e: { id: string; url: string; secret: string; event_types: string[]; description: string | null; now: Date },
): Promise<WebhookEndpoint> {
  const [row] = await q.query(
    `INSERT INTO webhook_endpoints (id, url, secret, event_types, status, description, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'enabled', $5, $6, $6) RETURNING ${ENDPOINT_COLUMNS}`,
    [e.id, e.url, e.secret, e.event_types, e.description, e.now],
  );
  return endpointRow(row);
}

export async function listEndpoints(q: Queryable): Promise<WebhookEndpoint[]> {
  const rows = await q.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id`);
  return rows.map(endpointRow);
}

export async function getEndpoint(q: Queryable, id: string): Promise<WebhookEndpoint | null> {
  const [row] = await q.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
  return row ? endpointRow(row) : null;
}

/**
 * Null fields stay as they are (description only when setDescription). Enabling a disabled
 * endpoint clears its failure record; disabling an enabled one records when and why.
 */
export async function updateEndpointRow(
  q: Queryable,
  id: string,
  c: { url: string | null; event_types: string[] | null; setDescription: boolean; description: string | null; status: EndpointStatus | null; now: Date },
): Promise<WebhookEndpoint | null> {
  const [row] = await q.query(
    `UPDATE webhook_endpoints SET
        url = COALESCE($2, url),
        event_types = COALESCE($3, event_types),
        description = CASE WHEN $4::boolean THEN $5 ELSE description END,
        status = COALESCE($6, status),
        consecutive_failures = CASE WHEN $6 = 'enabled' AND status = 'disabled' THEN 0 ELSE consecutive_failures END,
        failing_since = CASE WHEN $6 = 'enabled' AND status = 'disabled' THEN NULL ELSE failing_since END,
        disabled_at = CASE WHEN $6 = 'enabled' THEN NULL WHEN $6 = 'disabled' AND status = 'enabled' THEN $7 ELSE disabled_at END,
        disabled_reason = CASE WHEN $6 = 'enabled' THEN NULL WHEN $6 = 'disabled' AND status = 'enabled' THEN 'disabled by the operator' ELSE disabled_reason END,
        updated_at = $7
      WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
    [id, c.url, c.event_types, c.setDescription, c.description, c.status, c.now],
  );
  return row ? endpointRow(row) : null;
}

/** Deletes the endpoint with its deliveries and their attempt log. False when there was none. */
export async function deleteEndpoint(db: Db, id: string): Promise<boolean> {
  return db.tx(async (q) => {
    const [ep] = await q.query('SELECT id FROM webhook_endpoints WHERE id = $1 FOR UPDATE', [id]);
    if (!ep) return false;
    await q.query('DELETE FROM webhook_delivery_attempts WHERE endpoint_id = $1', [id]);
    await q.query('DELETE FROM webhook_deliveries WHERE endpoint_id = $1', [id]);
    await q.query('DELETE FROM webhook_endpoints WHERE id = $1', [id]);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Deliveries (read side)

/**
 * Newest first, each with its attempt log; endpointId null: of all endpoints.
 * `before`: a delivery id (the last one of the previous page).
 */
export async function listDeliveries(
  q: Queryable,
  endpointId: string | null,
  opts: { limit?: number; before?: string; status?: DeliveryStatus; includePayload?: boolean } = {},
): Promise<WebhookDelivery[]> {
  const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 50), 1), 1001);
  const params: unknown[] = [];
  const where = ['true'];
  if (endpointId !== null) {
    params.push(endpointId);
    where.push(`endpoint_id = $${params.length}`);
  }
  if (opts.status) {
    params.push(opts.status);
    where.push(`status = $${params.length}`);
  }
  if (opts.before) {
    params.push(opts.before);
    where.push(`(created_at, id) < (SELECT created_at, id FROM webhook_deliveries WHERE id = $${params.length})`);
  }
  params.push(limit);
  const rows = await q.query<any>(
    `SELECT id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, last_status_code, last_error, created_at, delivered_at${opts.includePayload ? ', payload' : ''}
       FROM webhook_deliveries WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  if (rows.length === 0) return [];
  const attempts = await q.query<any>(
    `SELECT delivery_id, attempt, attempted_at, status_code, error, duration_ms FROM webhook_delivery_attempts
      WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt, id`,
    [rows.map((r) => r.id)],
  );
  const log = new Map<string, DeliveryAttempt[]>();
  for (const a of attempts) {
    const list = log.get(a.delivery_id) ?? [];
    list.push({ attempt: a.attempt, attempted_at: new Date(a.attempted_at), status_code: a.status_code ?? null, error: a.error ?? null, duration_ms: a.duration_ms });
    log.set(a.delivery_id, list);
  }
  return rows.map((r) => ({
    id: r.id,
    endpoint_id: r.endpoint_id,
    event_id: `evt_${r.event_id}`,
    event_type: r.event_type,
    status: r.status,
    attempts: r.attempts,
    next_attempt_at: r.next_attempt_at ? new Date(r.next_attempt_at) : null,
    last_status_code: r.last_status_code ?? null,
    last_error: r.last_error ?? null,
    created_at: new Date(r.created_at),
    delivered_at: r.delivered_at ? new Date(r.delivered_at) : null,
    attempt_log: log.get(r.id) ?? [],
    ...(opts.includePayload ? { payload: r.payload } : {}),
  }));
}

// ---------------------------------------------------------------------------------------------
// Fan-out: the cursor (a settings row) and the events it reads

export interface WebhookEventRow {
  id: number;
  account_id: string | null;
  subscription_id: string | null;
  invoice_id: string | null;
  type: string;
  data: Record<string, unknown> | null;
  occurred_at: Date;
}

/** Creates the cursor row if missing, then locks it (FOR UPDATE) and returns its value. */
export async function lockCursor(q: Queryable, key: string, initial: unknown): Promise<unknown> {
  await q.query(`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [key, JSON.stringify(initial)]);
  const [row] = await q.query<{ value: unknown }>(`SELECT value FROM settings WHERE key = $1 FOR UPDATE`, [key]);
  return row.value;
}

export async function saveCursor(q: Queryable, key: string, value: unknown): Promise<void> {
  await q.query(`UPDATE settings SET value = $2 WHERE key = $1`, [key, JSON.stringify(value)]);
}

export async function countEnabledEndpoints(q: Queryable): Promise<number> {
  const [{ n }] = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_endpoints WHERE status = 'enabled'`);
  return n;
}

/** The newest event id, 0 when there is none. */
export async function maxEventId(q: Queryable): Promise<number> {
  const [{ max }] = await q.query<{ max: number | null }>(`SELECT max(id) AS max FROM events`);
  return Number(max ?? 0);
}

/** The events whose ids fall in any of the ranges [from, to], by id. */
export async function eventsInRanges(q: Queryable, ranges: [number, number][]): Promise<WebhookEventRow[]> {
  return q.query<WebhookEventRow>(
    `SELECT e.id, e.account_id, e.subscription_id, e.invoice_id, e.type, e.data, e.occurred_at
       FROM events e JOIN jsonb_to_recordset($1::jsonb) AS g(f bigint, t bigint) ON e.id BETWEEN g.f AND g.t
      ORDER BY e.id`,
    [JSON.stringify(ranges.map(([f, t]) => ({ f, t })))],
  );
}

/** Up to `limit` events after id `after`, by id. */
export async function eventsAfter(q: Queryable, after: number, limit: number): Promise<WebhookEventRow[]> {
  return q.query<WebhookEventRow>(
    `SELECT id, account_id, subscription_id, invoice_id, type, data, occurred_at FROM events WHERE id > $1 ORDER BY id LIMIT $2`,
    [after, limit],
  );
}

export async function enabledEndpoints(q: Queryable): Promise<{ id: string; event_types: string[]; created_at: Date }[]> {
  return q.query<{ id: string; event_types: string[]; created_at: Date }>(`SELECT id, event_types, created_at FROM webhook_endpoints WHERE status = 'enabled'`);
}

export interface NewDelivery {
  id: string;
  endpoint_id: string;
  event_id: number;
  event_type: string;
  payload: WebhookPayload;
}

/** Pending deliveries due now; one per (endpoint, event) at most. Returns how many were new. */
export async function insertDeliveries(q: Queryable, rows: NewDelivery[], now: Date): Promise<number> {
  const inserted = await q.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, payload, status, attempts, next_attempt_at, created_at)
     SELECT x.id, x.endpoint_id, x.event_id, x.event_type, x.payload, 'pending', 0, $2, $2
       FROM jsonb_to_recordset($1::jsonb) AS x(id text, endpoint_id text, event_id bigint, event_type text, payload jsonb)
     ON CONFLICT (endpoint_id, event_id) DO NOTHING
     RETURNING id`,
    [JSON.stringify(rows), now],
  );
  return inserted.length;
}

// ---------------------------------------------------------------------------------------------
// Delivery: claim, record each attempt, and the endpoint's failure record

export interface ClaimedDelivery {
  id: string;
  endpoint_id: string;
  event_id: number;
  event_type: string;
  payload: WebhookPayload;
  attempts: number;
  url: string;
  secret: string;
}

/** Claims up to `limit` due deliveries of enabled endpoints: attempts + 1, leased until leaseUntil. */
export async function claimDueDeliveries(q: Queryable, now: Date, limit: number, leaseUntil: Date): Promise<ClaimedDelivery[]> {
  return q.query<ClaimedDelivery>(
    `WITH due AS (
       SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.status = 'enabled'
        ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
     UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $3
       FROM due, webhook_endpoints e
      WHERE d.id = due.id AND e.id = d.endpoint_id
     RETURNING d.id, d.endpoint_id, d.event_id, d.event_type, d.payload, d.attempts, e.url, e.secret`,
    [now, limit, leaseUntil],
  );
}

/** Locks the delivery row; false when it is gone (its endpoint was deleted meanwhile). */
export async function lockDelivery(q: Queryable, id: string): Promise<boolean> {
  const [still] = await q.query('SELECT id FROM webhook_deliveries WHERE id = $1 FOR UPDATE', [id]);
  return !!still;
}

export async function insertDeliveryAttempt(
  q: Queryable,
  a: { delivery_id: string; endpoint_id: string; attempt: number; attempted_at: Date; status_code: number | null; error: string | null; duration_ms: number },
): Promise<void> {
  await q.query(
    `INSERT INTO webhook_delivery_attempts (delivery_id, endpoint_id, attempt, attempted_at, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [a.delivery_id, a.endpoint_id, a.attempt, a.attempted_at, a.status_code, a.error, a.duration_ms],
  );
}

/** The delivery succeeded; its endpoint is healthy again. */
export async function markDeliverySucceeded(q: Queryable, d: { id: string; endpoint_id: string }, now: Date, statusCode: number | null): Promise<void> {
  await q.query(
    `UPDATE webhook_deliveries SET status = 'succeeded', delivered_at = $2, last_status_code = $3, last_error = NULL, next_attempt_at = NULL WHERE id = $1 AND status = 'pending'`,
    [d.id, now, statusCode],
  );
  // Only when it was failing: a healthy endpoint's row is left alone, so the deliveries of one busy
  // endpoint (every worker delivering at once) do not queue on its row lock (bench --only load).
  await q.query(`UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL WHERE id = $1 AND (consecutive_failures <> 0 OR failing_since IS NOT NULL)`, [
    d.endpoint_id,
  ]);
}

/** The attempt failed: retried at nextAttemptAt, or failed for good when that is null. */
export async function markDeliveryFailed(q: Queryable, id: string, nextAttemptAt: Date | null, statusCode: number | null, error: string | null): Promise<void> {
  await q.query(
    `UPDATE webhook_deliveries SET status = $2, next_attempt_at = $3, last_status_code = $4, last_error = $5 WHERE id = $1 AND status = 'pending'`,
    [id, nextAttemptAt === null ? 'failed' : 'pending', nextAttemptAt, statusCode, error],
  );
}

/** Counts a failure against the endpoint; returns its failure record (null when it is gone). */
export async function recordEndpointFailure(
  q: Queryable,
  endpointId: string,
  now: Date,
): Promise<{ id: string; url: string; status: string; failing_since: Date; consecutive_failures: number } | null> {
  const [ep] = await q.query<{ id: string; url: string; status: string; failing_since: Date; consecutive_failures: number }>(
    `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, failing_since = COALESCE(failing_since, $2)
      WHERE id = $1 RETURNING id, url, status, failing_since, consecutive_failures`,
    [endpointId, now],
  );
  return ep ?? null;
}

/** Disables a failing endpoint and records the event webhook_endpoint.disabled. */
export async function disableFailingEndpoint(q: Queryable, id: string, now: Date, reason: string, eventData: Record<string, unknown>): Promise<void> {
  await q.query(`UPDATE webhook_endpoints SET status = 'disabled', disabled_at = $2, disabled_reason = $3, updated_at = $2 WHERE id = $1`, [id, now, reason]);
  await q.query(`INSERT INTO events (account_id, type, data, occurred_at) VALUES (NULL, 'webhook_endpoint.disabled', $1, $2)`, [JSON.stringify(eventData), now]);
}
