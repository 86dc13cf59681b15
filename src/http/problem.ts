// Errors as RFC 9457 problem+json with a stable `type` (urn:renewd:problem:<code>) that clients
// can switch on; `title` is the same for every instance of a type, `detail` says what happened.
import type { FastifyReply } from 'fastify';
import type { CommandError, ErrorKind } from '../core/errors.ts';

export const PROBLEM_TYPES: Record<string, string> = {
  validation_error: 'The request is not valid',
  unauthorized: 'Authentication required',
  forbidden: 'Not allowed',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  payload_too_large: 'Request body too large',
  unsupported_media_type: 'Unsupported media type',
  rate_limited: 'Too many requests',
  internal_error: 'Internal error',
  unknown_currency: 'Unknown currency',
  unknown_time_zone: 'Unknown time zone',
  invalid_locale: 'Invalid locale',
  duplicate_price: 'Duplicate price',
  price_below_minimum: 'Price below the smallest chargeable amount',
  no_price: 'No price for this currency and interval',
  plan_exists: 'Plan already exists',
  free_plan_exists: 'A free plan already exists',
  no_free_plan: 'No free plan',
  already_subscribed: 'Already subscribed',
  already_canceled: 'The subscription is already canceled',
  nothing_to_cancel: 'Nothing to cancel',
  cancel_took_effect: 'The cancel has already taken effect',
  no_pending_cancel: 'No pending cancel',
  payment_failed: 'Payment failed',
  same_plan: 'The subscription is already on this plan',
  not_subscribed: 'No live subscription to change',
  cancel_pending: 'A cancel is pending',
  change_in_progress: 'A payment for this subscription is being made',
  interval_change_in_grace: 'The interval cannot change while a payment is past due',
  unknown_plan: 'Unknown plan',
  free_plan: 'The free plan is not bought',
  plan_archived: 'The plan is archived',
  free_plan_not_archivable: 'The free plan cannot be archived',
  no_payment_method: 'No payment method',
  purchase_in_progress: 'A purchase is already being paid',
  payment_pending: 'The payment is not settled yet',
  card_rejected: 'Card rejected',
  payment_method_refused: 'The gateway refused the payment method',
  raw_card_data_not_accepted: 'Raw card data is not accepted with this gateway',
  consent_required: "The customer's consent is required",
  card_setup_mismatch: 'The card setup session belongs to another account',
  retry_unavailable: 'Retry is not available',
  retry_date_unavailable: 'The next attempt cannot be planned on that day',
  invoice_not_issued: 'The invoice was never issued (it has no number and no document)',
  invalid_policy: 'Invalid dunning policy',
  test_clock_disabled: 'Test clock disabled',
  test_clock_backwards: 'The test clock only moves forward',
  idempotency_key_reused: 'Idempotency key reused with different parameters',
  idempotency_key_not_supported: 'Idempotency-Key is not supported on this operation',
  no_gateway_customer: 'No gateway customer',
  not_requeueable: 'The e-mail cannot be re-queued',
  gateway_unavailable: 'Payment gateway unavailable',
  last_admin_key: 'The last active admin key cannot be revoked',
  weak_admin_key: 'The admin key is too weak',
  admin_key_revoked: 'The admin key was revoked',
  authentication_not_needed: 'The invoice does not need authentication',
  attempt_in_flight: 'A payment attempt is in progress',
  invalid_signature: 'The event signature does not verify',
  gateway_events_not_configured: 'Gateway events are not configured',
  event_in_progress: 'The event is being processed',
  payment_method_update_in_progress: 'Another payment-method change is being saved',
  concurrent_update: 'A concurrent change stopped this request; send it again',
};

export function problemType(code: string): string {
  return `urn:renewd:problem:${code}`;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [k: string]: unknown;
}

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return { type: problemType(code), title: PROBLEM_TYPES[code] ?? code, status, detail, code, ...extra };
}

/** The one place an engine error kind becomes an HTTP status. */
export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  payment_failed: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
};

export function problemOf(err: CommandError): Problem {
  return problem(STATUS_OF_KIND[err.kind], err.code, err.message, err.extra);
}

export function sendProblem(reply: FastifyReply, p: Problem) {
  return reply.code(p.status).type('application/problem+json').send(p);
}

/** JSON schema of a problem document, for OpenAPI. */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  properties: {
    type: { type: 'string', example: 'urn:renewd:problem:validation_error' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
  required: ['type', 'title', 'status', 'detail'],
  additionalProperties: true,
} as const;
