// The one interface every payment gateway adapter implements. The engine talks only to this.
import type { AttemptOutcome, DeclineReason, RawDecline, RetryClass } from '../core/types.ts';
export type { RawDecline } from '../core/types.ts';

/** A card as typed by a customer in the sandbox; never stored, never logged. */
export interface CardInput {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc?: string;
}

export interface PaymentMethodDetails {
  gateway_ref: string;
  type: 'card';
  brand: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
}

export interface ChargeRequest {
  customer_ref: string;
  payment_method_ref: string;
  amount: number;
  currency: string;
  /** Derived before the call from invoice + attempt number; the same key is only reused to reconcile. */
  idempotency_key: string;
  description?: string;
  metadata?: Record<string, string>;
  /**
   * Whose request this is, for the installation's pace: 'customer' when a customer waits for the
   * answer (Retry, a new card, authentication), served from a reserved share; default 'billing'.
   */
  lane?: 'billing' | 'customer';
}

export interface ChargeResult {
  /**
   * 'rate_limited': the gateway refused to look at the request (429, lock_timeout) and the
   * adapter's retries under the same key ran out. Nothing was made: not an attempt outcome; the
   * same key is used again after retry_after_ms.
   */
  outcome: Exclude<AttemptOutcome, 'pending' | 'not_made'> | 'rate_limited';
  /** Gateway reference of the charge (PaymentIntent id), when one exists. */
  gateway_ref: string | null;
  /** Normalized reason and retry class; null when succeeded. For unknown: null. */
  reason: DeclineReason | null;
  retry_class: RetryClass | null;
  raw: RawDecline;
  /**
   * Earliest time a retry is allowed by the network advice (Mastercard MAC 24–30), in ms from now;
   * for rate_limited, how long the gateway asked to wait (Retry-After) or the adapter's backoff.
   */
  retry_after_ms: number | null;
  /**
   * For unknown: the gateway replayed an error it had stored under this idempotency key
   * (Stripe's `Idempotent-Replayed: true`), so the first request with the key has finished.
   */
  replayed_error?: boolean;
}

export interface Gateway {
  readonly name: string;
  /** Creates the gateway-side customer for an account; returns its reference. */
  createCustomer(input: { account_id: string; email: string; name: string }): Promise<string>;
  /** Sandbox/test only: turn raw card data into a saved payment method attached to the customer. */
  attachCard(customer_ref: string, card: CardInput): Promise<PaymentMethodDetails>;
  /** Attach a payment method already tokenized client-side (real gateway path). */
  attachToken(customer_ref: string, token: string): Promise<PaymentMethodDetails>;
  /** Off-session charge. Never throws for declines or transport trouble: those are outcomes. */
  charge(req: ChargeRequest): Promise<ChargeResult>;
  /** Finds the charge made under this idempotency key, without ever creating one. null: none exists. */
  lookup(req: ChargeRequest): Promise<ChargeResult | null>;
  /**
   * On-session charge the customer confirms (3-D Secure): created and confirmed under the attempt's
   * idempotency key with a return URL. requires_action answers carry the issuer's page (redirect_url)
   * the customer is sent to; the gateway sends them back to return_url. Never throws for declines.
   */
  startAuthentication(req: ChargeRequest & { return_url: string }): Promise<ChargeResult & { redirect_url: string | null }>;
  /** The charge (PaymentIntent) with this gateway reference, read from the gateway; null: no such charge. */
  getCharge(gateway_ref: string): Promise<GatewayCharge | null>;
  /**
   * Every charge (PaymentIntent, any status) created in [from, to], newest first, page after page
   * (Stripe: the list API with `created` bounds and auto-pagination): what `renewd verify --gateway`
   * compares with the invoices.
   */
  listCharges(window: { from: Date; to: Date }): AsyncIterable<GatewayCharge>;
  /** Cancels a charge still waiting for the customer, so it can never succeed unseen; answers its final state. */
  cancelAuthentication(gateway_ref: string): Promise<ChargeResult>;
  /**
   * Starts a card capture on the gateway's own hosted page (Stripe: a Checkout Session in `setup`
   * mode). The customer types the card there, never at renewd; the gateway sends the browser back
   * to success_url (its `{CHECKOUT_SESSION_ID}` replaced by the session id) or cancel_url.
   */
  startCardSetup(input: CardSetupInput): Promise<CardSetupSession>;
  /** What became of a card setup, read from the gateway (never from the browser's query). */
  getCardSetup(id: string): Promise<CardSetupState>;
}

/** A charge as the gateway holds it: its outcome, and what ties it to renewd's attempt. */
export interface GatewayCharge extends ChargeResult {
  gateway_ref: string;
  /** The attempt's idempotency key (metadata renewd_idempotency_key), when renewd made the charge. */
  idempotency_key: string | null;
  customer_ref: string | null;
  amount: number;
  currency: string;
}

export interface CardSetupInput {
  customer_ref: string;
  account_id: string;
  success_url: string;
  cancel_url: string;
  locale?: string;
  currency: string;
}

export interface CardSetupSession {
  id: string;
  url: string;
  expires_at: Date;
}

export interface CardSetupState {
  id: string;
  status: 'open' | 'complete' | 'expired';
  /** The renewd account the session was created for (its metadata renewd_account_id). */
  account_id: string | null;
  setup_intent_ref: string | null;
  /** The card the customer saved, already attached to the customer by the gateway; null until complete. */
  payment_method: PaymentMethodDetails | null;
}

/** Thrown by attachCard/attachToken when the card itself is refused (bad number, expired, …). */
export class CardRejectedError extends Error {
  readonly code: string;
  readonly decline_code: string | null;
  constructor(
    message: string,
    code: string,
    decline_code: string | null = null,
  ) {
    super(message);
    this.code = code;
    this.decline_code = decline_code;
    this.name = 'CardRejectedError';
  }
}

/**
 * Thrown by attachToken when the gateway refuses the payment method reference the customer gave
 * (no such payment method or token, one already used for another customer): the customer's input,
 * not a fault of renewd or of the gateway. `code` is the gateway's (Stripe: resource_missing,
 * payment_method_unexpected_state…), `message` its reason.
 */
export class PaymentMethodRefusedError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
    this.name = 'PaymentMethodRefusedError';
  }
}
