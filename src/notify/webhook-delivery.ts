// The webhook deliverer: POSTs each due delivery, signed, retrying with backoff for more than a day,
// and disables an endpoint that keeps failing (the operator is told).
//
//   webhook_deliveries ──deliverer.runOnce──▶ POST url
//     └─ webhook_delivery_attempts (one row per try)
import type { Clock } from '../core/clock.ts';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../lib/log.ts';
import { guardedLookup, isIpLiteral, resolvePublic, type AddressPolicy } from '../lib/public-address.ts';
import { createPoller, type Poller } from '../lib/poller.ts';
import { mapPool } from '../lib/pool.ts';
import type { Db } from '../store/db.ts';
import {
  claimDueDeliveries,
  disableFailingEndpoint,
  insertDeliveryAttempt,
  lockDelivery,
  markDeliveryFailed,
  markDeliverySucceeded,
  recordEndpointFailure,
  type ClaimedDelivery,
  type WebhookPayload,
} from '../store/webhooks.ts';
import { fanOutEvents } from './fan-out.ts';
import { enqueueEmail } from './outbox.ts';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signing.ts';

/** Delay before attempt n+1 after n failures: 1m, 5m, 30m, 2h, 5h, 10h, 12h (≈ 29.6 h in all), then failed. */
export const WEBHOOK_RETRY_SCHEDULE_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000, 12 * 3_600_000];

export interface WebhookDelivererOptions {
  db: Db;
  clock: Clock;
  /**
   * Tests only: send through this instead of renewd's own HTTP client. The target's addresses are
   * still checked first, but the connection is not pinned to them as renewd's client pins it.
   */
  fetchImpl?: typeof fetch;
  /** Which addresses deliveries may reach (default: public ones only). */
  targets?: AddressPolicy;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  batchSize?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Delays between attempts; its length + 1 is the number of attempts (default WEBHOOK_RETRY_SCHEDULE_MS). */
  retryScheduleMs?: number[];
  /** An endpoint failing without a single success for this long is disabled (default 24 h). */
  disableAfterMs?: number;
  /**
   * The time a signature's `t=` carries (default: the real time). Never the test clock: receivers
   * check `t` against their own clock (Stripe's verifier, the README's), so a test-clock time would
   * make every delivery after an advance look like a replay. Schedules still follow `clock`.
   */
  signedAt?: () => number;
  /** Who is told when an endpoint is disabled (RENEWD_OPERATOR_EMAIL). */
  operatorEmail?: string;
  operatorLocale?: string;
  operatorTimeZone?: string;
  userAgent?: string;
  /** Where the polling loop logs its failures. */
  logger?: Logger;
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

/** The exact body sent: fixed key order, whatever order jsonb kept. */
export function deliveryBody(p: WebhookPayload): string {
  return JSON.stringify({ id: p.id, type: p.type, created: p.created, data: p.data });
}

export function createWebhookDeliverer(opts: WebhookDelivererOptions): WebhookDeliverer {
  const { db, clock } = opts;
  const targets = opts.targets ?? { allowPrivate: false };
  const send = opts.fetchImpl ? viaFetch(opts.fetchImpl, targets) : viaPinnedHttp(targets);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const batchSize = opts.batchSize ?? 50;
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const schedule = opts.retryScheduleMs ?? WEBHOOK_RETRY_SCHEDULE_MS;
  const maxAttempts = schedule.length + 1;
  const disableAfterMs = opts.disableAfterMs ?? 24 * 3_600_000;
  const leaseMs = timeoutMs + 60_000;
  const signedAt = opts.signedAt ?? Date.now;
  const userAgent = opts.userAgent ?? 'renewd-webhooks/0.1';

  async function post(d: ClaimedDelivery, now: Date): Promise<{ status: number | null; error: string | null; ms: number }> {
    const body = deliveryBody(d.payload);
    const t = Math.floor(signedAt() / 1000);
    const started = performance.now();
    try {
      const res = await send(d.url, {
        'content-type': 'application/json',
        'user-agent': userAgent,
        [SIGNATURE_HEADER]: signatureHeader(d.secret, body, t),
        [EVENT_ID_HEADER]: d.payload.id,
        'Renewd-Delivery-Id': d.id,
        'Renewd-Delivery-Attempt': String(d.attempts),
      }, body, AbortSignal.timeout(timeoutMs));
      const text = res.text;
      const ms = Math.round(performance.now() - started);
      if (res.status >= 200 && res.status < 300) return { status: res.status, error: null, ms };
      const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
      return { status: res.status, error: `HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`, ms };
    } catch (err) {
      const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
      if (e.code === 'EADDRREFUSED') return { status: null, error: `not sent: ${e.message} (webhooks go to public addresses only)`, ms: 0 };
      const why = e.name === 'TimeoutError' || (e.name === 'AbortError' && (e.cause as { name?: string } | undefined)?.name === 'TimeoutError') ? `timed out after ${timeoutMs} ms` : [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ');
      return { status: null, error: why || String(err), ms: Math.round(performance.now() - started) };
    }
  }

  async function record(d: ClaimedDelivery, r: { status: number | null; error: string | null; ms: number }, out: WebhookRoundResult) {
    const now = clock.now();
    await db.tx(async (q) => {
      // The endpoint (and so the delivery) may have been deleted while the request was in flight.
      if (!(await lockDelivery(q, d.id))) return;
      await insertDeliveryAttempt(q, { delivery_id: d.id, endpoint_id: d.endpoint_id, attempt: d.attempts, attempted_at: now, status_code: r.status, error: r.error, duration_ms: r.ms });
      if (r.error === null) {
        await markDeliverySucceeded(q, d, now, r.status);
        out.succeeded++;
        return;
      }
      const final = d.attempts >= maxAttempts;
      const next = final ? null : new Date(now.getTime() + schedule[Math.min(d.attempts, schedule.length) - 1]);
      await markDeliveryFailed(q, d.id, next, r.status, r.error);
      if (final) out.failed++;
      else out.retrying++;
      const ep = await recordEndpointFailure(q, d.endpoint_id, now);
      if (!ep || ep.status !== 'enabled') return;
      const since = new Date(ep.failing_since);
      if (now.getTime() - since.getTime() < disableAfterMs) return;
      // Failing without one success for too long: stop sending and tell the operator.
      const reason = `every delivery failed since ${since.toISOString()} (${ep.consecutive_failures} attempts in a row); last error: ${r.error}`;
      await disableFailingEndpoint(q, ep.id, now, reason.slice(0, 1000), {
        endpoint_id: ep.id,
        url: ep.url,
        failing_since: since.toISOString(),
        consecutive_failures: ep.consecutive_failures,
        last_error: r.error,
      });
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
    const now = clock.now();
    const rows = await claimDueDeliveries(db, now, batchSize, new Date(now.getTime() + leaseMs));
    await mapPool(rows, concurrency, async (d) => record(d, await post(d, clock.now()), out));
    return out;
  }

  let poller: Poller | null = null;
  return {
    runOnce,
    start(intervalMs = 2000) {
      poller ??= createPoller({
        name: 'webhooks',
        intervalMs,
        tick: async () => {
          await fanOutEvents(db, clock.now());
          await runOnce();
        },
        logger: opts.logger,
      });
      poller.start();
    },
    async stop() {
      await poller?.stop();
    },
  };
}

type Send = (url: string, headers: Record<string, string>, body: string, signal: AbortSignal) => Promise<{ status: number; text: string }>;

/** Of an answer, only its start is kept (the delivery's error shows 200 characters). */
const ANSWER_BYTES = 4096;

/**
 * renewd's own client: node:http(s) with `guardedLookup`, so the address checked is the address
 * connected to (a literal IP is checked before, as no lookup runs for it). Redirects are never
 * followed: a 3xx is the answer, and a failure.
 */
function viaPinnedHttp(targets: AddressPolicy): Send {
  const lookup = guardedLookup(targets);
  return async (url, headers, body, signal) => {
    const u = new URL(url);
    if (isIpLiteral(u.hostname)) await resolvePublic(u.hostname, targets);
    return new Promise((resolve, reject) => {
      const req = (u.protocol === 'https:' ? https : http).request(
        u,
        { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, lookup: lookup as never, agent: false, signal },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < ANSWER_BYTES) chunks.push(c);
            size += c.length;
            if (size >= ANSWER_BYTES) res.destroy();
          });
          const done = () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8').slice(0, ANSWER_BYTES) });
          res.on('end', done);
          res.on('close', done);
          res.on('error', done);
        },
      );
      req.on('error', (err) => reject(signal.aborted ? signal.reason : err));
      req.end(body);
    });
  };
}

function viaFetch(fetchImpl: typeof fetch, targets: AddressPolicy): Send {
  return async (url, headers, body, signal) => {
    await resolvePublic(new URL(url).hostname, targets);
    const res = await fetchImpl(url, { method: 'POST', headers, body, redirect: 'manual', signal });
    return { status: res.status, text: await res.text().catch(() => '') };
  };
}
