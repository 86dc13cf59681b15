// The Stripe adapter, through the official `stripe` package. It talks to real Stripe or, with
// host/port/protocol, to the built-in sandbox PSP (which speaks the same subset of the API).
//
// Charges are off-session PaymentIntents created with confirm=true under the attempt's idempotency
// key (sent both as Stripe's Idempotency-Key and as metadata renewd_idempotency_key, so the charge
// can be found again without creating anything). Declines and transport trouble are outcomes:
// charge() never throws for them. Card numbers and CVCs are passed straight to the gateway and are
// never logged, stored or put into an error message.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Stripe from 'stripe';
import { classifyDecline } from '../core/declines.ts';
import { GatewayError } from './errors.ts';
import { CardRejectedError, PaymentMethodRefusedError, type CardInput, type CardSetupInput, type CardSetupState, type ChargeRequest, type ChargeResult, type Gateway, type GatewayCharge, type PaymentMethodDetails, type RawDecline } from './types.ts';

export interface StripeGatewayOptions {
  apiKey: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  /** Client timeout per request (default 30 s). A charge that times out is an `unknown` outcome. */
  timeoutMs?: number;
  /**
   * Automatic retries by the client: 0 (the engine reconciles unknown outcomes itself, with the same
   * key). Note that stripe-node still retries a request once, with the same Idempotency-Key, when
   * the connection was closed under it (ECONNRESET): safe, the key makes it at most once.
   */
  maxNetworkRetries?: 0;
  /** Most payment intents of one customer a lookup walks through (newest first; default 1000). */
  lookupScanLimit?: number;
  /** Open sockets to the gateway at most (default 256; keep-alive). */
  maxSockets?: number;
  /**
   * How many times a request the gateway rate-limited (429, lock_timeout) or found busy under its
   * key (409 idempotency_key_in_use) is sent again, with the same idempotency key, before the
   * adapter gives up (default 3). A charge then answers `rate_limited` (429) or `unknown` (409).
   */
  rateLimitRetries?: number;
  /** Exponential backoff when the gateway gives no Retry-After: first wait and cap (default 500 ms, 8 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A Retry-After longer than this is not waited for inline: the call gives up at once (default 10 s). */
  maxInlineWaitMs?: number;
  /** How the adapter waits between those retries (tests pass one that only records the delays). */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: () => number;
  /** The installation's pace: asked before every request, told of every 429 (see engine/pace.ts). */
  pace?: GatewayPace;
}

/**
 * The pace every request to the gateway keeps: `acquire` resolves when the request may go (a token
 * of the shared rate), `lane` says whose request it is ('customer': a customer is waiting, served
 * from a reserved share; 'billing': background work); `rateLimited` and `answered` let the rate
 * adapt (down on 429s, back up while they stop).
 */
export interface GatewayPace {
  acquire(lane: GatewayLane): Promise<void>;
  /** May answer a promise (settled when the slowdown is recorded); the adapter does not wait for it. */
  rateLimited(retryAfterMs: number | null): void | Promise<unknown>;
  answered(): void;
}
export type GatewayLane = 'billing' | 'customer';

/** The metadata key carrying the attempt's idempotency key on every PaymentIntent renewd creates. */
export const IDEMPOTENCY_METADATA_KEY = 'renewd_idempotency_key';

type StripeErr = Error & {
  type?: string;
  statusCode?: number;
  code?: string;
  decline_code?: string;
  network_decline_code?: string;
  advice_code?: string;
  network_advice_code?: string;
  payment_intent?: { id?: string; status?: string };
  headers?: Record<string, string | string[] | undefined>;
  param?: string;
};

/**
 * stripe-node captures `new Error().stack` synchronously in every request, only to decorate a
 * possible error with the caller's frames. With source maps on (under tsx, before Node.js stripped the types itself) that stack was about a tenth
 * of a billing-day worker's CPU (profile of `npm run bench -- --profile`); the charge path turns
 * errors into outcomes and never shows their stacks, so it starts its request with stack capture
 * off (the synchronous start only: the limit is restored before anything else runs; an error
 * raised in that start carries no stack).
 */
function withoutCallSiteStack<T>(start: () => Promise<T>): Promise<T> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return start();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function createStripeGateway(opts: StripeGatewayOptions): Gateway {
  if (!opts.apiKey) throw new Error('createStripeGateway: apiKey is required');
  const protocol = opts.protocol ?? 'https';
  // Every socket opened stays open for reuse (Node keeps only 256 idle ones by default, so a burst
  // of more charges than that closed and reopened the rest on every batch).
  const maxSockets = opts.maxSockets ?? 256;
  const agentOpts = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
  const stripe = new Stripe(opts.apiKey, {
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.port ? { port: opts.port } : {}),
    protocol,
    timeout: opts.timeoutMs ?? 30_000,
    maxNetworkRetries: 0,
    telemetry: false,
    httpAgent: protocol === 'http' ? new HttpAgent(agentOpts) : new HttpsAgent(agentOpts),
    appInfo: { name: 'renewd' },
  });
  const scanLimit = opts.lookupScanLimit ?? 1000;
  const retries = opts.rateLimitRetries ?? 3;
  const baseMs = opts.backoffBaseMs ?? 500;
  const capMs = opts.backoffMaxMs ?? 8_000;
  const maxInlineMs = opts.maxInlineWaitMs ?? 10_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const pace = opts.pace;

  /**
   * One request to the gateway, at the installation's pace, sent again (the same call: the same
   * idempotency key) while the gateway says it is too busy to look at it: 429 (rate limit,
   * lock_timeout) or 409 idempotency_key_in_use. Stripe stores no answer for those (no endpoint
   * ran), so sending again can never do a thing twice. Waits the gateway's Retry-After, else an
   * exponential backoff with jitter; the last error is thrown when the retries run out.
   */
  async function call<T>(lane: GatewayLane, send: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      if (pace) await pace.acquire(lane);
      try {
        const out = await send();
        pace?.answered();
        return out;
      } catch (err) {
        const busy = busyKind(err);
        if (!busy) throw err;
        const asked = retryAfterMs(err as StripeErr);
        if (busy === 'rate_limited') void pace?.rateLimited(asked);
        if (i >= retries || (asked !== null && asked > maxInlineMs)) throw err;
        const backoff = Math.min(capMs, baseMs * 2 ** i);
        // Full jitter on the upper half: workers that were refused together do not come back together.
        const wait = asked ?? backoff / 2 + random() * (backoff / 2);
        await sleep(Math.round(wait));
      }
    }
  }

  /** Errors outside a charge: card refusals are CardRejectedError, the rest GatewayError. */
  function rethrow(err: unknown, what: string): never {
    if (!(err instanceof Stripe.errors.StripeError)) throw err; // a bug, not the gateway
    const e = err as StripeErr;
    if (e?.type === 'StripeCardError') throw new CardRejectedError(e.message || 'The card was refused.', e.code ?? 'card_declined', e.decline_code ?? null);
    throw toGatewayError(e, what);
  }

  return {
    name: 'stripe',

    async createCustomer(input) {
      try {
        const c = await call('customer', () => stripe.customers.create({ email: input.email, name: input.name, metadata: { renewd_account_id: input.account_id } }));
        return c.id;
      } catch (err) {
        rethrow(err, 'create the customer');
      }
    },

    async attachCard(customer_ref: string, card: CardInput): Promise<PaymentMethodDetails> {
      try {
        const pm = await call('customer', () =>
          stripe.paymentMethods.create({
            type: 'card',
            card: { number: card.number, exp_month: card.exp_month, exp_year: card.exp_year, ...(card.cvc ? { cvc: card.cvc } : {}) },
          }),
        );
        return details(await call('customer', () => stripe.paymentMethods.attach(pm.id, { customer: customer_ref })));
      } catch (err) {
        rethrow(err, 'save the card');
      }
    },

    async attachToken(customer_ref: string, token: string): Promise<PaymentMethodDetails> {
      try {
        // A card token (tok_…) becomes a payment method first; a payment method id is attached as is.
        const id = token.startsWith('tok_') ? (await call('customer', () => stripe.paymentMethods.create({ type: 'card', card: { token } }))).id : token;
        return details(await call('customer', () => stripe.paymentMethods.attach(id, { customer: customer_ref })));
      } catch (err) {
        // Stripe refusing the token itself (invalid_request_error on anything but our customer:
        // resource_missing, already attached elsewhere…) is the customer's input, a 4xx upstream.
        const e = err as StripeErr;
        if (err instanceof Stripe.errors.StripeInvalidRequestError && e.statusCode !== undefined && e.statusCode < 500 && ![401, 403, 409, 429].includes(e.statusCode) && e.param !== 'customer')
          throw new PaymentMethodRefusedError(e.message || 'The payment method was refused.', e.code ?? 'invalid_request_error');
        rethrow(err, 'save the payment method');
      }
    },

    // Card capture on the gateway's hosted page: a Checkout Session in setup mode. The card is typed
    // on Stripe's page (or the sandbox's copy of it), confirmed there as a SetupIntent and attached
    // to the customer; renewd only ever sees the pm_… id.
    async startCardSetup(input: CardSetupInput) {
      try {
        const cs = await call('customer', () => stripe.checkout.sessions.create({
          mode: 'setup',
          customer: input.customer_ref,
          currency: input.currency.toLowerCase(),
          success_url: input.success_url,
          cancel_url: input.cancel_url,
          metadata: { renewd_account_id: input.account_id },
          setup_intent_data: { metadata: { renewd_account_id: input.account_id } },
          ...(input.locale ? { locale: checkoutLocale(input.locale) } : {}),
        }));
        if (!cs.url) throw new GatewayError('Could not start the card setup: the gateway gave no page URL.', 'gateway_invalid_request', null);
        return { id: cs.id, url: cs.url, expires_at: new Date(cs.expires_at * 1000) };
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        rethrow(err, 'start the card setup');
      }
    },

    async getCardSetup(id: string): Promise<CardSetupState> {
      try {
        const cs = await call('customer', () => stripe.checkout.sessions.retrieve(id, { expand: ['setup_intent', 'setup_intent.payment_method'] }));
        const si = typeof cs.setup_intent === 'object' ? cs.setup_intent : null;
        const pm = si && typeof si.payment_method === 'object' && si.payment_method ? si.payment_method : null;
        return {
          id: cs.id,
          status: cs.status === 'complete' ? 'complete' : cs.status === 'expired' ? 'expired' : 'open',
          account_id: cs.metadata?.renewd_account_id ?? null,
          setup_intent_ref: si?.id ?? (typeof cs.setup_intent === 'string' ? cs.setup_intent : null),
          // Only a succeeded SetupIntent's card is a saved card.
          payment_method: cs.status === 'complete' && si?.status === 'succeeded' && pm ? details(pm) : null,
        };
      } catch (err) {
        rethrow(err, 'read the card setup');
      }
    },

    async charge(req: ChargeRequest): Promise<ChargeResult> {
      try {
        const pi = await call(req.lane ?? 'billing', () => withoutCallSiteStack(() => stripe.paymentIntents.create(
          {
            amount: req.amount,
            currency: req.currency.toLowerCase(),
            customer: req.customer_ref,
            payment_method: req.payment_method_ref,
            off_session: true,
            confirm: true,
            ...(req.description ? { description: req.description } : {}),
            metadata: { ...req.metadata, [IDEMPOTENCY_METADATA_KEY]: req.idempotency_key },
          },
          { idempotencyKey: req.idempotency_key },
        )));
        return fromPaymentIntent(pi);
      } catch (err) {
        if (!(err instanceof Stripe.errors.StripeError)) throw err; // a bug, not the gateway
        return fromChargeError(err as StripeErr);
      }
    },

    // Finds the PaymentIntent created under this idempotency key, by its metadata, without creating
    // anything. It lists the customer's PaymentIntents (newest first) rather than using the search
    // API: on real Stripe, search is eventually consistent (new objects can take a minute or more to
    // become searchable), so a charge that just timed out could be missed, while list is read-after-
    // write consistent. (A miss would still be safe — charging again with the same key replays the
    // stored answer while Stripe keeps the key, 24 h — but list avoids relying on that.)
    async lookup(req: ChargeRequest): Promise<ChargeResult | null> {
      // Page by page, each page a paced request retried on 429 on its own (a busy gateway does not
      // restart the walk).
      let found: Stripe.PaymentIntent | null = null;
      let n = 0;
      let after: string | undefined;
      try {
        for (;;) {
          const page = await call(req.lane ?? 'billing', () => stripe.paymentIntents.list({ customer: req.customer_ref, limit: 100, ...(after ? { starting_after: after } : {}) }));
          for (const pi of page.data) {
            if (pi.metadata?.[IDEMPOTENCY_METADATA_KEY] === req.idempotency_key) {
              if (pi.status === 'succeeded') return fromPaymentIntent(pi); // money moved: that is the answer
              found ??= pi;
            }
            if (++n >= scanLimit) return found ? fromPaymentIntent(found) : null;
          }
          if (!page.has_more || page.data.length === 0) break;
          after = page.data[page.data.length - 1].id;
        }
      } catch (err) {
        if (!(err instanceof Stripe.errors.StripeError)) throw err;
        throw toGatewayError(err as StripeErr, 'look up the charge');
      }
      return found ? fromPaymentIntent(found) : null;
    },

    // On-session (the customer is at the page): Stripe answers requires_action with the issuer's
    // page in next_action.redirect_to_url when the card wants 3-D Secure, and sends the customer
    // back to return_url (with ?payment_intent=…). Same key, same metadata as every attempt.
    async startAuthentication(req) {
      try {
        const pi = await call('customer', () => stripe.paymentIntents.create(
          {
            amount: req.amount,
            currency: req.currency.toLowerCase(),
            customer: req.customer_ref,
            payment_method: req.payment_method_ref,
            off_session: false,
            confirm: true,
            return_url: req.return_url,
            ...(req.description ? { description: req.description } : {}),
            metadata: { ...req.metadata, [IDEMPOTENCY_METADATA_KEY]: req.idempotency_key },
          },
          { idempotencyKey: req.idempotency_key },
        ));
        return { ...fromPaymentIntent(pi), redirect_url: redirectUrlOf(pi) };
      } catch (err) {
        if (!(err instanceof Stripe.errors.StripeError)) throw err;
        return { ...fromChargeError(err as StripeErr), redirect_url: null };
      }
    },

    async getCharge(ref) {
      try {
        return chargeOf(await call('customer', () => stripe.paymentIntents.retrieve(ref)));
      } catch (err) {
        if (!(err instanceof Stripe.errors.StripeError)) throw err;
        if ((err as StripeErr).statusCode === 404) return null;
        throw toGatewayError(err as StripeErr, 'read the payment');
      }
    },

    // The list API, not search: list is read-after-write consistent (search lags), and `created`
    // bounds plus the client's auto-pagination walk any window a page of 100 at a time.
    async *listCharges({ from, to }) {
      const created = { gte: Math.floor(from.getTime() / 1000), lte: Math.ceil(to.getTime() / 1000) };
      try {
        for await (const pi of stripe.paymentIntents.list({ created, limit: 100 })) yield chargeOf(pi);
      } catch (err) {
        if (!(err instanceof Stripe.errors.StripeError)) throw err;
        throw toGatewayError(err as StripeErr, 'list the charges');
      }
    },

    async cancelAuthentication(ref) {
      try {
        return fromPaymentIntent(await call('billing', () => stripe.paymentIntents.cancel(ref, { cancellation_reason: 'abandoned' })));
      } catch (err) {
        if (!(err instanceof Stripe.errors.StripeError)) throw err;
        // Already final (succeeded or canceled meanwhile): its state is the answer.
        if ((err as StripeErr).code === 'payment_intent_unexpected_state') return fromPaymentIntent(await call('billing', () => stripe.paymentIntents.retrieve(ref)));
        throw toGatewayError(err as StripeErr, 'cancel the payment');
      }
    },
  };
}

/** Checkout's page languages: the account's locale as Checkout names it, else 'auto' (the browser's). */
const CHECKOUT_LOCALES = new Set(['bg', 'cs', 'da', 'de', 'el', 'en', 'en-GB', 'es', 'es-419', 'et', 'fi', 'fil', 'fr', 'fr-CA', 'hr', 'hu', 'id', 'it', 'ja', 'ko', 'lt', 'lv', 'ms', 'mt', 'nb', 'nl', 'pl', 'pt', 'pt-BR', 'ro', 'ru', 'sk', 'sl', 'sv', 'th', 'tr', 'vi', 'zh', 'zh-HK', 'zh-TW']);
export function checkoutLocale(locale: string): Stripe.Checkout.SessionCreateParams.Locale {
  if (CHECKOUT_LOCALES.has(locale)) return locale as Stripe.Checkout.SessionCreateParams.Locale;
  const lang = locale.split('-')[0].toLowerCase();
  return (CHECKOUT_LOCALES.has(lang) ? lang : 'auto') as Stripe.Checkout.SessionCreateParams.Locale;
}


/** The issuer's page a requires_action PaymentIntent sends the customer to, if it is a redirect. */
function redirectUrlOf(pi: Stripe.PaymentIntent): string | null {
  return pi.status === 'requires_action' && pi.next_action?.type === 'redirect_to_url' ? (pi.next_action.redirect_to_url?.url ?? null) : null;
}

/** A PaymentIntent (from the API or from an event) as renewd reads a charge. */
export function chargeOf(pi: Stripe.PaymentIntent): GatewayCharge {
  return {
    ...fromPaymentIntent(pi),
    gateway_ref: pi.id,
    idempotency_key: pi.metadata?.[IDEMPOTENCY_METADATA_KEY] ?? null,
    customer_ref: typeof pi.customer === 'string' ? pi.customer : (pi.customer?.id ?? null),
    amount: pi.amount,
    currency: pi.currency.toUpperCase(),
  };
}

export function details(pm: Stripe.PaymentMethod): PaymentMethodDetails {
  return {
    gateway_ref: pm.id,
    type: 'card',
    brand: pm.card?.brand ?? null,
    last4: pm.card?.last4 ?? null,
    exp_month: pm.card?.exp_month ?? null,
    exp_year: pm.card?.exp_year ?? null,
  };
}

function succeeded(ref: string): ChargeResult {
  return { outcome: 'succeeded', gateway_ref: ref, reason: null, retry_class: null, raw: {}, retry_after_ms: null };
}

function unknown(ref: string | null, raw: RawDecline): ChargeResult {
  return { outcome: 'unknown', gateway_ref: ref, reason: null, retry_class: null, raw, retry_after_ms: null };
}

/** What the adapter does after giving up on a rate-limited charge: wait as asked, else a minute. */
const RATE_LIMITED_WAIT_MS = 60_000;

function rateLimited(e: StripeErr): ChargeResult {
  return {
    outcome: 'rate_limited',
    gateway_ref: null,
    reason: null,
    retry_class: null,
    raw: { code: e.code ?? 'rate_limit', message: 'The gateway rate-limited the request; nothing was made under its key.' },
    retry_after_ms: retryAfterMs(e) ?? RATE_LIMITED_WAIT_MS,
  };
}

/**
 * The answers that mean "too busy to look at this request now", which Stripe asks clients to send
 * again: 429 (rate_limit; lock_timeout, an object locked by another request) and 409
 * idempotency_key_in_use (the first request with the key is still running).
 */
function busyKind(err: unknown): 'rate_limited' | 'key_in_use' | null {
  if (!(err instanceof Stripe.errors.StripeError)) return null;
  const e = err as StripeErr;
  if (e.statusCode === 429 || e.code === 'lock_timeout' || e.code === 'rate_limit') return 'rate_limited';
  if (e.statusCode === 409 && e.code === 'idempotency_key_in_use') return 'key_in_use';
  return null;
}

/** The gateway's Retry-After (seconds, or an HTTP date), in ms; null when absent or unreadable. */
export function retryAfterMs(e: Pick<StripeErr, 'headers'>, nowMs = Date.now()): number | null {
  const h = e.headers?.['retry-after'];
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return null;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return Math.round(secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

function isAuthentication(raw: RawDecline) {
  return raw.code === 'authentication_required' || raw.decline_code === 'authentication_required';
}

/** The customer failed (or abandoned) the issuer's challenge: a decline asking for the customer again. */
function isFailedAuthentication(raw: RawDecline) {
  return raw.code === 'payment_intent_authentication_failure';
}

/** A decline or an authentication request, from Stripe's error fields. */
function fromDecline(ref: string | null, raw: RawDecline): ChargeResult {
  const c = classifyDecline(raw);
  if (isFailedAuthentication(raw)) return { outcome: 'declined', gateway_ref: ref, reason: 'authentication_required', retry_class: 'customer', raw, retry_after_ms: null };
  if (isAuthentication(raw)) {
    return { outcome: 'requires_action', gateway_ref: ref, reason: 'authentication_required', retry_class: c.retry_class === 'never' ? 'never' : 'customer', raw, retry_after_ms: null };
  }
  return { outcome: 'declined', gateway_ref: ref, reason: c.reason, retry_class: c.retry_class, raw, retry_after_ms: c.retry_after_ms };
}

function rawOf(e: {
  code?: string | null;
  decline_code?: string | null;
  network_decline_code?: string | null;
  advice_code?: string | null;
  network_advice_code?: string | null;
  message?: string | null;
}): RawDecline {
  const raw: RawDecline = {};
  if (e.code) raw.code = e.code;
  if (e.decline_code) raw.decline_code = e.decline_code;
  if (e.network_decline_code) raw.network_decline_code = e.network_decline_code;
  if (e.advice_code) raw.advice_code = e.advice_code;
  if (e.network_advice_code) raw.network_advice_code = e.network_advice_code;
  if (e.message) raw.message = e.message;
  return raw;
}

export function fromPaymentIntent(pi: Stripe.PaymentIntent): ChargeResult {
  switch (pi.status) {
    case 'succeeded':
      return succeeded(pi.id);
    case 'requires_action':
      return { outcome: 'requires_action', gateway_ref: pi.id, reason: 'authentication_required', retry_class: 'customer', raw: { code: 'authentication_required', message: 'The payment requires the customer to authenticate.' }, retry_after_ms: null };
    case 'requires_payment_method': {
      const e = pi.last_payment_error;
      if (e) return fromDecline(pi.id, rawOf(e as Parameters<typeof rawOf>[0]));
      return unknown(pi.id, { code: 'payment_intent_incomplete', message: 'The payment intent was created but not confirmed.' });
    }
    case 'canceled':
      return fromDecline(pi.id, { code: 'payment_intent_canceled', message: `The payment intent was canceled${pi.cancellation_reason ? ` (${pi.cancellation_reason})` : ''}.` });
    default:
      // processing, requires_capture, requires_confirmation: not final; look it up again later.
      return unknown(pi.id, { code: `payment_intent_${pi.status}`, message: `The payment intent is ${pi.status}.` });
  }
}

function fromChargeError(e: StripeErr): ChargeResult {
  const status = e?.statusCode;
  const type = e?.type;
  const ref = e?.payment_intent?.id ?? null;
  if (type === 'StripeCardError' || status === 402) return fromDecline(ref, rawOf(e));
  // No answer, or an answer that does not say what happened: reconcile later with the same key.
  if (type === 'StripeConnectionError' || status === undefined) {
    const timedOut = /timeout/i.test(e?.message ?? '');
    return unknown(ref, { code: timedOut ? 'gateway_timeout' : 'gateway_connection_error', message: timedOut ? 'The gateway did not answer in time.' : 'The connection to the gateway failed.' });
  }
  if (status >= 500) {
    const r = unknown(ref, { code: e.code ?? 'gateway_error', message: `The gateway answered HTTP ${status}.` });
    return e.headers?.['idempotent-replayed'] === 'true' ? { ...r, replayed_error: true } : r;
  }
  if (status === 409) return unknown(ref, { code: e.code ?? 'idempotency_key_in_use', message: 'Another request with this idempotency key was still in flight.' });
  // Refused before any work (Stripe stores nothing under the key): not an outcome; the same key
  // is sent again later.
  if (busyKind(e) === 'rate_limited') return rateLimited(e);
  if (type === 'StripeIdempotencyError') throw toGatewayError(e, 'charge');
  // The saved payment method is gone or unusable: the customer must give a new one.
  if ((status === 400 || status === 404) && (e.code === 'resource_missing' || e.code === 'payment_method_unexpected_state' || e.param?.startsWith('payment_method'))) {
    return fromDecline(ref, rawOf({ code: e.code ?? 'payment_method_unexpected_state', message: e.message }));
  }
  throw toGatewayError(e, 'charge');
}

function toGatewayError(e: StripeErr, what: string): GatewayError {
  const status = e?.statusCode ?? null;
  if (e?.type === 'StripeIdempotencyError' || e?.type === 'idempotency_error')
    return new GatewayError(`Could not ${what}: the idempotency key was already used with other parameters.`, 'idempotency_key_reused', status);
  if (status === 401 || status === 403) return new GatewayError(`Could not ${what}: the gateway refused the API key.`, 'gateway_authentication', status);
  if (status === null || status >= 500 || status === 409 || status === 429 || e?.type === 'StripeConnectionError')
    return new GatewayError(`Could not ${what}: the payment gateway is unavailable${status ? ` (HTTP ${status})` : ''}.`, 'gateway_unavailable', status);
  return new GatewayError(`Could not ${what}: ${e?.message ?? 'the gateway refused the request'}`, 'gateway_invalid_request', status);
}
