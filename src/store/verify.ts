// The queries of the billing invariants (`renewd verify`, engine/verify.ts): reads only. Each
// returns the rows that break one rule (an empty list when the store is sound), named for the rule.
import type { Queryable } from './db.ts';

/** Row counts of what the rules look at. */
export async function verifyTotals(q: Queryable, now: Date): Promise<Record<string, number>> {
  const [tot] = await q.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM invoices)::int AS invoices,
            (SELECT count(*) FROM invoices WHERE status = 'paid')::int AS paid_invoices,
            (SELECT count(*) FROM invoices WHERE kind = 'renewal')::int AS renewal_invoices,
            (SELECT count(*) FROM invoices WHERE failed_at IS NOT NULL)::int AS past_due_starts,
            (SELECT count(*) FROM invoices WHERE status = 'uncollectible')::int AS uncollectible_invoices,
            (SELECT count(*) FROM payment_attempts)::int AS attempts,
            (SELECT count(*) FROM payment_attempts WHERE outcome IN ('pending', 'unknown'))::int AS attempts_in_flight,
            (SELECT count(*) FROM subscriptions)::int AS subscriptions,
            (SELECT count(*) FROM subscriptions WHERE next_action_at <= $1)::int AS due_subscriptions,
            (SELECT count(*) FROM events WHERE type = 'subscription.downgraded')::int AS downgrades,
            (SELECT count(*) FROM notifications)::int AS notifications,
            (SELECT count(DISTINCT payment_method_id) FROM payment_attempts)::int AS cards`,
    [now],
  );
  return tot;
}

// ---- at most one charge per invoice, and the store agrees with itself ----

export async function invoicesSucceededTwice(q: Queryable) {
  return q.query<{ invoice_id: string; n: number; ids: string }>(
    `SELECT invoice_id, count(*)::int AS n, string_agg(id, ',') AS ids FROM payment_attempts WHERE outcome = 'succeeded' GROUP BY invoice_id HAVING count(*) > 1`,
  );
}

/** Paid invoices without exactly one succeeded attempt, and unpaid ones with any. */
export async function paidNotMatchingSuccesses(q: Queryable) {
  return q.query<{ id: string; status: string; n: number }>(
    `SELECT i.id, i.status, count(a.id) FILTER (WHERE a.outcome = 'succeeded')::int AS n
       FROM invoices i LEFT JOIN payment_attempts a ON a.invoice_id = i.id
      GROUP BY i.id, i.status
     HAVING (i.status = 'paid' AND count(a.id) FILTER (WHERE a.outcome = 'succeeded') <> 1)
         OR (i.status <> 'paid' AND count(a.id) FILTER (WHERE a.outcome = 'succeeded') > 0)`,
  );
}

export async function attemptsOfAnotherAmount(q: Queryable) {
  return q.query<{ id: string; invoice_id: string; amount: number; currency: string; inv_amount: number; inv_currency: string }>(
    `SELECT a.id, a.invoice_id, a.amount, a.currency, i.amount AS inv_amount, i.currency AS inv_currency
       FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id
      WHERE a.amount <> i.amount OR a.currency <> i.currency`,
  );
}

/** An invoice as the gateway comparison needs it: its succeeded attempt's key and the keys in flight. */
export interface InvoiceCharges {
  id: string;
  status: string;
  amount: number;
  currency: string;
  paid_key: string | null;
  in_flight_keys: string[] | null;
}

/**
 * Every paid invoice, and the given ones whatever their status. With a window, only the paid
 * invoices whose charge must lie inside it: the paying attempt was committed at or after `from`
 * (before its gateway call) and the invoice paid at or before `to` (after the answer).
 */
export async function invoicesToCompareWithGateway(q: Queryable, invoiceIds: string[], window?: { from: Date; to: Date }): Promise<InvoiceCharges[]> {
  return q.query<InvoiceCharges>(
    `SELECT * FROM (
       SELECT i.id, i.status, i.amount, i.currency, i.paid_at,
              (SELECT a.idempotency_key FROM payment_attempts a WHERE a.invoice_id = i.id AND a.outcome = 'succeeded' LIMIT 1) AS paid_key,
              (SELECT a.created_at FROM payment_attempts a WHERE a.invoice_id = i.id AND a.outcome = 'succeeded' LIMIT 1) AS paid_attempt_at,
              (SELECT array_agg(a.idempotency_key) FROM payment_attempts a WHERE a.invoice_id = i.id AND a.outcome IN ('pending', 'unknown')) AS in_flight_keys
         FROM invoices i WHERE i.status = 'paid' OR i.id = ANY($1)) x
      WHERE x.id = ANY($1) OR $2::timestamptz IS NULL OR (x.paid_attempt_at >= $2 AND x.paid_at <= $3)`,
    [invoiceIds, window?.from ?? null, window?.to ?? null],
  );
}

// ---- nothing lost: due work is flagged unless an attempt is in flight; nothing left unscheduled ----

const inFlightSub = `EXISTS (SELECT 1 FROM invoices i JOIN payment_attempts a ON a.invoice_id = i.id
                                WHERE i.subscription_id = s.id AND a.outcome IN ('pending', 'unknown'))`;

export async function dueSubscriptionsIdle(q: Queryable, now: Date) {
  return q.query<{ id: string; status: string; next_action: string | null; next_action_at: Date }>(
    `SELECT s.id, s.status, s.next_action, s.next_action_at FROM subscriptions s WHERE s.next_action_at <= $1 AND NOT ${inFlightSub} ORDER BY s.next_action_at`,
    [now],
  );
}

export async function paidSubscriptionsUnscheduled(q: Queryable) {
  return q.query<{ id: string; status: string }>(
    `SELECT s.id, s.status FROM subscriptions s JOIN plans p ON p.id = s.plan_id
      WHERE s.next_action_at IS NULL AND ((s.status = 'active' AND NOT p.free) OR s.status = 'past_due')`,
  );
}

export async function endedPeriodsWithoutRenewal(q: Queryable, now: Date) {
  return q.query<{ id: string; current_period_end: Date; next_action_at: Date }>(
    `SELECT s.id, s.current_period_end, s.next_action_at FROM subscriptions s JOIN plans p ON p.id = s.plan_id
      WHERE s.status = 'active' AND NOT p.free AND s.auto_renew AND s.current_period_end <= $1
        AND s.next_action_at > $1
        AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.status IN ('open', 'past_due'))`,
    [now],
  );
}

export async function inFlightAttemptsNeverReconciled(q: Queryable) {
  return q.query<{ id: string; invoice_id: string; inv_status: string; sub_id: string; next_action_at: Date | null }>(
    `SELECT a.id, a.invoice_id, i.status AS inv_status, s.id AS sub_id, s.next_action_at
       FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id JOIN subscriptions s ON s.id = i.subscription_id
      WHERE a.outcome IN ('pending', 'unknown') AND (i.status NOT IN ('open', 'past_due') OR s.next_action_at IS NULL)`,
  );
}

// ---- no attempt on a closed invoice ----

export async function attemptsAfterDowngrade(q: Queryable) {
  return q.query<{ id: string; invoice_id: string; created_at: Date; occurred_at: Date }>(
    // A join, not a correlated EXISTS: events has no index by invoice, and a subquery per attempt
    // made this check quadratic (minutes on a 50,000-renewal run; seconds as a hash join).
    `SELECT DISTINCT a.id, a.invoice_id, a.created_at, e.occurred_at
       FROM events e JOIN payment_attempts a ON a.invoice_id = e.invoice_id
       LEFT JOIN events st ON st.type = 'payment_attempt.started' AND st.invoice_id = a.invoice_id AND st.data->>'attempt_id' = a.id
      WHERE e.type = 'subscription.downgraded'
        AND (a.created_at > e.occurred_at OR st.id > e.id)`,
  );
}

/**
 * Attempts made after a cancel took effect on an invoice that existed then (a new purchase after
 * the cancel is not one), and attempts made on an invoice after it was voided. "After" by time or,
 * at the same instant (test clock), by event order: the attempt's started event follows the cancel's.
 */
export async function attemptsAfterCancel(q: Queryable) {
  return q.query<{ id: string; invoice_id: string; created_at: Date; occurred_at: Date; after: string }>(
    `SELECT DISTINCT a.id, a.invoice_id, a.created_at, e.occurred_at, e.type AS after
       FROM events e
       JOIN invoices i ON i.subscription_id = e.subscription_id
       JOIN events ic ON ic.type = 'invoice.created' AND ic.invoice_id = i.id AND ic.id < e.id
       JOIN payment_attempts a ON a.invoice_id = i.id
       LEFT JOIN events st ON st.type = 'payment_attempt.started' AND st.invoice_id = a.invoice_id AND st.data->>'attempt_id' = a.id
      WHERE e.type = 'subscription.canceled'
        AND (a.created_at > e.occurred_at OR st.id > e.id)
     UNION
     SELECT DISTINCT a.id, a.invoice_id, a.created_at, e.occurred_at, e.type AS after
       FROM events e JOIN payment_attempts a ON a.invoice_id = e.invoice_id
       LEFT JOIN events st ON st.type = 'payment_attempt.started' AND st.invoice_id = a.invoice_id AND st.data->>'attempt_id' = a.id
      WHERE e.type = 'invoice.voided'
        AND (a.created_at > e.occurred_at OR st.id > e.id)`,
  );
}

export async function attemptsAfterPaid(q: Queryable) {
  return q.query<{ id: string; invoice_id: string; created_at: Date; paid_at: Date }>(
    `SELECT a.id, a.invoice_id, a.created_at, i.paid_at FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id
      WHERE i.paid_at IS NOT NULL AND a.created_at > i.paid_at`,
  );
}

// ---- what the card networks forbid ----

export async function retriesAfterNever(q: Queryable) {
  return q.query<{ id: string; invoice_id: string; payment_method_id: string; trigger: string; never_id: string; reason: string | null }>(
    `SELECT b.id, b.invoice_id, b.payment_method_id, b.trigger, a.id AS never_id, a.reason
       FROM payment_attempts a JOIN payment_attempts b
         ON b.invoice_id = a.invoice_id AND b.payment_method_id = a.payment_method_id AND b.number > a.number
      WHERE a.retry_class = 'never'`,
  );
}

/** The decline rules (reason → retry class) of every stored policy. */
export async function policyDeclineRules(q: Queryable): Promise<Record<string, string>[]> {
  const rows = await q.query<{ policy: { decline_rules?: Record<string, string> } | null }>('SELECT policy FROM dunning_policies');
  return rows.map((p) => p.policy?.decline_rules ?? {});
}

/** Scheduled attempts right after an attempt on the same card whose decline needed the customer. */
export async function scheduledAfterCustomerDecline(q: Queryable) {
  return q.query<{ id: string; invoice_id: string; payment_method_id: string; prev_id: string; reason: string | null }>(
    `SELECT b.id, b.invoice_id, b.payment_method_id, p.id AS prev_id, p.reason
       FROM payment_attempts b
       JOIN LATERAL (SELECT * FROM payment_attempts x WHERE x.invoice_id = b.invoice_id AND x.payment_method_id = b.payment_method_id
                      AND x.number < b.number ORDER BY x.number DESC LIMIT 1) p ON true
      WHERE b.trigger = 'scheduled' AND p.retry_class = 'customer'`,
  );
}

// Per card (the same number entered again is the same card). Windows are half-open, as the planner counts them.
const card = `COALESCE(pm.account_id || ':' || pm.brand || ':' || pm.last4 || ':' || pm.exp_month || '/' || pm.exp_year, a.payment_method_id)`;

/** Cards with more than `cap` attempts in some 30 days: the card, its worst count and when. */
export async function cardsOverAttemptCap(q: Queryable, cap: number) {
  return q.query<{ card: string; n: number; at: Date }>(
    `SELECT card, max(n)::int AS n, (array_agg(at ORDER BY n DESC))[1] AS at FROM (
       SELECT ${card} AS card, a.created_at AS at,
              count(*) OVER (PARTITION BY ${card} ORDER BY a.created_at RANGE BETWEEN interval '29 days 23:59:59.999' PRECEDING AND CURRENT ROW) AS n
         FROM payment_attempts a JOIN payment_methods pm ON pm.id = a.payment_method_id) w
     WHERE n > $1 GROUP BY card`,
    [cap],
  );
}

/**
 * Payment methods with more than `cap` attempts in some 30 days, counting windows that end at or
 * after `since` (the policy's own cap is per saved payment method, as the planner applies it).
 */
export async function paymentMethodsOverAttemptCap(q: Queryable, cap: number, since: Date | null) {
  return q.query<{ payment_method_id: string; account_id: string; n: number; at: Date }>(
    `SELECT payment_method_id, account_id, max(n)::int AS n, (array_agg(at ORDER BY n DESC))[1] AS at FROM (
       SELECT a.payment_method_id, a.account_id, a.created_at AS at,
              count(*) OVER (PARTITION BY a.payment_method_id ORDER BY a.created_at RANGE BETWEEN interval '29 days 23:59:59.999' PRECEDING AND CURRENT ROW) AS n
         FROM payment_attempts a WHERE a.payment_method_id IS NOT NULL) w
     WHERE n > $1 AND ($2::timestamptz IS NULL OR at >= $2) GROUP BY payment_method_id, account_id`,
    [cap, since],
  );
}

/** When the dunning policy last changed (null: never stored). */
export async function policiesChangedAt(q: Queryable): Promise<Date | null> {
  const [r] = await q.query<{ at: Date | null }>('SELECT max(updated_at) AS at FROM dunning_policies');
  return r?.at ? new Date(r.at) : null;
}

/** Cards with more than `cap` declines in some 24 hours. */
export async function cardsOverDeclineCap(q: Queryable, cap: number) {
  return q.query<{ card: string; n: number; at: Date }>(
    `SELECT card, max(n)::int AS n, (array_agg(at ORDER BY n DESC))[1] AS at FROM (
       SELECT ${card} AS card, a.created_at AS at,
              count(*) OVER (PARTITION BY ${card} ORDER BY a.created_at RANGE BETWEEN interval '23:59:59.999' PRECEDING AND CURRENT ROW) AS n
         FROM payment_attempts a JOIN payment_methods pm ON pm.id = a.payment_method_id
        WHERE a.outcome IN ('declined', 'requires_action')) w
     WHERE n > $1 GROUP BY card`,
    [cap],
  );
}

// ---- every outcome told: the event and the e-mail (outbox row, same transaction) ----

const hasEvent = (type: string) => `EXISTS (SELECT 1 FROM events e WHERE e.invoice_id = i.id AND e.type = '${type}')`;
const hasMail = (...templates: string[]) =>
  `EXISTS (SELECT 1 FROM notifications n WHERE n.dedupe_key IN (${templates.map((t) => `'${t}:' || i.id`).join(', ')}) AND n.template IN (${templates.map((t) => `'${t}'`).join(', ')}))`;
const ids = (q: Queryable, sql: string) => q.query<{ id: string }>(sql);

export const paidWithoutEvent = (q: Queryable) => ids(q, `SELECT i.id FROM invoices i WHERE i.status = 'paid' AND NOT ${hasEvent('invoice.paid')}`);
// A proration's receipt is the plan_changed e-mail; an invoice that replaced a past-due one (a plan
// change in grace) was told by its subscription.plan_changed event and plan_changed e-mail.
export const paidWithoutEmail = (q: Queryable) =>
  ids(q, `SELECT i.id FROM invoices i WHERE i.status = 'paid' AND NOT ${hasMail('purchase_succeeded', 'renewal_succeeded', 'retry_succeeded')} AND NOT (i.kind = 'proration' AND ${hasMail('plan_changed')})`);
export const pastDueWithoutEvent = (q: Queryable) =>
  ids(q, `SELECT i.id FROM invoices i WHERE i.failed_at IS NOT NULL AND NOT ${hasEvent('subscription.past_due')} AND NOT ${hasEvent('subscription.plan_changed')}`);
export const pastDueWithoutEmail = (q: Queryable) =>
  ids(q, `SELECT i.id FROM invoices i WHERE i.failed_at IS NOT NULL AND NOT ${hasMail('renewal_failed', 'authentication_required', 'plan_changed')}`);
export const uncollectibleWithoutEvent = (q: Queryable) =>
  ids(q, `SELECT i.id FROM invoices i WHERE i.status = 'uncollectible' AND NOT ${hasEvent('subscription.downgraded')}`);

export async function downgradesWithoutEmail(q: Queryable) {
  return q.query<{ id: number; invoice_id: string | null; subscription_id: string }>(
    `SELECT e.id, e.invoice_id, e.subscription_id FROM events e
      WHERE e.type = 'subscription.downgraded'
        AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.template = 'downgraded'
                         AND (n.dedupe_key = 'downgraded:' || e.invoice_id
                              OR (e.invoice_id IS NULL AND n.dedupe_key LIKE 'downgraded:' || e.subscription_id || ':%')))`,
  );
}

export const downgradedWithoutEvent = (q: Queryable) =>
  ids(
    q,
    `SELECT s.id FROM subscriptions s WHERE s.status = 'downgraded'
        AND NOT EXISTS (SELECT 1 FROM events e WHERE e.subscription_id = s.id AND e.type = 'subscription.downgraded')`,
  );

// ---- paid periods: each renewal starts where the previous paid period ended; none overlap ----

export async function renewalsNotFollowingPaidPeriod(q: Queryable) {
  return q.query<{ id: string; subscription_id: string; kind: string; status: string; period_start: Date; prev_id: string; prev_status: string; prev_end: Date }>(
    `SELECT id, subscription_id, kind, status, period_start, prev_id, prev_status, prev_end FROM (
       SELECT i.*, lag(i.id) OVER w AS prev_id, lag(i.status) OVER w AS prev_status, lag(i.period_end) OVER w AS prev_end
         FROM invoices i WHERE i.status <> 'void' AND i.kind <> 'proration'
       WINDOW w AS (PARTITION BY i.subscription_id ORDER BY i.period_start, i.created_at)) x
     WHERE x.status = 'paid' AND x.kind = 'renewal' AND x.prev_id IS NOT NULL
       AND (x.prev_status <> 'paid' OR x.prev_end <> x.period_start)`,
  );
}

export async function overlappingPaidPeriods(q: Queryable) {
  return q.query<{ id: string; subscription_id: string; period_start: Date; prev_id: string; prev_end: Date }>(
    `SELECT id, subscription_id, period_start, prev_id, prev_end FROM (
       SELECT i.*, lag(i.id) OVER w AS prev_id, lag(i.period_end) OVER w AS prev_end
         FROM invoices i WHERE i.status = 'paid' AND i.kind <> 'proration'
       WINDOW w AS (PARTITION BY i.subscription_id ORDER BY i.period_start, i.created_at)) x
     WHERE x.prev_end > x.period_start`,
  );
}

// ---- plan changes: the charges of a period add up ----

/**
 * Paid periods whose charges exceed the dearest plan's full price: the period's invoice plus the
 * paid prorations of its rest (same subscription, same end, starting inside it) against the highest
 * price of any plan in the period's currency and interval.
 */
export async function periodsChargedOverDearest(q: Queryable) {
  return q.query<{ id: string; total: string; dearest: string | null }>(
    `SELECT id, total, dearest FROM (
       SELECT p.id, p.amount + COALESCE((SELECT sum(x.amount) FROM invoices x
                 WHERE x.subscription_id = p.subscription_id AND x.kind = 'proration' AND x.status = 'paid'
                   AND x.period_end = p.period_end AND x.period_start >= p.period_start), 0) AS total,
              (SELECT max(pp.amount) FROM plan_prices pp WHERE pp.currency = p.currency AND pp.interval = p.interval) AS dearest
         FROM invoices p WHERE p.status = 'paid' AND p.kind <> 'proration') t
      WHERE dearest IS NULL OR total > dearest`,
  );
}

/**
 * Paid prorations with what recomputing them needs: the paid period they are part of, the plan the
 * change was from (their invoice.created event) and both plans' prices for their currency and interval.
 */
export async function paidProrations(q: Queryable) {
  return q.query<{ id: string; amount: string; at: Date; period_start: Date; period_end: Date; from_plan_id: string | null; old_price: string | null; new_price: string | null }>(
    `SELECT i.id, i.amount, i.period_start AS at, p.period_start, p.period_end, e.data->>'from_plan_id' AS from_plan_id,
            (SELECT pp.amount FROM plan_prices pp WHERE pp.plan_id = e.data->>'from_plan_id' AND pp.currency = i.currency AND pp.interval = i.interval) AS old_price,
            (SELECT pp.amount FROM plan_prices pp WHERE pp.plan_id = i.plan_id AND pp.currency = i.currency AND pp.interval = i.interval) AS new_price
       FROM invoices i
       JOIN LATERAL (SELECT p.period_start, p.period_end FROM invoices p
                      WHERE p.subscription_id = i.subscription_id AND p.status = 'paid' AND p.kind <> 'proration'
                        AND p.period_end = i.period_end AND p.period_start <= i.period_start
                      ORDER BY p.period_start DESC LIMIT 1) p ON true
       LEFT JOIN LATERAL (SELECT e.data FROM events e WHERE e.invoice_id = i.id AND e.type = 'invoice.created' ORDER BY e.id LIMIT 1) e ON true
      WHERE i.kind = 'proration' AND i.status = 'paid'`,
  );
}

/** Prorations that are not a part of a period: above their plan's full price, or outside any paid period. */
export async function prorationsOutOfRule(q: Queryable) {
  return q.query<{ id: string; amount: string; price: string | null; covered: boolean }>(
    `SELECT i.id, i.amount, pp.amount AS price,
            EXISTS (SELECT 1 FROM invoices p WHERE p.subscription_id = i.subscription_id AND p.status = 'paid' AND p.kind <> 'proration'
                     AND p.period_end = i.period_end AND p.period_start <= i.period_start) AS covered
       FROM invoices i LEFT JOIN plan_prices pp ON pp.plan_id = i.plan_id AND pp.currency = i.currency AND pp.interval = i.interval
      WHERE i.kind = 'proration' AND i.status = 'paid'
        AND (pp.amount IS NULL OR i.amount > pp.amount
             OR NOT EXISTS (SELECT 1 FROM invoices p WHERE p.subscription_id = i.subscription_id AND p.status = 'paid' AND p.kind <> 'proration'
                             AND p.period_end = i.period_end AND p.period_start <= i.period_start))`,
  );
}

export async function currentPeriodsNotPaid(q: Queryable) {
  return q.query<{ id: string; current_period_start: Date; current_period_end: Date }>(
    `SELECT s.id, s.current_period_start, s.current_period_end FROM subscriptions s JOIN plans p ON p.id = s.plan_id
      WHERE s.status IN ('active', 'past_due') AND NOT p.free
        AND EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'paid')
        AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'paid'
                         AND i.period_start = s.current_period_start AND i.period_end = s.current_period_end)`,
  );
}

// ---- statuses agree: grace has its past-due invoice; no past-due invoice outside grace ----

export async function statusesDisagreeing(q: Queryable) {
  return q.query<{ id: string; status: string; grace_ends_at: Date | null; n: number }>(
    `SELECT s.id, s.status, s.grace_ends_at, (SELECT count(*) FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'past_due')::int AS n
       FROM subscriptions s
      WHERE (s.status = 'past_due' AND (s.grace_ends_at IS NULL OR NOT EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'past_due')))
         OR (s.status <> 'past_due' AND EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'past_due'))`,
  );
}

// ---- buying back: one live subscription, a new period from the purchase, nothing half-made ----

/** Accounts with more than one live paid subscription (active on a paid plan, or past due). */
export async function accountsWithSeveralLiveSubscriptions(q: Queryable) {
  return q.query<{ account_id: string; n: number; ids: string }>(
    `SELECT s.account_id, count(*)::int AS n, string_agg(s.id, ',' ORDER BY s.id) AS ids
       FROM subscriptions s JOIN plans p ON p.id = s.plan_id
      WHERE s.status = 'past_due' OR (s.status = 'active' AND NOT p.free)
      GROUP BY s.account_id HAVING count(*) > 1`,
  );
}

/** Purchases (first or buy-back) whose period starts before the purchase: the customer would pay for the gap. */
export async function purchasesStartingBeforeTheyWereMade(q: Queryable) {
  return q.query<{ id: string; subscription_id: string; period_start: Date; created_at: Date }>(
    `SELECT i.id, i.subscription_id, i.period_start, i.created_at FROM invoices i
      WHERE i.kind = 'purchase' AND i.status <> 'void' AND i.period_start < i.created_at`,
  );
}

/** Purchase invoices still open with nothing in flight: neither paid nor voided, ever. */
export async function purchasesLeftOpen(q: Queryable) {
  return q.query<{ id: string; subscription_id: string; status: string }>(
    `SELECT i.id, i.subscription_id, i.status FROM invoices i
      WHERE i.kind = 'purchase' AND i.status IN ('open', 'past_due')
        AND NOT EXISTS (SELECT 1 FROM payment_attempts a WHERE a.invoice_id = i.id AND a.outcome IN ('pending', 'unknown'))`,
  );
}

// ---- documents (issue 23): numbers without gaps, every issued invoice numbered, cancellations credited ----

/**
 * Series (prefix, year) whose stored numbers are not exactly 1…n, or whose counter does not stand
 * at n + 1 (a number handed out and lost, or handed out twice).
 */
export async function documentSeriesWithGaps(q: Queryable) {
  return q.query<{ prefix: string; year: number; n: number | null; distinct_seqs: number | null; lo: number | null; hi: number | null; next: number | null }>(
    `WITH docs AS (SELECT number_prefix AS p, number_year AS y, number_seq AS s FROM invoices WHERE number IS NOT NULL
                   UNION ALL SELECT number_prefix, number_year, number_seq FROM credit_notes),
          agg AS (SELECT p, y, count(*)::int AS n, count(DISTINCT s)::int AS d, min(s)::bigint AS lo, max(s)::bigint AS hi FROM docs GROUP BY p, y)
     SELECT COALESCE(a.p, ds.prefix) AS prefix, COALESCE(a.y, ds.year) AS year, a.n, a.d AS distinct_seqs, a.lo, a.hi, ds.next
       FROM agg a FULL JOIN document_series ds ON ds.prefix = a.p AND ds.year = a.y
      WHERE a.p IS NULL OR ds.prefix IS NULL OR a.n <> a.d OR a.lo <> 1 OR a.hi <> a.n OR ds.next <> a.hi + 1`,
  );
}

/** Invoices issued (paid, past due, uncollectible) since numbering began that have no number. */
export const finalInvoicesWithoutNumber = (q: Queryable) =>
  q.query<{ id: string; status: string }>(
    `SELECT id, status FROM invoices WHERE number IS NULL AND NOT pre_numbering AND status IN ('paid', 'past_due', 'uncollectible')`,
  );

/** Numbered invoices that were never issued (still open), or voided with no credit note cancelling them. */
export const numberedInvoicesNotIssued = (q: Queryable) =>
  q.query<{ id: string; number: string; status: string }>(
    `SELECT i.id, i.number, i.status FROM invoices i
      WHERE i.number IS NOT NULL AND (i.status = 'open' OR (i.status = 'void' AND NOT EXISTS (SELECT 1 FROM credit_notes c WHERE c.invoice_id = i.id)))`,
  );

/** Invoices credited for more than their amount, or in another currency. */
export const overCreditedInvoices = (q: Queryable) =>
  q.query<{ id: string; amount: number; credited: number; currencies: string }>(
    `SELECT i.id, i.amount, sum(c.amount)::bigint AS credited, string_agg(DISTINCT c.currency, ',') AS currencies
       FROM invoices i JOIN credit_notes c ON c.invoice_id = i.id
      GROUP BY i.id, i.amount, i.currency
     HAVING sum(c.amount) > i.amount OR bool_or(c.currency <> i.currency)`,
  );
