// The janitor's query: attempts left in flight whose subscription nobody will look at again.
import type { Queryable } from './db.ts';

export interface LostAttemptRule {
  /** How long an attempt may stay unanswered before it is reconciled by its key. */
  leaseMs: number;
  /** …and an authentication attempt (the customer may be at the issuer's page that long). */
  authenticationLeaseMs: number;
  authenticationTrigger: string;
}

/**
 * Makes due, now, every subscription with an attempt still `pending`/`unknown` past its lease on an
 * invoice the machine collects (open, past due) while the subscription is not due within a lease
 * (its `next_action_at` lost: null, or moved far ahead by a hand or a bug). The next claim's tick
 * then reconciles the attempt by its idempotency key, as for any attempt past its lease. A
 * subscription a worker holds is skipped (SKIP LOCKED): that worker is already at it.
 * Answers the subscriptions woken.
 */
export async function wakeSubscriptionsWithLostAttempts(q: Queryable, now: Date, rule: LostAttemptRule): Promise<string[]> {
  const rows = await q.query<{ id: string }>(
    `WITH lost AS (
       SELECT s.id FROM subscriptions s
        WHERE s.id IN (SELECT i.subscription_id FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id
                        WHERE a.outcome IN ('pending', 'unknown') AND i.status IN ('open', 'past_due')
                          AND a.created_at <= $1::timestamptz - make_interval(secs => (CASE WHEN a.trigger = $4 THEN $3 ELSE $2 END)::double precision / 1000))
          AND (s.next_action_at IS NULL OR s.next_action_at > $1::timestamptz + make_interval(secs => $2::double precision / 1000))
        FOR UPDATE SKIP LOCKED)
     UPDATE subscriptions s SET next_action_at = $1, next_action = 'retry', version = s.version + 1 FROM lost WHERE s.id = lost.id RETURNING s.id`,
    [now, rule.leaseMs, rule.authenticationLeaseMs, rule.authenticationTrigger],
  );
  return rows.map((r) => r.id);
}
