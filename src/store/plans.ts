// Plans and their prices. A batch reads them all at once (loadPlans in billing.ts); these are the
// operator's writes and the checks around them.
import type { Queryable } from './db.ts';
import type { Plan } from '../core/types.ts';

export { loadPlans } from './billing.ts';

export async function planExists(q: Queryable, id: string): Promise<boolean> {
  const [exists] = await q.query('SELECT 1 FROM plans WHERE id = $1', [id]);
  return !!exists;
}

/** The id of the free plan (there is at most one), or null. */
export async function freePlanId(q: Queryable): Promise<string | null> {
  const [f] = await q.query<{ id: string }>('SELECT id FROM plans WHERE free');
  return f ? f.id : null;
}

/** Inserts a plan and its prices. */
export async function insertPlan(q: Queryable, plan: Plan, now: Date): Promise<void> {
  await q.query('INSERT INTO plans (id, name, free, created_at) VALUES ($1, $2, $3, $4)', [plan.id, plan.name, plan.free, now]);
  for (const p of plan.prices)
    await q.query('INSERT INTO plan_prices (plan_id, currency, interval, amount) VALUES ($1, $2, $3, $4)', [plan.id, p.currency, p.interval, p.amount]);
}

export async function planCount(q: Queryable): Promise<number> {
  const [r] = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM plans');
  return r.n;
}

/** Archives (at `now`) or unarchives a plan; false when there is no such plan. Archiving twice keeps the first time. */
export async function setPlanArchived(q: Queryable, id: string, archived: boolean, now: Date): Promise<boolean> {
  const rows = await q.query('UPDATE plans SET archived_at = CASE WHEN $2::boolean THEN COALESCE(archived_at, $3) ELSE NULL END WHERE id = $1 RETURNING id', [id, archived, now]);
  return rows.length > 0;
}
