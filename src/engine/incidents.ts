// Outage-aware grace, the engine's part (core/incidents.ts decides, store/incidents.ts counts):
// at most once a minute of clock time the engine counts technical failures per scope, opens and
// closes incidents (events incident.opened / incident.closed, the operator's e-mail), and applies
// each closed incident to the subscriptions it covered, once each: the machine's `incident_closed`
// extends their grace and spreads their held retries. While an incident is open, loadStates hands
// it to the machine, which makes no attempt on the invoices it covers.
import { DEFAULT_POLICY, mergePolicy, type DunningPolicy } from '../core/dunning.ts';
import { decideIncidents, incidentWindows, minOpenMinutes } from '../core/incidents.ts';
import { HOUR } from '../core/time.ts';
import { insertEvents, loadPolicies } from '../store/billing.ts';
import {
  closeIncidents,
  recentlyClosedIncidents,
  incidentsToRecover,
  insertIncidents,
  listIncidents,
  markIncidentApplied,
  markIncidentRecovered,
  openIncidents,
  subscriptionsCoveredBy,
  technicalFailureCounts,
  type Incident,
} from '../store/incidents.ts';
import { newId } from '../store/ids.ts';
import type { Db } from '../store/db.ts';
import { enqueueEmail } from '../notify/outbox.ts';
import type { Logger } from '../lib/log.ts';
import type { Engine } from './engine.ts';

export type { Incident };

/** The default policy's thresholds: detection is installation-wide (a plan's or zone's override may only opt its subscriptions out). */
async function defaultPolicy(db: Db): Promise<DunningPolicy> {
  return mergePolicy(DEFAULT_POLICY, (await loadPolicies(db)).get('default'));
}

export async function evaluateIncidents(engine: Engine, opts: { operatorEmail?: string; logger?: Logger } = {}): Promise<{ opened: Incident[]; closed: Incident[]; applied: number }> {
  const { db, clock } = engine;
  const now = clock.now();
  const policy = await defaultPolicy(db);
  const p = policy.incidents;
  const { opened, closed } = await db.tx(async (q) => {
    const open = await openIncidents(q);
    // Nothing to count and nothing open: the common case costs one indexed query.
    const counts = p.enabled ? await technicalFailureCounts(q, { ...incidentWindows(p, now), now }, p.min_declines, open.map((i) => i.scope)) : [];
    // Incidents closed within the longest least-open time: a new one of their scope is a reopening.
    const recent = (await recentlyClosedIncidents(q, new Date(now.getTime() - p.baseline_hours * HOUR))).map((i) => ({ scope: i.scope, closed_at: i.closed_at!, reopens: i.reopens }));
    const decision = decideIncidents(p, counts, open, now, recent);
    const opened = await insertIncidents(q, decision.open.map((o) => ({ id: newId('inc'), ...o })), now, incidentWindows(p, now).window_from);
    const closed = await closeIncidents(q, decision.close, now);
    await insertEvents(
      q,
      [
        ...opened.map((i) => ({
          account_id: null,
          type: 'incident.opened',
          data: {
            incident_id: i.id,
            scope: i.scope,
            opened_at: i.opened_at,
            technical_declines: i.technical_declines,
            baseline: i.baseline,
            window_minutes: p.window_minutes,
            baseline_hours: p.baseline_hours,
            // A reopening right after a close stays open longer (core/incidents.ts minOpenMinutes).
            reopens: i.reopens,
            min_open_minutes: minOpenMinutes(p, i.reopens),
          },
        })),
        ...closed.map((i) => ({
          account_id: null,
          type: 'incident.closed',
          data: { incident_id: i.id, scope: i.scope, opened_at: i.opened_at, closed_at: i.closed_at, duration_seconds: Math.round((i.closed_at!.getTime() - i.opened_at.getTime()) / 1000) },
        })),
      ],
      now,
    );
    if (opts.operatorEmail)
      for (const i of opened)
        await enqueueEmail(q, {
          account_id: null,
          to: opts.operatorEmail,
          template: 'incident_opened',
          dedupe_key: `incident_opened:${i.id}`,
          now,
          ctx: { locale: 'en', time_zone: 'UTC', account_name: 'renewd', incident_scope: i.scope, incident_opened_at: i.opened_at, technical_declines: i.technical_declines },
        });
    return { opened, closed };
  });
  if (opened.length || closed.length) opts.logger?.warn({ opened: opened.map((i) => i.scope), closed: closed.map((i) => i.scope) }, 'payment incidents changed');
  return { opened, closed, applied: await recoverIncidents(engine, now) };
}

/** Applies every closed incident to the subscriptions it covered (once each), then marks it recovered. */
export async function recoverIncidents(engine: Engine, now: Date): Promise<number> {
  let applied = 0;
  for (const i of await incidentsToRecover(engine.db)) {
    for (;;) {
      const ids = await subscriptionsCoveredBy(engine.db, i, 100);
      if (ids.length === 0) break;
      for (const id of ids) {
        const r = await engine.dispatch(
          id,
          { type: 'incident_closed', incident: { id: i.id, scope: i.scope, opened_at: i.opened_at, closed_at: i.closed_at! } },
          { claim: (q) => markIncidentApplied(q, i.id, id, now) },
        );
        if (!r.skipped) applied++;
      }
    }
    await markIncidentRecovered(engine.db, i.id, now);
  }
  return applied;
}

/** The console's and the API's view: the open incidents first, then the latest closed ones. */
export async function incidentList(db: Db, limit = 20): Promise<(Incident & { subscriptions: number })[]> {
  return listIncidents(db, limit);
}
