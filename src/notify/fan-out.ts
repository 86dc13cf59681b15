// Fan-out: new events become webhook deliveries, one per enabled endpoint subscribed to the
// event's type and created no later than the event.
//
//   events ──fanOutEvents──▶ webhook_deliveries (webhook-delivery.ts POSTs them)
import type { Db } from '../store/db.ts';
import { newId } from '../store/ids.ts';
import {
  countEnabledEndpoints,
  enabledEndpoints,
  eventsAfter,
  eventsInRanges,
  insertDeliveries,
  lockCursor,
  maxEventId,
  saveCursor,
  type NewDelivery,
  type WebhookEventRow,
  type WebhookPayload,
} from '../store/webhooks.ts';
import { matchesEventType } from './events.ts';

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

export interface FanOutOptions {
  /** Events per transaction (default 500). */
  batchSize?: number;
  /** How long a skipped event id is waited for (default 60 s). */
  gapTtlMs?: number;
  /** Wall clock for gap ageing (tests). */
  wallClock?: () => number;
}

export function eventPayload(e: WebhookEventRow): WebhookPayload {
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
      const cursor = parseCursor(await lockCursor(q, CURSOR_KEY, { last_event_id: 0, gaps: [] }));
      const wallNow = wall();
      if ((await countEnabledEndpoints(q)) === 0) {
        // Nobody to deliver to: skip straight to the newest event (an endpoint created later only
        // receives events from its creation on).
        const last = Math.max(cursor.last_event_id, await maxEventId(q));
        if (last !== cursor.last_event_id || cursor.gaps.length) await saveCursor(q, CURSOR_KEY, { last_event_id: last, gaps: [] });
        return { events: 0, deliveries: 0, more: false };
      }
      let gaps = cursor.gaps.filter(([, , seen]) => wallNow - seen < gapTtlMs);

      const late = gaps.length ? await eventsInRanges(q, gaps.map(([f, t]) => [f, t] as [number, number])) : [];
      const fresh = await eventsAfter(q, cursor.last_event_id, batchSize);
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
        const endpoints = await enabledEndpoints(q);
        const rows: NewDelivery[] = [];
        for (const e of events) {
          const at = new Date(e.occurred_at).getTime();
          for (const ep of endpoints) {
            if (new Date(ep.created_at).getTime() > at || !matchesEventType(ep.event_types, e.type)) continue;
            rows.push({ id: newId('whd'), endpoint_id: ep.id, event_id: Number(e.id), event_type: e.type, payload: eventPayload(e) });
          }
        }
        if (rows.length) deliveries = await insertDeliveries(q, rows, now);
      }
      const changed = last !== cursor.last_event_id || JSON.stringify(gaps) !== JSON.stringify(cursor.gaps);
      if (changed) await saveCursor(q, CURSOR_KEY, { last_event_id: last, gaps });
      return { events: events.length, deliveries, more: fresh.length === batchSize };
    });
    total.events += r.events;
    total.deliveries += r.deliveries;
    if (!r.more) break;
  }
  return total;
}
