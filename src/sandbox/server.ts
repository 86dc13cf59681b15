// The sandbox PSP over HTTP: the subset of Stripe's REST API renewd's gateway adapter uses, spoken
// the way the official `stripe` client speaks it (form-encoded bodies, Bearer sk_test_… keys,
// Stripe's error JSON, Idempotency-Key semantics), plus sandbox-only endpoints under /_sandbox for
// scripted outcomes, fault injection and the list of money actually moved (these need the secret
// test key too; only the pages a customer's browser opens, /checkout/ and /_sandbox/3ds/, do not).
//
// Stripe endpoints:  POST /v1/customers · GET|POST|DELETE /v1/customers/:id · GET /v1/customers/:id/payment_methods
//   POST /v1/payment_methods · GET /v1/payment_methods?customer= · GET /v1/payment_methods/:id
//   POST /v1/payment_methods/:id/attach|detach
//   POST /v1/payment_intents (confirm=true&off_session=true charges) · GET /v1/payment_intents[?customer=]
//   GET /v1/payment_intents/search?query=metadata['k']:'v' · GET /v1/payment_intents/:id
//   POST /v1/payment_intents/:id/confirm|cancel
//   POST /v1/checkout/sessions (mode=setup) · GET /v1/checkout/sessions/:id · GET /v1/setup_intents/:id
//   POST /v1/refunds · GET /v1/refunds/:id
// As strict as Stripe: unknown parameters (400 parameter_unknown), missing or bad ones
// (parameter_missing, parameter_invalid_integer), currencies and per-currency minimum amounts
// (amount_too_small), declining cards refused when attached (4000000000000341 attaches), expand of
// a PaymentIntent's latest_charge / payment_method, and (when configured) Stripe's rate limiter.
// Hosted card page (Checkout's stand-in, for browsers, no key): GET|POST /checkout/:id (see checkout.ts).
// Idempotency: a POST with an Idempotency-Key stores its answer (successes, 402 declines and 5xx,
// not 400/404 validation errors, as Stripe); the same key and parameters replay it (header
// Idempotent-Replayed: true); other parameters → 400 idempotency_error; the key still in flight →
// 409. Records older than 24 h (sandbox clock) are pruned.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createHash, randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import type { Socket } from 'node:net';
import { systemClock, type Clock } from '../core/clock.ts';
import { TEST_CARDS } from './cards.ts';
import { Faults, type FaultConfig, type FaultInput } from './faults.ts';
import { isForm, parseForm, rawOf, type FormObject } from './form.ts';
import { SandboxCheckout } from './checkout.ts';
import { CHECKOUT_CSS, checkoutPage, checkoutTexts, whyNotSaved } from './checkout-page.ts';
import { ApiError, SandboxPsp, apiError, type IdemRec, type PiRec, type SandboxCharge, type SandboxLoad, type SandboxRefund, type ScriptStep, type ScriptTarget, type StripeErrorBody } from './psp.ts';


/** The key renewd calls its sandbox with (any sk_test_… key works there; its controls need one too). */
export const SANDBOX_API_KEY = 'sk_test_renewd_sandbox';

export type { FaultConfig, FaultInput } from './faults.ts';
export type { SandboxCharge, SandboxLoad, SandboxRefund, ScriptStep, ScriptTarget } from './psp.ts';

export interface SandboxOptions {
  /** Card expiry, outage windows, script `until` times and idempotency pruning follow this clock. */
  clock?: Clock;
  /** Shorthand for faults.latencyMs. */
  latencyMs?: number;
  faults?: FaultInput;
  /** How long idempotent answers are kept (clock time; default 24 h, as Stripe). */
  idempotencyTtlMs?: number;
  /** Upper bound on stored idempotent answers; the oldest go first (default 2,000,000). */
  maxIdempotencyRecords?: number;
  /** Fastify logger (default off: no per-request logging). */
  logger?: boolean;
  /** Where to send Stripe-format signed events (as a Stripe webhook endpoint would receive them). */
  webhook?: WebhookTarget;
  /**
   * Stripe's rate limiter: at most perSecond /v1 requests a second (real time; bursts of `burst`,
   * default perSecond), beyond that 429 rate_limit with Retry-After. Off unless given (the demo);
   * Stripe's published limits: 100/s live, 25/s test mode.
   */
  rateLimit?: RateLimitOptions | null;
  /**
   * Declining test cards are refused when attached to a customer, as on Stripe (default true).
   * false only for fixtures that need a declining card already on file in one step.
   */
  declineOnAttach?: boolean;
}

export interface RateLimitOptions {
  perSecond: number;
  burst?: number;
}

/** A webhook endpoint of the sandbox: its URL and signing secret (whsec_…), as Stripe's dashboard gives them. */
export interface WebhookTarget {
  url: string;
  secret: string;
  /** Real milliseconds between an answer and its events' delivery (default 50): events come after the answer. */
  delayMs?: number;
  /** Deliver every event twice (Stripe may), to show duplicates are harmless. */
  deliverTwice?: boolean;
}

/** An event as Stripe sends it to a webhook endpoint. */
export interface SandboxEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: unknown };
  livemode: false;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  type: string;
}

export interface SandboxStats {
  requests: number;
  charges_attempted: number;
  charges_succeeded: number;
  charges_declined: number;
  amount_moved: Record<string, number>;
  /** Charges (any outcome) per second over the last 5 complete seconds of real time. */
  charges_per_second: number;
  /** Most charges seen within one second of real time. */
  peak_charges_per_second: number;
  payment_intents: number;
  idempotency_records: number;
  hung_requests: number;
  /** Requests answered 429 (the rate limiter, scripted rate limits). */
  rate_limited: number;
}

export interface ChargeFilter {
  customer?: string;
  payment_method?: string;
  payment_intent?: string;
  idempotency_key?: string;
  metadata?: Record<string, string>;
}

export interface Sandbox {
  app: FastifyInstance;
  clock: Clock;
  /** Starts listening; answers the base URL, e.g. http://127.0.0.1:43121. */
  listen(port?: number, host?: string): Promise<string>;
  readonly url: string | null;
  close(): Promise<void>;
  /** Scripted outcomes for the next charges of a payment method, card, customer or account. */
  script(target: ScriptTarget, steps: ReadonlyArray<ScriptStep | string>, opts?: { append?: boolean }): { target: string; steps: ScriptStep[] };
  clearScripts(target?: ScriptTarget): void;
  scripts(): Array<{ target: string; steps: ScriptStep[] }>;
  /** Merges a change into the fault configuration; answers the whole configuration. */
  setFaults(f: FaultInput): FaultConfig;
  clearFaults(): void;
  faults(): FaultConfig;
  /** Money that moved: every succeeded charge, oldest first. */
  charges(filter?: ChargeFilter): readonly SandboxCharge[];
  /** Money given back: every refund, oldest first. */
  refunds(): readonly SandboxRefund[];
  stats(): SandboxStats;
  /** Forgets everything (customers, payment methods, charges, scripts, idempotency, faults). */
  reset(): void;
  /** Bulk-loads customers and saved cards under ids of the caller's choosing (fixtures, benchmarks). */
  load(data: SandboxLoad): { customers: number; cards: number };
  /** The underlying state (for tests and tools). */
  psp: SandboxPsp;
  /** Sends events (signed, Stripe's format) to this endpoint from now on; null stops sending. */
  setWebhook(target: WebhookTarget | null): void;
  /** Every event made while a webhook was set, oldest first (the last 10,000 at least). */
  events(): readonly SandboxEvent[];
  /** Delivers the events waiting for their delay now, and waits until they are answered. */
  flushEvents(): Promise<void>;
  /** Delivers one event (again): a duplicate or late delivery, as Stripe's retries make. Answers the HTTP status. */
  deliverEvent(id: string): Promise<number>;
  /** Checkout Sessions (setup mode), SetupIntents and the events they recorded. */
  checkout: SandboxCheckout;
  /** Switches Stripe's rate limiter on (or off with null), e.g. for a test or a benchmark. */
  setRateLimit(opts: RateLimitOptions | null): void;
}

const DAY = 86_400_000;
const STRIPE_VERSION = '2026-01-28.clover';

type Answer = { status: number; pi: PiRec; expand?: ReadonlySet<string> } | { status: number; json: unknown };

/**
 * The parameters an endpoint takes, as Stripe's API reference lists them (the subset the sandbox
 * understands plus the ones it accepts and ignores): a name → true, or the keys allowed inside it
 * ('*': any, e.g. metadata). Anything else is 400 parameter_unknown, as on Stripe.
 */
type ParamSpec = Record<string, true | '*' | readonly string[]>;
const LIST: ParamSpec = { limit: true, starting_after: true, ending_before: true, expand: '*' };
const CUSTOMER: ParamSpec = { email: true, name: true, description: true, phone: true, metadata: '*', address: '*', preferred_locales: '*', payment_method: true, invoice_settings: ['default_payment_method', 'custom_fields', 'footer', 'rendering_options'], expand: '*' };
const PARAMS: Record<string, ParamSpec> = {
  'POST /v1/customers': CUSTOMER,
  'POST /v1/customers/:id': CUSTOMER,
  'GET /v1/customers/:id': { expand: '*' },
  'DELETE /v1/customers/:id': {},
  'GET /v1/customers/:id/payment_methods': { ...LIST, type: true },
  'POST /v1/payment_methods': { type: true, card: ['number', 'exp_month', 'exp_year', 'cvc', 'token'], billing_details: ['name', 'email', 'phone', 'address'], metadata: '*', allow_redisplay: true, expand: '*' },
  'GET /v1/payment_methods': { ...LIST, customer: true, type: true },
  'GET /v1/payment_methods/:id': { expand: '*' },
  'POST /v1/payment_methods/:id/attach': { customer: true, expand: '*' },
  'POST /v1/payment_methods/:id/detach': { expand: '*' },
  'POST /v1/payment_intents': {
    amount: true, currency: true, customer: true, payment_method: true, off_session: true, confirm: true, description: true, metadata: '*', return_url: true,
    payment_method_types: '*', capture_method: true, confirmation_method: true, setup_future_usage: true, receipt_email: true, statement_descriptor: true,
    statement_descriptor_suffix: true, automatic_payment_methods: '*', error_on_requires_action: true, payment_method_options: '*', use_stripe_sdk: true, expand: '*',
  },
  'GET /v1/payment_intents': { ...LIST, customer: true, created: '*' },
  'GET /v1/payment_intents/search': { query: true, limit: true, page: true, expand: '*' },
  'GET /v1/payment_intents/:id': { expand: '*', client_secret: true },
  'POST /v1/payment_intents/:id/confirm': { payment_method: true, off_session: true, return_url: true, payment_method_options: '*', error_on_requires_action: true, use_stripe_sdk: true, expand: '*' },
  'POST /v1/payment_intents/:id/cancel': { cancellation_reason: true, expand: '*' },
  'POST /v1/checkout/sessions': {
    mode: true, customer: true, currency: true, success_url: true, cancel_url: true, metadata: '*', setup_intent_data: '*', locale: true, client_reference_id: true,
    expires_at: true, payment_method_types: '*', customer_email: true, ui_mode: true, billing_address_collection: true, expand: '*',
  },
  'GET /v1/checkout/sessions/:id': { expand: '*' },
  'GET /v1/setup_intents/:id': { expand: '*', client_secret: true },
  'POST /v1/refunds': { payment_intent: true, charge: true, amount: true, reason: true, metadata: '*', expand: '*' },
  'GET /v1/refunds/:id': { expand: '*' },
};

/** The first parameter the endpoint does not take, in Stripe's bracket notation; null: none. */
export function unknownParam(body: FormObject, spec: ParamSpec): string | null {
  for (const [k, v] of Object.entries(body)) {
    const allowed = spec[k];
    if (allowed === undefined) return k;
    if (allowed === true || allowed === '*') continue;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const inner of Object.keys(v)) if (!allowed.includes(inner)) return `${k}[${inner}]`;
    }
  }
  return null;
}

/** expand[]=a&expand[]=b as a set. */
function expandOf(b: FormObject): Set<string> {
  const e = b.expand;
  const list = Array.isArray(e) ? e : typeof e === 'string' ? [e] : e && typeof e === 'object' ? Object.values(e) : [];
  return new Set(list.filter((x): x is string => typeof x === 'string'));
}

class IdempotencyStore {
  readonly map = new Map<string, IdemRec>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly onDrop: (r: IdemRec) => void;
  constructor(
    ttlMs: number,
    max: number,
    onDrop: (r: IdemRec) => void,
  ) {
    this.ttlMs = ttlMs;
    this.max = max;
    this.onDrop = onDrop;
  }
  /** Amortized O(1): drops expired records from the oldest end (insertion order ≈ clock order). */
  prune(nowMs: number) {
    let n = 0;
    for (const [k, r] of this.map) {
      if (++n > 1000) break;
      if (nowMs - r.created >= this.ttlMs || this.map.size > this.max) {
        if (!r.inFlight) {
          this.map.delete(k);
          this.onDrop(r);
        }
      } else break;
    }
  }
}

/**
 * A token bucket in real time (injectable for tests): `take` answers 0 when a request may go, else
 * how many ms until the next token.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  readonly perSecond: number;
  readonly burst: number;
  private readonly nowMs: () => number;
  constructor(opts: RateLimitOptions, nowMs: () => number = () => performance.now()) {
    if (!(opts.perSecond > 0) || !Number.isFinite(opts.perSecond)) throw new TypeError('rateLimit.perSecond must be a positive number');
    const burst = opts.burst ?? Math.max(1, opts.perSecond);
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new TypeError('rateLimit.burst must be at least 1');
    this.perSecond = opts.perSecond;
    this.burst = burst;
    this.nowMs = nowMs;
    this.tokens = burst;
    this.last = nowMs();
  }
  take(): number {
    const now = this.nowMs();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}

/** Charges per second, in real time, over a ring of one-second buckets. */
export class RateMeter {
  private counts = new Float64Array(64);
  private stamps = new Float64Array(64).fill(-1);
  peak = 0;
  private readonly nowMs: () => number;
  constructor(nowMs: () => number = Date.now) {
    this.nowMs = nowMs;
  }
  tick() {
    const s = Math.floor(this.nowMs() / 1000);
    const i = s & 63;
    if (this.stamps[i] !== s) {
      this.stamps[i] = s;
      this.counts[i] = 0;
    }
    if (++this.counts[i] > this.peak) this.peak = this.counts[i];
  }
  /** Mean over the last `window` complete seconds (at most 60). */
  rate(window = 5) {
    const now = Math.floor(this.nowMs() / 1000);
    let sum = 0;
    for (let s = now - window; s < now; s++) {
      const i = s & 63;
      if (this.stamps[i] === s) sum += this.counts[i];
    }
    return sum / window;
  }
}

export function createSandbox(opts: SandboxOptions = {}): Sandbox {
  const clock = opts.clock ?? systemClock;
  const psp = new SandboxPsp(clock);
  if (opts.declineOnAttach === false) psp.declineOnAttach = false;
  const checkout = new SandboxCheckout(psp);
  const faults = new Faults();
  if (opts.faults) faults.set(opts.faults);
  if (opts.latencyMs !== undefined) faults.set({ latencyMs: opts.latencyMs });
  const initialFaults = faults.config;
  const idem = new IdempotencyStore(opts.idempotencyTtlMs ?? DAY, opts.maxIdempotencyRecords ?? 2_000_000, (r) => psp.unlinkIdem(r));
  const meter = new RateMeter();
  psp.onCharge = () => meter.tick();
  psp.issuerDown = () => faults.outage(clock.now().getTime()) === 'issuer';
  let limiter: TokenBucket | null = opts.rateLimit ? new TokenBucket(opts.rateLimit) : null;
  let rateLimited = 0;

  // ---------- events (Stripe webhooks) ----------
  let webhook: WebhookTarget | null = opts.webhook ?? null;
  const eventLog: SandboxEvent[] = [];
  let waiting: SandboxEvent[] = [];
  let timer: NodeJS.Timeout | null = null;
  const inFlight = new Set<Promise<unknown>>();
  // Events are made only while an endpoint listens (rendering one per charge costs the hot path).
  const onEvent = (type: string, object: unknown) => {
    const ev: SandboxEvent = {
      id: `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      api_version: STRIPE_VERSION,
      created: Math.floor(clock.now().getTime() / 1000),
      data: { object },
      livemode: false,
      pending_webhooks: webhook ? 1 : 0,
      request: { id: null, idempotency_key: null },
      type,
    };
    eventLog.push(ev);
    if (eventLog.length > 20_000) eventLog.splice(0, 10_000); // keeps the last 10,000 at least, amortized O(1)
    if (!webhook) return;
    waiting.push(ev);
    // After the answer, like Stripe: the API answer leaves first, its events follow.
    timer ??= setTimeout(() => void flush(), webhook.delayMs ?? 50);
    timer.unref?.();
  };
  psp.onEvent = webhook ? onEvent : null;
  // The hosted card page's events (checkout.session.completed, setup_intent.*) go the same way, with
  // the object as Stripe shows it in the event (the session or the SetupIntent, not expanded).
  const onCheckoutEvent = (e: { type: string; object_id: string }) => {
    const object = e.type.startsWith('checkout.session.')
      ? checkout.retrieve(e.object_id, {} as FormObject, baseUrl())
      : checkout.retrieveSetupIntent(e.object_id, {} as FormObject);
    onEvent(e.type, object);
  };
  checkout.onEvent = webhook ? onCheckoutEvent : null;
  /** One signed POST, as Stripe makes it (timestamp on the sandbox's clock); answers the status (0: unreachable). */
  async function postEvent(target: WebhookTarget, ev: SandboxEvent): Promise<number> {
    const payload = JSON.stringify(ev);
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: target.secret, timestamp: Math.floor(clock.now().getTime() / 1000) });
    try {
      const res = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' }, body: payload });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0; // the endpoint is down: Stripe would retry later; the sandbox leaves it to deliverEvent
    }
  }
  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const target = webhook;
    const batch = waiting;
    waiting = [];
    if (!target || batch.length === 0) return Promise.all([...inFlight]).then(() => undefined);
    const run = (async () => {
      for (const ev of batch) {
        await postEvent(target, ev);
        if (target.deliverTwice) await postEvent(target, ev);
      }
    })();
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
    return Promise.all([...inFlight]).then(() => undefined);
  }
  const hung = new Set<Socket>();
  let requestSeq = 0;
  let url: string | null = null;
  const baseUrl = () => url ?? 'http://127.0.0.1';

  const app = Fastify({
    logger: opts.logger ?? false,
    forceCloseConnections: true,
    keepAliveTimeout: 75_000,
    bodyLimit: 1024 * 1024,
    routerOptions: { querystringParser: (s: string) => parseForm(s) },
  });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseForm(body as string));
  });

  // ---------- plumbing ----------
  const send = (reply: FastifyReply, status: number, text: string, replayed = false) => {
    reply.code(status).header('content-type', 'application/json; charset=utf-8').header('request-id', `req_sbx${(++requestSeq).toString(36)}`).header('stripe-version', STRIPE_VERSION);
    if (replayed) reply.header('idempotent-replayed', 'true');
    return reply.send(text);
  };
  const sendError = (reply: FastifyReply, status: number, body: StripeErrorBody) => send(reply, status, JSON.stringify({ error: body }));
  const render = (a: Answer) => ('pi' in a ? (a.status === 402 ? JSON.stringify({ error: psp.piErrorJson(a.pi) }) : JSON.stringify(psp.piJson(a.pi, a.expand))) : JSON.stringify(a.json));

  const hang = (req: FastifyRequest, reply: FastifyReply, holdMs: number) => {
    reply.hijack();
    const socket = req.raw.socket;
    hung.add(socket);
    const t = setTimeout(() => socket.destroy(), holdMs);
    t.unref();
    socket.once('close', () => {
      clearTimeout(t);
      hung.delete(socket);
    });
  };
  const drop = (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    req.raw.socket.destroy();
  };

  const authorized = (req: FastifyRequest) => {
    const h = req.headers.authorization;
    if (!h) return false;
    if (h.startsWith('Bearer ')) return h.startsWith('Bearer sk_test_');
    if (h.startsWith('Basic ')) return Buffer.from(h.slice(6), 'base64').toString('utf8').startsWith('sk_test_');
    return false;
  };

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Every /v1 request goes through here: auth, outages, idempotency, latency, faults, the operation. */
  async function api(req: FastifyRequest, reply: FastifyReply, run: (body: FormObject, key: string | null) => Answer, isCharge?: (body: FormObject) => boolean, spec?: ParamSpec) {
    psp.counters.requests++;
    if (!authorized(req))
      return sendError(reply, 401, { type: 'invalid_request_error', message: 'Invalid API Key provided. The sandbox accepts any secret test key (sk_test_…) as a Bearer token.' });
    const nowMs = clock.now().getTime();
    const outage = faults.outage(nowMs);
    if (outage === 'drop') return drop(req, reply);
    if (outage === 'error') return sendError(reply, 503, { type: 'api_error', message: 'The sandbox PSP is in a scheduled outage (sandbox fault).' });

    const raw = req.method === 'POST' ? req.body : req.query;
    // Stripe's limiter answers before anything else runs: nothing is stored under the
    // Idempotency-Key, so the same request may be sent again with the same key.
    const scripted = faults.takeRateLimit(Boolean(isCharge && isForm(raw) && isCharge(raw as FormObject)));
    const waitMs = scripted ? faults.config.rateLimits.retryAfterS * 1000 : (limiter?.take() ?? 0);
    if (scripted || waitMs > 0) {
      rateLimited++;
      const lock = scripted && faults.config.rateLimits.code === 'lock_timeout';
      reply.header('stripe-should-retry', 'true');
      if (waitMs > 0) reply.header('retry-after', String(Math.max(1, Math.ceil(waitMs / 1000))));
      return sendError(
        reply,
        429,
        lock
          ? { type: 'invalid_request_error', code: 'lock_timeout', doc_url: 'https://stripe.com/docs/error-codes/lock-timeout', message: 'This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate.' }
          : { type: 'invalid_request_error', code: 'rate_limit', doc_url: 'https://stripe.com/docs/error-codes/rate-limit', message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.' },
      );
    }
    if (raw !== undefined && raw !== null && !isForm(raw))
      return sendError(reply, 400, { type: 'invalid_request_error', message: 'The API takes application/x-www-form-urlencoded bodies, as the Stripe clients send them.' });
    const body: FormObject = (raw as FormObject | undefined) ?? parseForm('');
    // Stripe refuses a parameter it does not know (before anything runs: nothing is stored).
    const unknown = spec ? unknownParam(body, spec) : null;
    if (unknown)
      return sendError(reply, 400, { type: 'invalid_request_error', code: 'parameter_unknown', param: unknown, doc_url: 'https://docs.stripe.com/error-codes/parameter-unknown', message: `Received unknown parameter: ${unknown}` });
    const keyHeader = req.method === 'POST' ? req.headers['idempotency-key'] : undefined;
    const key = typeof keyHeader === 'string' && keyHeader.length > 0 ? keyHeader : null;
    let rec: IdemRec | null = null;
    if (key) {
      if (key.length > 255) return sendError(reply, 400, { type: 'invalid_request_error', message: 'Idempotency keys are at most 255 characters.' });
      idem.prune(nowMs);
      const fp = fingerprint(req.method, req.url, rawOf(body));
      const prior = idem.map.get(key);
      if (prior) {
        if (prior.inFlight)
          return sendError(reply, 409, {
            type: 'idempotency_error',
            code: 'idempotency_key_in_use',
            message: `There is currently another in-progress request using this idempotent key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
          });
        if (prior.fp !== fp)
          return sendError(reply, 400, {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          });
        return send(reply, prior.status, psp.render(prior), true);
      }
      rec = { fp, created: nowMs, inFlight: true, status: 0, pi: null, body: null };
      idem.map.set(key, rec);
    }
    const store = (status: number, text: string, a?: Answer) => {
      if (!rec) return;
      rec.inFlight = false;
      rec.status = status;
      if (a && 'pi' in a && !a.expand?.size) psp.linkIdem(a.pi, rec);
      else rec.body = text;
    };
    const forget = () => {
      if (rec && key) idem.map.delete(key);
    };

    try {
      const latency = faults.config.latencyMs;
      if (latency > 0) await sleep(latency);
      const fault = isCharge && isCharge(body) ? faults.forCharge() : null;
      if (fault?.kind === 'timeout' && fault.phase === 'before') {
        forget();
        return hang(req, reply, fault.holdMs);
      }
      if (fault?.kind === 'error' && fault.phase === 'before') {
        const e = apiError();
        const text = JSON.stringify({ error: e.body });
        store(fault.status, text);
        return send(reply, fault.status, text);
      }
      const a = run(body, key);
      const text = render(a);
      if (fault?.kind === 'error') {
        // The charge went through; the answer is lost in a 5xx, and that 5xx is what is stored.
        const et = JSON.stringify({ error: apiError().body });
        store(fault.status, et);
        return send(reply, fault.status, et);
      }
      store(a.status, text, a);
      if (fault?.kind === 'timeout') return hang(req, reply, fault.holdMs);
      return send(reply, a.status, text);
    } catch (err) {
      if (err instanceof ApiError) {
        const text = JSON.stringify({ error: err.body });
        // Stripe keeps the answer once the endpoint ran (declines, 5xx), not validation errors.
        if (err.status === 402 || err.status >= 500) store(err.status, text);
        else forget();
        return send(reply, err.status, text);
      }
      forget();
      throw err;
    }
  }

  const post = (path: string, run: (body: FormObject, params: Record<string, string>, key: string | null) => Answer, isCharge?: (body: FormObject) => boolean) =>
    app.post(path, (req, reply) => api(req, reply, (b, key) => run(b, req.params as Record<string, string>, key), isCharge, PARAMS[`POST ${path}`]));
  const get = (path: string, run: (query: FormObject, params: Record<string, string>) => Answer) =>
    app.get(path, (req, reply) => api(req, reply, (q) => run(q, req.params as Record<string, string>), undefined, PARAMS[`GET ${path}`]));
  const del = (path: string, run: (query: FormObject, params: Record<string, string>) => Answer) =>
    app.delete(path, (req, reply) => api(req, reply, (q) => run(q, req.params as Record<string, string>), undefined, PARAMS[`DELETE ${path}`]));
  const ok = (json: unknown): Answer => ({ status: 200, json });

  // ---------- Stripe API subset ----------
  post('/v1/customers', (b) => ok(psp.createCustomer(b)));
  get('/v1/customers/:id', (_q, p) => ok(psp.getCustomer(p.id)));
  post('/v1/customers/:id', (b, p) => ok(psp.updateCustomer(p.id, b)));
  del('/v1/customers/:id', (_q, p) => ok(psp.deleteCustomer(p.id)));
  get('/v1/customers/:id/payment_methods', (q, p) => ok(psp.listPaymentMethods(q, p.id)));
  post('/v1/payment_methods', (b) => ok(psp.createPaymentMethod(b)));
  get('/v1/payment_methods', (q) => ok(psp.listPaymentMethods(q)));
  get('/v1/payment_methods/:id', (_q, p) => ok(psp.getPaymentMethod(p.id)));
  post('/v1/payment_methods/:id/attach', (b, p) => ok(psp.attachPaymentMethod(p.id, b)));
  post('/v1/payment_methods/:id/detach', (_b, p) => ok(psp.detachPaymentMethod(p.id)));
  post('/v1/payment_intents', (b, _p, key) => ({ ...psp.createPaymentIntent(b, key), expand: expandOf(b) }), (b) => psp.isCharge(b));
  get('/v1/payment_intents', (q) => ok(psp.listPaymentIntents(q)));
  get('/v1/payment_intents/search', (q) => ok(psp.searchPaymentIntents(q)));
  get('/v1/payment_intents/:id', (q, p) => ({ status: 200, pi: psp.getPaymentIntent(p.id), expand: expandOf(q) }));
  post('/v1/payment_intents/:id/confirm', (b, p, key) => ({ ...psp.confirmPaymentIntent(p.id, b, key), expand: expandOf(b) }), () => true);
  post('/v1/payment_intents/:id/cancel', (b, p) => ({ ...psp.cancelPaymentIntent(p.id, b), expand: expandOf(b) }));
  post('/v1/refunds', (b) => ok(psp.createRefund(b)));
  get('/v1/refunds/:id', (_q, p) => ok(psp.getRefund(p.id)));
  // The hosted page's address is the sandbox's own (where the browser reaches it).
  post('/v1/checkout/sessions', (b) => ok(checkout.create(b, baseUrl())));
  get('/v1/checkout/sessions/:id', (q, p) => ok(checkout.retrieve(p.id, q, baseUrl())));
  get('/v1/setup_intents/:id', (q, p) => ok(checkout.retrieveSetupIntent(p.id, q)));

  // ---------- the hosted card page (browsers; no key: the unguessable session id is the access) ----------
  // form-action covers the redirect after the POST too (Chrome enforces it): the session's
  // success_url origin is allowed, as Checkout allows its merchant's.
  const pageHeaders = (reply: FastifyReply, status: number, returnTo?: string) =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      // No script at all; the form posts here only (the redirect after it goes to success_url).
      .header('content-security-policy', `default-src 'none'; style-src 'self'; form-action 'self'${returnTo ? ` ${new URL(returnTo.split('{CHECKOUT_SESSION_ID}').join('x')).origin}` : ''}; frame-ancestors 'none'; base-uri 'none'`);
  app.get('/checkout/checkout.css', (_req, reply) => reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(CHECKOUT_CSS));
  app.get('/checkout/:id', (req, reply) => {
    const cs = checkout.session((req.params as { id: string }).id);
    const { lang, t } = checkoutTexts(cs?.locale ?? null, req.headers['accept-language']);
    return pageHeaders(reply, cs ? 200 : 404, cs?.success_url).send(checkoutPage({ cs, lang, t }));
  });
  app.post('/checkout/:id', (req, reply) => {
    const id = (req.params as { id: string }).id;
    const body = isForm(req.body) ? req.body : parseForm('');
    const r = checkout.submit(id, body);
    if ('redirect' in r) return reply.code(303).header('cache-control', 'no-store').header('location', r.redirect).send();
    const cs = checkout.session(id);
    const { lang, t } = checkoutTexts(cs?.locale ?? null, req.headers['accept-language']);
    if ('closed' in r) return pageHeaders(reply, cs ? 409 : 404).send(checkoutPage({ cs, lang, t }));
    return pageHeaders(reply, 402, cs?.success_url).send(checkoutPage({ cs, lang, t, error: { message: whyNotSaved(t, r.error), field: r.field } }));
  });

  // ---------- the issuer's 3-D Secure page (Stripe's test page has the same two outcomes) ----------
  const challengePage = (title: string, body: string) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>` +
    `<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}form{display:inline-block;margin:.5rem .5rem 0 0}button{font:inherit;padding:.6rem 1rem}</style></head>` +
    `<body><main>${body}</main></body></html>`;
  const esc = (v: string) => v.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  app.get('/_sandbox/3ds/:id/:token', (req, reply) => {
    const { id, token } = req.params as { id: string; token: string };
    const pi = psp.challengeOf(id, token);
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').type('text/html; charset=utf-8');
    if (!pi) return reply.code(404).send(challengePage('Authentication', '<h1>This authentication is over</h1><p>It was completed, failed or canceled. Go back to the merchant.</p>'));
    const money = `${(pi.amount / 100).toFixed(2)} ${pi.currency.toUpperCase()}`;
    const action = (what: string) => `/_sandbox/3ds/${esc(pi.id)}/${esc(token)}/${what}`;
    return reply.send(
      challengePage(
        '3D Secure 2 Test Page',
        `<h1>3D Secure 2 Test Page</h1><p>Sandbox issuer: authenticate the payment of <strong>${esc(money)}</strong>${pi.description ? ` (${esc(pi.description)})` : ''}.</p>` +
          `<form method="post" action="${action('complete')}"><button type="submit" id="complete">Complete authentication</button></form>` +
          `<form method="post" action="${action('fail')}"><button type="submit" id="fail">Fail authentication</button></form>`,
      ),
    );
  });
  const answerRoute = (complete: boolean) => (req: FastifyRequest, reply: FastifyReply) => {
    const { id, token } = req.params as { id: string; token: string };
    const to = psp.answerChallenge(id, token, complete);
    if (!to) return reply.code(404).type('text/html; charset=utf-8').send(challengePage('Authentication', '<h1>This authentication is over</h1>'));
    return reply.header('cache-control', 'no-store').redirect(to, 303);
  };
  app.post('/_sandbox/3ds/:id/:token/complete', answerRoute(true));
  app.post('/_sandbox/3ds/:id/:token/fail', answerRoute(false));

  // ---------- sandbox-only API (JSON, with the same secret test key as its Stripe API) ----------
  // Reset, faults, scripts, bulk loads and the charge list change or reveal what every client of this
  // sandbox sees: a browser or another process on the machine must not reach them without the key
  // (issue 16). The issuer's 3-D Secure page below /_sandbox/3ds/ is a page the customer's browser
  // opens, as is /checkout/: their unguessable ids are the access there, as on Stripe's.
  app.addHook('onRequest', async (req, reply) => {
    // The route matched, not the raw URL: an encoded or doubled slash cannot slip past.
    const path = req.routeOptions.url ?? '';
    if ((path === '/_sandbox' || path.startsWith('/_sandbox/')) && !path.startsWith('/_sandbox/3ds/') && !authorized(req))
      return sendError(reply, 401, { type: 'invalid_request_error', message: 'The sandbox controls (/_sandbox/…) need the secret test key, as its API: Authorization: Bearer sk_test_….' });
  });
  const bad = (reply: FastifyReply, message: string, status = 400) => sendError(reply, status, { type: 'invalid_request_error', message });
  const json = (reply: FastifyReply, v: unknown, status = 200) => send(reply, status, JSON.stringify(v));
  const obj = (b: unknown) => (b && typeof b === 'object' ? (b as Record<string, unknown>) : {});

  app.get('/_sandbox', (_req, reply) =>
    json(reply, {
      name: 'renewd sandbox PSP (Stripe-compatible subset)',
      now: clock.now().toISOString(),
      test_cards: Object.entries(TEST_CARDS).map(([number, c]) => ({ number, behavior: c.note })),
      endpoints: ['GET /_sandbox/charges', 'GET /_sandbox/stats', 'POST /_sandbox/payment_methods/:id/script', 'POST /_sandbox/customers/:id/script', 'GET|POST|DELETE /_sandbox/scripts', 'GET|POST|DELETE /_sandbox/faults', 'POST /_sandbox/load', 'GET|POST /_sandbox/rate-limit', 'POST /_sandbox/reset'],
    }),
  );
  app.get('/_sandbox/charges', (req, reply) => {
    const q = req.query as FormObject;
    const s = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    const md = q.metadata && typeof q.metadata === 'object' && !Array.isArray(q.metadata) ? (q.metadata as Record<string, string>) : undefined;
    const data = charges({ customer: s(q.customer), payment_method: s(q.payment_method), payment_intent: s(q.payment_intent), idempotency_key: s(q.idempotency_key), metadata: md });
    const amount_by_currency: Record<string, number> = {};
    for (const c of data) amount_by_currency[c.currency] = (amount_by_currency[c.currency] ?? 0) + c.amount;
    const offset = Number(s(q.offset) ?? 0) || 0;
    const limit = Number(s(q.limit) ?? data.length) || data.length;
    return json(reply, { object: 'list', count: data.length, amount_by_currency, data: data.slice(offset, offset + limit) });
  });
  app.get('/_sandbox/stats', (_req, reply) => json(reply, stats()));
  const scriptRoute = (kind: 'payment_method' | 'customer') => (req: FastifyRequest, reply: FastifyReply) => {
    const id = (req.params as { id: string }).id;
    if (kind === 'payment_method' ? !psp.hasPaymentMethod(id) : !psp.hasCustomer(id)) return bad(reply, `No such ${kind}: '${id}'`, 404);
    const b = obj(req.body);
    try {
      return json(reply, psp.script(kind === 'payment_method' ? { payment_method: id } : { customer: id }, b.steps as ScriptStep[], { append: b.append === true }));
    } catch (e) {
      return bad(reply, (e as Error).message);
    }
  };
  app.post('/_sandbox/payment_methods/:id/script', scriptRoute('payment_method'));
  app.post('/_sandbox/customers/:id/script', scriptRoute('customer'));
  app.post('/_sandbox/scripts', (req, reply) => {
    const b = obj(req.body);
    try {
      return json(reply, psp.script(b.target as ScriptTarget, b.steps as ScriptStep[], { append: b.append === true }));
    } catch (e) {
      return bad(reply, (e as Error).message);
    }
  });
  app.get('/_sandbox/scripts', (_req, reply) => json(reply, { data: psp.listScripts() }));
  app.delete('/_sandbox/scripts', (_req, reply) => {
    psp.clearScripts();
    return json(reply, { data: [] });
  });
  app.get('/_sandbox/faults', (_req, reply) => json(reply, faults.config));
  app.post('/_sandbox/faults', (req, reply) => {
    try {
      return json(reply, faults.set(obj(req.body) as FaultInput));
    } catch (e) {
      return bad(reply, (e as Error).message);
    }
  });
  app.delete('/_sandbox/faults', (_req, reply) => {
    faults.clear();
    return json(reply, faults.config);
  });
  app.post('/_sandbox/load', (req, reply) => {
    try {
      return json(reply, psp.load(obj(req.body) as SandboxLoad));
    } catch (e) {
      if (e instanceof ApiError) return sendError(reply, e.status, e.body);
      return bad(reply, (e as Error).message);
    }
  });
  // The card networks' account updater: new expiry (or number) for a saved card → payment_method.automatically_updated.
  app.post('/_sandbox/payment_methods/:id/update', (req, reply) => {
    const id = (req.params as { id: string }).id;
    if (!psp.hasPaymentMethod(id)) return bad(reply, `No such payment_method: '${id}'`, 404);
    const b = obj(req.body);
    const num = (v: unknown) => (v === undefined ? undefined : Number(v));
    try {
      return json(reply, psp.updateCardDetails(id, { exp_month: num(b.exp_month), exp_year: num(b.exp_year), number: b.number === undefined ? undefined : String(b.number) }));
    } catch (e) {
      if (e instanceof ApiError) return sendError(reply, e.status, e.body);
      return bad(reply, (e as Error).message);
    }
  });
  app.get('/_sandbox/events', (_req, reply) => json(reply, { object: 'list', data: eventLog.slice(-100).reverse() }));
  app.post('/_sandbox/events/:id/deliver', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    if (!eventLog.some((e) => e.id === id)) return bad(reply, `No such event: '${id}'`, 404);
    return json(reply, { status: await deliverEvent(id) });
  });

  // Stripe's rate limiter: {per_second, burst?} switches it on, {per_second: 0} off.
  app.get('/_sandbox/rate-limit', (_req, reply) => json(reply, limiter ? { per_second: limiter.perSecond, burst: limiter.burst } : { per_second: 0 }));
  app.post('/_sandbox/rate-limit', (req, reply) => {
    const b = obj(req.body);
    const per = Number(b.per_second);
    if (!Number.isFinite(per) || per < 0) return bad(reply, 'per_second must be a number >= 0 (0: off)');
    try {
      limiter = per === 0 ? null : new TokenBucket({ perSecond: per, ...(b.burst !== undefined ? { burst: Number(b.burst) } : {}) });
    } catch (e) {
      return bad(reply, (e as Error).message);
    }
    return json(reply, limiter ? { per_second: limiter.perSecond, burst: limiter.burst } : { per_second: 0 });
  });

  app.post('/_sandbox/reset', (_req, reply) => {
    reset();
    return json(reply, { reset: true });
  });

  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 404, { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${req.url.split('?')[0]}). The sandbox speaks a subset of Stripe's API.` }),
  );
  app.setErrorHandler((err: unknown, _req, reply) => {
    if (err instanceof ApiError) return sendError(reply, err.status, err.body);
    const e = err as { statusCode?: number; message?: string };
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    return sendError(reply, status, { type: status === 500 ? 'api_error' : 'invalid_request_error', message: status === 500 ? 'Internal sandbox error.' : (e.message ?? 'Bad request') });
  });

  // ---------- the TS API ----------
  function charges(filter: ChargeFilter = {}): readonly SandboxCharge[] {
    const all = psp.charges();
    const md = filter.metadata ? Object.entries(filter.metadata) : [];
    if (!filter.customer && !filter.payment_method && !filter.payment_intent && !filter.idempotency_key && md.length === 0) return all;
    return all.filter(
      (c) =>
        (!filter.customer || c.customer === filter.customer) &&
        (!filter.payment_method || c.payment_method === filter.payment_method) &&
        (!filter.payment_intent || c.payment_intent === filter.payment_intent) &&
        (!filter.idempotency_key || c.idempotency_key === filter.idempotency_key) &&
        md.every(([k, v]) => c.metadata[k] === v),
    );
  }
  function stats(): SandboxStats {
    const rate = meter.rate();
    return { ...psp.counters, amount_moved: { ...psp.counters.amount_moved }, charges_per_second: rate, peak_charges_per_second: meter.peak, payment_intents: psp.piCount(), idempotency_records: idem.map.size, hung_requests: hung.size, rate_limited: rateLimited };
  }
  async function deliverEvent(id: string): Promise<number> {
    const ev = eventLog.find((e) => e.id === id);
    if (!ev || !webhook) return 0;
    return postEvent(webhook, ev);
  }
  function reset() {
    psp.reset();
    eventLog.length = 0;
    waiting = [];
    checkout.reset();
    idem.map.clear();
    faults.clear();
    faults.set({ ...initialFaults, timeouts: { ...initialFaults.timeouts }, errors: { ...initialFaults.errors }, rateLimits: { ...initialFaults.rateLimits } });
    rateLimited = 0;
  }

  return {
    app,
    clock,
    psp,
    checkout,
    get url() {
      return url;
    },
    async listen(port = 0, host = '127.0.0.1') {
      const addr = await app.listen({ port, host });
      url = addr.replace('[::1]', 'localhost');
      psp.baseUrl = url;
      return url;
    },
    async close() {
      if (timer) clearTimeout(timer);
      timer = null;
      waiting = [];
      await Promise.all([...inFlight]);
      for (const s of hung) s.destroy();
      hung.clear();
      await app.close();
      url = null;
    },
    script: (target, steps, o) => psp.script(target, steps, o),
    clearScripts: (target) => psp.clearScripts(target),
    scripts: () => psp.listScripts(),
    setFaults: (f) => faults.set(f),
    clearFaults: () => faults.clear(),
    faults: () => faults.config,
    charges,
    refunds: () => psp.refunds(),
    stats,
    reset,
    load: (data) => psp.load(data),
    setWebhook(target) {
      webhook = target;
      psp.onEvent = target ? onEvent : null;
      checkout.onEvent = target ? onCheckoutEvent : null;
    },
    events: () => eventLog,
    setRateLimit(o) {
      limiter = o ? new TokenBucket(o) : null;
    },
    flushEvents: () => flush(),
    deliverEvent,
  };
}

/** Same method, path and parameters (in any order) → same fingerprint. */
function fingerprint(method: string, url: string, raw: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const params = raw ? raw.split('&').sort().join('&') : '';
  return createHash('sha1').update(`${method} ${path}\n${params}`).digest('base64');
}
