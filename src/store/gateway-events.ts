// The gateway's events as received: claimed once by event id, then marked processed with what
// renewd did with them (engine/gateway-events.ts decides; this file only stores).
import type { Queryable } from './db.ts';

export interface GatewayEventRecord {
  id: string;
  type: string;
  object_id: string | null;
  created_at: Date;
  received_at: Date;
  processed_at: Date | null;
  deliveries: number;
  result: string | null;
  detail: Record<string, unknown>;
}

/**
 * Claims an event for processing. 'claimed': this delivery processes it; 'done': it was processed
 * already (a duplicate); 'busy': another delivery is processing it right now. A claim older than
 * `staleAfterMs` (its process died) is taken over.
 */
export async function claimGatewayEvent(
  q: Queryable,
  e: { id: string; type: string; object_id: string | null; created_at: Date },
  now: Date,
  staleAfterMs: number,
): Promise<'claimed' | 'done' | 'busy'> {
  const [fresh] = await q.query<{ id: string }>(
    `INSERT INTO gateway_events (id, type, object_id, created_at, received_at, claimed_at)
          VALUES ($1, $2, $3, $4, $5, $5)
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [e.id, e.type, e.object_id, e.created_at, now],
  );
  if (fresh) return 'claimed';
  // Known already: take over a claim its process left (released, or older than staleAfterMs) …
  const [taken] = await q.query<{ id: string }>(
    `UPDATE gateway_events SET deliveries = deliveries + 1, claimed_at = $3 WHERE id = $1 AND processed_at IS NULL AND claimed_at <= $2 RETURNING id`,
    [e.id, new Date(now.getTime() - staleAfterMs), now],
  );
  if (taken) return 'claimed';
  // … else it is done (a duplicate) or another delivery is processing it right now.
  const [r] = await q.query<{ done: boolean }>(`UPDATE gateway_events SET deliveries = deliveries + 1 WHERE id = $1 RETURNING processed_at IS NOT NULL AS done`, [e.id]);
  return r?.done ? 'done' : 'busy';
}

export async function markGatewayEventProcessed(q: Queryable, id: string, result: string, detail: Record<string, unknown>, now: Date): Promise<void> {
  await q.query(`UPDATE gateway_events SET processed_at = $2, result = $3, detail = $4 WHERE id = $1`, [id, now, result, JSON.stringify(detail)]);
}

/** Lets a later delivery process the event (its handler failed). */
export async function releaseGatewayEvent(q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE gateway_events SET claimed_at = 'epoch' WHERE id = $1 AND processed_at IS NULL`, [id]);
}

export async function gatewayEventById(q: Queryable, id: string): Promise<GatewayEventRecord | null> {
  const [r] = await q.query<GatewayEventRecord>('SELECT * FROM gateway_events WHERE id = $1', [id]);
  return r ?? null;
}

/** Whether an event of this type about this object, created after `createdAt`, was already applied (an older one arriving late is moot). */
export async function newerGatewayEventApplied(q: Queryable, objectId: string, type: string, createdAt: Date, exceptId: string): Promise<boolean> {
  const [r] = await q.query(
    `SELECT 1 FROM gateway_events WHERE object_id = $1 AND type = $2 AND created_at > $3 AND id <> $4 AND result = 'applied' LIMIT 1`,
    [objectId, type, createdAt, exceptId],
  );
  return !!r;
}
