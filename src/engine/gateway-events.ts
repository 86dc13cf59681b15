// The gateway's own events (Stripe webhooks at POST /v1/gateway-events): verified with the official
// client and the endpoint secret, stored by event id and processed exactly once, dispatched by type.
// Duplicate and out-of-order deliveries are harmless: a settled attempt is never settled again, an
// older card update never overwrites a newer one. Types without a handler are acknowledged and stored.
import { CommandError } from '../core/errors.ts';
import { insertEvents } from '../store/billing.ts';
import { claimGatewayEvent, markGatewayEventProcessed, newerGatewayEventApplied, releaseGatewayEvent } from '../store/gateway-events.ts';
import { attemptByGatewayRef, attemptByIdempotencyKey } from '../store/invoices.ts';
import { paymentMethodByGatewayRef, updatePaymentMethodDetails } from '../store/accounts.ts';
import { subscriptionOfAccount } from '../store/subscriptions.ts';
import { GatewayEventRefused, verifyGatewayEvent, type GatewayEvent } from '../gateway/stripe-events.ts';
import type { AppContext } from './context.ts';
import { completeCardSetup } from './card-setup.ts';

/** What a handler did: applied (something changed), ignored (nothing to do, with why), unhandled (no handler for the type). */
export interface HandlerResult {
  result: 'applied' | 'ignored' | 'unhandled';
  detail: Record<string, unknown>;
}

export type GatewayEventHandler = (ctx: AppContext, e: GatewayEvent) => Promise<HandlerResult>;

const ignored = (why: string, more: Record<string, unknown> = {}): HandlerResult => ({ result: 'ignored', detail: { why, ...more } });

/**
 * payment_intent.succeeded / payment_intent.payment_failed: the outcome of a charge that arrives
 * after a redirect or a timeout. Settles the attempt the PaymentIntent belongs to (by its
 * renewd_idempotency_key metadata, else its reference) if that attempt is still open.
 */
async function settleCharge(ctx: AppContext, e: GatewayEvent): Promise<HandlerResult> {
  const c = e.charge;
  if (!c) return ignored('no_payment_intent');
  const attempt = c.idempotency_key ? await attemptByIdempotencyKey(ctx.db, c.idempotency_key) : await attemptByGatewayRef(ctx.db, c.gateway_ref);
  if (!attempt) return ignored('not_renewd_charge', { payment_intent: c.gateway_ref });
  if (attempt.outcome !== 'pending' && attempt.outcome !== 'unknown') return ignored('attempt_already_settled', { attempt_id: attempt.id, outcome: attempt.outcome });
  if (c.outcome !== 'succeeded' && c.outcome !== 'declined' && c.outcome !== 'requires_action') return ignored('not_final', { attempt_id: attempt.id });
  const after = await ctx.engine.applyGatewayAnswer(attempt, c);
  return { result: 'applied', detail: { attempt_id: attempt.id, invoice_id: attempt.invoice_id, outcome: after?.outcome ?? null } };
}

/**
 * payment_method.automatically_updated: the card networks' account updater sent a reissued card's
 * new expiry or number. The stored card's details follow; if the account has a past-due invoice,
 * one attempt now with the updated card (the machine's payment_method_updated).
 */
async function cardUpdated(ctx: AppContext, e: GatewayEvent): Promise<HandlerResult> {
  const d = e.payment_method;
  if (!d) return ignored('no_payment_method');
  const pm = await paymentMethodByGatewayRef(ctx.db, d.gateway_ref);
  if (!pm) return ignored('unknown_payment_method', { payment_method: d.gateway_ref });
  if (await newerGatewayEventApplied(ctx.db, d.gateway_ref, e.type, e.created, e.id)) return ignored('newer_update_applied', { payment_method_id: pm.id });
  const now = ctx.clock.now();
  await ctx.db.tx(async (q) => {
    await updatePaymentMethodDetails(q, pm.id, d);
    await insertEvents(q, [{ account_id: pm.account_id, type: 'payment_method.automatically_updated', data: { payment_method_id: pm.id, brand: d.brand, last4: d.last4, exp_month: d.exp_month, exp_year: d.exp_year } }], now);
  });
  const sub = pm.status === 'active' ? await subscriptionOfAccount(ctx.db, pm.account_id) : null;
  if (!sub || sub.status !== 'past_due') return { result: 'applied', detail: { payment_method_id: pm.id, attempt_id: null } };
  const r = await ctx.engine.dispatch(sub.id, { type: 'payment_method_updated' });
  return { result: 'applied', detail: { payment_method_id: pm.id, attempt_id: r.attempt?.id ?? null, outcome: r.attempt?.outcome ?? null } };
}

/**
 * checkout.session.completed: a card saved on the gateway's hosted page (Checkout in setup mode),
 * also when the customer closed the tab before coming back. The same idempotent completion as the
 * browser's return (engine/card-setup.ts): whichever arrives first saves the card, the other finds
 * it saved. A session renewd did not start is ignored.
 */
async function cardSetupCompleted(ctx: AppContext, e: GatewayEvent): Promise<HandlerResult> {
  if (!e.object_id) return ignored('no_checkout_session');
  try {
    const r = await completeCardSetup(ctx, e.object_id);
    return { result: r.status === 'saved' ? 'applied' : 'ignored', detail: { checkout_session: e.object_id, ...r } };
  } catch (err) {
    if (err instanceof CommandError && err.kind === 'not_found') return ignored('not_renewd_card_setup', { checkout_session: e.object_id });
    throw err;
  }
}

/**
 * The handlers, by event type. setup_intent.succeeded comes with checkout.session.completed for a
 * card saved on Checkout; the session's event carries what renewd needs (which session, so which
 * account), so the SetupIntent's is acknowledged and stored only.
 */
export const GATEWAY_EVENT_HANDLERS: Record<string, GatewayEventHandler> = {
  'payment_intent.succeeded': settleCharge,
  'payment_intent.payment_failed': settleCharge,
  'payment_method.automatically_updated': cardUpdated,
  'checkout.session.completed': cardSetupCompleted,
};

/** A claim older than this is taken over by a redelivery (its process died mid-way). */
const STALE_CLAIM_MS = 5 * 60_000;

/**
 * Receives one delivery: verifies it (a bad or stale signature → invalid_signature, nothing
 * stored), claims the event id, runs its handler once, records what it did. A duplicate answers
 * what was recorded; a delivery racing the one processing it gets a conflict (the gateway retries).
 */
export async function receiveGatewayEvent(ctx: AppContext, rawBody: Buffer | string, signature: string | undefined) {
  const secret = ctx.gatewayEventSecret;
  if (!secret) throw new CommandError('unavailable', 'gateway_events_not_configured', 'gateway events are not configured: set STRIPE_WEBHOOK_SECRET to the endpoint secret (whsec_…)');
  let e: GatewayEvent;
  try {
    e = verifyGatewayEvent(rawBody, signature, secret, ctx.clock.now());
  } catch (err) {
    if (err instanceof GatewayEventRefused) throw new CommandError('invalid', 'invalid_signature', `the event's signature does not verify: ${err.message}`);
    throw err;
  }
  const claim = await claimGatewayEvent(ctx.db, { id: e.id, type: e.type, object_id: e.object_id, created_at: e.created }, ctx.clock.now(), STALE_CLAIM_MS);
  if (claim === 'done') return { id: e.id, type: e.type, duplicate: true };
  if (claim === 'busy') throw new CommandError('conflict', 'event_in_progress', `event ${e.id} is being processed by another delivery; it is not processed twice`);
  const handler = GATEWAY_EVENT_HANDLERS[e.type];
  let r: HandlerResult;
  try {
    r = handler ? await handler(ctx, e) : { result: 'unhandled', detail: {} };
  } catch (err) {
    await releaseGatewayEvent(ctx.db, e.id); // a later delivery runs it again
    throw err;
  }
  await markGatewayEventProcessed(ctx.db, e.id, r.result, r.detail, ctx.clock.now());
  return { id: e.id, type: e.type, duplicate: false, result: r.result };
}
