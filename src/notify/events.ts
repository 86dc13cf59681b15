// The event catalog: the types renewd writes to its append-only event log (and so sends to
// webhooks), and how an endpoint's subscription patterns ('*', 'invoice.*', 'invoice.paid') match
// them. One list for the API's documentation, the console's form and the delivery fan-out.

export const KNOWN_EVENT_TYPES = [
  'account.created',
  'account.billing_details_updated', // the name, address or VAT id for the account's next documents
  'subscription.created',
  'subscription.started',
  'subscription.renewed',
  'subscription.past_due',
  'subscription.downgraded',
  'subscription.canceled',
  'subscription.cancel_scheduled',
  'subscription.cancel_requested',
  'subscription.resumed',
  'subscription.auto_renew_changed',
  'subscription.plan_changed', // at once (dearer plan paid, or in grace), or at the renewal that applies a scheduled change
  'subscription.plan_change_scheduled', // a cheaper plan or another interval, from the period end
  'subscription.plan_change_unscheduled',
  'invoice.created',
  'invoice.paid',
  'invoice.uncollectible',
  'invoice.voided',
  'invoice.finalized', // paid or past due: the invoice took its legal number (data.number); its document exists from now on
  'credit_note.created', // an issued invoice cancelled (voided in grace): a credit note from its own series (data.number)
  'payment_attempt.started',
  'payment_attempt.failed',
  'payment_attempt.unknown',
  'payment_attempt.rate_limited', // the gateway answered 429: nothing was made; the same attempt (same key) is made after the wait
  'payment_attempt.not_made', // a rate-limited attempt closed unsent by the customer's cancel: never at the gateway
  'payment_attempt.skipped',
  'payment_attempt.authentication_started', // the customer is at the bank's page (3-D Secure); the attempt stays open
  'payment_method.updated',
  'payment_method.automatically_updated', // the card networks' account updater sent a new expiry or number (gateway event)
  'dunning.retry_planned',
  'dunning.reminder_sent',
  'dunning.downgrade_paused', // a help request on the past-due invoice waits: the downgrade waits too (data.grace_ends_at: at the latest)
  'dunning.downgrade_resumed', // answered (or no request waits any more): the clock runs again (data.grace_ends_at, remaining_ms)
  'dunning.downgrade_not_paused', // a help request that pauses nothing: the policy's help_pause_days is off or used up
  'dunning.retry_date_chosen', // the customer (or operator) chose the day of the next attempt (data.at)
  'dunning_policy.updated',
  'retry.refused',
  'purchase.refused', // a purchase or buy-back refused under the subscription's lock (a live subscription, a purchase being paid, no card)
  'help_request.created',
  'help_request.answered',
  'help_request.closed',
  'webhook_endpoint.disabled',
  'admin_key.created',
  'admin_key.revoked', // by an operator, or replaced by a new RENEWD_ADMIN_KEY
  'incident.opened', // technical payment failures far above their rate, for the gateway or a card brand (core/incidents.ts): covered invoices get no attempt
  'incident.closed', // the covered invoices' grace is extended by its length and their retries are spread
  'dunning.grace_extended', // an incident that covered the invoice closed (data.incident_id, extended_by_seconds)
  'dunning.failure_mail_withheld', // a technical failure during an incident: no "payment failed" e-mail blaming the card
  'payment_method.backup_saved', // a backup card saved with the customer's consent (charged when the main card fails)
  'payment_method.backup_removed',
] as const;
export type EventType = (typeof KNOWN_EVENT_TYPES)[number];

/** A subscription pattern: '*', a prefix such as 'invoice.*', or an exact type. */
export const EVENT_TYPE_PATTERN = '^(\\*|[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*(\\.\\*)?)$';

/** Does an endpoint subscribed to `patterns` want events of `type`? */
export function matchesEventType(patterns: string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}
