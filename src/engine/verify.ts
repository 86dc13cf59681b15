// The billing invariants, checked from the store alone (reads only, plain SQL): no invoice charged
// twice, no renewal lost, no retry the card networks forbid, no e-mail missing, no gap or overlap
// between paid periods. Optionally also against the gateway's own list of succeeded charges.
// `renewd verify` prints the report; the chaos and reliability tests assert it is empty.
import type { Queryable } from '../store/db.ts';
import { NETWORK_CAPS } from '../core/dunning.ts';

export interface Violation {
  rule: string;
  detail: string;
}

export interface VerifyReport {
  /** How many rows each rule looked at. */
  checked: Record<string, number>;
  violations: Violation[];
}

/** A succeeded charge as the gateway lists it (a Stripe PaymentIntent is fine as it is). */
export interface GatewayCharge {
  id?: string;
  idempotency_key?: string | null;
  /** The renewd invoice; else taken from metadata.renewd_invoice, else from the idempotency key. */
  invoice_id?: string | null;
  metadata?: Record<string, string | undefined> | null;
  amount: number;
  currency?: string | null;
  /** Only 'succeeded' charges count; absent means succeeded. */
  status?: string | null;
}

export interface VerifyOptions {
  /** The gateway's charges; when given, every invoice is compared with them. */
  charges?: GatewayCharge[];
  /** Details kept per rule (the count is always exact). Default 50. */
  maxDetailsPerRule?: number;
}

/** The rules, in the order they run; every violation's `rule` is one of these. */
export const RULES = [
  'one_success_per_invoice',
  'paid_iff_succeeded',
  'charge_amount',
  'gateway_double_charge',
  'gateway_missing_charge',
  'gateway_unrecorded_charge',
  'gateway_mismatch',
  'backlog',
  'stalled_subscription',
  'lost_renewal',
  'orphan_in_flight',
  'attempt_after_downgrade',
  'attempt_after_paid',
  'retry_after_never',
  'blind_retry',
  'card_cap_30d',
  'card_declines_24h',
  'paid_event',
  'paid_email',
  'past_due_event',
  'past_due_email',
  'downgrade_event',
  'downgrade_email',
  'period_gap',
  'period_overlap',
  'current_period',
  'status_consistency',
] as const;
export type Rule = (typeof RULES)[number];

type Row = Record<string, any>;
const iso = (v: unknown) => (v == null ? 'null' : new Date(v as string).toISOString());

/** Keys of the attempts' idempotency keys: renewd_<invoice id>_<number>. */
export function invoiceOfKey(key: string | null | undefined): string | null {
  const m = key ? /^renewd_(.+)_(\d+)$/.exec(key) : null;
  return m ? m[1] : null;
}

export async function verifyInvariants(db: Queryable, now: Date, opts: VerifyOptions | GatewayCharge[] = {}): Promise<VerifyReport> {
  const o: VerifyOptions = Array.isArray(opts) ? { charges: opts } : opts;
  const max = o.maxDetailsPerRule ?? 50;
  const checked: Record<string, number> = {};
  const violations: Violation[] = [];
  const counts = new Map<string, number>();
  const fail = (rule: Rule, detail: string) => {
    const n = (counts.get(rule) ?? 0) + 1;
    counts.set(rule, n);
    if (n <= max) violations.push({ rule, detail });
  };
  const q = <T = Row>(sql: string, params?: unknown[]) => db.query<T>(sql, params);

  const [tot] = await q<Row>(
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
  Object.assign(checked, tot);

  // ---- at most one charge per invoice, and the store agrees with itself ----
  for (const r of await q(
    `SELECT invoice_id, count(*)::int AS n, string_agg(id, ',') AS ids FROM payment_attempts WHERE outcome = 'succeeded' GROUP BY invoice_id HAVING count(*) > 1`,
  ))
    fail('one_success_per_invoice', `invoice ${r.invoice_id} has ${r.n} succeeded attempts (${r.ids})`);

  for (const r of await q(
    `SELECT i.id, i.status, count(a.id) FILTER (WHERE a.outcome = 'succeeded')::int AS n
       FROM invoices i LEFT JOIN payment_attempts a ON a.invoice_id = i.id
      GROUP BY i.id, i.status
     HAVING (i.status = 'paid' AND count(a.id) FILTER (WHERE a.outcome = 'succeeded') <> 1)
         OR (i.status <> 'paid' AND count(a.id) FILTER (WHERE a.outcome = 'succeeded') > 0)`,
  ))
    fail('paid_iff_succeeded', `invoice ${r.id} is ${r.status} with ${r.n} succeeded attempt(s)`);

  for (const r of await q(
    `SELECT a.id, a.invoice_id, a.amount, a.currency, i.amount AS inv_amount, i.currency AS inv_currency
       FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id
      WHERE a.amount <> i.amount OR a.currency <> i.currency`,
  ))
    fail('charge_amount', `attempt ${r.id} charges ${r.amount} ${r.currency} for invoice ${r.invoice_id} of ${r.inv_amount} ${r.inv_currency}`);

  // ---- the gateway's side: exactly one succeeded charge per paid invoice, none for the others ----
  if (o.charges) {
    const succeeded = o.charges.filter((c) => c.status == null || c.status === 'succeeded');
    checked.gateway_charges = succeeded.length;
    const byInvoice = new Map<string, GatewayCharge[]>();
    for (const c of succeeded) {
      const inv = c.invoice_id ?? c.metadata?.renewd_invoice ?? invoiceOfKey(c.idempotency_key);
      if (!inv) {
        fail('gateway_unrecorded_charge', `charge ${c.id ?? c.idempotency_key ?? '?'} of ${c.amount} names no renewd invoice`);
        continue;
      }
      byInvoice.set(inv, [...(byInvoice.get(inv) ?? []), c]);
    }
    const invoices = await q(
      `SELECT i.id, i.status, i.amount, i.currency,
              (SELECT a.idempotency_key FROM payment_attempts a WHERE a.invoice_id = i.id AND a.outcome = 'succeeded' LIMIT 1) AS paid_key,
              (SELECT array_agg(a.idempotency_key) FROM payment_attempts a WHERE a.invoice_id = i.id AND a.outcome IN ('pending', 'unknown')) AS in_flight_keys
         FROM invoices i WHERE i.status = 'paid' OR i.id = ANY($1)`,
      [[...byInvoice.keys()]],
    );
    const known = new Map(invoices.map((r) => [r.id as string, r]));
    let inFlight = 0;
    for (const [inv, list] of byInvoice) {
      const r = known.get(inv);
      if (list.length > 1)
        fail('gateway_double_charge', `invoice ${inv} was charged ${list.length} times at the gateway (${list.map((c) => c.id ?? c.idempotency_key).join(', ')})`);
      if (!r) {
        fail('gateway_unrecorded_charge', `the gateway charged ${list[0].amount} for invoice ${inv}, which the store does not have`);
        continue;
      }
      if (r.status !== 'paid') {
        const flying = (r.in_flight_keys ?? []) as string[];
        const unexplained = list.filter((c) => !c.idempotency_key || !flying.includes(c.idempotency_key));
        if (unexplained.length === 0) inFlight++;
        else fail('gateway_unrecorded_charge', `invoice ${inv} is ${r.status} in the store but the gateway charged it (${unexplained.map((c) => c.idempotency_key ?? c.id).join(', ')})`);
        continue;
      }
      for (const c of list) {
        if (Number(c.amount) !== Number(r.amount) || (c.currency && c.currency.toUpperCase() !== String(r.currency).toUpperCase()))
          fail('gateway_mismatch', `invoice ${inv} of ${r.amount} ${r.currency} was charged ${c.amount} ${c.currency ?? ''} at the gateway`);
        if (c.idempotency_key && r.paid_key && c.idempotency_key !== r.paid_key)
          fail('gateway_mismatch', `invoice ${inv} is paid by attempt key ${r.paid_key} but the gateway charged key ${c.idempotency_key}`);
      }
    }
    for (const r of invoices)
      if (r.status === 'paid' && !byInvoice.has(r.id)) fail('gateway_missing_charge', `invoice ${r.id} is paid in the store but the gateway has no succeeded charge for it`);
    checked.gateway_charges_in_flight = inFlight;
  }

  // ---- nothing lost: due work is flagged unless an attempt is in flight; nothing left unscheduled ----
  const inFlightSub = `EXISTS (SELECT 1 FROM invoices i JOIN payment_attempts a ON a.invoice_id = i.id
                                WHERE i.subscription_id = s.id AND a.outcome IN ('pending', 'unknown'))`;
  for (const r of await q(
    `SELECT s.id, s.status, s.next_action, s.next_action_at FROM subscriptions s WHERE s.next_action_at <= $1 AND NOT ${inFlightSub} ORDER BY s.next_action_at`,
    [now],
  ))
    fail('backlog', `subscription ${r.id} (${r.status}) was due to ${r.next_action ?? 'act'} at ${iso(r.next_action_at)} and nothing is in flight`);

  for (const r of await q(
    `SELECT s.id, s.status FROM subscriptions s JOIN plans p ON p.id = s.plan_id
      WHERE s.next_action_at IS NULL AND ((s.status = 'active' AND NOT p.free) OR s.status = 'past_due')`,
  ))
    fail('stalled_subscription', `subscription ${r.id} is ${r.status} on a paid plan but nothing is scheduled for it`);

  for (const r of await q(
    `SELECT s.id, s.current_period_end, s.next_action_at FROM subscriptions s JOIN plans p ON p.id = s.plan_id
      WHERE s.status = 'active' AND NOT p.free AND s.auto_renew AND s.current_period_end <= $1
        AND s.next_action_at > $1
        AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.status IN ('open', 'past_due'))`,
    [now],
  ))
    fail('lost_renewal', `subscription ${r.id}'s period ended at ${iso(r.current_period_end)} with no renewal invoice; next look only at ${iso(r.next_action_at)}`);

  for (const r of await q(
    `SELECT a.id, a.invoice_id, i.status AS inv_status, s.id AS sub_id, s.next_action_at
       FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id JOIN subscriptions s ON s.id = i.subscription_id
      WHERE a.outcome IN ('pending', 'unknown') AND (i.status NOT IN ('open', 'past_due') OR s.next_action_at IS NULL)`,
  ))
    fail('orphan_in_flight', `attempt ${r.id} of invoice ${r.invoice_id} (${r.inv_status}) is in flight but will never be reconciled (subscription ${r.sub_id} next look ${iso(r.next_action_at)})`);

  // ---- no attempt on a closed invoice ----
  for (const r of await q(
    // A join, not a correlated EXISTS: events has no index by invoice, and a subquery per attempt
    // made this check quadratic (minutes on a 50,000-renewal run; seconds as a hash join).
    `SELECT DISTINCT a.id, a.invoice_id, a.created_at, e.occurred_at
       FROM events e JOIN payment_attempts a ON a.invoice_id = e.invoice_id
       LEFT JOIN events st ON st.type = 'payment_attempt.started' AND st.invoice_id = a.invoice_id AND st.data->>'attempt_id' = a.id
      WHERE e.type = 'subscription.downgraded'
        AND (a.created_at > e.occurred_at OR st.id > e.id)`,
  ))
    fail('attempt_after_downgrade', `attempt ${r.id} on invoice ${r.invoice_id} was made at ${iso(r.created_at)}, after the downgrade at ${iso(r.occurred_at)}`);

  for (const r of await q(
    `SELECT a.id, a.invoice_id, a.created_at, i.paid_at FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id
      WHERE i.paid_at IS NOT NULL AND a.created_at > i.paid_at`,
  ))
    fail('attempt_after_paid', `attempt ${r.id} on invoice ${r.invoice_id} was made at ${iso(r.created_at)}, after it was paid at ${iso(r.paid_at)}`);

  // ---- what the card networks forbid ----
  for (const r of await q(
    `SELECT b.id, b.invoice_id, b.payment_method_id, b.trigger, a.id AS never_id, a.reason
       FROM payment_attempts a JOIN payment_attempts b
         ON b.invoice_id = a.invoice_id AND b.payment_method_id = a.payment_method_id AND b.number > a.number
      WHERE a.retry_class = 'never'`,
  ))
    fail('retry_after_never', `attempt ${r.id} (${r.trigger}) charged payment method ${r.payment_method_id} again after its hard decline ${r.never_id} (${r.reason ?? 'never retry'}) on invoice ${r.invoice_id}`);

  // A decline that needs the customer (expired card, authentication) is not retried blindly: a
  // scheduled attempt right after one on the same card is forbidden unless a policy reclassified it.
  const loosened = new Set<string>();
  for (const p of await q('SELECT policy FROM dunning_policies')) {
    const rules = (p.policy?.decline_rules ?? {}) as Record<string, string>;
    for (const [reason, cls] of Object.entries(rules)) if (cls !== 'customer') loosened.add(reason);
  }
  for (const r of await q(
    `SELECT b.id, b.invoice_id, b.payment_method_id, p.id AS prev_id, p.reason
       FROM payment_attempts b
       JOIN LATERAL (SELECT * FROM payment_attempts x WHERE x.invoice_id = b.invoice_id AND x.payment_method_id = b.payment_method_id
                      AND x.number < b.number ORDER BY x.number DESC LIMIT 1) p ON true
      WHERE b.trigger = 'scheduled' AND p.retry_class = 'customer'`,
  )) {
    if (r.reason && loosened.has(r.reason)) continue;
    fail('blind_retry', `scheduled attempt ${r.id} retried payment method ${r.payment_method_id} after ${r.prev_id} needed the customer (${r.reason}) on invoice ${r.invoice_id}`);
  }

  // Per card (the same number entered again is the same card): Visa ≤ 20 attempts in 30 days,
  // Mastercard ≤ 10 declines in 24 h. Windows are half-open, as the planner counts them.
  const card = `COALESCE(pm.account_id || ':' || pm.brand || ':' || pm.last4 || ':' || pm.exp_month || '/' || pm.exp_year, a.payment_method_id)`;
  for (const r of await q(
    `SELECT card, max(n)::int AS n, (array_agg(at ORDER BY n DESC))[1] AS at FROM (
       SELECT ${card} AS card, a.created_at AS at,
              count(*) OVER (PARTITION BY ${card} ORDER BY a.created_at RANGE BETWEEN interval '29 days 23:59:59.999' PRECEDING AND CURRENT ROW) AS n
         FROM payment_attempts a JOIN payment_methods pm ON pm.id = a.payment_method_id) w
     WHERE n > $1 GROUP BY card`,
    [NETWORK_CAPS.attempts_per_card_30d],
  ))
    fail('card_cap_30d', `card ${r.card} had ${r.n} attempts in the 30 days up to ${iso(r.at)} (cap ${NETWORK_CAPS.attempts_per_card_30d})`);

  for (const r of await q(
    `SELECT card, max(n)::int AS n, (array_agg(at ORDER BY n DESC))[1] AS at FROM (
       SELECT ${card} AS card, a.created_at AS at,
              count(*) OVER (PARTITION BY ${card} ORDER BY a.created_at RANGE BETWEEN interval '23:59:59.999' PRECEDING AND CURRENT ROW) AS n
         FROM payment_attempts a JOIN payment_methods pm ON pm.id = a.payment_method_id
        WHERE a.outcome IN ('declined', 'requires_action')) w
     WHERE n > $1 GROUP BY card`,
    [NETWORK_CAPS.declines_per_card_24h],
  ))
    fail('card_declines_24h', `card ${r.card} had ${r.n} declines in the 24 h up to ${iso(r.at)} (cap ${NETWORK_CAPS.declines_per_card_24h})`);

  // ---- every outcome told: the event and the e-mail (outbox row, same transaction) ----
  const hasEvent = (type: string) => `EXISTS (SELECT 1 FROM events e WHERE e.invoice_id = i.id AND e.type = '${type}')`;
  const hasMail = (...templates: string[]) =>
    `EXISTS (SELECT 1 FROM notifications n WHERE n.dedupe_key IN (${templates.map((t) => `'${t}:' || i.id`).join(', ')}) AND n.template IN (${templates.map((t) => `'${t}'`).join(', ')}))`;
  for (const r of await q(`SELECT i.id FROM invoices i WHERE i.status = 'paid' AND NOT ${hasEvent('invoice.paid')}`))
    fail('paid_event', `paid invoice ${r.id} has no invoice.paid event`);
  for (const r of await q(`SELECT i.id FROM invoices i WHERE i.status = 'paid' AND NOT ${hasMail('renewal_succeeded', 'retry_succeeded')}`))
    fail('paid_email', `paid invoice ${r.id} has no renewal_succeeded/retry_succeeded e-mail`);
  for (const r of await q(`SELECT i.id FROM invoices i WHERE i.failed_at IS NOT NULL AND NOT ${hasEvent('subscription.past_due')}`))
    fail('past_due_event', `invoice ${r.id} went past due without a subscription.past_due event`);
  for (const r of await q(`SELECT i.id FROM invoices i WHERE i.failed_at IS NOT NULL AND NOT ${hasMail('renewal_failed', 'authentication_required')}`))
    fail('past_due_email', `invoice ${r.id} went past due without a renewal_failed/authentication_required e-mail`);
  for (const r of await q(`SELECT i.id FROM invoices i WHERE i.status = 'uncollectible' AND NOT ${hasEvent('subscription.downgraded')}`))
    fail('downgrade_event', `invoice ${r.id} is uncollectible without a subscription.downgraded event`);
  for (const r of await q(
    `SELECT e.id, e.invoice_id, e.subscription_id FROM events e
      WHERE e.type = 'subscription.downgraded'
        AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.template = 'downgraded'
                         AND (n.dedupe_key = 'downgraded:' || e.invoice_id
                              OR (e.invoice_id IS NULL AND n.dedupe_key LIKE 'downgraded:' || e.subscription_id || ':%')))`,
  ))
    fail('downgrade_email', `the downgrade of subscription ${r.subscription_id} (invoice ${r.invoice_id ?? 'none'}) has no downgraded e-mail`);
  for (const r of await q(
    `SELECT s.id FROM subscriptions s WHERE s.status = 'downgraded'
        AND NOT EXISTS (SELECT 1 FROM events e WHERE e.subscription_id = s.id AND e.type = 'subscription.downgraded')`,
  ))
    fail('downgrade_event', `subscription ${r.id} is downgraded without a subscription.downgraded event`);

  // ---- paid periods: each renewal starts where the previous paid period ended; none overlap ----
  for (const r of await q(
    `SELECT id, subscription_id, kind, status, period_start, prev_id, prev_status, prev_end FROM (
       SELECT i.*, lag(i.id) OVER w AS prev_id, lag(i.status) OVER w AS prev_status, lag(i.period_end) OVER w AS prev_end
         FROM invoices i WHERE i.status <> 'void'
       WINDOW w AS (PARTITION BY i.subscription_id ORDER BY i.period_start, i.created_at)) x
     WHERE x.status = 'paid' AND x.kind = 'renewal' AND x.prev_id IS NOT NULL
       AND (x.prev_status <> 'paid' OR x.prev_end <> x.period_start)`,
  ))
    fail(
      'period_gap',
      `renewal ${r.id} of subscription ${r.subscription_id} starts ${iso(r.period_start)} but the invoice before it (${r.prev_id}, ${r.prev_status}) ends ${iso(r.prev_end)}`,
    );
  for (const r of await q(
    `SELECT id, subscription_id, period_start, prev_id, prev_end FROM (
       SELECT i.*, lag(i.id) OVER w AS prev_id, lag(i.period_end) OVER w AS prev_end
         FROM invoices i WHERE i.status = 'paid'
       WINDOW w AS (PARTITION BY i.subscription_id ORDER BY i.period_start, i.created_at)) x
     WHERE x.prev_end > x.period_start`,
  ))
    fail('period_overlap', `paid invoice ${r.id} of subscription ${r.subscription_id} starts ${iso(r.period_start)}, inside the paid period of ${r.prev_id} (to ${iso(r.prev_end)})`);
  for (const r of await q(
    `SELECT s.id, s.current_period_start, s.current_period_end FROM subscriptions s JOIN plans p ON p.id = s.plan_id
      WHERE s.status IN ('active', 'past_due') AND NOT p.free
        AND EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'paid')
        AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'paid'
                         AND i.period_start = s.current_period_start AND i.period_end = s.current_period_end)`,
  ))
    fail('current_period', `subscription ${r.id}'s current period ${iso(r.current_period_start)}–${iso(r.current_period_end)} is not a paid invoice's period`);

  // ---- statuses agree: grace has its past-due invoice; no past-due invoice outside grace ----
  for (const r of await q(
    `SELECT s.id, s.status, s.grace_ends_at, (SELECT count(*) FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'past_due')::int AS n
       FROM subscriptions s
      WHERE (s.status = 'past_due' AND (s.grace_ends_at IS NULL OR NOT EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'past_due')))
         OR (s.status <> 'past_due' AND EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'past_due'))`,
  ))
    fail('status_consistency', `subscription ${r.id} is ${r.status} (grace ends ${iso(r.grace_ends_at)}) with ${r.n} past-due invoice(s)`);

  for (const [rule, n] of counts) if (n > max) violations.push({ rule, detail: `… and ${n - max} more ${rule} violations` });
  checked.violations = [...counts.values()].reduce((a, b) => a + b, 0);
  return { checked, violations };
}

/** Violations per rule, for summaries. */
export function violationCounts(report: VerifyReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of report.violations) {
    const more = /^… and (\d+) more/.exec(v.detail);
    out[v.rule] = (out[v.rule] ?? 0) + (more ? Number(more[1]) : 1);
  }
  return out;
}
