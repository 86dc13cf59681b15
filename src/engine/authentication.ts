// 3-D Secure / SCA that completes: the customer authenticates a past-due invoice whose last attempt
// failed for authentication. One engine command starts it (a new attempt, committed with its
// idempotency key before the on-session confirmation, as every attempt) and one reads the outcome
// when the customer comes back from the issuer's page — from the gateway, never from the query.
// API (POST /v1/invoices/{id}/authentication-sessions) and pages (/portal/invoices/:id/authenticate,
// /portal/authenticate/return) share these.
import { AUTHENTICATION_TRIGGER, authenticationRefusal, type AttemptState } from '../core/machine.ts';
import { CommandError } from '../core/errors.ts';
import type { DeclineReason } from '../core/types.ts';
import { loadStates } from '../store/billing.ts';
import { attemptByIdempotencyKey, invoiceById } from '../store/invoices.ts';
import { subscriptionOfInvoice } from '../store/subscriptions.ts';
import type { AppContext } from './context.ts';

export interface AuthenticationSession {
  /** The issuer's page to send the customer to (or, when the gateway needed no challenge, the return page). */
  url: string;
  /** When the attempt stops waiting for the customer (it is then canceled at the gateway). */
  expires_at: Date;
  invoice_id: string;
  attempt_id: string;
  /** requires_action: the customer must go to `url`; succeeded: paid without a challenge. */
  status: 'requires_action' | 'succeeded';
}

/** Why authentication is refused, checked the same way the machine checks it (nothing is written). */
export async function authenticationCheck(ctx: AppContext, invoiceId: string, accountId: string | null) {
  const inv = await invoiceById(ctx.db, invoiceId);
  if (!inv || (accountId !== null && inv.account_id !== accountId)) throw new CommandError('not_found', 'not_found', `no invoice ${invoiceId}`);
  const sub = await subscriptionOfInvoice(ctx.db, invoiceId);
  if (!sub) throw new CommandError('not_found', 'not_found', `no invoice ${invoiceId}`);
  const [state] = await loadStates(ctx.db, [sub], ctx.clock.now());
  return { inv, sub, state, refusal: authenticationRefusal(state, invoiceId) };
}

/**
 * Starts authenticating the invoice: refused (409, nothing written) unless it is past due and its
 * last failure asks for authentication; otherwise a new attempt (trigger customer_authentication)
 * confirmed on-session with the return page as return_url. `accountId`: the customer's own account
 * (another account's invoice: not_found); null for the operator.
 */
export async function startAuthentication(ctx: AppContext, invoiceId: string, accountId: string | null): Promise<AuthenticationSession> {
  const { sub, refusal } = await authenticationCheck(ctx, invoiceId, accountId);
  if (refusal) throw new CommandError('conflict', refusal.code, refusal.message);
  const r = await ctx.engine.dispatch(sub.id, { type: 'authentication_requested' });
  if (r.refused) throw new CommandError('conflict', r.refused.code, r.refused.message);
  const a = r.attempt;
  if (!a) throw new CommandError('conflict', 'attempt_in_flight', 'a payment attempt for this invoice is in progress; try again in a moment');
  const expires_at = new Date(a.created_at.getTime() + Math.max(ctx.engine.authenticationWindowMs, ctx.engine.leaseMs));
  if (a.outcome === 'pending' && r.redirect_url) return { url: r.redirect_url, expires_at, invoice_id: invoiceId, attempt_id: a.id, status: 'requires_action' };
  if (a.outcome === 'succeeded') {
    const back = new URL(ctx.engine.authenticationReturnUrl);
    if (a.gateway_ref) back.searchParams.set('payment_intent', a.gateway_ref);
    return { url: back.toString(), expires_at, invoice_id: invoiceId, attempt_id: a.id, status: 'succeeded' };
  }
  if (a.outcome === 'declined' || a.outcome === 'requires_action')
    throw new CommandError('payment_failed', 'payment_failed', `the payment failed: ${a.reason ?? a.outcome}`, { outcome: a.outcome, reason: a.reason });
  throw new CommandError('unavailable', 'payment_pending', 'the payment gateway has not answered yet; the attempt is checked again by its key', { outcome: a.outcome });
}

/** What the customer's return from the issuer's page amounted to. */
export type AuthenticationReturn =
  | { kind: 'settled'; invoice_id: string; outcome: AttemptState['outcome']; reason: DeclineReason | null }
  /** The attempt was settled already (a reload, a replayed URL, the gateway's event came first): nothing changed. */
  | { kind: 'already'; invoice_id: string; outcome: AttemptState['outcome']; reason: DeclineReason | null; completed_at: Date | null }
  /** The gateway still waits for the customer (back without finishing): nothing changed. */
  | { kind: 'waiting'; invoice_id: string }
  /** Not an authentication of this account (unknown, someone else's, not renewd's): nothing changed. */
  | { kind: 'mismatch' };

/**
 * The customer is back from the issuer's page with `?payment_intent=…`. Nothing in the query is
 * trusted: the PaymentIntent is read from the gateway, must carry the key of an authentication
 * attempt on one of this account's invoices, and its state there decides. The outcome is applied
 * through the engine exactly as any answer (success renews from the original period end).
 */
export async function completeAuthentication(ctx: AppContext, accountId: string, gatewayRef: string): Promise<AuthenticationReturn> {
  if (!/^[A-Za-z0-9_]{1,255}$/.test(gatewayRef)) return { kind: 'mismatch' };
  const charge = await ctx.engine.gateway.getCharge(gatewayRef);
  if (!charge || !charge.idempotency_key) return { kind: 'mismatch' };
  const attempt = await attemptByIdempotencyKey(ctx.db, charge.idempotency_key);
  if (!attempt || attempt.trigger !== AUTHENTICATION_TRIGGER) return { kind: 'mismatch' };
  if (attempt.gateway_ref && attempt.gateway_ref !== charge.gateway_ref) return { kind: 'mismatch' };
  const inv = await invoiceById(ctx.db, attempt.invoice_id);
  if (!inv || inv.account_id !== accountId) return { kind: 'mismatch' };
  if (attempt.outcome !== 'pending' && attempt.outcome !== 'unknown') return { kind: 'already', invoice_id: inv.id, outcome: attempt.outcome, reason: attempt.reason, completed_at: attempt.completed_at };
  if (charge.outcome !== 'succeeded' && charge.outcome !== 'declined') return { kind: 'waiting', invoice_id: inv.id };
  const after = await ctx.engine.applyGatewayAnswer(attempt, charge);
  return { kind: 'settled', invoice_id: inv.id, outcome: after?.outcome ?? charge.outcome, reason: after?.reason ?? charge.reason };
}
