// The subscription/invoice state machine: (state, event, now) → (state, effects). Pure: no I/O,
// no clock, no randomness except through the id factory it is handed. The engine loads the state,
// calls `step`, writes the new state and effects in one transaction, then performs charges.
import type {
  Account,
  AttemptTrigger,
  DeclineReason,
  Interval,
  Invoice,
  InvoiceKind,
  NextAction,
  PaymentAttempt,
  PaymentMethod,
  Plan,
  RetryClass,
  Subscription,
  TemplateName,
} from './types.ts';
import {
  type AttemptView,
  type DunningPolicy,
  type GracePause,
  type RetryDateRefusal,
  type RetryPlan,
  applyCaps,
  capsAllowNow,
  pauseGrace,
  resumeGrace,
  retryDateRefusal,
  effectiveClass,
  givenBack,
  dueReminder,
  graceEndsAt,
  nextReminderAt,
  planRetry,
  retryAvailability,
} from './dunning.ts';
import { type BackupCard, type CardPlan, planWithBackup } from './backup.ts';
import { minimumCharge } from './money.ts';
import { periodOf } from './period.ts';
import { prorate } from './proration.ts';
import { DAY, HOUR } from './time.ts';
import { spreadRetryAt } from './incidents.ts';

/** An invoice as the machine sees it: the stored invoice plus its dunning bookkeeping. */
export interface InvoiceState extends Invoice {
  kind: InvoiceKind;
  interval: Interval;
  failed_at: Date | null;
  reminders_sent: number[];
}

export interface AttemptState extends PaymentAttempt {
  amount: number;
  currency: string;
  not_before: Date | null;
}

export interface BillingState {
  subscription: Subscription & { next_retry_at: Date | null; next_retry_why: string | null };
  /** `gateway_customer_ref`: the machine never reads it; the engine charges with it (loadStates fills it). */
  account: Pick<Account, 'id' | 'name' | 'email' | 'locale' | 'time_zone' | 'domain_zone' | 'currency'> & Partial<Pick<Account, 'gateway_customer_ref'>>;
  plan: Plan;
  /** The plan of the invoice being collected when it is not the subscription's (a proration's new plan). */
  invoice_plan?: Plan | null;
  /** The plan of a scheduled change (subscription.scheduled_plan_id), for the renewal that applies it. */
  scheduled_plan?: Plan | null;
  free_plan_id: string;
  payment_method: PaymentMethod | null;
  /** The invoice being collected (open or past due), if any. */
  invoice: InvoiceState | null;
  /** That invoice's attempts, oldest first. */
  attempts: AttemptState[];
  /** Attempts on the current payment method in the last 30 days, across invoices (network caps). */
  card_attempts: { at: Date; outcome: PaymentAttempt['outcome'] }[];
  policy: DunningPolicy;
  /** The customer's backup card, with its consent and its own recent attempts (core/backup.ts). */
  backup?: BackupCard | null;
  /** An open incident (core/incidents.ts) covering this subscription's card, if any. */
  incident?: IncidentRef | null;
}

/** An incident as the machine sees it: its scope and when it opened (closed_at once it closed). */
export interface IncidentRef {
  id: string;
  scope: string;
  opened_at: Date;
}

/** What the gateway said, normalized. */
export interface ChargeOutcome {
  /**
   * 'rate_limited': the gateway refused to look at the request (429 / lock_timeout, after the
   * adapter's own retries): nothing was made under the key, so it is not an attempt outcome.
   */
  outcome: 'succeeded' | 'declined' | 'requires_action' | 'unknown' | 'rate_limited';
  reason: DeclineReason | null;
  retry_class: RetryClass | null;
  raw_code: string | null;
  network_code: string | null;
  advice_code: string | null;
  gateway_ref: string | null;
  retry_after_ms: number | null;
}

export type MachineEvent =
  | { type: 'tick' }
  | { type: 'charge_result'; attempt_id: string; result: ChargeOutcome }
  | { type: 'payment_method_updated' }
  | { type: 'retry_requested'; trigger: 'customer_retry' | 'operator' }
  /** The customer starts authenticating (3-D Secure) the past-due invoice: an on-session attempt. */
  | { type: 'authentication_requested' }
  | { type: 'purchase'; plan: Plan; interval: Interval; amount: number; auto_renew?: boolean }
  | { type: 'cancel'; at: CancelAt; by?: CancelBy }
  | { type: 'resume'; by?: CancelBy }
  | { type: 'change_plan'; plan: Plan; interval: Interval; by?: CancelBy }
  /** A help request about the invoice being collected now waits for an answer: the downgrade pauses. */
  | { type: 'help_requested'; invoice_id: string; help_request_id?: string }
  /** No help request about it waits any more (answered or closed): the downgrade clock runs again. */
  | { type: 'help_answered'; invoice_id: string; help_request_id?: string }
  /** The customer chooses when the next attempt is made (a day in grace, e.g. after payday). */
  | { type: 'retry_date_chosen'; at: Date; by?: CancelBy }
  /** An incident that covered this subscription's card closed: extend grace, spread the held retry. */
  | { type: 'incident_closed'; incident: IncidentRef & { closed_at: Date } }
  /** A backup card was saved or removed: a past-due invoice may now be due on it. */
  | { type: 'backup_card_updated' };

/** Why the machine refuses a purchase (the command checks the same before dispatching). */
export type PurchaseRefusal = 'free_plan' | 'already_subscribed' | 'purchase_in_progress' | 'no_payment_method';

/** When a cancel takes effect: at once, or when the paid period ends (the default for an active subscription). */
export const CANCEL_AT = ['now', 'period_end'] as const;
export type CancelAt = (typeof CANCEL_AT)[number];
/** Who asked (recorded in the events). */
export type CancelBy = 'customer' | 'operator';

/** Why a cancel or resume changed nothing; the engine turns it into a problem (a 409 at the API). */
export interface Refusal {
  code: 'already_canceled' | 'nothing_to_cancel' | 'cancel_took_effect' | 'no_pending_cancel' | PlanChangeRefusal | AuthenticationRefusal | RetryDateRefusal;
  message: string;
}

/** Why a plan change changed nothing (the command checks the input ones, free_plan and no_price, first). */
export type PlanChangeRefusal = 'free_plan' | 'no_price' | 'not_subscribed' | 'cancel_pending' | 'change_in_progress' | 'same_plan' | 'interval_change_in_grace' | 'no_payment_method';

/**
 * How a plan change applies (docs/ARCHITECTURE.md "A plan change"): in grace, at once (the past-due
 * invoice is replaced); to a dearer price for the same interval, at once with a prorated charge;
 * to a cheaper or equal price, or to another interval, at the period end (nothing charged now).
 */
export type PlanChangeMode = 'grace' | 'now' | 'period_end' | 'unschedule';

export function priceOf(plan: Plan, currency: string, interval: Interval): number | null {
  return plan.prices.find((p) => p.currency === currency && p.interval === interval)?.amount ?? null;
}

/** Whether (and how) the subscription can change to `plan`/`interval` now. */
export function planChangeOf(s: Pick<BillingState, 'subscription' | 'plan' | 'account' | 'invoice' | 'attempts' | 'payment_method'>, plan: Plan, interval: Interval):
  | { refused: Refusal; mode?: undefined; amount?: undefined }
  | { refused?: undefined; mode: PlanChangeMode; amount: number } {
  const sub = s.subscription;
  const no = (code: PlanChangeRefusal, message: string) => ({ refused: { code, message } });
  if (plan.free) return no('free_plan', `plan ${plan.id} is the free plan: cancel the subscription to move to it`);
  const amount = priceOf(plan, s.account.currency, interval);
  if (amount === null) return no('no_price', `plan ${plan.id} has no ${interval}ly price in ${s.account.currency}`);
  if ((sub.status !== 'active' && sub.status !== 'past_due') || s.plan.free)
    return no('not_subscribed', 'the subscription is not live (canceled or downgraded): buy a plan instead');
  if (!sub.auto_renew) return no('cancel_pending', 'a cancel is pending: resume the subscription before changing its plan');
  if (s.attempts.some((a) => a.outcome === 'pending' || a.outcome === 'unknown') || (sub.status === 'active' && s.invoice))
    return no('change_in_progress', 'a payment for this subscription is being made; try again in a moment');
  if (plan.id === sub.plan_id && interval === sub.interval) {
    if (sub.scheduled_plan_id) return { mode: 'unschedule', amount };
    return no('same_plan', `the subscription is already on ${plan.id} (${interval}ly)`);
  }
  if (sub.status === 'past_due') {
    if (interval !== sub.interval) return no('interval_change_in_grace', 'while a payment is past due the plan can change, the interval cannot');
    if (!s.payment_method) return no('no_payment_method', 'add a card in Billing information first');
    return { mode: 'grace', amount };
  }
  const current = priceOf(s.plan, s.account.currency, sub.interval);
  if (interval === sub.interval && current !== null && amount > current) {
    if (!s.payment_method) return no('no_payment_method', 'add a card in Billing information first');
    return { mode: 'now', amount };
  }
  return { mode: 'period_end', amount };
}

/** Why an authentication cannot start (a 409 at the API). */
export type AuthenticationRefusal = 'authentication_not_needed' | 'attempt_in_flight' | 'no_payment_method';

/** How long the customer has to complete the issuer's challenge before the attempt is canceled at the gateway. */
export const AUTHENTICATION_WINDOW_MS = 30 * 60_000;

/** The trigger of the on-session attempts the customer authenticates. */
export const AUTHENTICATION_TRIGGER = 'customer_authentication' satisfies AttemptTrigger;

/**
 * Whether the customer can authenticate the invoice being collected now: it is past due, its last
 * settled attempt failed for authentication (an off-session charge the issuer wants confirmed, or
 * a challenge the customer failed), nothing is in flight and the subscription still collects.
 */
export function authenticationRefusal(s: Pick<BillingState, 'subscription' | 'invoice' | 'attempts' | 'payment_method'>, invoiceId: string): Refusal | null {
  const inv = s.invoice;
  const no = (code: AuthenticationRefusal, message: string) => ({ code, message });
  if (!inv || inv.id !== invoiceId || inv.status !== 'past_due' || s.subscription.status !== 'past_due' || !s.subscription.auto_renew)
    return no('authentication_not_needed', 'the invoice is not past due awaiting authentication (paid, void, canceled or not being collected)');
  if (s.attempts.some((a) => a.outcome === 'pending' || a.outcome === 'unknown')) return no('attempt_in_flight', 'a payment attempt for this invoice is in progress; try again in a moment');
  const last = [...s.attempts].reverse().find((a) => a.outcome === 'declined' || a.outcome === 'requires_action');
  if (!last || last.reason !== 'authentication_required') return no('authentication_not_needed', 'the last payment attempt of this invoice did not fail for authentication');
  if (!s.payment_method || last.payment_method_id !== s.payment_method.id) return no('no_payment_method', 'the card that needs authentication is no longer the account\'s card; the new card is tried instead');
  return null;
}

/**
 * Whether the subscription can be canceled now. Canceled or downgraded (or on the free plan):
 * already canceled; incomplete (the first payment not made): nothing to cancel.
 */
export function cancelRefusal(s: Pick<BillingState, 'subscription' | 'plan'>): Refusal | null {
  const sub = s.subscription;
  if (sub.status === 'canceled' || sub.status === 'downgraded' || (sub.status === 'active' && s.plan.free))
    return { code: 'already_canceled', message: 'the subscription is already canceled: the account is on the free plan' };
  if (sub.status === 'incomplete') return { code: 'nothing_to_cancel', message: 'the subscription has no paid period to cancel' };
  return null;
}

/** Whether a pending cancel can be undone: only before it took effect. */
export function resumeRefusal(s: Pick<BillingState, 'subscription' | 'plan'>): Refusal | null {
  const sub = s.subscription;
  if (sub.status === 'canceled' || sub.status === 'downgraded')
    return { code: 'cancel_took_effect', message: 'the cancel has already taken effect; buy the plan again to come back' };
  if (sub.status === 'incomplete' || s.plan.free || sub.auto_renew || (sub.status !== 'active' && sub.status !== 'past_due'))
    return { code: 'no_pending_cancel', message: 'the subscription has no pending cancel to undo' };
  return null;
}

/** A cancel waits for its end: an active subscription with auto-renew off ends at its period end (`cancel_at`). */
export function pendingCancel(sub: Pick<Subscription, 'status' | 'auto_renew' | 'current_period_end'>, plan: Pick<Plan, 'free'>) {
  const pending = !sub.auto_renew && !plan.free && (sub.status === 'active' || sub.status === 'past_due');
  return { cancel_at_period_end: pending, cancel_at: pending && sub.status === 'active' ? sub.current_period_end : null };
}

export type Effect =
  | { type: 'charge'; attempt: AttemptState }
  | { type: 'reconcile'; attempt: AttemptState }
  /** An on-session charge the customer confirms on the issuer's page (the engine adds the return URL). */
  | { type: 'authenticate'; attempt: AttemptState }
  | { type: 'event'; event_type: string; data: Record<string, unknown> }
  | { type: 'email'; template: TemplateName; dedupe_key: string; data: Record<string, unknown> };

export interface StepResult {
  state: BillingState;
  effects: Effect[];
  /** Rows to insert or update (the store writes exactly these). */
  created_invoice: InvoiceState | null;
  /** Final state of the invoice the step started with (it may have been closed: paid, void, uncollectible). */
  updated_invoice: InvoiceState | null;
  changed_attempts: AttemptState[];
  /** A cancel or resume the state does not allow: nothing changed. */
  refused: Refusal | null;
}

export interface StepContext {
  newId: (prefix: string) => string;
  /** How long an attempt may stay unanswered before it is reconciled by its key. */
  attemptLeaseMs?: number;
  /** How long an authentication attempt waits for the customer (default AUTHENTICATION_WINDOW_MS). */
  authenticationWindowMs?: number;
}

/**
 * A pending attempt the gateway rate-limited carries this raw_code and, in not_before, when it is
 * made again (same key). Only ever on a pending attempt: any answer replaces it.
 */
export const RATE_LIMITED_CODE = 'rate_limited';
/** How long a rate-limited attempt waits when the gateway said nothing about it. */
export const RATE_LIMITED_WAIT_MS = 30_000;

export function isRateLimited(a: Pick<AttemptState, 'outcome' | 'raw_code'>): boolean {
  return a.outcome === 'pending' && a.raw_code === RATE_LIMITED_CODE;
}

/** Days before a renewal when the customer hears of it (yearly plans; cards about to expire). */
export const NOTICE_DAYS = 7;
const DEFAULT_LEASE = 2 * 60_000;

export function step(state: BillingState, event: MachineEvent, now: Date, ctx: StepContext): StepResult {
  const m = new Step(copyState(state), now, ctx);
  m.run(event);
  return m.result();
}

/**
 * The parts of a state a step may change, copied (the caller's state is never touched): the
 * subscription, the invoice and its attempts, the card's recent attempts. Everything else (account,
 * plan, policy, payment method, every Date) is only read, so it is shared: a billing day steps
 * each subscription twice, and a deep clone per step was a tenth of the worker's time.
 */
function copyState(s: BillingState): BillingState {
  return {
    ...s,
    subscription: { ...s.subscription },
    invoice: s.invoice && { ...s.invoice },
    attempts: s.attempts.map((a) => ({ ...a })),
    card_attempts: s.card_attempts.map((c) => ({ ...c })),
    // The backup card's recent attempts (core/backup.ts); the key stays absent when the state has none.
    ...('backup' in s ? { backup: s.backup && { ...s.backup, card_attempts: s.backup.card_attempts.map((c) => ({ ...c })) } } : {}),
  };
}

class Step {
  effects: Effect[] = [];
  created: InvoiceState | null = null;
  changed = new Map<string, AttemptState>();
  refused: Refusal | null = null;
  // The machine mutates invoice objects in place, so this reference ends as the final state.
  startInvoice: InvoiceState | null;
  s: BillingState;
  now: Date;
  ctx: StepContext;
  constructor(
    s: BillingState,
    now: Date,
    ctx: StepContext,
  ) {
    this.s = s;
    this.now = now;
    this.ctx = ctx;
    this.startInvoice = s.invoice;
  }

  get sub() {
    return this.s.subscription;
  }
  get lease() {
    return this.ctx.attemptLeaseMs ?? DEFAULT_LEASE;
  }
  /** How long this attempt may stay open: the customer's authentication window, or the lease. */
  leaseOf(a: Pick<AttemptState, 'trigger'>) {
    return a.trigger === AUTHENTICATION_TRIGGER ? Math.max(this.ctx.authenticationWindowMs ?? AUTHENTICATION_WINDOW_MS, this.lease) : this.lease;
  }

  result(): StepResult {
    return { state: this.s, effects: this.effects, created_invoice: this.created, updated_invoice: this.startInvoice, changed_attempts: [...this.changed.values()], refused: this.refused };
  }

  event(event_type: string, data: Record<string, unknown> = {}) {
    this.effects.push({ type: 'event', event_type, data });
  }
  email(template: TemplateName, dedupe_key: string, data: Record<string, unknown> = {}) {
    this.effects.push({ type: 'email', template, dedupe_key, data });
  }

  run(e: MachineEvent) {
    switch (e.type) {
      case 'tick':
        return this.tick();
      case 'charge_result':
        return this.chargeResult(e.attempt_id, e.result);
      case 'payment_method_updated':
        return this.customerAction('payment_method_updated');
      case 'retry_requested':
        return this.customerAction(e.trigger);
      case 'authentication_requested':
        return this.authenticationRequested();
      case 'purchase':
        return this.purchase(e.plan, e.interval, e.amount, e.auto_renew);
      case 'cancel':
        return this.cancel(e.at, e.by ?? 'customer');
      case 'resume':
        return this.resume(e.by ?? 'customer');
      case 'change_plan':
        return this.changePlan(e.plan, e.interval, e.by ?? 'customer');
      case 'help_requested':
        return this.helpRequested(e.invoice_id, e.help_request_id ?? null);
      case 'help_answered':
        return this.helpAnswered(e.invoice_id, e.help_request_id ?? null);
      case 'retry_date_chosen':
        return this.retryDateChosen(e.at, e.by ?? 'customer');
      case 'incident_closed':
        return this.incidentClosed(e.incident);
      case 'backup_card_updated':
        return this.backupCardUpdated();
    }
  }

  inFlight(): AttemptState | undefined {
    return this.s.attempts.find((a) => a.outcome === 'pending' || a.outcome === 'unknown');
  }

  tick() {
    const sub = this.sub;
    if (!sub.next_action_at || sub.next_action_at.getTime() > this.now.getTime()) return;
    const flying = this.inFlight();
    if (flying && isRateLimited(flying)) return this.chargeAgain(flying);
    if (flying) {
      // An attempt with no answer (crash, timeout): look it up by its key, never charge blindly.
      // An authentication attempt stays open while the customer is on the issuer's page; once its
      // window has passed the engine looks it up and cancels it at the gateway if still unanswered.
      if (flying.created_at.getTime() + this.leaseOf(flying) <= this.now.getTime() || flying.outcome === 'unknown') {
        this.effects.push({ type: 'reconcile', attempt: flying });
      }
      const until = flying.created_at.getTime() + this.leaseOf(flying);
      const waiting = flying.trigger === AUTHENTICATION_TRIGGER && flying.outcome !== 'unknown' && until > this.now.getTime();
      this.setNext(new Date(waiting ? until : this.now.getTime() + this.lease), 'retry');
      return;
    }
    // A cancel asked while an attempt was in flight takes effect once nothing is in flight.
    if (sub.status === 'past_due' && !sub.auto_renew) return this.endNow('customer');
    if (sub.status === 'active') return this.tickActive();
    if (sub.status === 'past_due') return this.tickPastDue();
    this.setNext(null, null);
  }

  tickActive() {
    const sub = this.sub;
    if (this.now.getTime() < sub.current_period_end.getTime()) {
      this.sendNotices();
      return this.planActive();
    }
    if (this.s.plan.free) return this.setNext(null, null);
    if (!sub.auto_renew) {
      // Auto-renew off: the paid period simply ends; no charge.
      this.clearScheduled();
      sub.status = 'canceled';
      sub.plan_id = this.s.free_plan_id;
      this.setNext(null, null);
      this.event('subscription.canceled', { plan_id: this.s.plan.id, period_end: sub.current_period_end });
      return;
    }
    if (sub.scheduled_plan_id) this.applyScheduled();
    const price = this.s.plan.prices.find((p) => p.currency === this.s.account.currency && p.interval === sub.interval);
    if (!price) {
      // A plan without a price in the account's currency cannot renew; end the period like a failure would.
      this.event('renewal.no_price', { plan_id: sub.plan_id, currency: this.s.account.currency, interval: sub.interval });
      return this.downgrade(null);
    }
    const period = periodOf(sub.billing_anchor, sub.period_index + 1, sub.interval, this.s.account.time_zone);
    const inv: InvoiceState = {
      id: this.ctx.newId('inv'),
      account_id: sub.account_id,
      subscription_id: sub.id,
      plan_id: sub.plan_id,
      amount: price.amount,
      currency: price.currency,
      period_start: period.start,
      period_end: period.end,
      status: 'open',
      created_at: this.now,
      paid_at: null,
      kind: 'renewal',
      interval: sub.interval,
      failed_at: null,
      reminders_sent: [],
    };
    this.s.invoice = inv;
    this.s.attempts = [];
    this.created = inv;
    this.event('invoice.created', { invoice_id: inv.id, amount: inv.amount, currency: inv.currency, period_start: inv.period_start, period_end: inv.period_end });
    this.startAttempt('scheduled');
  }

  /** Ahead of a renewal: tell yearly customers it is coming, and anyone whose card will have expired. */
  sendNotices() {
    const sub = this.sub;
    const noticeAt = sub.current_period_end.getTime() - NOTICE_DAYS * DAY;
    if (this.now.getTime() < noticeAt || !sub.auto_renew || this.s.plan.free) return;
    const key = `${sub.id}:${sub.current_period_end.toISOString()}`;
    if (sub.interval === 'year') this.email('renewal_upcoming', `renewal_upcoming:${key}`, { period_end: sub.current_period_end });
    const pm = this.s.payment_method;
    if (pm && pm.exp_year && pm.exp_month) {
      const expiresAt = Date.UTC(pm.exp_year, pm.exp_month, 1); // a card is valid through its expiry month
      if (expiresAt <= sub.current_period_end.getTime())
        this.email('card_expiring', `card_expiring:${key}`, { period_end: sub.current_period_end });
    }
  }

  planActive() {
    const sub = this.sub;
    const noticeAt = sub.current_period_end.getTime() - NOTICE_DAYS * DAY;
    if (!this.s.plan.free && sub.auto_renew && this.now.getTime() < noticeAt) return this.setNext(new Date(noticeAt), 'renew');
    if (this.s.plan.free && sub.status === 'active') return this.setNext(null, null);
    this.setNext(sub.current_period_end, sub.auto_renew ? 'renew' : 'expire');
  }

  tickPastDue() {
    const sub = this.sub;
    const inv = this.s.invoice;
    if (!inv || !sub.grace_ends_at) return this.setNext(null, null);
    if (this.now.getTime() >= sub.grace_ends_at.getTime()) return this.s.incident ? this.holdGraceEnd() : this.downgrade(inv);
    const r = dueReminder(this.s.policy, sub.grace_ends_at, this.s.account.time_zone, inv.reminders_sent, inv.failed_at ?? inv.period_start, this.now);
    if (r) {
      inv.reminders_sent = [...inv.reminders_sent, r.days];
      const days_left = Math.max(1, Math.ceil((sub.grace_ends_at.getTime() - this.now.getTime()) / DAY));
      // While a help request waits, the reminder says the downgrade is on hold (until at most then).
      const downgrade_paused = !!sub.grace_paused_at;
      this.email('grace_ending', `grace_ending:${inv.id}:${r.days}`, { days_left, grace_ends_at: sub.grace_ends_at, invoice_id: inv.id, downgrade_paused, next_retry_at: sub.next_retry_at, next_retry_why: sub.next_retry_why });
      this.event('dunning.reminder_sent', { invoice_id: inv.id, days_before_grace_end: r.days, days_left });
    }
    const plan = this.retryPlan();
    if (plan.at && plan.at.getTime() <= this.now.getTime()) {
      // The customer's chosen day has come: that choice is made now; the schedule carries on after it.
      if (plan.why === 'customer_chosen') sub.chosen_retry_at = null;
      this.startAttempt('scheduled', this.cardOf(plan));
      return;
    }
    this.planPastDue(plan);
  }

  retryPlan(): CardPlan {
    const inv = this.s.invoice!;
    const attempts = this.s.attempts.map(toView);
    const primary_plan = planRetry({
      policy: this.s.policy,
      failed_at: inv.failed_at ?? inv.period_start,
      grace_ends_at: this.sub.grace_ends_at!,
      attempts,
      current_payment_method_id: this.s.payment_method?.id ?? null,
      card_attempts: this.s.card_attempts,
      chosen_at: this.sub.chosen_retry_at ?? null,
    });
    return this.incidentPlan(planWithBackup({
      policy: this.s.policy,
      attempts,
      primary_id: this.s.payment_method?.id ?? null,
      primary_card: this.s.payment_method,
      backup: this.s.backup,
      primary_plan,
      grace_ends_at: this.sub.grace_ends_at!,
      now: this.now,
    }));
  }

  planPastDue(plan: RetryPlan) {
    const sub = this.sub;
    const inv = this.s.invoice!;
    const changed = sub.next_retry_at?.getTime() !== plan.at?.getTime() || sub.next_retry_why !== plan.why;
    sub.next_retry_at = plan.at;
    sub.next_retry_why = plan.why;
    if (changed) this.event('dunning.retry_planned', { invoice_id: inv.id, next_retry_at: plan.at, why: plan.why });
    const candidates: [Date, NextAction][] = [[sub.grace_ends_at!, 'end_grace']];
    if (plan.at) candidates.push([plan.at, 'retry']);
    // A retry held by an incident is looked at again every detection window, so the hold never
    // outlasts the incident: an invoice whose answer came as the incident closed is not among those
    // the close is applied to (it failed at or after the close), and would otherwise wait for its
    // next reminder (found by the recovery benchmark: 7 renewals held three weeks, then downgraded).
    if (plan.why === 'incident') candidates.push([new Date(this.now.getTime() + this.s.policy.incidents.window_minutes * 60_000), 'retry']);
    const rem = nextReminderAt(this.s.policy, sub.grace_ends_at!, this.s.account.time_zone, inv.reminders_sent, inv.failed_at ?? inv.period_start, this.now);
    if (rem) candidates.push([rem, 'remind']);
    candidates.sort((a, b) => a[0].getTime() - b[0].getTime());
    this.setNext(candidates[0][0], candidates[0][1]);
  }

  setNext(at: Date | null, action: NextAction | null) {
    this.sub.next_action_at = at;
    this.sub.next_action = at ? action : null;
  }

  startAttempt(trigger: AttemptTrigger, card?: PaymentMethod) {
    const inv = this.s.invoice!;
    const pm = card ?? this.s.payment_method;
    if (!pm) {
      // Nothing to charge: the renewal fails at once, as a card decline would, and dunning waits for a card.
      this.event('payment_attempt.skipped', { invoice_id: inv.id, why: 'no_payment_method' });
      if (inv.kind === 'renewal') this.failed(null, trigger);
      return;
    }
    const number = this.s.attempts.length + 1;
    const a: AttemptState = {
      id: this.ctx.newId('att'),
      invoice_id: inv.id,
      payment_method_id: pm.id,
      number,
      trigger,
      idempotency_key: `renewd_${inv.id}_${number}`,
      outcome: 'pending',
      reason: null,
      retry_class: null,
      raw_code: null,
      network_code: null,
      advice_code: null,
      gateway_ref: null,
      created_at: this.now,
      completed_at: null,
      amount: inv.amount,
      currency: inv.currency,
      not_before: null,
    };
    this.s.attempts.push(a);
    this.changed.set(a.id, a);
    this.historyOf(pm.id).push({ at: this.now, outcome: 'pending' });
    this.effects.push({ type: trigger === AUTHENTICATION_TRIGGER ? 'authenticate' : 'charge', attempt: a });
    this.event('payment_attempt.started', { invoice_id: inv.id, attempt_id: a.id, number, trigger, payment_method_id: pm.id, ...(card ? { backup: true } : {}) });
    // If this process dies before the answer, the attempt is reconciled after the lease.
    this.setNext(new Date(this.now.getTime() + this.leaseOf(a)), 'retry');
  }

  /**
   * An attempt the gateway rate-limited was never made: it is made now, under the same key, once
   * the gateway's wait is over (the same attempt: no new number, no new entry in the card's history).
   */
  chargeAgain(a: AttemptState) {
    if (a.not_before && a.not_before.getTime() > this.now.getTime()) return this.setNext(a.not_before, 'retry');
    a.raw_code = null;
    a.not_before = null;
    this.changed.set(a.id, a);
    this.effects.push({ type: 'charge', attempt: a });
    // From here it is in flight again: reconciled by its key if no answer comes within the lease.
    this.setNext(new Date(this.now.getTime() + this.lease), 'retry');
  }

  chargeResult(attempt_id: string, r: ChargeOutcome) {
    const a = this.s.attempts.find((x) => x.id === attempt_id);
    // Results are applied once; a late duplicate (reconcile racing an answer) changes nothing.
    if (!a || (a.outcome !== 'pending' && a.outcome !== 'unknown')) return;
    if (r.outcome === 'rate_limited' && a.outcome === 'pending' && a.trigger !== AUTHENTICATION_TRIGGER) {
      // Not an outcome: the gateway made nothing under the key (a 429 is answered before any work),
      // so the renewal stays due and the attempt is made later with the same key. Nothing is
      // counted: no decline, no e-mail, no grace, no new attempt against the policy or the caps.
      a.raw_code = RATE_LIMITED_CODE;
      a.not_before = new Date(this.now.getTime() + Math.max(1000, r.retry_after_ms ?? RATE_LIMITED_WAIT_MS));
      this.changed.set(a.id, a);
      this.event('payment_attempt.rate_limited', { invoice_id: a.invoice_id, attempt_id: a.id, retry_at: a.not_before });
      this.setNext(a.not_before, 'retry');
      return;
    }
    if (a.trigger === AUTHENTICATION_TRIGGER && r.outcome === 'requires_action') {
      // The customer is on the issuer's page: the attempt stays open (not a decline) until the
      // outcome arrives (return page, gateway event) or its window passes (reconciled, canceled).
      a.outcome = 'pending';
      a.gateway_ref = r.gateway_ref ?? a.gateway_ref;
      this.changed.set(a.id, a);
      this.event('payment_attempt.authentication_started', { invoice_id: a.invoice_id, attempt_id: a.id, gateway_ref: a.gateway_ref });
      this.setNext(new Date(a.created_at.getTime() + this.leaseOf(a)), 'retry');
      return;
    }
    // An attempt already unknown whose reconciling charge was rate-limited stays unknown (the first
    // request may still have been made); an authentication attempt's customer is gone: the same.
    if (r.outcome === 'unknown' || r.outcome === 'rate_limited') {
      a.outcome = 'unknown';
      this.changed.set(a.id, a);
      this.event('payment_attempt.unknown', { invoice_id: a.invoice_id, attempt_id: a.id });
      this.setNext(new Date(this.now.getTime() + this.lease), 'retry');
      return;
    }
    Object.assign(a, {
      outcome: r.outcome,
      reason: r.outcome === 'succeeded' ? null : r.reason,
      retry_class: r.outcome === 'succeeded' ? null : r.retry_class,
      raw_code: r.raw_code,
      network_code: r.network_code,
      advice_code: r.advice_code,
      gateway_ref: r.gateway_ref,
      completed_at: this.now,
      not_before: r.retry_after_ms ? new Date(this.now.getTime() + r.retry_after_ms) : null,
    });
    this.changed.set(a.id, a);
    const ca = this.historyOf(a.payment_method_id).find((c) => c.outcome === 'pending');
    if (ca) ca.outcome = a.outcome;
    if (r.outcome === 'succeeded') return this.paid(a);
    this.event('payment_attempt.failed', {
      invoice_id: a.invoice_id,
      attempt_id: a.id,
      number: a.number,
      trigger: a.trigger,
      outcome: a.outcome,
      reason: a.reason,
      retry_class: a.retry_class,
      raw_code: a.raw_code,
      network_code: a.network_code,
      advice_code: a.advice_code,
    });
    const inv = this.s.invoice!;
    if (inv.kind === 'purchase' || inv.kind === 'proration') {
      // A new purchase (or a plan change's prorated charge) that fails changes nothing but the
      // invoice: the account stays where it was, on the plan it had.
      inv.status = 'void';
      this.event('invoice.voided', { invoice_id: inv.id, reason: a.reason });
      this.s.invoice = null;
      this.s.attempts = [];
      this.s.invoice_plan = null;
      if (this.sub.status === 'active') this.planActive();
      else this.setNext(null, null);
      return;
    }
    this.failed(a, a.trigger);
  }

  /** A renewal charge failed (or could not be made): start or continue grace. */
  failed(a: AttemptState | null, trigger: AttemptTrigger) {
    const sub = this.sub;
    const inv = this.s.invoice!;
    const reason = a?.reason ?? null;
    // Auto-renew off (a cancel asked while this renewal's charge was in flight): no grace, no
    // retry: the cancel takes effect now and the invoice is voided.
    if (!sub.auto_renew && inv.kind === 'renewal') return this.endNow('customer');
    if (inv.status === 'open') {
      inv.status = 'past_due';
      inv.failed_at = this.now;
      sub.status = 'past_due';
      // Grace counts from the end of the period that was not renewed, in the account's calendar.
      sub.grace_ends_at = graceEndsAt(inv.period_start, this.s.policy, this.s.account.time_zone);
      this.clearGraceExtras(); // a new grace: no pause used, no day chosen yet
      this.event('subscription.past_due', { invoice_id: inv.id, reason, grace_ends_at: sub.grace_ends_at });
      const template = a?.outcome === 'requires_action' ? 'authentication_required' : 'renewal_failed';
      if (this.incidentWithholdsMail(a)) this.event('dunning.failure_mail_withheld', { invoice_id: inv.id, incident_id: this.s.incident!.id, reason });
      else this.email(template, `${template}:${inv.id}`, { reason, invoice_id: inv.id, grace_ends_at: sub.grace_ends_at });
    } else if (this.failureMailOwed(a)) {
      // The first failure's mail was withheld during an incident (or was about a technical failure):
      // this decline is the card's, so the customer hears of it now (the outbox keeps one per invoice).
      this.email('renewal_failed', `renewal_failed:${inv.id}`, { reason, invoice_id: inv.id, grace_ends_at: sub.grace_ends_at });
    } else if (trigger === 'customer_retry' || trigger === 'payment_method_updated' || trigger === 'operator') {
      // The customer acted and waits for the answer: tell them (scheduled failures stay quiet).
      this.email('retry_failed', `retry_failed:${a?.id ?? inv.id}`, { reason, invoice_id: inv.id, grace_ends_at: sub.grace_ends_at, outcome: a?.outcome });
    } else if (a?.outcome === 'requires_action' && !this.onBackup(a)) {
      // (The backup asking for authentication is its decline: the customer authenticates the main card, not it.)
      this.email('authentication_required', `authentication_required:${a.id}`, { reason, invoice_id: inv.id, grace_ends_at: sub.grace_ends_at });
    }
    // An answer that arrives once grace has ended (an attempt made in its last minutes, answered or
    // reconciled after it) leaves nothing to wait for: downgrade now, not on a later tick.
    if (this.now.getTime() >= sub.grace_ends_at!.getTime()) return this.s.incident ? this.holdGraceEnd() : this.downgrade(inv);
    // The customer saved a new card while this attempt (on the old one) was in flight: the save
    // could not charge then, so the new card is tried now, as it would have been had the save come
    // after this answer (the customer waits for it; the scheduled retry would come later).
    if (a && this.newCardUntried(a)) return this.startAttempt('payment_method_updated');
    const plan = this.retryPlan();
    // The main card will not work soon: its backup (saved with consent) is tried at once.
    if (plan.backup && plan.at && plan.at.getTime() <= this.now.getTime()) return this.startAttempt('scheduled', this.cardOf(plan));
    this.planPastDue(plan);
  }

  // ---- Outage-aware grace (core/incidents.ts): kept together so other machine changes merge apart. ----

  /**
   * The retry plan under incidents: while one covers the card, no attempt; once it closed, the held
   * retry is made at its spread instant (never earlier than the plan, always within the caps and
   * before grace ends).
   */
  incidentPlan<P extends RetryPlan>(plan: P): P {
    if (this.s.incident && plan.at) return { ...plan, at: null, why: 'incident' };
    if (!plan.at) return plan;
    const sub = this.sub;
    const held = this.recoveryAt ?? (sub.next_retry_why === 'incident_recovery' ? sub.next_retry_at : null);
    if (!held || held.getTime() <= plan.at.getTime()) return plan;
    const at = applyCaps(this.s.policy, this.s.card_attempts, held);
    if (at.getTime() >= sub.grace_ends_at!.getTime()) return { ...plan, at: null, why: 'grace_ends_first' };
    return { ...plan, at, why: 'incident_recovery' };
  }

  /** The spread instant of a retry held by the incident that just closed (set by incidentClosed). */
  recoveryAt: Date | null = null;

  /** Grace ended while an incident covers the card: no downgrade; look again after one detection window. */
  holdGraceEnd() {
    const sub = this.sub;
    const windowMs = this.s.policy.incidents.window_minutes * 60_000;
    if (sub.next_retry_why !== 'incident' || sub.next_retry_at !== null) {
      this.event('dunning.retry_planned', { invoice_id: this.s.invoice!.id, next_retry_at: null, why: 'incident' });
    }
    sub.next_retry_at = null;
    sub.next_retry_why = 'incident';
    this.setNext(new Date(this.now.getTime() + windowMs), 'end_grace');
  }

  /** A technical failure while an incident covers the card is not the card's: no "your payment failed" mail. */
  incidentWithholdsMail(a: AttemptState | null): boolean {
    return !!this.s.incident && !!a && a.outcome === 'declined' && effectiveClass(this.s.policy, a) === 'soon';
  }

  /** A scheduled decline that is the card's, after only technical failures: the failure mail not yet sent for this invoice. */
  failureMailOwed(a: AttemptState | null): boolean {
    if (!a || a.outcome !== 'declined' || a.trigger !== 'scheduled' || this.s.incident) return false;
    if (effectiveClass(this.s.policy, a) === 'soon') return false;
    const before = this.s.attempts.filter((x) => x.id !== a.id && x.outcome === 'declined');
    return before.length > 0 && before.every((x) => effectiveClass(this.s.policy, x) === 'soon');
  }

  /**
   * An incident that covered this card closed. An invoice past due before it closed had its grace
   * running through the incident: grace is extended by the incident's length plus the spread of
   * the held retries (never shortened), and the held retry is made at its spread instant.
   */
  incidentClosed(i: IncidentRef & { closed_at: Date }) {
    const sub = this.sub;
    const inv = this.s.invoice;
    if (sub.status !== 'past_due' || !inv || inv.status !== 'past_due' || !sub.grace_ends_at) return;
    if ((inv.failed_at ?? inv.period_start).getTime() >= i.closed_at.getTime()) return;
    const spreadMs = this.s.policy.incidents.spread_minutes * 60_000;
    const by = Math.max(0, i.closed_at.getTime() - i.opened_at.getTime()) + spreadMs;
    const before = sub.grace_ends_at;
    sub.grace_ends_at = new Date(before.getTime() + by);
    // The technical failures the incident caused (the store marked them) are given back: not counted against the invoice's attempts.
    const given_back = this.s.attempts.filter((a) => a.incident_id === i.id && givenBack(this.s.policy, a)).length;
    this.event('dunning.grace_extended', { invoice_id: inv.id, incident_id: i.id, scope: i.scope, extended_by_seconds: Math.round(by / 1000), previous_grace_ends_at: before, grace_ends_at: sub.grace_ends_at, attempts_given_back: given_back });
    if (this.inFlight() || !sub.auto_renew) return;
    this.recoveryAt = spreadRetryAt(sub.id, i.closed_at, this.s.policy.incidents.spread_minutes);
    if (this.now.getTime() >= sub.grace_ends_at.getTime()) return this.s.incident ? this.holdGraceEnd() : this.downgrade(inv);
    this.planPastDue(this.retryPlan());
  }

  /** A card other than the one `a` charged is on file, not yet tried for this invoice, and may be charged now. */
  newCardUntried(a: AttemptState): boolean {
    const pm = this.s.payment_method;
    if (!pm || pm.id === a.payment_method_id || !this.sub.auto_renew) return false;
    if (this.s.attempts.some((x) => x.payment_method_id === pm.id)) return false;
    return capsAllowNow(this.s.policy, this.s.card_attempts, this.now);
  }

  paid(a: AttemptState) {
    const sub = this.sub;
    const inv = this.s.invoice!;
    if (inv.kind === 'proration') return this.prorationPaid(a, inv);
    const wasPastDue = inv.status === 'past_due';
    inv.status = 'paid';
    inv.paid_at = this.now;
    const paid_with = this.paidWith(a);
    this.event('invoice.paid', { invoice_id: inv.id, attempt_id: a.id, amount: inv.amount, currency: inv.currency, recovered: wasPastDue, ...(paid_with ? { paid_with } : {}) });
    if (inv.kind === 'purchase') {
      // A purchase (first or after a downgrade) starts a fresh anchor at the invoice's start.
      sub.plan_id = inv.plan_id;
      sub.interval = inv.interval;
      sub.billing_anchor = inv.period_start;
      sub.period_index = 0;
    } else {
      // Renewal: the period continues from the original end, so a late payment buys no free days.
      sub.period_index += 1;
    }
    sub.current_period_start = inv.period_start;
    sub.current_period_end = inv.period_end;
    sub.status = 'active';
    sub.grace_ends_at = null;
    sub.next_retry_at = null;
    sub.next_retry_why = null;
    this.clearGraceExtras();
    this.event(inv.kind === 'purchase' ? 'subscription.started' : 'subscription.renewed', {
      invoice_id: inv.id,
      plan_id: sub.plan_id,
      period_start: sub.current_period_start,
      period_end: sub.current_period_end,
      recovered: wasPastDue,
    });
    // A purchase (first, or buying back after a downgrade) started something; it renewed nothing.
    const template = wasPastDue ? 'retry_succeeded' : inv.kind === 'purchase' ? 'purchase_succeeded' : 'renewal_succeeded';
    this.email(template, `${template}:${inv.id}`, { invoice_id: inv.id, amount: inv.amount, currency: inv.currency, period_end: inv.period_end, ...(paid_with ? { paid_with } : {}) });
    this.s.invoice = null;
    this.s.attempts = [];
    if (inv.kind === 'renewal' && !sub.auto_renew) {
      // A cancel asked while this charge was already at the gateway, which took the money: the
      // payment is kept and honoured (the rule in docs/ARCHITECTURE.md): the subscription runs to
      // the end of the period just paid and then ends, with no further charge.
      this.event('subscription.cancel_scheduled', { cancel_at: sub.current_period_end, by: 'customer', why: 'payment_in_flight_succeeded', invoice_id: inv.id });
      this.email('subscription_canceled', `subscription_canceled:${sub.id}:${sub.current_period_end.toISOString()}`, { access_until: sub.current_period_end, paid_amount: inv.amount, currency: inv.currency });
    }
    this.planActive();
  }

  /**
   * Cancel. Past due (any `at`) or `at: 'now'`: collection stops at once (the open invoice is
   * voided, no attempt, no reminder) and the account moves to the free plan. Active with
   * `period_end`: auto-renew goes off and the paid period runs to its end. With an attempt in
   * flight the cancel waits for its answer (a decline ends the subscription then; a success is kept).
   */
  cancel(at: CancelAt, by: CancelBy) {
    const sub = this.sub;
    const refusal = cancelRefusal(this.s);
    if (refusal) {
      this.refused = refusal;
      return;
    }
    const flying = this.inFlight();
    if (flying && isRateLimited(flying) && this.s.invoice?.kind === 'renewal') {
      // The renewal's charge waits out the gateway's 429: nothing was made under its key, so the
      // cancel closes it unsent ('not_made') and takes effect as if nothing were in flight; sent
      // after the wait, it would charge a renewal the customer has just cancelled.
      this.closeUnsent(flying);
      return this.endNow(by);
    }
    if (flying) {
      // The renewal's charge is at the gateway: its answer decides (see chargeResult → failed/paid).
      if (!sub.auto_renew) return;
      sub.auto_renew = false;
      sub.next_retry_at = null;
      sub.next_retry_why = null;
      this.event('subscription.cancel_requested', { at, by, why: 'payment_in_flight', invoice_id: this.s.invoice?.id ?? null });
      return; // next_action_at already points at the attempt's reconciliation
    }
    if (sub.status === 'past_due' || at === 'now') return this.endNow(by);
    if (!sub.auto_renew) return; // already scheduled: nothing more to do
    sub.auto_renew = false;
    this.clearScheduled(); // the cancel wins: no plan change at the period end
    this.event('subscription.cancel_scheduled', { cancel_at: sub.current_period_end, by });
    this.email('subscription_canceled', `subscription_canceled:${sub.id}:${sub.current_period_end.toISOString()}`, { access_until: sub.current_period_end });
    this.planActive();
  }

  /** An attempt never sent (rate-limited, then cancelled): closed, and out of the card's history. */
  closeUnsent(a: AttemptState) {
    a.outcome = 'not_made';
    a.raw_code = RATE_LIMITED_CODE;
    a.not_before = null;
    a.completed_at = this.now;
    this.changed.set(a.id, a);
    const i = this.s.card_attempts.findIndex((c) => c.outcome === 'pending');
    if (i >= 0) this.s.card_attempts.splice(i, 1);
    this.event('payment_attempt.not_made', { invoice_id: a.invoice_id, attempt_id: a.id, why: 'canceled_while_rate_limited' });
  }

  /** Undoes a cancel that has not taken effect: auto-renew back on, renewals as before. */
  resume(by: CancelBy) {
    const sub = this.sub;
    const refusal = resumeRefusal(this.s);
    if (refusal) {
      this.refused = refusal;
      return;
    }
    sub.auto_renew = true;
    this.event('subscription.resumed', { by, period_end: sub.current_period_end });
    if (this.inFlight()) return;
    if (sub.status === 'active') this.planActive();
    else if (this.s.invoice && sub.grace_ends_at) this.planPastDue(this.retryPlan());
  }

  /** The cancel takes effect now: the invoice being collected is voided, the account goes to the free plan. */
  endNow(by: CancelBy) {
    const sub = this.sub;
    const inv = this.s.invoice;
    if (inv) {
      inv.status = 'void';
      this.event('invoice.voided', { invoice_id: inv.id, reason: 'canceled' });
      this.s.invoice = null;
      this.s.attempts = [];
    }
    const from = sub.plan_id;
    this.clearScheduled();
    sub.status = 'canceled';
    sub.auto_renew = false;
    sub.plan_id = this.s.free_plan_id;
    sub.grace_ends_at = null;
    sub.next_retry_at = null;
    sub.next_retry_why = null;
    this.clearGraceExtras();
    this.setNext(null, null);
    this.event('subscription.canceled', { from_plan_id: from, to_plan_id: this.s.free_plan_id, invoice_id: inv?.id ?? null, by, immediate: true });
    this.email('subscription_canceled', `subscription_canceled:${sub.id}:${this.now.toISOString()}`, { invoice_id: inv?.id ?? null });
  }

  downgrade(inv: InvoiceState | null) {
    const sub = this.sub;
    if (inv) {
      inv.status = 'uncollectible';
      this.event('invoice.uncollectible', { invoice_id: inv.id, attempts: this.s.attempts.length });
    }
    const from = sub.plan_id;
    this.clearScheduled();
    sub.status = 'downgraded';
    sub.plan_id = this.s.free_plan_id;
    sub.grace_ends_at = null; // the event records when grace ended
    sub.next_retry_at = null;
    sub.next_retry_why = null;
    this.clearGraceExtras();
    this.setNext(null, null);
    this.event('subscription.downgraded', { from_plan_id: from, to_plan_id: this.s.free_plan_id, invoice_id: inv?.id ?? null });
    this.email('downgraded', `downgraded:${inv?.id ?? sub.id + ':' + this.now.toISOString()}`, { invoice_id: inv?.id ?? null });
  }

  /** A new card or a Retry press during grace: one attempt now (availability is checked by the caller). */
  customerAction(trigger: 'payment_method_updated' | 'customer_retry' | 'operator') {
    const sub = this.sub;
    if (trigger === 'payment_method_updated') this.event('payment_method.updated', { payment_method_id: this.s.payment_method?.id ?? null });
    if (sub.status !== 'past_due' || !this.s.invoice || this.s.invoice.status !== 'past_due') {
      if (trigger === 'payment_method_updated' && sub.status === 'active') this.planActive();
      return;
    }
    const flying = this.inFlight();
    if (flying) {
      // The scheduled attempt on this card is only waiting for the gateway's rate limit: the
      // customer is here, so it is made now (same attempt, same key) instead of after the wait.
      if (isRateLimited(flying) && flying.payment_method_id === this.s.payment_method?.id && sub.auto_renew) {
        flying.not_before = null;
        this.chargeAgain(flying);
      }
      return;
    }
    // Auto-renew off while past due is a cancel waiting to take effect: never a new attempt.
    if (!sub.auto_renew) return;
    if (trigger !== 'payment_method_updated') {
      // The same rules the Retry button shows, checked again here: a hard decline is never retried.
      const since = this.now.getTime() - DAY;
      const check = retryAvailability({
        policy: this.s.policy,
        invoice_status: this.s.invoice.status,
        domain_zone: this.s.account.domain_zone,
        payment_method: this.s.payment_method,
        in_flight: false,
        manual_retries_last_24h: this.s.attempts.filter((a) => a.trigger === 'customer_retry' && a.created_at.getTime() > since).length,
        card_attempts: this.s.card_attempts,
        attempts: this.s.attempts.map(toView),
        now: this.now,
      });
      if (!check.available && !(trigger === 'operator' && check.reason === 'rate_limited')) {
        this.event('retry.refused', { invoice_id: this.s.invoice.id, trigger, reason: check.reason });
        return;
      }
    }
    this.startAttempt(trigger);
  }

  /** Grace's pause and the customer's chosen day belong to one grace: none once it is over. */
  clearGraceExtras() {
    const sub = this.sub;
    sub.grace_paused_at = null;
    sub.grace_pause_ms = 0;
    sub.grace_pause_hold_ms = 0;
    sub.chosen_retry_at = null;
  }

  gracePause(): GracePause {
    const sub = this.sub;
    return { grace_ends_at: sub.grace_ends_at!, grace_paused_at: sub.grace_paused_at ?? null, grace_pause_ms: sub.grace_pause_ms ?? 0, grace_pause_hold_ms: sub.grace_pause_hold_ms ?? 0 };
  }

  setGracePause(p: GracePause) {
    const sub = this.sub;
    sub.grace_ends_at = p.grace_ends_at;
    sub.grace_paused_at = p.grace_paused_at;
    sub.grace_pause_ms = p.grace_pause_ms;
    sub.grace_pause_hold_ms = p.grace_pause_hold_ms;
  }

  /** In grace with the invoice being collected (a help request can pause its downgrade). */
  inGrace(): boolean {
    const sub = this.sub;
    return sub.status === 'past_due' && !!sub.grace_ends_at && this.s.invoice?.status === 'past_due';
  }

  /** Re-plans what comes next in grace after its end moved (not while an attempt is in flight: its answer plans). */
  replanGrace() {
    if (this.inFlight() || !this.sub.auto_renew) return;
    this.planPastDue(this.retryPlan());
  }

  /**
   * A help request waits: the downgrade is held back (grace_ends_at moves by what is left of the
   * policy's cap; resumeGrace gives back what was not waited). Retries go on as planned: the pause
   * is on the downgrade, not on collecting. Nothing changes outside grace or with the cap used up.
   */
  helpRequested(invoiceId: string, helpRequestId: string | null) {
    if (!this.inGrace() || this.s.invoice!.id !== invoiceId || this.now.getTime() >= this.sub.grace_ends_at!.getTime()) return;
    const inv = this.s.invoice!;
    const before = this.gracePause();
    const p = pauseGrace(before, this.s.policy, this.now);
    if (!p) {
      if (!before.grace_paused_at) this.event('dunning.downgrade_not_paused', { invoice_id: inv.id, help_request_id: helpRequestId, why: this.s.policy.help_pause_days === 0 ? 'pause_off' : 'pause_used_up', grace_ends_at: before.grace_ends_at });
      return;
    }
    this.setGracePause(p);
    this.event('dunning.downgrade_paused', { invoice_id: inv.id, help_request_id: helpRequestId, grace_ends_at: p.grace_ends_at, previous_grace_ends_at: before.grace_ends_at, at_most_ms: p.grace_pause_hold_ms });
    this.replanGrace();
  }

  /** No help request waits any more: the clock runs again, with the time left when the customer asked. */
  helpAnswered(invoiceId: string, helpRequestId: string | null) {
    // Not matched on the invoice: a plan change in grace replaces the invoice the request was about.
    void invoiceId;
    if (this.sub.status !== 'past_due' || !this.sub.grace_ends_at) return;
    const before = this.gracePause();
    const p = resumeGrace(before, this.now);
    if (!p) return;
    this.setGracePause(p);
    this.event('dunning.downgrade_resumed', {
      invoice_id: this.s.invoice?.id ?? null,
      help_request_id: helpRequestId,
      grace_ends_at: p.grace_ends_at,
      paused_ms: p.grace_pause_ms - before.grace_pause_ms,
      remaining_ms: Math.max(0, p.grace_ends_at.getTime() - this.now.getTime()),
    });
    this.replanGrace();
  }

  /**
   * The grace end the customer can count on now: while a help request waits, the end as if it were
   * answered now (it only moves later as the wait goes on), not the end if nobody ever answers.
   */
  firmGraceEnd(): Date {
    return (resumeGrace(this.gracePause(), this.now) ?? this.gracePause()).grace_ends_at;
  }

  /** The customer chose the day of the next attempt: planned then (reason customer_chosen), or refused. */
  retryDateChosen(at: Date, by: CancelBy) {
    const sub = this.sub;
    const inv = this.s.invoice;
    const refusal = (code: RetryDateRefusal, message: string) => {
      this.refused = { code, message };
    };
    if (!inv || !this.inGrace()) return refusal('invoice_not_past_due', 'the invoice is not past due (paid, void, or no longer collected)');
    const why = retryDateRefusal({
      policy: this.s.policy,
      failed_at: inv.failed_at ?? inv.period_start,
      grace_ends_at: this.firmGraceEnd(),
      attempts: this.s.attempts.map(toView),
      current_payment_method_id: this.s.payment_method?.id ?? null,
      card_attempts: this.s.card_attempts,
      invoice_status: inv.status,
      collecting: sub.auto_renew,
      now: this.now,
    }, at);
    if (why) return refusal(why, RETRY_DATE_REFUSALS[why]);
    sub.chosen_retry_at = at;
    this.event('dunning.retry_date_chosen', { invoice_id: inv.id, at, by });
    this.replanGrace();
  }

  /** The customer authenticates the past-due invoice: one on-session attempt (refused: nothing changes). */
  authenticationRequested() {
    const inv = this.s.invoice;
    const refusal = authenticationRefusal(this.s, inv?.id ?? '');
    if (refusal) {
      this.refused = refusal;
      return;
    }
    this.startAttempt(AUTHENTICATION_TRIGGER);
  }

  // ---- backup card (core/backup.ts) ----
  /** The card a plan names: the backup, or (undefined) the account's main card. */
  cardOf(plan: CardPlan): PaymentMethod | undefined {
    return plan.backup ? this.s.backup?.payment_method : undefined;
  }

  /** The recent attempts (caps) of the card `id`: the backup's own, or the main card's. */
  historyOf(id: string | null): BillingState['card_attempts'] {
    const b = this.s.backup;
    return b && id === b.payment_method.id ? b.card_attempts : this.s.card_attempts;
  }

  onBackup(a: Pick<AttemptState, 'payment_method_id'>): boolean {
    return !!this.s.backup && a.payment_method_id === this.s.backup.payment_method.id;
  }

  /** Which card paid, when it was the backup (the receipt and `invoice.paid` say so). */
  paidWith(a: AttemptState): { payment_method_id: string; brand: string | null; last4: string | null; role: 'backup' } | null {
    const b = this.s.backup?.payment_method;
    if (!b || a.payment_method_id !== b.id) return null;
    return { payment_method_id: b.id, brand: b.brand, last4: b.last4, role: 'backup' };
  }

  /** A backup card saved (or removed) while an invoice is past due: plan again; it may be due now. */
  backupCardUpdated() {
    const sub = this.sub;
    const inv = this.s.invoice;
    if (sub.status !== 'past_due' || !inv || inv.status !== 'past_due' || !sub.grace_ends_at || this.inFlight() || !sub.auto_renew) return;
    const plan = this.retryPlan();
    if (plan.backup && plan.at && plan.at.getTime() <= this.now.getTime()) return this.startAttempt('scheduled', this.cardOf(plan));
    this.planPastDue(plan);
  }

  // ---- plan change ----
  /**
   * A plan change (planChangeOf decides how): in grace the past-due invoice is voided and replaced by
   * one for the new plan over the same period, charged at once (grace_ends_at never moves); to a
   * dearer plan a 'proration' invoice for the rest of the period is charged at once and the plan
   * switches when it is paid (declined: nothing changes); otherwise the change waits for the period
   * end (scheduled_plan_id), where the renewal applies it. The current plan and interval again
   * unschedules a waiting change.
   */
  changePlan(plan: Plan, interval: Interval, by: CancelBy) {
    const sub = this.sub;
    const c = planChangeOf(this.s, plan, interval);
    if (c.refused) {
      this.refused = c.refused;
      return;
    }
    if (c.mode === 'unschedule') {
      this.event('subscription.plan_change_unscheduled', { plan_id: sub.scheduled_plan_id, interval: sub.scheduled_interval, by });
      this.clearScheduled();
      return;
    }
    if (c.mode === 'period_end') {
      if (sub.scheduled_plan_id === plan.id && sub.scheduled_interval === interval) return; // already scheduled
      sub.scheduled_plan_id = plan.id;
      sub.scheduled_interval = interval;
      this.s.scheduled_plan = plan;
      const data = { from_plan_id: sub.plan_id, plan_id: plan.id, interval, amount: c.amount, currency: this.s.account.currency, at: sub.current_period_end, by };
      this.event('subscription.plan_change_scheduled', data);
      this.email('plan_changed', `plan_changed:${sub.id}:${this.now.toISOString()}`, { plan_name: plan.name, change_at: sub.current_period_end, amount: c.amount, currency: data.currency });
      return;
    }
    if (c.mode === 'grace') {
      const old = this.s.invoice!;
      old.status = 'void';
      this.event('invoice.voided', { invoice_id: old.id, reason: 'plan_changed' });
      const from = sub.plan_id;
      sub.plan_id = plan.id;
      this.s.plan = plan;
      this.clearScheduled();
      const inv: InvoiceState = {
        ...old,
        id: this.ctx.newId('inv'),
        plan_id: plan.id,
        amount: c.amount,
        status: 'past_due',
        created_at: this.now,
        paid_at: null,
        kind: 'renewal',
        reminders_sent: [...old.reminders_sent],
      };
      this.s.invoice = inv;
      this.s.attempts = [];
      this.created = inv;
      this.event('invoice.created', { invoice_id: inv.id, amount: inv.amount, currency: inv.currency, period_start: inv.period_start, period_end: inv.period_end, replaces: old.id });
      const data = { from_plan_id: from, plan_id: plan.id, interval, amount: c.amount, currency: inv.currency, invoice_id: inv.id, in_grace: true, by };
      this.event('subscription.plan_changed', data);
      this.email('plan_changed', `plan_changed:${inv.id}`, { plan_name: plan.name, amount: c.amount, currency: inv.currency, invoice_id: inv.id });
      this.startAttempt('plan_change');
      return;
    }
    // Dearer: the rest of the period, prorated (src/core/proration.ts).
    const current = priceOf(this.s.plan, this.s.account.currency, sub.interval)!;
    const p = prorate({ oldAmount: current, newAmount: c.amount, periodStart: sub.current_period_start, periodEnd: sub.current_period_end, at: this.now });
    if (p.charge < minimumCharge(this.s.account.currency)) {
      // Nothing left to charge (the very end of the period), or less than the gateway charges at
      // all (€0.50 at Stripe: it would refuse the charge as amount_too_small): the change is made
      // at once and that remainder waived, said in the event (`waived`), never charged.
      this.switchPlan(plan, null, 0, p.charge);
      this.planActive();
      return;
    }
    const inv: InvoiceState = {
      id: this.ctx.newId('inv'),
      account_id: sub.account_id,
      subscription_id: sub.id,
      plan_id: plan.id,
      amount: p.charge,
      currency: this.s.account.currency,
      period_start: this.now,
      period_end: sub.current_period_end,
      status: 'open',
      created_at: this.now,
      paid_at: null,
      kind: 'proration',
      interval,
      failed_at: null,
      reminders_sent: [],
    };
    this.s.invoice = inv;
    this.s.attempts = [];
    this.s.invoice_plan = plan;
    this.created = inv;
    this.event('invoice.created', {
      invoice_id: inv.id, amount: inv.amount, currency: inv.currency, period_start: inv.period_start, period_end: inv.period_end, kind: 'proration',
      from_plan_id: sub.plan_id, plan_id: plan.id, credit: p.credit, new_share: p.new_share,
    });
    this.startAttempt('plan_change');
  }

  /** The prorated charge is paid: the plan switches now, the period (and its end) stays. */
  prorationPaid(a: AttemptState, inv: InvoiceState) {
    inv.status = 'paid';
    inv.paid_at = this.now;
    this.event('invoice.paid', { invoice_id: inv.id, attempt_id: a.id, amount: inv.amount, currency: inv.currency, recovered: false, kind: 'proration' });
    this.s.invoice = null;
    this.s.attempts = [];
    const plan = this.s.invoice_plan?.id === inv.plan_id ? this.s.invoice_plan : null;
    this.s.invoice_plan = null;
    this.switchPlan(plan, inv, inv.amount);
    this.planActive();
  }

  switchPlan(plan: Plan | null, inv: InvoiceState | null, charged: number, waived = 0) {
    const sub = this.sub;
    const from = sub.plan_id;
    sub.plan_id = plan?.id ?? inv!.plan_id;
    if (plan) this.s.plan = plan;
    this.clearScheduled();
    const data = {
      from_plan_id: from, plan_id: sub.plan_id, interval: sub.interval, amount: charged, currency: this.s.account.currency, invoice_id: inv?.id ?? null, period_end: sub.current_period_end,
      ...(waived > 0 ? { waived } : {}),
    };
    this.event('subscription.plan_changed', data);
    this.email('plan_changed', `plan_changed:${inv?.id ?? sub.id + ':' + this.now.toISOString()}`, {
      plan_name: this.s.plan.id === sub.plan_id ? this.s.plan.name : sub.plan_id,
      paid_amount: charged > 0 ? charged : undefined,
      currency: data.currency,
      period_end: sub.current_period_end,
      invoice_id: inv?.id,
    });
  }

  /** At the renewal: the scheduled plan (and interval) becomes the subscription's; the renewal charges its price. */
  applyScheduled() {
    const sub = this.sub;
    const plan = this.s.scheduled_plan;
    const id = sub.scheduled_plan_id;
    const interval = sub.scheduled_interval ?? sub.interval;
    this.clearScheduled();
    if (!plan || plan.id !== id) return; // the plan is gone: the renewal stays on the current one
    const from = sub.plan_id;
    sub.plan_id = plan.id;
    this.s.plan = plan;
    if (interval !== sub.interval) {
      // Another interval: periods are counted afresh from the end of the one that ends now (the
      // renewal bills period 0 of the new anchor; paying it makes period_index 0).
      sub.interval = interval;
      sub.billing_anchor = sub.current_period_end;
      sub.period_index = -1;
    }
    this.event('subscription.plan_changed', { from_plan_id: from, plan_id: plan.id, interval, scheduled: true, period_start: sub.current_period_end });
  }

  clearScheduled() {
    const sub = this.sub;
    if (sub.scheduled_plan_id) {
      sub.scheduled_plan_id = null;
      sub.scheduled_interval = null;
    }
    this.s.scheduled_plan = null;
  }

  // ---- purchase and buy back ----
  /**
   * Why a purchase cannot start now, or null. A purchase is allowed only while no paid subscription
   * is live and nothing is being collected: never a second live subscription, never a second charge
   * racing the first (a double click, an integrator's retry while the first answer is pending).
   */
  purchaseRefusal(plan: Plan): PurchaseRefusal | null {
    const sub = this.sub;
    if (plan.free) return 'free_plan';
    if (sub.status === 'past_due' || (sub.status === 'active' && !this.s.plan.free)) return 'already_subscribed';
    if (this.s.invoice || this.inFlight()) return 'purchase_in_progress';
    if (!this.s.payment_method) return 'no_payment_method';
    return null;
  }

  purchase(plan: Plan, interval: Interval, amount: number, autoRenew?: boolean) {
    const sub = this.sub;
    const refused = this.purchaseRefusal(plan);
    if (refused) {
      // Nothing changes: no invoice, no attempt; the caller reads the reason from the event.
      this.event('purchase.refused', { plan_id: plan.id, interval, reason: refused });
      return;
    }
    // The switch of the subscription being bought (never of a live one: refused above).
    if (autoRenew !== undefined) sub.auto_renew = autoRenew;
    this.s.plan = plan;
    // Bought again after a cancel that took effect before its paid period ended (`at: 'now'`): the
    // days already paid are not sold twice. The new period starts where the paid one ends (paid
    // access comes back at once; the charge is for the period after it), so paid periods never overlap.
    const paidUntil = sub.status === 'canceled' && sub.current_period_end.getTime() > this.now.getTime() ? sub.current_period_end : this.now;
    const period = periodOf(paidUntil, 0, interval, this.s.account.time_zone);
    const inv: InvoiceState = {
      id: this.ctx.newId('inv'),
      account_id: sub.account_id,
      subscription_id: sub.id,
      plan_id: plan.id,
      amount,
      currency: this.s.account.currency,
      period_start: period.start,
      period_end: period.end,
      status: 'open',
      created_at: this.now,
      paid_at: null,
      kind: 'purchase',
      interval,
      failed_at: null,
      reminders_sent: [],
    };
    this.s.invoice = inv;
    this.s.attempts = [];
    this.created = inv;
    this.event('invoice.created', { invoice_id: inv.id, amount, currency: inv.currency, period_start: inv.period_start, period_end: inv.period_end, kind: 'purchase' });
    this.startAttempt('initial');
  }
}

export function toView(a: AttemptState): AttemptView {
  return {
    at: a.created_at,
    trigger: a.trigger,
    outcome: a.outcome,
    retry_class: a.retry_class,
    reason: a.reason,
    not_before: a.not_before,
    payment_method_id: a.payment_method_id,
    incident_id: a.incident_id ?? null,
  };
}

/** What a refused retry date means (the API's problem detail; the pages word the codes themselves). */
export const RETRY_DATE_REFUSALS: Record<RetryDateRefusal, string> = {
  invoice_not_past_due: 'this invoice is not awaiting payment',
  date_not_in_future: 'choose a day after today',
  outside_grace: 'choose a day before the grace period ends',
  network_cap: 'the card networks allow no further attempt on this card then; choose another day or update the card',
  network_advice: "the card's bank asked not to be tried again before a later day; choose a later day",
  no_automatic_retry: 'this card will not be tried again automatically (refused for good, expired, or no attempts left): update your billing information',
};

/** Paid features while active or in grace; derived, never stored. */
export function accessOf(sub: Pick<Subscription, 'status' | 'plan_id'>, plan: Pick<Plan, 'free'>, freePlanId: string) {
  if (sub.status === 'active' && !plan.free) return { plan_id: sub.plan_id, paid: true, reason: 'active' as const };
  if (sub.status === 'past_due') return { plan_id: sub.plan_id, paid: true, reason: 'grace' as const };
  return { plan_id: sub.status === 'active' ? sub.plan_id : freePlanId, paid: false, reason: 'free' as const };
}

export { HOUR };
