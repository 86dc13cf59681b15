// The access check's read: the hot path of integrators (asked on every page a SaaS serves).
// Concurrent checks share statements: ids asked while the event loop handles one round of sockets
// are read together with `= ANY($1)` when the round ends (setImmediate), and while every
// statement slot is busy new ids gather for the next free one. Under load the database sees one
// round trip per several checks instead of one per check; a lone check waits for nothing. Each
// read starts after its request arrived, so a check never sees older data than a single query
// would (no cache, nothing stale).
import { HOT_POOL_MAX, prepared, type Queryable } from './db.ts';
import type { SubscriptionStatus } from '../core/types.ts';

export interface AccessRow {
  id: string;
  /** Null (with plan_id) when the account has no subscription. */
  status: SubscriptionStatus | null;
  plan_id: string | null;
  grace_ends_at: Date | null;
  current_period_end: Date | null;
  free: boolean | null;
  free_plan_id: string | null;
}

export const ACCESS_SQL = prepared(
  `SELECT a.id, s.status, s.plan_id, s.grace_ends_at, s.current_period_end, p.free,
          (SELECT id FROM plans WHERE free LIMIT 1) AS free_plan_id
     FROM accounts a
     LEFT JOIN subscriptions s ON s.account_id = a.id
     LEFT JOIN plans p ON p.id = s.plan_id
    WHERE a.id = ANY($1::text[])`,
);

/** Bounds one statement's id list; a larger round is split. */
const MAX_BATCH = 256;

type Waiter = { resolve: (r: AccessRow | undefined) => void; reject: (e: unknown) => void };

/** Returns a reader: `read(accountId)` resolves to the account's access row, or undefined. */
export function accessReader(db: Queryable, maxInFlight = HOT_POOL_MAX): (accountId: string) => Promise<AccessRow | undefined> {
  let waiting = new Map<string, Waiter[]>();
  let inFlight = 0;
  let scheduled = false;

  function pump() {
    while (waiting.size > 0 && inFlight < maxInFlight) {
      const batch = take();
      inFlight++;
      void send(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  /** The next statement's ids: everything waiting, or the first MAX_BATCH of it. */
  function take(): Map<string, Waiter[]> {
    if (waiting.size <= MAX_BATCH) {
      const all = waiting;
      waiting = new Map();
      return all;
    }
    const batch = new Map<string, Waiter[]>();
    for (const [id, ws] of waiting) {
      if (batch.size === MAX_BATCH) break;
      batch.set(id, ws);
      waiting.delete(id);
    }
    return batch;
  }

  async function send(batch: Map<string, Waiter[]>) {
    try {
      const rows = await db.query<AccessRow>(ACCESS_SQL, [[...batch.keys()]]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const [id, ws] of batch) for (const w of ws) w.resolve(byId.get(id));
    } catch (err) {
      for (const ws of batch.values()) for (const w of ws) w.reject(err);
    }
  }

  return (accountId) =>
    new Promise((resolve, reject) => {
      const ws = waiting.get(accountId);
      if (ws) ws.push({ resolve, reject });
      else waiting.set(accountId, [{ resolve, reject }]);
      if (waiting.size >= MAX_BATCH) pump();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          pump();
        });
      }
    });
}
