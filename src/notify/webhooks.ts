// Webhooks: endpoints the operator registers, events fanned out to them as deliveries, and a
// deliverer that POSTs each delivery, signed, retrying with backoff for more than a day.
//
//   events ──fanOutEvents──▶ webhook_deliveries ──deliverer.runOnce──▶ POST url
//                                                   └─ webhook_delivery_attempts (one row per try)
//
// Signature: header `Renewd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
// the key being the endpoint's whole secret string (whsec_…). verifySignature() is what a receiver
// runs (src/notify/README-webhooks.md shows it without this package).
import { EVENT_TYPE_PATTERN, matchesEventType } from './events.ts';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { Db, Queryable } from '../store/db.ts';
import { newId } from '../store/ids.ts';
import { enqueueEmail } from './outbox.ts';

// ---------------------------------------------------------------------------------------------
// Signatures

export const SIGNATURE_HEADER = 'Renewd-Signature';
export const EVENT_ID_HEADER = 'Renewd-Event-Id';

/** Hex HMAC-SHA256 of "<t>.<body>" keyed with the secret. */
export function signPayload(secret: string, body: string | Buffer, t: number): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
}

/** The Renewd-Signature header value for a body signed at unix second t. */
export function signatureHeader(secret: string, body: string | Buffer, t: number): string {
  return `t=${t},v1=${signPayload(secret, body, t)}`;
}

/**
 * True when `header` (Renewd-Signature) signs exactly `body` (the raw request body, before any
 * JSON parsing) with `secret`, at a time within toleranceSec of `now` (replay protection).
 */
export function verifySignature(secret: string, header: string | null | undefined, body: string | Buffer, now: Date | number = Date.now(), toleranceSec = 300): boolean {
  if (!header || typeof header !== 'string') return false;
  let t: number | null = null;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/i.test(v)) candidates.push(v.toLowerCase());
  }
  if (t === null || candidates.length === 0) return false;
  const nowSec = Math.floor((now instanceof Date ? now.getTime() : now) / 1000);
  if (Math.abs(nowSec - t) > toleranceSec) return false;
  const expected = Buffer.from(signPayload(secret, body, t), 'hex');
  // Several v1 values may be present (e.g. while a secret is being rotated): any match is enough.
  return candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
}

// ---------------------------------------------------------------------------------------------
// Endpoints

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

/** Only at creation: the secret, needed to verify signatures, is not shown again. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
}

const EVENT_TYPE_RE = new RegExp(EVENT_TYPE_PATTERN);

function checkUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(`url: "${url}" is not a valid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RangeError('url: only http and https URLs can receive webhooks');
  return u.toString();
}

function checkEventTypes(types: string[]): string[] {
  if (!Array.isArray(types) || types.length === 0) throw new RangeError("event_types: give at least one event type, or '*' for all");
  for (const t of types) if (typeof t !== 'string' || !EVENT_TYPE_RE.test(t)) throw new RangeError(`event_types: "${t}" is not an event type (e.g. invoice.paid, invoice.*, *)`);
  return [...new Set(types)].sort();
}


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

export async function createEndpoint(
  q: Queryable,
  input: { url: string; event_types: string[]; description?: string | null; now: Date },
): Promise<CreatedWebhookEndpoint> {
  const url = checkUrl(input.url);
  const types = checkEventTypes(input.event_types);
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  const [row] = await q.query(
    `INSERT INTO webhook_endpoints (id, url, secret, event_types, status, description, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'enabled', $5, $6, $6) RETURNING ${ENDPOINT_COLUMNS}`,
    [newId('we'), url, secret, types, input.description ?? null, input.now],
  );
  return { ...endpointRow(row), secret };
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
 * Changes the URL, the event types, the description or the status. Enabling an endpoint clears its
 * failure record; its deliveries still pending resume (those overdue at once).
 */
export async function updateEndpoint(
  q: Queryable,
  id: string,
  input: { url?: string; event_types?: string[]; description?: string | null; status?: EndpointStatus; now: Date },
): Promise<WebhookEndpoint | null> {
  const url = input.url !== undefined ? checkUrl(input.url) : null;
  const types = input.event_types !== undefined ? checkEventTypes(input.event_types) : null;
  if (input.status !== undefined && input.status !== 'enabled' && input.status !== 'disabled') throw new RangeError('status: enabled or disabled');
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
    [id, url, types, input.description !== undefined, input.description ?? null, input.status ?? null, input.now],
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

/**
 * Newest first, each with its attempt log; endpointId null: of all endpoints.
 * `before`: a delivery id (the last one of the previous page).
 */
export async function listDeliveries(
  q: Queryable,
  endpointId: string | null,
  opts: { limit?: number; before?: string; status?: DeliveryStatus; includePayload?: boolean } = {},
): Promise<WebhookDelivery[]> {
  const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 50), 1), 500);
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
// Fan-out: events → deliveries

export const CURSOR_KEY = 'webhooks.cursor';

/**
 * Cursor over events.id. Ids come from a sequence, and a transaction that took id 6 may commit
 * after one that took id 7: so an id skipped over is remembered as a gap and looked at again on
 * every fan-out until it shows up or gapTtlMs (wall time) has passed (then it was rolled back).
 */
interface Cursor {
  last_event_id: number;
  /** [first id, last id, wall-clock ms when first seen missing] */
  gaps: [number, number, number][];
}

interface EventRow {
  id: number;
  account_id: string | null;
  subscription_id: string | null;
  invoice_id: string | null;
  type: string;
  data: Record<string, unknown> | null;
  occurred_at: Date;
}

export interface FanOutOptions {
  /** Events per transaction (default 500). */
  batchSize?: number;
  /** How long a skipped event id is waited for (default 60 s). */
  gapTtlMs?: number;
  /** Wall clock for gap ageing (tests). */
  wallClock?: () => number;
}

export function eventPayload(e: EventRow): WebhookPayload {
  return {
    id: `evt_${e.id}`,
    type: e.type,
    created: new Date(e.occurred_at).toISOString(),
    data: { ...(e.data ?? {}), account_id: e.account_id, subscription_id: e.subscription_id, invoice_id: e.invoice_id },
  };
}

function parseCursor(v: unknown): Cursor {
  const o = (typeof v === 'string' ? JSON.parse(v) : v) as Partial<Cursor> | number | null;
  if (typeof o === 'number') return { last_event_id: o, gaps: [] };
  return { last_event_id: Number(o?.last_event_id ?? 0), gaps: Array.isArray(o?.gaps) ? (o!.gaps as [number, number, number][]) : [] };
}

/** Removes the ids found from the gap ranges. */
function subtractFound(gaps: [number, number, number][], found: number[]): [number, number, number][] {
  if (found.length === 0) return gaps;
  const ids = [...new Set(found)].sort((a, b) => a - b);
  const out: [number, number, number][] = [];
  for (const [from, to, seen] of gaps) {
    let start = from;
    for (const id of ids) {
      if (id < start || id > to) continue;
      if (id > start) out.push([start, id - 1, seen]);
      start = id + 1;
    }
    if (start <= to) out.push([start, to, seen]);
  }
  return out;
}

/**
 * Turns new events into deliveries, one per enabled endpoint subscribed to the event's type and
 * created no later than the event. Safe to run from any number of workers: the cursor row is
 * locked (FOR UPDATE) for the transaction that reads events and writes deliveries and cursor.
 */
export async function fanOutEvents(db: Db, now: Date, opts: FanOutOptions = {}): Promise<{ events: number; deliveries: number }> {
  const batchSize = opts.batchSize ?? 500;
  const gapTtlMs = opts.gapTtlMs ?? 60_000;
  const wall = opts.wallClock ?? Date.now;
  const total = { events: 0, deliveries: 0 };
  for (let round = 0; round < 10_000; round++) {
    const r = await db.tx(async (q) => {
      await q.query(`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [CURSOR_KEY, JSON.stringify({ last_event_id: 0, gaps: [] })]);
      const [row] = await q.query<{ value: unknown }>(`SELECT value FROM settings WHERE key = $1 FOR UPDATE`, [CURSOR_KEY]);
      const cursor = parseCursor(row.value);
      const wallNow = wall();
      const [{ n: enabled }] = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_endpoints WHERE status = 'enabled'`);
      if (enabled === 0) {
        // Nobody to deliver to: skip straight to the newest event (an endpoint created later only
        // receives events from its creation on).
        const [{ max }] = await q.query<{ max: number | null }>(`SELECT max(id) AS max FROM events`);
        const last = Math.max(cursor.last_event_id, Number(max ?? 0));
        if (last !== cursor.last_event_id || cursor.gaps.length)
          await q.query(`UPDATE settings SET value = $2 WHERE key = $1`, [CURSOR_KEY, JSON.stringify({ last_event_id: last, gaps: [] })]);
        return { events: 0, deliveries: 0, more: false };
      }
      let gaps = cursor.gaps.filter(([, , seen]) => wallNow - seen < gapTtlMs);

      const late = gaps.length
        ? await q.query<EventRow>(
            `SELECT e.id, e.account_id, e.subscription_id, e.invoice_id, e.type, e.data, e.occurred_at
               FROM events e JOIN jsonb_to_recordset($1::jsonb) AS g(f bigint, t bigint) ON e.id BETWEEN g.f AND g.t
              ORDER BY e.id`,
            [JSON.stringify(gaps.map(([f, t]) => ({ f, t })))],
          )
        : [];
      const fresh = await q.query<EventRow>(
        `SELECT id, account_id, subscription_id, invoice_id, type, data, occurred_at FROM events WHERE id > $1 ORDER BY id LIMIT $2`,
        [cursor.last_event_id, batchSize],
      );
      gaps = subtractFound(gaps, late.map((e) => Number(e.id)));
      let last = cursor.last_event_id;
      for (const e of fresh) {
        const id = Number(e.id);
        if (id > last + 1) gaps.push([last + 1, id - 1, wallNow]);
        last = id;
      }
      if (gaps.length > 1000) gaps = gaps.slice(gaps.length - 1000);

      const events = [...late, ...fresh];
      let deliveries = 0;
      if (events.length) {
        const endpoints = await q.query<{ id: string; event_types: string[]; created_at: Date }>(
          `SELECT id, event_types, created_at FROM webhook_endpoints WHERE status = 'enabled'`,
        );
        const rows: { id: string; endpoint_id: string; event_id: number; event_type: string; payload: WebhookPayload }[] = [];
        for (const e of events) {
          const at = new Date(e.occurred_at).getTime();
          for (const ep of endpoints) {
            if (new Date(ep.created_at).getTime() > at || !matchesEventType(ep.event_types, e.type)) continue;
            rows.push({ id: newId('whd'), endpoint_id: ep.id, event_id: Number(e.id), event_type: e.type, payload: eventPayload(e) });
          }
        }
        if (rows.length) {
          const inserted = await q.query(
            `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, payload, status, attempts, next_attempt_at, created_at)
             SELECT x.id, x.endpoint_id, x.event_id, x.event_type, x.payload, 'pending', 0, $2, $2
               FROM jsonb_to_recordset($1::jsonb) AS x(id text, endpoint_id text, event_id bigint, event_type text, payload jsonb)
             ON CONFLICT (endpoint_id, event_id) DO NOTHING
             RETURNING id`,
            [JSON.stringify(rows), now],
          );
          deliveries = inserted.length;
        }
      }
      const changed = last !== cursor.last_event_id || JSON.stringify(gaps) !== JSON.stringify(cursor.gaps);
      if (changed) await q.query(`UPDATE settings SET value = $2 WHERE key = $1`, [CURSOR_KEY, JSON.stringify({ last_event_id: last, gaps })]);
      return { events: events.length, deliveries, more: fresh.length === batchSize };
    });
    total.events += r.events;
    total.deliveries += r.deliveries;
    if (!r.more) break;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Deliverer

/** Delay before attempt n+1 after n failures: 1m, 5m, 30m, 2h, 5h, 10h, 12h (≈ 29.6 h in all), then failed. */
export const WEBHOOK_RETRY_SCHEDULE_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000, 12 * 3_600_000];

export interface WebhookDelivererOptions {
  db: Db;
  clock: Clock;
  fetchImpl?: typeof fetch;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  batchSize?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Delays between attempts; its length + 1 is the number of attempts (default WEBHOOK_RETRY_SCHEDULE_MS). */
  retryScheduleMs?: number[];
  /** An endpoint failing without a single success for this long is disabled (default 24 h). */
  disableAfterMs?: number;
  /** Who is told when an endpoint is disabled (RENEWD_OPERATOR_EMAIL). */
  operatorEmail?: string;
  operatorLocale?: string;
  operatorTimeZone?: string;
  userAgent?: string;
}

export interface WebhookRoundResult {
  succeeded: number;
  /** Failed this time, scheduled again. */
  retrying: number;
  /** Failed for good. */
  failed: number;
  /** Endpoints disabled in this round. */
  disabled: number;
}

export interface WebhookDeliverer {
  runOnce(): Promise<WebhookRoundResult>;
  /** Every intervalMs: fan out new events, then deliver what is due. */
  start(intervalMs?: number): void;
  stop(): Promise<void>;
}

interface ClaimedDelivery {
  id: string;
  endpoint_id: string;
  event_id: number;
  event_type: string;
  payload: WebhookPayload;
  attempts: number;
  url: string;
  secret: string;
}

/** The exact body sent: fixed key order, whatever order jsonb kept. */
export function deliveryBody(p: WebhookPayload): string {
  return JSON.stringify({ id: p.id, type: p.type, created: p.created, data: p.data });
}

export function createWebhookDeliverer(opts: WebhookDelivererOptions): WebhookDeliverer {
  const { db, clock } = opts;
  const fetchImpl = opts.fetchImpl ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const batchSize = opts.batchSize ?? 50;
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const schedule = opts.retryScheduleMs ?? WEBHOOK_RETRY_SCHEDULE_MS;
  const maxAttempts = schedule.length + 1;
  const disableAfterMs = opts.disableAfterMs ?? 24 * 3_600_000;
  const leaseMs = timeoutMs + 60_000;
  const userAgent = opts.userAgent ?? 'renewd-webhooks/0.1';

  async function claim(now: Date): Promise<ClaimedDelivery[]> {
    return db.query<ClaimedDelivery>(
      `WITH due AS (
         SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
          WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.status = 'enabled'
          ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
       UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $3
         FROM due, webhook_endpoints e
        WHERE d.id = due.id AND e.id = d.endpoint_id
       RETURNING d.id, d.endpoint_id, d.event_id, d.event_type, d.payload, d.attempts, e.url, e.secret`,
      [now, batchSize, new Date(now.getTime() + leaseMs)],
    );
  }

  async function post(d: ClaimedDelivery, now: Date): Promise<{ status: number | null; error: string | null; ms: number }> {
    const body = deliveryBody(d.payload);
    const t = Math.floor(now.getTime() / 1000);
    const started = performance.now();
    try {
      const res = await fetchImpl(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': userAgent,
          [SIGNATURE_HEADER]: signatureHeader(d.secret, body, t),
          [EVENT_ID_HEADER]: d.payload.id,
          'Renewd-Delivery-Id': d.id,
          'Renewd-Delivery-Attempt': String(d.attempts),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text().catch(() => '');
      const ms = Math.round(performance.now() - started);
      if (res.status >= 200 && res.status < 300) return { status: res.status, error: null, ms };
      const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
      return { status: res.status, error: `HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`, ms };
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ');
      return { status: null, error: why || String(err), ms: Math.round(performance.now() - started) };
    }
  }

  async function record(d: ClaimedDelivery, r: { status: number | null; error: string | null; ms: number }, out: WebhookRoundResult) {
    const now = clock.now();
    await db.tx(async (q) => {
      // The endpoint (and so the delivery) may have been deleted while the request was in flight.
      const [still] = await q.query('SELECT id FROM webhook_deliveries WHERE id = $1 FOR UPDATE', [d.id]);
      if (!still) return;
      await q.query(
        `INSERT INTO webhook_delivery_attempts (delivery_id, endpoint_id, attempt, attempted_at, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [d.id, d.endpoint_id, d.attempts, now, r.status, r.error, r.ms],
      );
      if (r.error === null) {
        await q.query(
          `UPDATE webhook_deliveries SET status = 'succeeded', delivered_at = $2, last_status_code = $3, last_error = NULL, next_attempt_at = NULL WHERE id = $1 AND status = 'pending'`,
          [d.id, now, r.status],
        );
        await q.query(`UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL WHERE id = $1`, [d.endpoint_id]);
        out.succeeded++;
        return;
      }
      const final = d.attempts >= maxAttempts;
      const next = final ? null : new Date(now.getTime() + schedule[Math.min(d.attempts, schedule.length) - 1]);
      await q.query(
        `UPDATE webhook_deliveries SET status = $2, next_attempt_at = $3, last_status_code = $4, last_error = $5 WHERE id = $1 AND status = 'pending'`,
        [d.id, final ? 'failed' : 'pending', next, r.status, r.error],
      );
      if (final) out.failed++;
      else out.retrying++;
      const [ep] = await q.query<{ id: string; url: string; status: string; failing_since: Date; consecutive_failures: number }>(
        `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, failing_since = COALESCE(failing_since, $2)
          WHERE id = $1 RETURNING id, url, status, failing_since, consecutive_failures`,
        [d.endpoint_id, now],
      );
      if (!ep || ep.status !== 'enabled') return;
      const since = new Date(ep.failing_since);
      if (now.getTime() - since.getTime() < disableAfterMs) return;
      // Failing without one success for too long: stop sending and tell the operator.
      const reason = `every delivery failed since ${since.toISOString()} (${ep.consecutive_failures} attempts in a row); last error: ${r.error}`;
      await q.query(`UPDATE webhook_endpoints SET status = 'disabled', disabled_at = $2, disabled_reason = $3, updated_at = $2 WHERE id = $1`, [ep.id, now, reason.slice(0, 1000)]);
      await q.query(`INSERT INTO events (account_id, type, data, occurred_at) VALUES (NULL, 'webhook_endpoint.disabled', $1, $2)`, [
        JSON.stringify({ endpoint_id: ep.id, url: ep.url, failing_since: since.toISOString(), consecutive_failures: ep.consecutive_failures, last_error: r.error }),
        now,
      ]);
      if (opts.operatorEmail) {
        await enqueueEmail(q, {
          account_id: null,
          to: opts.operatorEmail,
          template: 'webhook_endpoint_disabled',
          dedupe_key: `webhook_endpoint_disabled:${ep.id}:${now.toISOString()}`,
          now,
          ctx: {
            locale: opts.operatorLocale ?? 'en',
            time_zone: opts.operatorTimeZone ?? 'UTC',
            account_name: 'renewd',
            endpoint_id: ep.id,
            endpoint_url: ep.url,
            failing_since: since,
            last_error: r.error ?? undefined,
          },
        });
      }
      out.disabled++;
    });
  }

  async function runOnce(): Promise<WebhookRoundResult> {
    const out: WebhookRoundResult = { succeeded: 0, retrying: 0, failed: 0, disabled: 0 };
    const rows = await claim(clock.now());
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const d = rows[next++];
        const r = await post(d, clock.now());
        await record(d, r, out);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
    return out;
  }

  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopping = false;
  return {
    runOnce,
    start(intervalMs = 2000) {
      stopping = false;
      const tick = async () => {
        if (stopping) return;
        running = fanOutEvents(db, clock.now())
          .then(() => runOnce())
          .catch((err) => console.error('renewd webhooks:', err instanceof Error ? err.message : err));
        await running;
        running = null;
        if (!stopping) timer = setTimeout(tick, intervalMs);
      };
      timer = setTimeout(tick, 0);
    },
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      if (running) await running;
    },
  };
}
