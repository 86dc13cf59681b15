// Domain types of renewd. Plain data only: the core never touches I/O.
// Money is always integer minor units of `currency`; instants are Date (UTC).
// Each closed set of values is defined once, as a list (for schemas and checks) its type derives from.

export const INTERVALS = ['month', 'year'] as const;
export type Interval = (typeof INTERVALS)[number];

export interface Price {
  currency: string;
  interval: Interval;
  amount: number;
}

export interface Plan {
  id: string;
  name: string;
  free: boolean;
  prices: Price[];
  /** Archived by the operator: not bought or changed to any more; subscriptions on it keep renewing. */
  archived?: boolean;
}

export interface Account {
  id: string;
  name: string;
  email: string;
  locale: string;
  domain_zone: string;
  currency: string;
  time_zone: string;
  gateway_customer_ref: string | null;
  created_at: Date;
}

export const PM_TYPES = ['card', 'sepa_debit', 'paypal', 'bank_transfer'] as const;
export type PaymentMethodType = (typeof PM_TYPES)[number];
export const PAYMENT_METHOD_STATUSES = ['active', 'replaced', 'revoked'] as const;
export type PaymentMethodStatus = (typeof PAYMENT_METHOD_STATUSES)[number];

export interface PaymentMethod {
  id: string;
  account_id: string;
  type: PaymentMethodType;
  gateway_ref: string;
  brand: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
  status: PaymentMethodStatus;
  created_at: Date;
}

/** incomplete: created, first payment not (yet) made; access is free until it is. */
export const SUBSCRIPTION_STATUSES = ['incomplete', 'active', 'past_due', 'downgraded', 'canceled'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export interface Subscription {
  id: string;
  account_id: string;
  plan_id: string;
  interval: Interval;
  auto_renew: boolean;
  status: SubscriptionStatus;
  /** The instant periods are counted from: the n-th period ends at anchor + n intervals (month-end clamped). */
  billing_anchor: Date;
  /** How many periods have been paid since the anchor (the current period is number period_index). */
  period_index: number;
  current_period_start: Date;
  current_period_end: Date;
  grace_ends_at: Date | null;
  /** The one instant the scheduler reads: when the engine must next look at this subscription. */
  next_action_at: Date | null;
  /** What the engine will do at next_action_at (for people: the timeline shows it). */
  next_action: NextAction | null;
  /** A change to a cheaper plan (or another interval) waiting for the period end; both or neither. */
  scheduled_plan_id?: string | null;
  scheduled_interval?: Interval | null;
  /**
   * The downgrade held back for a help request (core/dunning.ts pauseGrace/resumeGrace): since
   * when a request waits (null: not paused), the pause credited to this grace so far, and what the
   * waiting pause added to grace_ends_at in advance.
   */
  grace_paused_at?: Date | null;
  grace_pause_ms?: number;
  grace_pause_hold_ms?: number;
  /** The instant the customer chose for the next attempt in grace (POST /v1/invoices/{id}/retry-date). */
  chosen_retry_at?: Date | null;
  version: number;
}

export const NEXT_ACTIONS = ['renew', 'retry', 'remind', 'end_grace', 'expire'] as const;
export type NextAction = (typeof NEXT_ACTIONS)[number];

export const INVOICE_STATUSES = ['open', 'paid', 'past_due', 'uncollectible', 'void'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

/**
 * A renewal bills the next period; a purchase is the first payment of a plan; a proration is the
 * prorated charge of a change to a dearer plan for the rest of the current period.
 */
export const INVOICE_KINDS = ['renewal', 'purchase', 'proration'] as const;
export type InvoiceKind = (typeof INVOICE_KINDS)[number];

export interface Invoice {
  id: string;
  account_id: string;
  subscription_id: string;
  plan_id: string;
  amount: number;
  currency: string;
  period_start: Date;
  period_end: Date;
  status: InvoiceStatus;
  created_at: Date;
  paid_at: Date | null;
}

/** customer_authentication: an on-session attempt the customer confirms on the issuer's page (3-D Secure). */
export const ATTEMPT_TRIGGERS = ['initial', 'scheduled', 'customer_retry', 'payment_method_updated', 'operator', 'plan_change', 'customer_authentication'] as const;
export type AttemptTrigger = (typeof ATTEMPT_TRIGGERS)[number];
/**
 * 'not_made': an attempt the gateway rate-limited (nothing was created under its key) that the
 * customer's cancel closed before it was sent again: never at the gateway, never charged.
 */
export const ATTEMPT_OUTCOMES = ['pending', 'succeeded', 'declined', 'requires_action', 'unknown', 'not_made'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export interface PaymentAttempt {
  id: string;
  invoice_id: string;
  payment_method_id: string | null;
  /** Attempt number within the invoice, 1-based; with the invoice id it makes the idempotency key. */
  number: number;
  trigger: AttemptTrigger;
  idempotency_key: string;
  outcome: AttemptOutcome;
  reason: DeclineReason | null;
  retry_class: RetryClass | null;
  raw_code: string | null;
  network_code: string | null;
  advice_code: string | null;
  gateway_ref: string | null;
  created_at: Date;
  completed_at: Date | null;
  /**
   * The payment incident this attempt was made in (or in the detection window that revealed it),
   * read by loadStates from the attempt's time and card. A technical failure in an incident is not
   * counted against the invoice's automatic attempts (core/dunning.ts givenBack); the caps count it.
   */
  incident_id?: string | null;
}

/** Customer-facing reasons: the help-desk article's five causes, plus authentication and generic. */
export const DECLINE_REASONS = [
  'credit_limit',
  'card_expired_or_inactive',
  'insufficient_funds',
  'issuer_unavailable',
  'payment_system_failure',
  'authentication_required',
  'declined_by_bank',
] as const;
export type DeclineReason = (typeof DECLINE_REASONS)[number];

/** What a decline allows: retry within hours, retry over days, wait for the customer, never. */
export const RETRY_CLASSES = ['soon', 'later', 'customer', 'never'] as const;
export type RetryClass = (typeof RETRY_CLASSES)[number];

/** Raw codes as the gateway/network gave them, kept for operators and for classification. */
export interface RawDecline {
  code?: string | null; // e.g. Stripe error code: card_declined, expired_card, authentication_required
  decline_code?: string | null; // e.g. insufficient_funds
  network_decline_code?: string | null; // e.g. ISO 8583 "51"
  advice_code?: string | null; // Stripe: do_not_try_again | try_again_later | confirm_card_data
  network_advice_code?: string | null; // Mastercard MAC: "03", "21", "24".."30"
  message?: string | null;
}


/** The e-mails renewd sends; notify/templates.ts renders each of them in every language. */
export const TEMPLATE_NAMES = [
  'purchase_succeeded', // the receipt of a first purchase or a buy-back: nothing was renewed
  'renewal_succeeded',
  'renewal_failed',
  'retry_succeeded',
  'retry_failed',
  'authentication_required',
  'card_expiring',
  'renewal_upcoming',
  'grace_ending',
  'downgraded',
  'subscription_canceled',
  'plan_changed',
  'help_request_received',
  'help_request_answered',
  'webhook_endpoint_disabled',
  'access_link', // a fresh no-login link the customer asked for ("Send me a new link")
  'incident_opened', // to the operator: technical payment failures far above their rate (core/incidents.ts)
] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/**
 * What a no-login e-mail link opens (where it lands in the customer pages): billing → #billing,
 * retry → the invoice's Retry (#inv-<id>), authenticate → /portal/invoices/<id>/authenticate,
 * help → the invoice's Request help (#help-<id>), subscription, restore, history → their sections.
 */
export const LINK_PURPOSES = ['billing', 'retry', 'authenticate', 'help', 'subscription', 'restore', 'history', 'invoice'] as const;
export type LinkPurpose = (typeof LINK_PURPOSES)[number];

export const HELP_REQUEST_STATUSES = ['open', 'answered', 'closed'] as const;
export type HelpRequestStatus = (typeof HELP_REQUEST_STATUSES)[number];
export type HelpRequester = 'customer' | 'operator';

/** A support request about one invoice, with the snapshot the operator answers from. */
export interface HelpRequest {
  id: string;
  account_id: string;
  invoice_id: string;
  message: string;
  status: HelpRequestStatus;
  answer: string | null;
  context: HelpContext;
  created_at: Date;
  answered_at: Date | null;
  closed_at: Date | null;
}

/** What the operator sees of the invoice at the time of the request. */
export interface HelpContext {
  requested_by: HelpRequester;
  account: { id: string; name: string; email: string; locale: string; domain_zone: string; time_zone: string };
  invoice: {
    id: string;
    status: string;
    kind: string;
    plan_id: string;
    amount: number;
    currency: string;
    period_start: string;
    period_end: string;
    created_at: string;
    paid_at: string | null;
  };
  subscription: { status: string; plan_id: string; grace_ends_at: string | null; next_retry_at: string | null } | null;
  payment_method: { type: string; brand: string | null; last4: string | null; exp_month: number | null; exp_year: number | null } | null;
  attempts: {
    number: number;
    at: string;
    trigger: string;
    outcome: string;
    reason: string | null;
    retry_class: string | null;
    raw_code: string | null;
    network_code: string | null;
    advice_code: string | null;
  }[];
  /** The distinct decline reasons of the attempts, oldest first. */
  decline_reasons: string[];
  retry: { available: boolean; reason: string | null };
}
