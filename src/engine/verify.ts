// The billing invariants, checked from the store alone (reads only; the queries are in
// store/verify.ts): no invoice charged twice, no renewal lost, no retry the card networks forbid,
// no e-mail missing, no gap or overlap between paid periods. Optionally also against the gateway's
// own list of succeeded charges. `renewd verify` prints the report; the chaos and reliability
// tests assert it is empty.
import { prorate } from '../core/proration.ts';
import type { Queryable } from '../store/db.ts';
import * as store from '../store/verify.ts';
import { DEFAULT_POLICY, NETWORK_CAPS, mergePolicy, type DunningPolicy } from '../core/dunning.ts';
import { loadPolicies } from '../store/policies.ts';
import type { Gateway, GatewayCharge as GatewayListedCharge } from '../gateway/types.ts';

const HOUR = 3_600_000;

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
  /**
   * The window the charges were listed over: only the paid invoices whose charge falls inside it
   * are expected among them (default: every paid invoice).
   */
  window?: { from: Date; to: Date };
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
  'attempt_after_cancel',
  'retry_after_never',
  'blind_retry',
  'card_cap_30d',
  'card_cap_policy',
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
  'one_live_subscription',
  'charged_for_gap',
  'dangling_purchase',
  'plan_change_charges',
  'document_numbering',
  'credit_notes',
] as const;
export type Rule = (typeof RULES)[number];

const iso = (v: unknown) => (v == null ? 'null' : new Date(v as string).toISOString());

/** The default policy and the default with each override: every policy some account is under. */
async function policiesInForce(db: Queryable): Promise<DunningPolicy[]> {
  const all = await loadPolicies(db);
  const base = mergePolicy(DEFAULT_POLICY, all.get('default'));
  return [base, ...[...all].filter(([k]) => k !== 'default').map(([, o]) => mergePolicy(base, o))];
}

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

  Object.assign(checked, await store.verifyTotals(db, now));

  // ---- at most one charge per invoice, and the store agrees with itself ----
  for (const r of await store.invoicesSucceededTwice(db))
    fail('one_success_per_invoice', `invoice ${r.invoice_id} has ${r.n} succeeded attempts (${r.ids})`);

  for (const r of await store.paidNotMatchingSuccesses(db))
    fail('paid_iff_succeeded', `invoice ${r.id} is ${r.status} with ${r.n} succeeded attempt(s)`);

  for (const r of await store.attemptsOfAnotherAmount(db))
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
    const invoices = await store.invoicesToCompareWithGateway(db, [...byInvoice.keys()], o.window);
    const known = new Map(invoices.map((r) => [r.id, r]));
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
        const flying = r.in_flight_keys ?? [];
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
  for (const r of await store.dueSubscriptionsIdle(db, now))
    fail('backlog', `subscription ${r.id} (${r.status}) was due to ${r.next_action ?? 'act'} at ${iso(r.next_action_at)} and nothing is in flight`);

  for (const r of await store.paidSubscriptionsUnscheduled(db))
    fail('stalled_subscription', `subscription ${r.id} is ${r.status} on a paid plan but nothing is scheduled for it`);

  for (const r of await store.endedPeriodsWithoutRenewal(db, now))
    fail('lost_renewal', `subscription ${r.id}'s period ended at ${iso(r.current_period_end)} with no renewal invoice; next look only at ${iso(r.next_action_at)}`);

  for (const r of await store.inFlightAttemptsNeverReconciled(db))
    fail('orphan_in_flight', `attempt ${r.id} of invoice ${r.invoice_id} (${r.inv_status}) is in flight but will never be reconciled (subscription ${r.sub_id} next look ${iso(r.next_action_at)})`);

  // ---- no attempt on a closed invoice ----
  for (const r of await store.attemptsAfterDowngrade(db))
    fail('attempt_after_downgrade', `attempt ${r.id} on invoice ${r.invoice_id} was made at ${iso(r.created_at)}, after the downgrade at ${iso(r.occurred_at)}`);

  for (const r of await store.attemptsAfterCancel(db))
    fail('attempt_after_cancel', `attempt ${r.id} on invoice ${r.invoice_id} was made at ${iso(r.created_at)}, after ${r.after === 'invoice.voided' ? 'the invoice was voided' : 'the cancel took effect'} at ${iso(r.occurred_at)}`);

  for (const r of await store.attemptsAfterPaid(db))
    fail('attempt_after_paid', `attempt ${r.id} on invoice ${r.invoice_id} was made at ${iso(r.created_at)}, after it was paid at ${iso(r.paid_at)}`);

  // ---- what the card networks forbid ----
  for (const r of await store.retriesAfterNever(db))
    fail('retry_after_never', `attempt ${r.id} (${r.trigger}) charged payment method ${r.payment_method_id} again after its hard decline ${r.never_id} (${r.reason ?? 'never retry'}) on invoice ${r.invoice_id}`);

  // A decline that needs the customer (expired card, authentication) is not retried blindly: a
  // scheduled attempt right after one on the same card is forbidden unless a policy reclassified it.
  const loosened = new Set<string>();
  for (const rules of await store.policyDeclineRules(db)) {
    for (const [reason, cls] of Object.entries(rules)) if (cls !== 'customer') loosened.add(reason);
  }
  for (const r of await store.scheduledAfterCustomerDecline(db)) {
    if (r.reason && loosened.has(r.reason)) continue;
    fail('blind_retry', `scheduled attempt ${r.id} retried payment method ${r.payment_method_id} after ${r.prev_id} needed the customer (${r.reason}) on invoice ${r.invoice_id}`);
  }

  // Per card: Visa ≤ 20 attempts in 30 days, Mastercard ≤ 10 declines in 24 h.
  for (const r of await store.cardsOverAttemptCap(db, NETWORK_CAPS.attempts_per_card_30d))
    fail('card_cap_30d', `card ${r.card} had ${r.n} attempts in the 30 days up to ${iso(r.at)} (cap ${NETWORK_CAPS.attempts_per_card_30d})`);

  // The policy's own cap per saved card (default 15, under Visa's 20), which the planner and Retry
  // both apply. Every policy in force is checked against its largest cap (an attempt under any of
  // them is allowed), and only windows after the last policy change: a lowered cap does not make
  // earlier attempts wrong.
  const policyCap = Math.max(...(await policiesInForce(db)).map((p) => p.caps.attempts_per_card_30d));
  if (policyCap < NETWORK_CAPS.attempts_per_card_30d) {
    const since = await store.policiesChangedAt(db);
    for (const r of await store.paymentMethodsOverAttemptCap(db, policyCap, since))
      fail('card_cap_policy', `payment method ${r.payment_method_id} of ${r.account_id} had ${r.n} attempts in the 30 days up to ${iso(r.at)} (the policy's cap ${policyCap})`);
  }

  for (const r of await store.cardsOverDeclineCap(db, NETWORK_CAPS.declines_per_card_24h))
    fail('card_declines_24h', `card ${r.card} had ${r.n} declines in the 24 h up to ${iso(r.at)} (cap ${NETWORK_CAPS.declines_per_card_24h})`);

  // ---- every outcome told: the event and the e-mail (outbox row, same transaction) ----
  for (const r of await store.paidWithoutEvent(db)) fail('paid_event', `paid invoice ${r.id} has no invoice.paid event`);
  for (const r of await store.paidWithoutEmail(db)) fail('paid_email', `paid invoice ${r.id} has no receipt e-mail (purchase_succeeded/renewal_succeeded/retry_succeeded)`);
  for (const r of await store.pastDueWithoutEvent(db)) fail('past_due_event', `invoice ${r.id} went past due without a subscription.past_due event`);
  for (const r of await store.pastDueWithoutEmail(db))
    fail('past_due_email', `invoice ${r.id} went past due without a renewal_failed/authentication_required e-mail`);
  for (const r of await store.uncollectibleWithoutEvent(db)) fail('downgrade_event', `invoice ${r.id} is uncollectible without a subscription.downgraded event`);
  for (const r of await store.downgradesWithoutEmail(db))
    fail('downgrade_email', `the downgrade of subscription ${r.subscription_id} (invoice ${r.invoice_id ?? 'none'}) has no downgraded e-mail`);
  for (const r of await store.downgradedWithoutEvent(db)) fail('downgrade_event', `subscription ${r.id} is downgraded without a subscription.downgraded event`);

  // ---- paid periods: each renewal starts where the previous paid period ended; none overlap ----
  for (const r of await store.renewalsNotFollowingPaidPeriod(db))
    fail(
      'period_gap',
      `renewal ${r.id} of subscription ${r.subscription_id} starts ${iso(r.period_start)} but the invoice before it (${r.prev_id}, ${r.prev_status}) ends ${iso(r.prev_end)}`,
    );
  for (const r of await store.overlappingPaidPeriods(db))
    fail('period_overlap', `paid invoice ${r.id} of subscription ${r.subscription_id} starts ${iso(r.period_start)}, inside the paid period of ${r.prev_id} (to ${iso(r.prev_end)})`);
  for (const r of await store.currentPeriodsNotPaid(db))
    fail('current_period', `subscription ${r.id}'s current period ${iso(r.current_period_start)}–${iso(r.current_period_end)} is not a paid invoice's period`);

  // ---- plan changes: a period's charges never exceed the dearest plan's full price; each
  // proration is part of a paid period and at most its plan's price ----
  for (const r of await store.periodsChargedOverDearest(db))
    fail('plan_change_charges', `the period of paid invoice ${r.id} was charged ${r.total} in all, more than the dearest plan's price (${r.dearest ?? 'none'})`);
  for (const r of await store.prorationsOutOfRule(db))
    fail('plan_change_charges', `proration ${r.id} of ${r.amount} is ${r.price == null ? 'for a plan without that price' : Number(r.amount) > Number(r.price) ? `above its plan's price ${r.price}` : 'outside any paid period'}`);
  // Each proration is the amount of the rule (core/proration.ts) for its period, instant and plans.
  for (const r of await store.paidProrations(db)) {
    if (r.old_price == null || r.new_price == null) {
      fail('plan_change_charges', `proration ${r.id} cannot be recomputed: no price of the plan it changed from (${r.from_plan_id ?? 'unknown'}) or to`);
      continue;
    }
    const p = prorate({ oldAmount: Number(r.old_price), newAmount: Number(r.new_price), periodStart: new Date(r.period_start), periodEnd: new Date(r.period_end), at: new Date(r.at) });
    if (p.charge !== Number(r.amount)) fail('plan_change_charges', `proration ${r.id} charged ${r.amount}, the proration rule gives ${p.charge} (from ${r.from_plan_id} at ${iso(r.at)})`);
  }

  // ---- statuses agree: grace has its past-due invoice; no past-due invoice outside grace ----
  for (const r of await store.statusesDisagreeing(db))
    fail('status_consistency', `subscription ${r.id} is ${r.status} (grace ends ${iso(r.grace_ends_at)}) with ${r.n} past-due invoice(s)`);

  // ---- buying back: one live subscription, a new period from the purchase, nothing half-made ----
  for (const r of await store.accountsWithSeveralLiveSubscriptions(db))
    fail('one_live_subscription', `account ${r.account_id} has ${r.n} live (active or past-due) paid subscriptions (${r.ids})`);
  for (const r of await store.purchasesStartingBeforeTheyWereMade(db))
    fail('charged_for_gap', `purchase ${r.id} of subscription ${r.subscription_id}, made ${iso(r.created_at)}, charges from ${iso(r.period_start)}: the time before the purchase is not the customer's to pay`);
  for (const r of await store.purchasesLeftOpen(db))
    fail('dangling_purchase', `purchase ${r.id} of subscription ${r.subscription_id} is ${r.status} with no attempt in flight: it will never be paid nor voided`);

  // ---- documents: gapless series, every issued invoice numbered, every cancelled one credited ----
  for (const r of await store.documentSeriesWithGaps(db))
    fail(
      'document_numbering',
      r.n == null
        ? `series ${r.prefix}-${r.year} handed out numbers up to ${Number(r.next) - 1} but no document carries one`
        : `series ${r.prefix}-${r.year}: ${r.n} document(s) numbered ${r.lo}…${r.hi} (${r.distinct_seqs} distinct), counter at ${r.next ?? 'none'}: numbers must run 1…n without gap or repeat`,
    );
  for (const r of await store.finalInvoicesWithoutNumber(db)) fail('document_numbering', `invoice ${r.id} is ${r.status} (issued) but has no number`);
  for (const r of await store.numberedInvoicesNotIssued(db))
    fail('document_numbering', `invoice ${r.id} carries number ${r.number} but is ${r.status}${r.status === 'void' ? ' with no credit note cancelling it' : ' (never issued)'}`);
  for (const r of await store.overCreditedInvoices(db))
    fail('credit_notes', `invoice ${r.id} of ${r.amount} is credited ${r.credited} (${r.currencies}): never more than the invoice, in its currency`);

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

/** The gateway's charges as verify compares them (any status; only succeeded ones count). */
export function chargesForVerify(list: Iterable<GatewayListedCharge>): GatewayCharge[] {
  return [...list].map((c) => ({ id: c.gateway_ref, idempotency_key: c.idempotency_key, amount: c.amount, currency: c.currency, status: c.outcome === 'succeeded' ? 'succeeded' : c.outcome }));
}

/**
 * `renewd verify --gateway`: the invariants, plus every charge the gateway lists in the window
 * compared with the invoices — charges with no paid invoice, paid invoices (of the window) with no
 * charge, amounts that differ.
 */
export async function verifyWithGateway(db: Queryable, now: Date, gateway: Pick<Gateway, 'listCharges'>, window: { from: Date; to: Date }, opts: Omit<VerifyOptions, 'charges' | 'window'> = {}): Promise<VerifyReport> {
  // Listed with an hour's slack each side: the gateway's clock is not renewd's; the window that
  // decides which paid invoices must have a charge stays exact.
  const listed: GatewayListedCharge[] = [];
  for await (const c of gateway.listCharges({ from: new Date(window.from.getTime() - HOUR), to: new Date(window.to.getTime() + HOUR) })) listed.push(c);
  const report = await verifyInvariants(db, now, { ...opts, charges: chargesForVerify(listed), window });
  report.checked.gateway_charges_listed = listed.length;
  return report;
}
