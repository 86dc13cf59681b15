// Loading billing states for the state machine and writing back what a step changed.
// Everything works on batches: one statement per table, whatever the batch size, so a billing
// day of a million renewals costs a few statements per few hundred subscriptions.
import type { Queryable } from './db.ts';
import type { AttemptState, BillingState, InvoiceState, StepResult } from '../core/machine.ts';
import type { Account, PaymentMethod, Plan, Subscription } from '../core/types.ts';
import { DEFAULT_POLICY, mergePolicy, type DunningPolicy, type PolicyOverride } from '../core/dunning.ts';
import { DAY } from '../core/time.ts';
import { incidentCovering } from '../core/incidents.ts';

/** A row as the driver returns it; the converters below turn it into a domain value (rows stay inside store/). */
export type Row = Record<string, any>;

/** A subscription as the machine carries it (with its retry schedule). */
export type SubscriptionRecord = BillingState['subscription'];

const d = (v: unknown): Date | null => (v == null ? null : v instanceof Date ? v : new Date(v as string));

export function toSubscription(r: Row): SubscriptionRecord {
  return {
    id: r.id,
    account_id: r.account_id,
    plan_id: r.plan_id,
    interval: r.interval,
    auto_renew: r.auto_renew,
    status: r.status,
    billing_anchor: d(r.billing_anchor)!,
    period_index: r.period_index,
    current_period_start: d(r.current_period_start)!,
    current_period_end: d(r.current_period_end)!,
    grace_ends_at: d(r.grace_ends_at),
    next_action_at: d(r.next_action_at),
    next_action: r.next_action,
    next_retry_at: d(r.next_retry_at),
    next_retry_why: r.next_retry_why,
    scheduled_plan_id: r.scheduled_plan_id ?? null,
    scheduled_interval: r.scheduled_interval ?? null,
    grace_paused_at: d(r.grace_paused_at),
    grace_pause_ms: Number(r.grace_pause_ms ?? 0),
    grace_pause_hold_ms: Number(r.grace_pause_hold_ms ?? 0),
    chosen_retry_at: d(r.chosen_retry_at),
    version: r.version,
  };
}

export function toAccount(r: Row): Account {
  return {
    id: r.id,
    name: r.name,
    email: r.email,
    locale: r.locale,
    domain_zone: r.domain_zone,
    currency: r.currency,
    time_zone: r.time_zone,
    gateway_customer_ref: r.gateway_customer_ref,
    created_at: d(r.created_at)!,
  };
}

export function toPaymentMethod(r: Row): PaymentMethod {
  return {
    id: r.id,
    account_id: r.account_id,
    type: r.type,
    gateway_ref: r.gateway_ref,
    brand: r.brand,
    last4: r.last4,
    exp_month: r.exp_month,
    exp_year: r.exp_year,
    status: r.status,
    created_at: d(r.created_at)!,
  };
}

export function toInvoice(r: Row): InvoiceState {
  return {
    id: r.id,
    account_id: r.account_id,
    subscription_id: r.subscription_id,
    plan_id: r.plan_id,
    amount: Number(r.amount),
    currency: r.currency,
    period_start: d(r.period_start)!,
    period_end: d(r.period_end)!,
    status: r.status,
    created_at: d(r.created_at)!,
    paid_at: d(r.paid_at),
    kind: r.kind,
    interval: r.interval,
    failed_at: d(r.failed_at),
    reminders_sent: r.reminders_sent ?? [],
  };
}

export function toAttempt(r: Row): AttemptState {
  return {
    id: r.id,
    invoice_id: r.invoice_id,
    payment_method_id: r.payment_method_id,
    number: r.number,
    trigger: r.trigger,
    idempotency_key: r.idempotency_key,
    outcome: r.outcome,
    reason: r.reason,
    retry_class: r.retry_class,
    raw_code: r.raw_code,
    network_code: r.network_code,
    advice_code: r.advice_code,
    gateway_ref: r.gateway_ref,
    created_at: d(r.created_at)!,
    completed_at: d(r.completed_at),
    amount: Number(r.amount),
    currency: r.currency,
    not_before: d(r.not_before),
    incident_id: r.incident_id ?? null,
  };
}

const PLANS_SQL = `SELECT p.id, p.name, p.free, p.archived_at IS NOT NULL AS archived,
            COALESCE(json_agg(json_build_object('currency', pp.currency, 'interval', pp.interval, 'amount', pp.amount))
                     FILTER (WHERE pp.plan_id IS NOT NULL), '[]') AS prices
       FROM plans p LEFT JOIN plan_prices pp ON pp.plan_id = p.id GROUP BY p.id`;
const PLANS_JSON = `(SELECT COALESCE(json_agg(pl), '[]') FROM (${PLANS_SQL}) pl)`;

function plansFromRows(rows: Row[]): Map<string, Plan> {
  const prices = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as Row[];
  return new Map(rows.map((r) => [r.id, { id: r.id, name: r.name, free: r.free, archived: !!r.archived, prices: prices(r.prices).map((x) => ({ ...x, amount: Number(x.amount) })) as Plan['prices'] }]));
}

/** Plans change rarely; a batch loads them all once. */
export async function loadPlans(q: Queryable): Promise<Map<string, Plan>> {
  return plansFromRows(await q.query<Row>(PLANS_SQL));
}

export async function loadPolicies(q: Queryable): Promise<Map<string, PolicyOverride>> {
  const rows = await q.query<Row>('SELECT scope, policy FROM dunning_policies');
  return new Map(rows.map((r) => [r.scope, r.policy as PolicyOverride]));
}

/** The policy in force for a plan and a domain zone: default, then plan override, then zone override. */
export function policyFor(policies: Map<string, PolicyOverride>, planId: string, zone: string): DunningPolicy {
  return mergePolicy(DEFAULT_POLICY, policies.get('default'), policies.get(`plan:${planId}`), policies.get(`zone:${zone}`));
}

/**
 * The newest attempts per card a state carries. The caps read only the newest few (at most
 * NETWORK_CAPS in 30 days, 24 hours); 200 is far more than any cap allows. The LIMIT is also what
 * keeps the plan safe: a per-card subquery with ORDER BY … LIMIT is always read from the
 * (payment_method_id, created_at) index, even when the table's statistics are stale. As a plain
 * join, a billing day on a server whose statistics still said "payment_attempts is empty" hashed
 * the whole table on every batch (`npm run bench` reports sequential scans per table: 1,006 scans
 * reading 50 million rows in a run of 100,000 renewals, the engine's PostgreSQL CPU per renewal
 * rising 0.54 → 0.77 ms within that run).
 */
const CARD_HISTORY_LIMIT = 200;

/**
 * The payment incident an attempt `pa` belongs to (core/dunning.ts givenBack): one of its card's
 * scope (the gateway's covers every card) whose detection window had begun when the attempt was
 * made and that had not closed yet. Read from time and card rather than written on the attempt: the
 * incident's own transaction holds no account or subscription lock, so it may not write attempts
 * (docs/ARCHITECTURE.md, one lock order). The incidents table is a handful of rows.
 */
const ATTEMPT_INCIDENT_SQL = `(SELECT ic.id FROM incidents ic
    WHERE pa.created_at >= COALESCE(ic.window_from, ic.opened_at) AND (ic.closed_at IS NULL OR pa.created_at < ic.closed_at)
      AND (ic.scope = 'gateway' OR ic.scope = (SELECT 'brand:' || pm.brand FROM payment_methods pm WHERE pm.id = pa.payment_method_id))
    ORDER BY ic.opened_at, ic.id LIMIT 1)`;

/**
 * Billing states of the given subscriptions (already locked by the caller's transaction): as
 * subscriptions.ts returns them, or rows of `SELECT * FROM subscriptions`.
 * `plans`/`policies` may be passed in by a caller that processes many batches.
 */
export async function loadStates(
  q: Queryable,
  subRows: readonly (SubscriptionRecord | Record<string, unknown>)[],
  now: Date,
  cache?: { plans?: Map<string, Plan>; policies?: Map<string, PolicyOverride> },
): Promise<BillingState[]> {
  if (subRows.length === 0) return [];
  const subIds = subRows.map((r) => r.id as string);
  const accountIds = subRows.map((r) => r.account_id as string);
  // One round trip for everything a step needs (a billing-day batch loads them once, at its claim):
  // each part comes back as a JSON array; the row converters below accept JSON's ISO date strings.
  const [r] = await q.query<Row>(
    `SELECT
       ${cache?.plans ? 'NULL' : PLANS_JSON} AS plans,
       ${cache?.policies ? 'NULL' : `(SELECT COALESCE(json_agg(json_build_object('scope', dp.scope, 'policy', dp.policy)), '[]') FROM dunning_policies dp)`} AS policies,
       (SELECT COALESCE(json_agg(a), '[]') FROM accounts a WHERE a.id = ANY($1)) AS accounts,
       (SELECT COALESCE(json_agg(pm), '[]') FROM payment_methods pm WHERE pm.account_id = ANY($1) AND pm.status = 'active') AS pms,
       (SELECT COALESCE(json_agg(i), '[]') FROM invoices i WHERE i.subscription_id = ANY($2) AND i.status IN ('open', 'past_due')) AS invoices,
       (SELECT COALESCE(json_agg(to_jsonb(pa) || jsonb_build_object('incident_id', ${ATTEMPT_INCIDENT_SQL}) ORDER BY pa.number), '[]') FROM payment_attempts pa
         WHERE pa.invoice_id IN (SELECT i.id FROM invoices i WHERE i.subscription_id = ANY($2) AND i.status IN ('open', 'past_due'))) AS attempts,
       (SELECT COALESCE(json_agg(json_build_object('payment_method_id', ca.payment_method_id, 'created_at', ca.created_at, 'outcome', ca.outcome)), '[]')
          FROM payment_methods pm
          CROSS JOIN LATERAL (SELECT c.payment_method_id, c.created_at, c.outcome FROM payment_attempts c
                               WHERE c.payment_method_id = pm.id AND c.created_at > $3 AND c.outcome <> 'not_made'
                               ORDER BY c.created_at DESC LIMIT ${CARD_HISTORY_LIMIT}) ca
         WHERE pm.account_id = ANY($1) AND pm.status = 'active') AS card_attempts,
       (SELECT COALESCE(json_agg(json_build_object('id', ic.id, 'scope', ic.scope, 'opened_at', ic.opened_at)), '[]') FROM incidents ic WHERE ic.closed_at IS NULL) AS incidents`,
    [accountIds, subIds, new Date(now.getTime() - 30 * DAY)],
  );
  const json = (v: unknown): Row[] => (typeof v === 'string' ? JSON.parse(v) : (v as Row[]));
  const plans = cache?.plans ?? plansFromRows(json(r.plans));
  const policies = cache?.policies ?? new Map(json(r.policies).map((x) => [x.scope as string, x.policy as PolicyOverride]));
  const accounts = json(r.accounts);
  const pms = json(r.pms);
  const invoices = json(r.invoices);
  const attempts = json(r.attempts);
  const cardAttempts = json(r.card_attempts);
  const incidents = json(r.incidents).map((x) => ({ id: x.id as string, scope: x.scope as string, opened_at: d(x.opened_at)! }));
  const free = [...plans.values()].find((p) => p.free);
  const accById = new Map(accounts.map((r) => [r.id, toAccount(r)]));
  // Both active cards come back: the main one and (migration 029) the backup.
  const pmByAcc = new Map(pms.filter((r) => (r.role ?? 'primary') === 'primary').map((r) => [r.account_id, toPaymentMethod(r)]));
  const backupByAcc = new Map(pms.filter((r) => r.role === 'backup').map((r) => [r.account_id, r]));
  const invBySub = new Map(invoices.map((r) => [r.subscription_id, toInvoice(r)]));
  const attByInv = new Map<string, AttemptState[]>();
  for (const r of attempts) {
    const list = attByInv.get(r.invoice_id) ?? [];
    list.push(toAttempt(r));
    attByInv.set(r.invoice_id, list);
  }
  const cardByPm = new Map<string, BillingState['card_attempts']>();
  for (const r of cardAttempts) {
    const list = cardByPm.get(r.payment_method_id) ?? [];
    list.push({ at: d(r.created_at)!, outcome: r.outcome });
    cardByPm.set(r.payment_method_id, list);
  }
  return subRows.map((r) => {
    const subscription = toSubscription(r as Row);
    const account = accById.get(subscription.account_id)!;
    const invoice = invBySub.get(subscription.id) ?? null;
    // While a purchase is being paid, the plan being bought is the one that matters.
    const plan = plans.get(invoice?.kind === 'purchase' ? invoice.plan_id : subscription.plan_id)!;
    const pm = pmByAcc.get(account.id) ?? null;
    const policy = policyFor(policies, invoice?.plan_id ?? subscription.plan_id, account.domain_zone);
    const b = backupByAcc.get(account.id);
    return {
      subscription,
      account,
      plan,
      invoice_plan: invoice?.kind === 'proration' ? plans.get(invoice.plan_id) ?? null : null,
      scheduled_plan: subscription.scheduled_plan_id ? plans.get(subscription.scheduled_plan_id) ?? null : null,
      free_plan_id: free?.id ?? subscription.plan_id,
      payment_method: pm,
      invoice,
      attempts: invoice ? attByInv.get(invoice.id) ?? [] : [],
      card_attempts: pm ? cardByPm.get(pm.id) ?? [] : [],
      policy,
      // A plan's or zone's policy with incidents.enabled false opts its subscriptions out of the hold.
      incident: incidents.length && policy.incidents.enabled ? incidentCovering(incidents, pm) : null,
      backup: b ? { payment_method: toPaymentMethod(b), consent_at: d(b.consent_at), card_attempts: cardByPm.get(b.id) ?? [] } : null,
    };
  });
}

const iso = (v: Date | null | undefined) => (v ? v.toISOString() : null);

/** Writes what steps changed: subscriptions (by version), invoices, attempts, events. */
export async function saveSteps(
  q: Queryable,
  steps: { before: BillingState; result: StepResult }[],
  now: Date,
): Promise<void> {
  if (steps.length === 0) return;
  const subs = steps.map(({ before, result }) => {
    const s = result.state.subscription;
    return {
      id: s.id,
      version: before.subscription.version,
      plan_id: s.plan_id,
      interval: s.interval,
      auto_renew: s.auto_renew,
      status: s.status,
      billing_anchor: iso(s.billing_anchor),
      period_index: s.period_index,
      current_period_start: iso(s.current_period_start),
      current_period_end: iso(s.current_period_end),
      grace_ends_at: iso(s.grace_ends_at),
      next_action_at: iso(s.next_action_at),
      next_action: s.next_action,
      next_retry_at: iso(s.next_retry_at),
      next_retry_why: s.next_retry_why,
      scheduled_plan_id: s.scheduled_plan_id ?? null,
      scheduled_interval: s.scheduled_interval ?? null,
      grace_paused_at: iso(s.grace_paused_at ?? null),
      grace_pause_ms: s.grace_pause_ms ?? 0,
      grace_pause_hold_ms: s.grace_pause_hold_ms ?? 0,
      chosen_retry_at: iso(s.chosen_retry_at ?? null),
    };
  });
  const updated = await q.query<{ id: string }>(
    `UPDATE subscriptions s SET plan_id = x.plan_id, interval = x.interval, auto_renew = x.auto_renew, status = x.status,
            billing_anchor = x.billing_anchor, period_index = x.period_index,
            current_period_start = x.current_period_start, current_period_end = x.current_period_end,
            grace_ends_at = x.grace_ends_at, next_action_at = x.next_action_at, next_action = x.next_action,
            next_retry_at = x.next_retry_at, next_retry_why = x.next_retry_why,
            scheduled_plan_id = x.scheduled_plan_id, scheduled_interval = x.scheduled_interval,
            grace_paused_at = x.grace_paused_at, grace_pause_ms = x.grace_pause_ms, grace_pause_hold_ms = x.grace_pause_hold_ms,
            chosen_retry_at = x.chosen_retry_at, version = s.version + 1
       FROM json_to_recordset($1::json) AS x(id text, version int, plan_id text, interval text, auto_renew boolean, status text,
            billing_anchor timestamptz, period_index int, current_period_start timestamptz, current_period_end timestamptz,
            grace_ends_at timestamptz, next_action_at timestamptz, next_action text, next_retry_at timestamptz, next_retry_why text,
            scheduled_plan_id text, scheduled_interval text, grace_paused_at timestamptz, grace_pause_ms bigint, grace_pause_hold_ms bigint,
            chosen_retry_at timestamptz)
      WHERE s.id = x.id AND s.version = x.version
      RETURNING s.id`,
    [JSON.stringify(subs)],
  );
  if (updated.length !== subs.length) {
    // The caller holds the row locks, so this means a bug or an unlocked caller: refuse to write half.
    throw new Error(`concurrent update of ${subs.length - updated.length} subscription(s); step discarded`);
  }

  const newInvoices = steps.flatMap(({ result }) => (result.created_invoice ? [result.created_invoice] : []));
  const changedInvoices = steps.flatMap(({ result }) => (result.updated_invoice ? [result.updated_invoice] : []));
  // Closed first: a step that voids an invoice and replaces it (a plan change in grace) keeps one collecting.
  if (changedInvoices.length) {
    await q.query(
      `UPDATE invoices i SET status = x.status, failed_at = x.failed_at, paid_at = x.paid_at,
              reminders_sent = ARRAY(SELECT jsonb_array_elements_text(x.reminders_sent))::int[]
         FROM json_to_recordset($1::json) AS x(id text, status text, failed_at timestamptz, paid_at timestamptz, reminders_sent jsonb)
        WHERE i.id = x.id`,
      [JSON.stringify(changedInvoices.map((i) => ({ id: i.id, status: i.status, failed_at: iso(i.failed_at), paid_at: iso(i.paid_at), reminders_sent: i.reminders_sent })))],
    );
  }
  if (newInvoices.length) {
    await q.query(
      `INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, failed_at, reminders_sent, created_at, paid_at)
       SELECT x.id, x.account_id, x.subscription_id, x.plan_id, x.amount, x.currency, x.period_start, x.period_end, x.status, x.kind, x.interval,
              x.failed_at, ARRAY(SELECT jsonb_array_elements_text(x.reminders_sent))::int[], x.created_at, x.paid_at
         FROM json_to_recordset($1::json) AS x(id text, account_id text, subscription_id text, plan_id text, amount bigint, currency text,
              period_start timestamptz, period_end timestamptz, status text, kind text, interval text, failed_at timestamptz,
              reminders_sent jsonb, created_at timestamptz, paid_at timestamptz)`,
      [JSON.stringify(newInvoices.map(invoiceRow))],
    );
  }

  const attempts = steps.flatMap(({ before, result }) =>
    result.changed_attempts.map((a) => ({ a, isNew: !before.attempts.some((b) => b.id === a.id), account_id: result.state.subscription.account_id })),
  );
  const inserts = attempts.filter((x) => x.isNew);
  const updates = attempts.filter((x) => !x.isNew);
  // Updates first: an answer that ends one attempt and starts the next (a new card tried at once)
  // must end the pending one before the new pending row meets payment_attempts_one_pending.
  if (updates.length) {
    await q.query(
      `UPDATE payment_attempts p SET outcome = x.outcome, reason = x.reason, retry_class = x.retry_class, raw_code = x.raw_code,
              network_code = x.network_code, advice_code = x.advice_code, gateway_ref = x.gateway_ref, not_before = x.not_before,
              completed_at = x.completed_at
         FROM json_to_recordset($1::json) AS x(id text, outcome text, reason text, retry_class text, raw_code text, network_code text,
              advice_code text, gateway_ref text, not_before timestamptz, completed_at timestamptz)
        WHERE p.id = x.id AND p.outcome IN ('pending', 'unknown')`,
      [JSON.stringify(updates.map(({ a, account_id }) => attemptRow(a, account_id)))],
    );
  }
  if (inserts.length) {
    await q.query(
      `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class,
              raw_code, network_code, advice_code, gateway_ref, not_before, amount, currency, created_at, completed_at)
       SELECT x.id, x.invoice_id, x.account_id, x.payment_method_id, x.number, x.trigger, x.idempotency_key, x.outcome, x.reason, x.retry_class,
              x.raw_code, x.network_code, x.advice_code, x.gateway_ref, x.not_before, x.amount, x.currency, x.created_at, x.completed_at
         FROM json_to_recordset($1::json) AS x(id text, invoice_id text, account_id text, payment_method_id text, number int, trigger text,
              idempotency_key text, outcome text, reason text, retry_class text, raw_code text, network_code text, advice_code text,
              gateway_ref text, not_before timestamptz, amount bigint, currency text, created_at timestamptz, completed_at timestamptz)`,
      [JSON.stringify(inserts.map(({ a, account_id }) => attemptRow(a, account_id)))],
    );
  }

  const events = steps.flatMap(({ result }) =>
    result.effects.flatMap((e) =>
      e.type === 'event'
        ? [{ account_id: result.state.subscription.account_id, subscription_id: result.state.subscription.id, invoice_id: (e.data.invoice_id as string) ?? null, type: e.event_type, data: e.data }]
        : [],
    ),
  );
  if (events.length) await insertEvents(q, events, now);
}

export async function insertEvents(
  q: Queryable,
  events: { account_id: string | null; subscription_id?: string | null; invoice_id?: string | null; type: string; data: Record<string, unknown> }[],
  now: Date,
) {
  await q.query(
    `INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at)
     SELECT x.account_id, x.subscription_id, x.invoice_id, x.type, x.data, $2
       FROM json_to_recordset($1::json) AS x(account_id text, subscription_id text, invoice_id text, type text, data jsonb)`,
    [JSON.stringify(events.map((e) => ({ subscription_id: null, invoice_id: null, ...e }))), now],
  );
}

/** One event of an account's timeline. */
export interface TimelineEvent {
  id: number;
  type: string;
  invoice_id: string | null;
  data: Record<string, unknown>;
  at: Date;
}

/** The account's events, newest first. */
export async function eventsOfAccount(q: Queryable, accountId: string, limit: number): Promise<TimelineEvent[]> {
  const events = await q.query<Row>(
    'SELECT id, type, invoice_id, data, occurred_at FROM events WHERE account_id = $1 ORDER BY id DESC LIMIT $2',
    [accountId, limit],
  );
  return events.map((e) => ({ id: Number(e.id), type: e.type, invoice_id: e.invoice_id, data: e.data, at: e.occurred_at }));
}

/** One rendered e-mail for the outbox (the row enqueueEmail in notify/outbox.ts writes). */
export interface OutboxRow {
  id: string;
  account_id: string | null;
  template: string;
  locale: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  dedupe_key: string;
}

/**
 * Writes a batch's e-mails to the outbox in one statement, with enqueueEmail's semantics (status
 * pending, due now, a dedupe key already there means nothing is written). A batch of renewals
 * costs one round trip for its e-mails instead of one per e-mail.
 */
export async function insertOutbox(q: Queryable, rows: OutboxRow[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  // One JSON parameter (JSON.stringify is native; a text[] parameter per column is escaped
  // character by character in JavaScript, and e-mail bodies are most of a batch's bytes).
  await q.query(
    `INSERT INTO notifications (id, account_id, template, locale, to_address, subject, body_text, body_html, dedupe_key, status, attempts, next_attempt_at, created_at)
     SELECT x.id, x.account_id, x.template, x.locale, x.to, x.subject, x.text, x.html, x.dedupe_key, 'pending', 0, $2, $2
       FROM json_to_recordset($1::json) AS x(id text, account_id text, template text, locale text, "to" text, subject text, text text, html text, dedupe_key text)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [JSON.stringify(rows), now],
  );
}

function invoiceRow(i: InvoiceState) {
  return { ...i, period_start: iso(i.period_start), period_end: iso(i.period_end), failed_at: iso(i.failed_at), created_at: iso(i.created_at), paid_at: iso(i.paid_at) };
}

function attemptRow(a: AttemptState, account_id: string) {
  return {
    ...a,
    account_id,
    created_at: iso(a.created_at),
    completed_at: iso(a.completed_at),
    not_before: iso(a.not_before),
  };
}

export type { Subscription };
