// The gateway's own events (Stripe webhooks), verified with the official client and read into the
// few facts renewd acts on. The sandbox PSP signs its events the same way, so one path serves both.
import Stripe from 'stripe';
import { chargeOf, details } from './stripe.ts';
import type { GatewayCharge, PaymentMethodDetails } from './types.ts';

/** Why an event was refused: its signature (or its age) does not verify. Nothing is read from it. */
export class GatewayEventRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayEventRefused';
  }
}

/** A verified event, reduced to what renewd reads of it. */
export interface GatewayEvent {
  id: string;
  type: string;
  created: Date;
  /** The object the event is about (pi_…, pm_…, seti_…, cs_…), when it has an id. */
  object_id: string | null;
  /** payment_intent.*: the charge as the event shows it. */
  charge: GatewayCharge | null;
  /** payment_method.*: the card as the event shows it, and its customer. */
  payment_method: (PaymentMethodDetails & { customer_ref: string | null }) | null;
}

/** Stripe's default: an event signed more than 5 minutes before it is received is refused (replays). */
export const EVENT_TOLERANCE_S = 300;

/**
 * Verifies the Stripe-Signature header over the raw body with the endpoint secret
 * (stripe.webhooks.constructEvent, with `receivedAt` from renewd's clock so the test clock works),
 * then reads the event. Throws GatewayEventRefused on any mismatch.
 */
export function verifyGatewayEvent(rawBody: Buffer | string, signature: string | undefined, secret: string, receivedAt: Date): GatewayEvent {
  if (!signature) throw new GatewayEventRefused('the Stripe-Signature header is missing');
  let event: Stripe.Event;
  try {
    event = Stripe.webhooks.constructEvent(rawBody, signature, secret, EVENT_TOLERANCE_S, undefined, receivedAt.getTime());
  } catch (err) {
    throw new GatewayEventRefused(err instanceof Error ? err.message : 'the signature does not verify');
  }
  return readEvent(event);
}

function readEvent(event: Stripe.Event): GatewayEvent {
  const obj = (event.data?.object ?? {}) as { id?: unknown; object?: unknown };
  const out: GatewayEvent = {
    id: event.id,
    type: event.type,
    created: new Date(event.created * 1000),
    object_id: typeof obj.id === 'string' ? obj.id : null,
    charge: null,
    payment_method: null,
  };
  if (obj.object === 'payment_intent') out.charge = chargeOf(obj as unknown as Stripe.PaymentIntent);
  if (obj.object === 'payment_method') {
    const pm = obj as unknown as Stripe.PaymentMethod;
    out.payment_method = { ...details(pm), customer_ref: typeof pm.customer === 'string' ? pm.customer : (pm.customer?.id ?? null) };
  }
  return out;
}
