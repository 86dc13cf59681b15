// Incidents (outage-aware grace, core/incidents.ts): the technical failures counted per scope, the
// incidents opened and closed, and the subscriptions a closed incident was applied to.
import type { Queryable } from './db.ts';
import type { ScopeCounts } from '../core/incidents.ts';
import type { Row } from './billing.ts';

export interface Incident {
  id: string;
  scope: string;
  opened_at: Date;
  closed_at: Date | null;
  technical_declines: number;
  baseline: number;
  recovered_at: Date | null;
  /** Times in a row its scope reopened right after a close (core/incidents.ts minOpenMinutes). */
  reopens: number;
}

const d = (v: unknown): Date | null => (v == null ? null : v instanceof Date ? v : new Date(v as string));
function toIncident(r: Row): Incident {
  return {
    id: r.id,
    scope: r.scope,
    opened_at: d(r.opened_at)!,
    closed_at: d(r.closed_at),
    technical_declines: Number(r.technical_declines),
    baseline: Number(r.baseline),
    recovered_at: d(r.recovered_at),
    reopens: Number(r.reopens ?? 0),
  };
}

/**
 * Technical failures (declines of class 'soon', unknown outcomes) per scope, in the window and the
 * baseline before it. An attempt still unknown counts in the window however old (within the
 * baseline): the gateway has not answered it yet, not even to the reconciling lookups, so the
 * outage goes on though no new attempt fails. This count reads the small partial index of
 * technical failures; every attempt of a scope (the share's denominators, payment_attempts_created)
 * is counted only for the scopes whose window holds at least `minWindow` technical failures and
 * that are not open already (`openScopes`), the only ones that could open an incident, so a quiet
 * minute costs one cheap query, and so does a minute of an open outage.
 */
export async function technicalFailureCounts(q: Queryable, w: { baseline_from: Date; window_from: Date; now: Date }, minWindow = 0, openScopes: readonly string[] = []): Promise<ScopeCounts[]> {
  const rows = await q.query<Row>(
    `SELECT s.scope, count(*) FILTER (WHERE t.created_at >= $2 OR t.outcome = 'unknown')::int AS "window",
            count(*) FILTER (WHERE t.created_at < $2 AND t.outcome <> 'unknown')::int AS baseline
       FROM (SELECT pa.created_at, pa.outcome, pm.brand FROM payment_attempts pa LEFT JOIN payment_methods pm ON pm.id = pa.payment_method_id
              WHERE (pa.outcome = 'unknown' OR (pa.outcome = 'declined' AND pa.retry_class = 'soon'))
                AND pa.created_at >= $1 AND pa.created_at <= $3) t
      CROSS JOIN LATERAL (VALUES ('gateway'), ('brand:' || t.brand)) AS s(scope)
      WHERE s.scope IS NOT NULL
      GROUP BY s.scope`,
    [w.baseline_from, w.window_from, w.now],
  );
  const counts: ScopeCounts[] = rows.map((r) => ({ scope: r.scope, window: Number(r.window), baseline: Number(r.baseline) }));
  // A scope already open needs no share (it closes on its count alone), and while the gateway's
  // incident is open no other can open: during an outage, the spike itself, nothing more is read.
  const candidates = openScopes.includes('gateway') ? [] : counts.filter((c) => c.window >= minWindow && !openScopes.includes(c.scope)).map((c) => c.scope);
  if (candidates.length === 0) return counts;
  const all = await q.query<{ scope: string; window_attempts: number; baseline_attempts: number }>(
    `SELECT s.scope, count(*) FILTER (WHERE t.created_at >= $2 OR t.outcome = 'unknown')::int AS window_attempts,
            count(*) FILTER (WHERE t.created_at < $2 AND t.outcome <> 'unknown')::int AS baseline_attempts
       FROM (SELECT pa.created_at, pa.outcome, pm.brand FROM payment_attempts pa LEFT JOIN payment_methods pm ON pm.id = pa.payment_method_id
              WHERE pa.created_at >= $1 AND pa.created_at <= $3) t
      CROSS JOIN LATERAL (VALUES ('gateway'), ('brand:' || t.brand)) AS s(scope)
      WHERE s.scope = ANY($4::text[])
      GROUP BY s.scope`,
    [w.baseline_from, w.window_from, w.now, candidates],
  );
  const byScope = new Map(all.map((r) => [r.scope, r]));
  return counts.map((c) => {
    const r = byScope.get(c.scope);
    return r ? { ...c, window_attempts: Number(r.window_attempts), baseline_attempts: Number(r.baseline_attempts) } : c;
  });
}

export async function openIncidents(q: Queryable): Promise<Incident[]> {
  return (await q.query<Row>('SELECT * FROM incidents WHERE closed_at IS NULL ORDER BY opened_at, id')).map(toIncident);
}

/**
 * Opens incidents; a scope already open (another worker was first) is left alone. Answers those
 * opened. `windowFrom`: where the detection window that revealed them began (the technical failures
 * from then on belong to the incident: loadStates).
 */
export async function insertIncidents(q: Queryable, rows: { id: string; scope: string; technical_declines: number; baseline: number; reopens?: number }[], now: Date, windowFrom: Date = now): Promise<Incident[]> {
  if (rows.length === 0) return [];
  const out = await q.query<Row>(
    `INSERT INTO incidents (id, scope, opened_at, window_from, technical_declines, baseline, reopens)
     SELECT x.id, x.scope, $2, $3, x.technical_declines, x.baseline, COALESCE(x.reopens, 0)
       FROM json_to_recordset($1::json) AS x(id text, scope text, technical_declines int, baseline int, reopens int)
     ON CONFLICT (scope) WHERE closed_at IS NULL DO NOTHING
     RETURNING *`,
    [JSON.stringify(rows), now, windowFrom],
  );
  return out.map(toIncident);
}

/** Incidents closed since `since`, newest first (whether a new one of their scope is a reopening). */
export async function recentlyClosedIncidents(q: Queryable, since: Date): Promise<Incident[]> {
  return (await q.query<Row>('SELECT * FROM incidents WHERE closed_at >= $1 ORDER BY closed_at DESC, id', [since])).map(toIncident);
}

/** Closes open incidents; answers those this call closed. */
export async function closeIncidents(q: Queryable, ids: string[], now: Date): Promise<Incident[]> {
  if (ids.length === 0) return [];
  const out = await q.query<Row>('UPDATE incidents SET closed_at = $2 WHERE id = ANY($1) AND closed_at IS NULL RETURNING *', [ids, now]);
  return out.map(toIncident);
}

/** Closed incidents whose subscriptions have not all had the close applied yet. */
export async function incidentsToRecover(q: Queryable): Promise<Incident[]> {
  return (await q.query<Row>('SELECT * FROM incidents WHERE closed_at IS NOT NULL AND recovered_at IS NULL ORDER BY closed_at, id')).map(toIncident);
}

/**
 * Subscriptions a closed incident covered and has not been applied to: past due with an invoice
 * that failed before it closed, on a card of its scope (any card for 'gateway').
 */
export async function subscriptionsCoveredBy(q: Queryable, i: Incident, limit: number): Promise<string[]> {
  const brand = i.scope.startsWith('brand:') ? i.scope.slice('brand:'.length) : null;
  const rows = await q.query<{ id: string }>(
    `SELECT s.id FROM subscriptions s
       JOIN invoices inv ON inv.subscription_id = s.id AND inv.status = 'past_due'
      WHERE s.status = 'past_due' AND COALESCE(inv.failed_at, inv.period_start) < $2
        AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM payment_methods pm WHERE pm.account_id = s.account_id AND pm.status = 'active' AND pm.brand = $3))
        AND NOT EXISTS (SELECT 1 FROM incident_subscriptions x WHERE x.incident_id = $1 AND x.subscription_id = s.id)
      ORDER BY s.id LIMIT $4`,
    [i.id, i.closed_at, brand, limit],
  );
  return rows.map((r) => r.id);
}

/** Records that the close was applied to a subscription (in the transaction that applied it); false when it already was. */
export async function markIncidentApplied(q: Queryable, incidentId: string, subscriptionId: string, now: Date): Promise<boolean> {
  const r = await q.query('INSERT INTO incident_subscriptions (incident_id, subscription_id, applied_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1', [incidentId, subscriptionId, now]);
  return r.length > 0;
}

export async function markIncidentRecovered(q: Queryable, id: string, now: Date): Promise<void> {
  await q.query('UPDATE incidents SET recovered_at = $2 WHERE id = $1 AND recovered_at IS NULL', [id, now]);
}

/** The newest incidents (open ones first), with how many subscriptions each was applied to. */
export async function listIncidents(q: Queryable, limit: number): Promise<(Incident & { subscriptions: number })[]> {
  const rows = await q.query<Row>(
    `SELECT i.*, (SELECT count(*) FROM incident_subscriptions x WHERE x.incident_id = i.id)::int AS subscriptions
       FROM incidents i ORDER BY (i.closed_at IS NULL) DESC, i.opened_at DESC, i.id LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ ...toIncident(r), subscriptions: Number(r.subscriptions) }));
}
