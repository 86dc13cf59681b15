// Dunning policy as data, its validation, and the pure planners that read it: when to retry a
// failed renewal, when to remind, and whether a customer may press Retry now.
import type { AttemptOutcome, AttemptTrigger, DeclineReason, PaymentMethodType, RetryClass } from './types.ts';
import { DECLINE_REASONS, PM_TYPES, RETRY_CLASSES } from './types.ts';
import { DAY, HOUR, addDaysInZone } from './time.ts';
import { DEFAULT_INCIDENT_POLICY, validateIncidentPolicy, type IncidentPolicy } from './incidents.ts';

export interface ManualRetryPolicy {
  enabled: boolean;
  disabled_domain_zones: string[];
  disabled_payment_methods: PaymentMethodType[];
  max_per_day: number;
}

export interface DunningPolicy {
  grace_days: number;
  /** Days after the failed renewal at which funds/limit/generic declines are retried (fractions allowed). */
  retry_schedule: number[];
  /** Hours after a technical decline (issuer down, system failure) for quick retries, then the day schedule. */
  technical_retry_hours: number[];
  /** Days before grace ends when the customer is reminded. */
  reminder_days: number[];
  /** Automatic (scheduled) attempts per invoice, the first renewal charge included. */
  max_automatic_attempts: number;
  /** Per-reason override of how a decline is handled; card-network hard stops cannot be loosened. */
  decline_rules: Partial<Record<DeclineReason, RetryClass>>;
  /** Caps per card, kept below the networks' (Visa 20 reattempts/30 d, Mastercard 10 declines/24 h). */
  caps: { attempts_per_card_30d: number; declines_per_card_24h: number };
  manual_retry: ManualRetryPolicy;
  final_action: 'downgrade';
  /**
   * How long, at most, an unanswered help request on a past-due invoice holds the downgrade back
   * (days over one grace period, all the requests together; 0: a help request pauses nothing).
   */
  help_pause_days: number;
  /** Outage-aware grace: when technical failures spike, an incident holds retries and extends grace (core/incidents.ts). */
  incidents: IncidentPolicy;
  /** Failures of the main card on an invoice after which its next attempt is on the customer's backup card (core/backup.ts). */
  backup_after_failures: number;
}

export type PolicyOverride = Partial<Omit<DunningPolicy, 'manual_retry' | 'caps' | 'incidents'>> & {
  manual_retry?: Partial<ManualRetryPolicy>;
  caps?: Partial<DunningPolicy['caps']>;
  incidents?: Partial<IncidentPolicy>;
};

/** Network limits that no policy may exceed. */
export const NETWORK_CAPS = { attempts_per_card_30d: 20, declines_per_card_24h: 10 } as const;

// 7 automatic attempts in 14 days (Stripe recommends up to 8 in 2 weeks), front-loaded because
// Recurly finds 90% of recoveries in the first 10 days.
export const DEFAULT_POLICY: DunningPolicy = {
  grace_days: 14,
  retry_schedule: [1, 3, 5, 7, 10, 12],
  technical_retry_hours: [2, 8],
  reminder_days: [7, 2],
  max_automatic_attempts: 8,
  decline_rules: {},
  caps: { attempts_per_card_30d: 15, declines_per_card_24h: 8 },
  manual_retry: { enabled: true, disabled_domain_zones: [], disabled_payment_methods: [], max_per_day: 3 },
  final_action: 'downgrade',
  help_pause_days: 7,
  incidents: DEFAULT_INCIDENT_POLICY,
  backup_after_failures: 2,
};

/** Longest pause of the downgrade a policy may give a help request. */
export const MAX_HELP_PAUSE_DAYS = 30;

export const FINAL_ACTIONS: readonly DunningPolicy['final_action'][] = ['downgrade'];

export function mergePolicy(base: DunningPolicy, ...overrides: (PolicyOverride | null | undefined)[]): DunningPolicy {
  let p = base;
  for (const o of overrides) {
    if (!o) continue;
    p = {
      ...p,
      ...o,
      decline_rules: { ...p.decline_rules, ...(o.decline_rules ?? {}) },
      caps: { ...p.caps, ...(o.caps ?? {}) },
      manual_retry: { ...p.manual_retry, ...(o.manual_retry ?? {}) },
      incidents: { ...p.incidents, ...(o.incidents ?? {}) },
    } as DunningPolicy;
  }
  return p;
}

export interface PolicyError {
  field: string;
  message: string;
}

/** Every problem with a (merged) policy; empty when valid. */
/** Longest lists a policy may hold (the API schema says the same). */
const MAX_LIST = 50;
const MAX_ZONES = 500;
const MAX_PAYMENT_METHODS = 10;

export function validatePolicy(p: DunningPolicy): PolicyError[] {
  const errs: PolicyError[] = [];
  const isInt = (n: unknown) => typeof n === 'number' && Number.isInteger(n);
  const num = (n: unknown) => typeof n === 'number' && Number.isFinite(n);
  if (!isInt(p.grace_days) || p.grace_days < 1 || p.grace_days > 60)
    errs.push({ field: 'grace_days', message: 'must be a whole number of days from 1 to 60' });
  const checkDays = (field: string, days: unknown, max: number, unit: string) => {
    if (!Array.isArray(days)) return errs.push({ field, message: 'must be a list of numbers' });
    // The same bounds as the API's schema, for callers that do not pass through it (the console).
    if (days.length > MAX_LIST) return errs.push({ field, message: `must have at most ${MAX_LIST} items` });
    days.forEach((d, i) => {
      if (!num(d) || d <= 0) errs.push({ field: `${field}[${i}]`, message: `must be a positive number of ${unit}` });
      else if (d >= max) errs.push({ field: `${field}[${i}]`, message: `${d} ${unit} is beyond the grace period (${p.grace_days} days)` });
      if (i > 0 && num(d) && d <= (days[i - 1] as number)) errs.push({ field: `${field}[${i}]`, message: 'must be in increasing order' });
    });
  };
  if (isInt(p.grace_days)) {
    checkDays('retry_schedule', p.retry_schedule, p.grace_days, 'days');
    checkDays('technical_retry_hours', p.technical_retry_hours, p.grace_days * 24, 'hours');
    checkDays('reminder_days', Array.isArray(p.reminder_days) ? [...p.reminder_days].sort((a, b) => a - b) : p.reminder_days, p.grace_days, 'days');
  }
  if (!isInt(p.max_automatic_attempts) || p.max_automatic_attempts < 1 || p.max_automatic_attempts > NETWORK_CAPS.attempts_per_card_30d)
    errs.push({ field: 'max_automatic_attempts', message: `must be from 1 to ${NETWORK_CAPS.attempts_per_card_30d}` });
  for (const [k, v] of Object.entries(p.decline_rules ?? {})) {
    if (!DECLINE_REASONS.includes(k as DeclineReason)) errs.push({ field: `decline_rules.${k}`, message: `unknown decline reason "${k}"; known: ${DECLINE_REASONS.join(', ')}` });
    else if (!RETRY_CLASSES.includes(v as RetryClass)) errs.push({ field: `decline_rules.${k}`, message: `unknown retry class "${v}"; known: ${RETRY_CLASSES.join(', ')}` });
  }
  const c = p.caps ?? ({} as DunningPolicy['caps']);
  if (!isInt(c.attempts_per_card_30d) || c.attempts_per_card_30d < 1 || c.attempts_per_card_30d > NETWORK_CAPS.attempts_per_card_30d)
    errs.push({ field: 'caps.attempts_per_card_30d', message: `must be from 1 to ${NETWORK_CAPS.attempts_per_card_30d} (Visa's limit)` });
  if (!isInt(c.declines_per_card_24h) || c.declines_per_card_24h < 1 || c.declines_per_card_24h > NETWORK_CAPS.declines_per_card_24h)
    errs.push({ field: 'caps.declines_per_card_24h', message: `must be from 1 to ${NETWORK_CAPS.declines_per_card_24h} (Mastercard's limit)` });
  const m = p.manual_retry;
  if (!m || typeof m.enabled !== 'boolean') errs.push({ field: 'manual_retry.enabled', message: 'must be true or false' });
  if (m && (!isInt(m.max_per_day) || m.max_per_day < 0 || m.max_per_day > 50))
    errs.push({ field: 'manual_retry.max_per_day', message: 'must be from 0 to 50' });
  // The exclusions are lists (Retry availability reads them as such); without manual_retry, none.
  const zones: unknown = m ? m.disabled_domain_zones : [];
  const methods: unknown = m ? m.disabled_payment_methods : [];
  if (!Array.isArray(zones)) errs.push({ field: 'manual_retry.disabled_domain_zones', message: 'must be a list of domain zones' });
  else if (zones.length > MAX_ZONES) errs.push({ field: 'manual_retry.disabled_domain_zones', message: `must have at most ${MAX_ZONES} items` });
  if (!Array.isArray(methods)) errs.push({ field: 'manual_retry.disabled_payment_methods', message: 'must be a list of payment method types' });
  else if (methods.length > MAX_PAYMENT_METHODS) errs.push({ field: 'manual_retry.disabled_payment_methods', message: `must have at most ${MAX_PAYMENT_METHODS} items` });
  for (const t of Array.isArray(methods) ? methods : [])
    if (!PM_TYPES.includes(t)) errs.push({ field: 'manual_retry.disabled_payment_methods', message: `unknown payment method type "${t}"; known: ${PM_TYPES.join(', ')}` });
  for (const z of Array.isArray(zones) ? zones : [])
    if (typeof z !== 'string' || !/^[a-z0-9-]{1,63}$/.test(z)) errs.push({ field: 'manual_retry.disabled_domain_zones', message: `"${z}" is not a domain zone (e.g. "fr", "com")` });
  if (p.final_action !== 'downgrade') errs.push({ field: 'final_action', message: 'must be "downgrade"' });
  if (!isInt(p.help_pause_days) || p.help_pause_days < 0 || p.help_pause_days > MAX_HELP_PAUSE_DAYS)
    errs.push({ field: 'help_pause_days', message: `must be a whole number of days from 0 (off) to ${MAX_HELP_PAUSE_DAYS}` });
  errs.push(...validateIncidentPolicy(p.incidents));
  if (!isInt(p.backup_after_failures) || p.backup_after_failures < 1 || p.backup_after_failures > NETWORK_CAPS.attempts_per_card_30d)
    errs.push({ field: 'backup_after_failures', message: `must be from 1 to ${NETWORK_CAPS.attempts_per_card_30d}` });
  return errs;
}

/** One past attempt as the planners see it. */
export interface AttemptView {
  at: Date;
  trigger: AttemptTrigger;
  outcome: AttemptOutcome;
  retry_class: RetryClass | null;
  reason: DeclineReason | null;
  /** Earliest retry the network advice allows (Mastercard MAC 24–30). */
  not_before: Date | null;
  payment_method_id: string | null;
  /** The payment incident it was made in, if any (core/incidents.ts; see givenBack). */
  incident_id?: string | null;
}

/**
 * A technical failure that belongs to a payment incident (made while it was open, or in the
 * detection window that revealed it) is given back: the gateway or the bank was down, not the
 * card, so it does not count against the invoice's automatic attempts nor as a failure of the
 * card. The networks' caps still count it (the attempt was made).
 */
export function givenBack(policy: DunningPolicy, a: Pick<AttemptView, 'incident_id' | 'outcome' | 'retry_class' | 'reason'>): boolean {
  return !!a.incident_id && a.outcome === 'declined' && effectiveClass(policy, a) === 'soon';
}

/** The automatic attempts an invoice has spent: the renewal charge and the scheduled retries, less those given back. */
export function automaticAttempts(policy: DunningPolicy, attempts: readonly AttemptView[]): number {
  return attempts.filter((a) => (a.trigger === 'scheduled' || a.trigger === 'initial') && !givenBack(policy, a)).length;
}

/** Policy overrides of a decline's class; a network "never" stays never. */
export function effectiveClass(policy: DunningPolicy, a: Pick<AttemptView, 'retry_class' | 'reason'>): RetryClass | null {
  if (!a.retry_class) return null;
  if (a.retry_class === 'never') return 'never';
  const o = a.reason ? policy.decline_rules[a.reason] : undefined;
  return o ?? a.retry_class;
}

export type RetryWhy =
  | 'technical_retry'
  | 'scheduled_retry'
  | 'network_advice_delay'
  | 'network_cap_delay'
  | 'waiting_for_customer'
  | 'card_refused_permanently'
  | 'max_attempts_reached'
  | 'grace_ends_first'
  | 'no_payment_method'
  /** The customer chose the day of the next attempt (POST /v1/invoices/{id}/retry-date). */
  | 'customer_chosen'
  /** An open incident (core/incidents.ts) covers the card: no attempt until it closes. */
  | 'incident'
  /** The incident closed: the held retry, spread over the policy's spread_minutes. */
  | 'incident_recovery'
  | 'backup_card';

export interface RetryPlan {
  at: Date | null;
  why: RetryWhy;
}

export interface RetryPlanInput {
  policy: DunningPolicy;
  failed_at: Date;
  grace_ends_at: Date;
  /** This invoice's attempts, oldest first. */
  attempts: AttemptView[];
  current_payment_method_id: string | null;
  /** All attempts on the current card in the last 30 days (any invoice), with their outcomes. */
  card_attempts: { at: Date; outcome: AttemptOutcome }[];
  /** The instant the customer chose for the next attempt, if any (replaces the schedule until then). */
  chosen_at?: Date | null;
}

/** Plans that no chosen date overrides: nothing will be tried on this card automatically. */
const NO_AUTOMATIC_RETRY: readonly RetryWhy[] = ['no_payment_method', 'max_attempts_reached', 'card_refused_permanently', 'waiting_for_customer'];

/**
 * When the next automatic retry happens, and why (or why none). A date the customer chose takes
 * the place of the schedule's next attempt (the ones before it are not made: the customer said
 * when the money is there), as long as it is still ahead of the last attempt, inside grace and
 * within the caps; once made, the schedule carries on after it.
 */
export function planRetry(input: RetryPlanInput): RetryPlan {
  const plan = planScheduledRetry(input);
  const chosen = input.chosen_at;
  if (!chosen || NO_AUTOMATIC_RETRY.includes(plan.why)) return plan;
  const last = input.attempts[input.attempts.length - 1];
  if (last && last.at.getTime() >= chosen.getTime()) return plan; // already made (or overtaken)
  const onCard = input.attempts.filter((a) => a.payment_method_id === input.current_payment_method_id);
  const notBefore = onCard[onCard.length - 1]?.not_before;
  if (notBefore && notBefore.getTime() > chosen.getTime()) return plan;
  if (!capsAllowNow(input.policy, input.card_attempts, chosen)) return plan;
  if (chosen.getTime() >= input.grace_ends_at.getTime()) return plan;
  return { at: chosen, why: 'customer_chosen' };
}

function planScheduledRetry(input: RetryPlanInput): RetryPlan {
  const { policy, failed_at, grace_ends_at, attempts } = input;
  if (!input.current_payment_method_id) return { at: null, why: 'no_payment_method' };
  if (automaticAttempts(policy, attempts) >= policy.max_automatic_attempts) return { at: null, why: 'max_attempts_reached' };
  // An attempt given back to an incident did not use its slot either: the plan reads the card's
  // history without it, so the retry it stood for is planned again (after the incident: incidentPlan).
  const onCard = attempts.filter((a) => a.payment_method_id === input.current_payment_method_id && !givenBack(policy, a));
  const last = onCard[onCard.length - 1];
  const lastAny = attempts[attempts.length - 1];
  let at: Date;
  let why: RetryWhy;
  if (!last) {
    // A card not yet tried for this invoice: try it now (normally done at once on card change).
    at = lastAny ? lastAny.at : failed_at;
    why = 'scheduled_retry';
  } else {
    const cls = effectiveClass(policy, last);
    if (cls === 'never') return { at: null, why: 'card_refused_permanently' };
    if (cls === 'customer') return { at: null, why: 'waiting_for_customer' };
    if (cls === 'soon') {
      // Consecutive technical declines at the end of the history decide which quick retry is next.
      let streak = 0;
      for (let i = onCard.length - 1; i >= 0 && effectiveClass(policy, onCard[i]) === 'soon'; i--) streak++;
      const hours = policy.technical_retry_hours[streak - 1];
      if (hours !== undefined) {
        at = new Date(last.at.getTime() + hours * HOUR);
        why = 'technical_retry';
      } else {
        at = nextSlot(policy, failed_at, last.at);
        why = 'scheduled_retry';
      }
    } else {
      at = nextSlot(policy, failed_at, last.at);
      why = 'scheduled_retry';
    }
    if (last.not_before && last.not_before.getTime() > at.getTime()) {
      at = last.not_before;
      why = 'network_advice_delay';
    }
  }
  const capped = applyCaps(policy, input.card_attempts, at);
  if (capped.getTime() > at.getTime()) {
    at = capped;
    why = 'network_cap_delay';
  }
  if (at.getTime() >= grace_ends_at.getTime()) return { at: null, why: 'grace_ends_first' };
  return { at, why };
}

/** The first slot of the day schedule strictly after the last attempt; past the schedule: none. */
function nextSlot(policy: DunningPolicy, failed_at: Date, after: Date): Date {
  for (const d of policy.retry_schedule) {
    const t = failed_at.getTime() + d * DAY;
    if (t > after.getTime()) return new Date(t);
  }
  return new Date(8.64e15); // far future: the grace end comes first
}

/** Earliest instant ≥ at where one more attempt keeps both per-card windows under their caps. */
export function applyCaps(policy: DunningPolicy, history: { at: Date; outcome: AttemptOutcome }[], at: Date): Date {
  let t = at.getTime();
  for (let guard = 0; guard < 50; guard++) {
    const in30 = history.filter((h) => h.at.getTime() > t - 30 * DAY && h.at.getTime() <= t).map((h) => h.at.getTime()).sort((a, b) => a - b);
    const dec24 = history
      .filter((h) => h.outcome !== 'succeeded' && h.at.getTime() > t - DAY && h.at.getTime() <= t)
      .map((h) => h.at.getTime())
      .sort((a, b) => a - b);
    let next = t;
    if (in30.length >= policy.caps.attempts_per_card_30d) next = Math.max(next, in30[in30.length - policy.caps.attempts_per_card_30d] + 30 * DAY + 1);
    if (dec24.length >= policy.caps.declines_per_card_24h) next = Math.max(next, dec24[dec24.length - policy.caps.declines_per_card_24h] + DAY + 1);
    if (next === t) return new Date(t);
    t = next;
  }
  return new Date(t);
}

/** True when one more attempt now stays within the per-card caps. */
export function capsAllowNow(policy: DunningPolicy, history: { at: Date; outcome: AttemptOutcome }[], now: Date): boolean {
  return applyCaps(policy, history, now).getTime() === now.getTime();
}

export function graceEndsAt(failedPeriodEnd: Date, policy: DunningPolicy, timeZone: string): Date {
  return addDaysInZone(failedPeriodEnd, policy.grace_days, timeZone);
}

/** Reminder instants (days before grace end, in the account's zone), latest-days first. */
export function reminderTimes(policy: DunningPolicy, grace_ends_at: Date, timeZone: string): { days: number; at: Date }[] {
  return [...policy.reminder_days]
    .sort((a, b) => b - a)
    .map((days) => ({ days, at: addDaysInZone(grace_ends_at, -days, timeZone) }));
}

/** The reminder to send now, if any: the most recent one due that was not sent; older due ones are skipped. */
export function dueReminder(
  policy: DunningPolicy,
  grace_ends_at: Date,
  timeZone: string,
  sent: number[],
  failed_at: Date,
  now: Date,
): { days: number; at: Date } | null {
  const due = reminderTimes(policy, grace_ends_at, timeZone).filter(
    (r) => r.at.getTime() <= now.getTime() && r.at.getTime() > failed_at.getTime(),
  );
  const latest = due[due.length - 1];
  if (!latest) return null;
  // A reminder with fewer days left already went out: older ones are moot.
  if (sent.some((d) => d <= latest.days)) return null;
  return latest;
}

export function nextReminderAt(policy: DunningPolicy, grace_ends_at: Date, timeZone: string, sent: number[], failed_at: Date, now: Date): Date | null {
  const minSent = sent.length ? Math.min(...sent) : Infinity;
  for (const r of reminderTimes(policy, grace_ends_at, timeZone)) {
    if (r.days >= minSent) continue;
    if (r.at.getTime() <= failed_at.getTime()) continue;
    if (r.at.getTime() > now.getTime()) return r.at;
  }
  return null;
}

export type RetryUnavailable =
  | 'invoice_not_past_due'
  | 'manual_retry_disabled'
  | 'domain_zone_excluded'
  | 'payment_method_excluded'
  | 'no_payment_method'
  | 'attempt_in_flight'
  | 'rate_limited'
  | 'network_cap'
  | 'needs_new_payment_method';

export interface RetryAvailabilityInput {
  policy: DunningPolicy;
  invoice_status: string;
  domain_zone: string;
  payment_method: { id: string; type: PaymentMethodType } | null;
  in_flight: boolean;
  manual_retries_last_24h: number;
  card_attempts: { at: Date; outcome: AttemptOutcome }[];
  attempts: AttemptView[];
  now: Date;
}

/** Whether the customer's Retry button works now, and if not, the reason to show. */
export function retryAvailability(i: RetryAvailabilityInput): { available: true; reason: null } | { available: false; reason: RetryUnavailable } {
  const no = (reason: RetryUnavailable) => ({ available: false as const, reason });
  if (i.invoice_status !== 'past_due') return no('invoice_not_past_due');
  if (!i.policy.manual_retry.enabled) return no('manual_retry_disabled');
  if (i.policy.manual_retry.disabled_domain_zones.includes(i.domain_zone)) return no('domain_zone_excluded');
  if (!i.payment_method) return no('no_payment_method');
  if (i.policy.manual_retry.disabled_payment_methods.includes(i.payment_method.type)) return no('payment_method_excluded');
  if (i.in_flight) return no('attempt_in_flight');
  const onCard = i.attempts.filter((a) => a.payment_method_id === i.payment_method!.id);
  const last = onCard[onCard.length - 1];
  // A hard decline or an expired card will not change by trying again: the card must change.
  if (last) {
    const cls = effectiveClass(i.policy, last);
    if (cls === 'never' || (cls === 'customer' && last.reason !== 'authentication_required')) return no('needs_new_payment_method');
  }
  if (i.manual_retries_last_24h >= i.policy.manual_retry.max_per_day) return no('rate_limited');
  if (!capsAllowNow(i.policy, i.card_attempts, i.now)) return no('network_cap');
  return { available: true, reason: null };
}

export type RetryDateRefusal =
  | 'invoice_not_past_due'
  | 'date_not_in_future'
  | 'outside_grace'
  | 'network_cap'
  | 'network_advice'
  | 'no_automatic_retry';

export interface RetryDateInput extends RetryPlanInput {
  invoice_status: string;
  /** Collection goes on (auto-renew on): a pending cancel collects nothing. */
  collecting: boolean;
  now: Date;
}

/**
 * Whether the customer may have the next attempt made at `at`: the invoice is past due and still
 * collected, `at` is ahead of now and before grace ends, an automatic attempt is possible at all on
 * this card (not refused for good, not waiting for a new card, attempts left), and one more attempt
 * then keeps the card within the networks' caps and their advice (Mastercard "retry after").
 */
export function retryDateRefusal(i: RetryDateInput, at: Date): RetryDateRefusal | null {
  if (i.invoice_status !== 'past_due' || !i.collecting) return 'invoice_not_past_due';
  if (at.getTime() <= i.now.getTime()) return 'date_not_in_future';
  if (at.getTime() >= i.grace_ends_at.getTime()) return 'outside_grace';
  const plan = planScheduledRetry({ ...i, chosen_at: null });
  if (NO_AUTOMATIC_RETRY.includes(plan.why)) return 'no_automatic_retry';
  const onCard = i.attempts.filter((a) => a.payment_method_id === i.current_payment_method_id);
  const notBefore = onCard[onCard.length - 1]?.not_before;
  if (notBefore && notBefore.getTime() > at.getTime()) return 'network_advice';
  if (!capsAllowNow(i.policy, i.card_attempts, at)) return 'network_cap';
  return null;
}

/** The downgrade's pause for help requests, as the subscription keeps it. */
export interface GracePause {
  grace_ends_at: Date;
  /** Since when an unanswered help request holds the downgrade back (null: not paused). */
  grace_paused_at: Date | null;
  /** Pause already credited to this grace (finished pauses). */
  grace_pause_ms: number;
  /** What the current pause added to grace_ends_at in advance (the rest of the cap). */
  grace_pause_hold_ms: number;
}

/**
 * A help request starts waiting: the downgrade is held back for as long as it waits, up to what is
 * left of the policy's cap. The wait is not known yet, so grace_ends_at moves by the whole rest of
 * the cap now (the downgrade if nobody answers) and `resumeGrace` gives back what was not waited.
 * Null: nothing to pause (already paused, the cap used up, or pauses off).
 */
export function pauseGrace(p: GracePause, policy: DunningPolicy, now: Date): GracePause | null {
  if (p.grace_paused_at || now.getTime() >= p.grace_ends_at.getTime()) return null;
  const hold = Math.max(0, policy.help_pause_days * DAY - p.grace_pause_ms);
  if (hold === 0) return null;
  return { grace_ends_at: new Date(p.grace_ends_at.getTime() + hold), grace_paused_at: now, grace_pause_ms: p.grace_pause_ms, grace_pause_hold_ms: hold };
}

/**
 * The operator answered (or no request waits any more): the clock runs again. Grace ends as late as
 * it did before the pause plus the time the request waited (never more than what was held, never
 * less than before the pause): the customer has the time left they had when they asked.
 */
export function resumeGrace(p: GracePause, now: Date): GracePause | null {
  if (!p.grace_paused_at) return null;
  const waited = Math.max(0, now.getTime() - p.grace_paused_at.getTime());
  const credit = Math.min(waited, p.grace_pause_hold_ms);
  return {
    grace_ends_at: new Date(p.grace_ends_at.getTime() - (p.grace_pause_hold_ms - credit)),
    grace_paused_at: null,
    grace_pause_ms: p.grace_pause_ms + credit,
    grace_pause_hold_ms: 0,
  };
}
