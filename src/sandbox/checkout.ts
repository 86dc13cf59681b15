// The sandbox's copy of Stripe Checkout in `setup` mode: the Checkout Session and SetupIntent
// objects of the API (POST /v1/checkout/sessions, GET /v1/checkout/sessions/:id, GET
// /v1/setup_intents/:id) and the hosted page at the session's `url` where the customer types the
// card. The card number and CVC reach only this page's POST: they become a PaymentMethod (brand,
// last4, expiry, fingerprint) and are dropped; the SetupIntent checks the card with the "issuer"
// as Stripe does (a declining test card fails here and the page says why; 4000000000000341 sets up
// and fails later), attaches it to the customer, completes the session and 303-redirects the
// browser to success_url with {CHECKOUT_SESSION_ID} replaced. Sessions expire after 24 h on the
// sandbox clock, as Stripe's.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { TEST_CARDS, behaviorOf, declineAnswer, normalizeNumber } from './cards.ts';
import type { FormObject, FormValue } from './form.ts';
import { ApiError, type SandboxPsp, type StripeErrorBody } from './psp.ts';

const DAY = 86_400_000;
const MIN_EXPIRY_MS = 30 * 60_000;

const invalid = (message: string, param?: string) => new ApiError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}) });
const missing = (what: string, id: string, param: string) => new ApiError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${what}: '${id}'`, param });

/** The parameters a setup-mode session takes here; anything else is refused as Stripe refuses unknown ones. */
const CREATE_PARAMS = new Set(['mode', 'customer', 'currency', 'success_url', 'cancel_url', 'metadata', 'locale', 'setup_intent_data', 'payment_method_types', 'client_reference_id', 'expires_at', 'expand']);
const LOCALES = new Set(['auto', 'bg', 'cs', 'da', 'de', 'el', 'en', 'en-GB', 'es', 'es-419', 'et', 'fi', 'fil', 'fr', 'fr-CA', 'hr', 'hu', 'id', 'it', 'ja', 'ko', 'lt', 'lv', 'ms', 'mt', 'nb', 'nl', 'pl', 'pt', 'pt-BR', 'ro', 'ru', 'sk', 'sl', 'sv', 'th', 'tr', 'vi', 'zh', 'zh-HK', 'zh-TW']);

type Metadata = Record<string, string>;

interface SetupError {
  type: 'card_error';
  code: string;
  decline_code?: string;
  message: string;
  param?: string;
}

interface SetupIntentRec {
  id: string;
  created: number;
  customer: string;
  payment_method: string | null;
  status: 'requires_payment_method' | 'succeeded' | 'canceled';
  last_setup_error: SetupError | null;
  metadata: Metadata;
}

export interface CheckoutSessionRec {
  id: string;
  created: number;
  expires_at: number;
  customer: string;
  currency: string;
  locale: string;
  success_url: string;
  cancel_url: string | null;
  client_reference_id: string | null;
  metadata: Metadata;
  status: 'open' | 'complete' | 'expired';
  setup_intent: string;
  completed_at: number | null;
}

/**
 * What happened, for the events work (Stripe's `checkout.session.completed` and
 * `setup_intent.succeeded`): recorded in order, with the object ids and the sandbox time.
 */
export interface CheckoutEvent {
  type: 'checkout.session.completed' | 'setup_intent.succeeded' | 'setup_intent.setup_failed' | 'checkout.session.expired';
  object_id: string;
  created: number;
}

const str = (v: FormValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

function metadataOf(v: FormValue | undefined, param = 'metadata'): Metadata {
  if (v === undefined || v === '') return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid('Invalid object', param);
  const out: Metadata = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw invalid('Invalid metadata value', `${param}[${k}]`);
    if (k.length > 40 || x.length > 500) throw invalid('Metadata keys are at most 40 characters and values at most 500', `${param}[${k}]`);
    if (x !== '') out[k] = x;
  }
  return out;
}

function httpUrl(v: string | undefined, param: string): string {
  if (!v) throw invalid(`Missing required param: ${param}.`, param);
  let u: URL;
  try {
    u = new URL(v.replace('{CHECKOUT_SESSION_ID}', 'x'));
  } catch {
    throw invalid(`Not a valid URL`, param);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid('Not a valid URL', param);
  return v;
}

/** `expand` as the client sends it (expand[0]=a&expand[1]=b), as a set of paths. */
export function expandOf(q: FormObject): Set<string> {
  const e = q.expand;
  const list = Array.isArray(e) ? e : typeof e === 'string' ? [e] : e && typeof e === 'object' ? Object.values(e) : [];
  return new Set(list.filter((x): x is string => typeof x === 'string'));
}

export class SandboxCheckout {
  private readonly psp: SandboxPsp;
  private readonly clock: Clock;
  private readonly tag = randomBytes(4).toString('hex');
  private seq = 0;
  private sessions = new Map<string, CheckoutSessionRec>();
  private intents = new Map<string, SetupIntentRec>();
  /** Sessions completed, setup intents succeeded or failed, in order (the events work reads these). */
  readonly events: CheckoutEvent[] = [];
  /** Called for every event as it is recorded (the events work can post it to renewd). */
  onEvent: ((e: CheckoutEvent) => void) | null = null;

  constructor(psp: SandboxPsp) {
    this.psp = psp;
    this.clock = psp.clock;
  }

  reset() {
    this.sessions.clear();
    this.intents.clear();
    this.events.length = 0;
  }

  private id(prefix: string) {
    const rnd = randomBytes(12).toString('base64url').replace(/[-_]/g, 'x');
    return `${prefix}_${this.tag}${(++this.seq).toString(36)}${rnd}`;
  }
  private nowSec() {
    return Math.floor(this.clock.now().getTime() / 1000);
  }
  private emit(type: CheckoutEvent['type'], object_id: string) {
    const e = { type, object_id, created: this.nowSec() };
    this.events.push(e);
    this.onEvent?.(e);
  }

  // ---------- API ----------
  /** POST /v1/checkout/sessions, mode=setup only (the sandbox does not sell line items). */
  create(p: FormObject, baseUrl: string) {
    for (const k of Object.keys(p)) if (!CREATE_PARAMS.has(k)) throw invalid(`Received unknown parameter: ${k}`, k);
    const mode = str(p.mode);
    if (!mode) throw invalid('Missing required param: mode.', 'mode');
    if (mode !== 'setup') throw invalid(mode === 'payment' || mode === 'subscription' ? `The sandbox supports only mode=setup (card capture), not '${mode}'.` : `Invalid mode: must be one of payment, setup, or subscription`, 'mode');
    const customerId = str(p.customer);
    if (!customerId) throw invalid('The sandbox needs `customer` in setup mode: the card is saved to that customer.', 'customer');
    if (!this.psp.hasCustomer(customerId)) throw missing('customer', customerId, 'customer');
    const pmTypes = p.payment_method_types;
    if (pmTypes !== undefined) {
      const list = Array.isArray(pmTypes) ? pmTypes : [pmTypes];
      if (list.some((x) => x !== 'card')) throw invalid('The sandbox supports only card payment methods.', 'payment_method_types');
    }
    const currency = str(p.currency)?.toLowerCase();
    if (!currency && pmTypes === undefined) throw invalid('Missing required param: currency. It is required in setup mode when payment_method_types is not set.', 'currency');
    if (currency && !/^[a-z]{3}$/.test(currency)) throw invalid(`Invalid currency: ${currency}.`, 'currency');
    const success_url = httpUrl(str(p.success_url), 'success_url');
    const cancelText = str(p.cancel_url);
    const cancel_url = cancelText ? httpUrl(cancelText, 'cancel_url') : null;
    const locale = str(p.locale) ?? 'auto';
    if (!LOCALES.has(locale)) throw invalid(`Invalid locale: ${locale}`, 'locale');
    const now = this.clock.now().getTime();
    let expires = now + DAY;
    const exp = str(p.expires_at);
    if (exp !== undefined) {
      const n = Number(exp) * 1000;
      if (!/^\d+$/.test(exp) || n < now + MIN_EXPIRY_MS || n > now + DAY) throw invalid('The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.', 'expires_at');
      expires = n;
    }
    const metadata = metadataOf(p.metadata);
    const sid = p.setup_intent_data;
    if (sid !== undefined && (typeof sid !== 'object' || Array.isArray(sid))) throw invalid('Invalid object', 'setup_intent_data');
    const si: SetupIntentRec = {
      id: this.id('seti'),
      created: this.nowSec(),
      customer: customerId,
      payment_method: null,
      status: 'requires_payment_method',
      last_setup_error: null,
      metadata: sid ? metadataOf((sid as FormObject).metadata, 'setup_intent_data[metadata]') : {},
    };
    this.intents.set(si.id, si);
    const cs: CheckoutSessionRec = {
      id: this.id('cs_test'),
      created: this.nowSec(),
      expires_at: Math.floor(expires / 1000),
      customer: customerId,
      currency: currency ?? 'usd',
      locale,
      success_url,
      cancel_url,
      client_reference_id: str(p.client_reference_id) ?? null,
      metadata,
      status: 'open',
      setup_intent: si.id,
      completed_at: null,
    };
    this.sessions.set(cs.id, cs);
    return this.sessionJson(cs, baseUrl, expandOf(p));
  }

  retrieve(id: string, q: FormObject, baseUrl: string) {
    return this.sessionJson(this.requireSession(id, 'session'), baseUrl, expandOf(q));
  }

  retrieveSetupIntent(id: string, q: FormObject) {
    const si = this.intents.get(id);
    if (!si) throw missing('setup_intent', id, 'intent');
    return this.setupIntentJson(si, expandOf(q).has('payment_method'));
  }

  /** The session, with its status brought up to date with the clock (open → expired). */
  session(id: string): CheckoutSessionRec | null {
    const cs = this.sessions.get(id);
    if (!cs) return null;
    if (cs.status === 'open' && this.clock.now().getTime() >= cs.expires_at * 1000) {
      cs.status = 'expired';
      this.emit('checkout.session.expired', cs.id);
    }
    return cs;
  }

  private requireSession(id: string, param: string) {
    const cs = this.session(id);
    if (!cs) throw missing('checkout.session', id, param);
    return cs;
  }

  // ---------- the hosted page's submit ----------
  /**
   * The customer's card on the hosted page. Answers where to send the browser, or the error to
   * show on the page (the session stays open: the customer can try another card).
   */
  submit(id: string, form: FormObject): { redirect: string } | { error: StripeErrorBody; field: 'number' | 'expiry' | 'cvc' | null } | { closed: CheckoutSessionRec['status'] } {
    const cs = this.session(id);
    if (!cs) return { closed: 'expired' };
    if (cs.status !== 'open') return { closed: cs.status };
    const si = this.intents.get(cs.setup_intent)!;
    const number = normalizeNumber(str(form.number));
    const m = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(str(form.expiry) ?? '');
    if (!m) return { error: { type: 'card_error', code: 'invalid_expiry_month', message: "Your card's expiration date is incomplete.", param: 'exp_month' }, field: 'expiry' };
    const cvc = (str(form.cvc) ?? '').trim();
    if (!/^\d{3,4}$/.test(cvc)) return { error: { type: 'card_error', code: 'incomplete_cvc', message: "Your card's security code is incomplete.", param: 'cvc' }, field: 'cvc' };
    let pmId: string;
    try {
      // The number is turned into a PaymentMethod here and not kept (brand, last4, fingerprint only).
      pmId = this.psp.createPaymentMethod(Object.assign(Object.create(null), { type: 'card', card: { number, exp_month: m[1], exp_year: m[2], cvc } }) as FormObject).id;
    } catch (e) {
      if (e instanceof ApiError) return { error: e.body, field: fieldOf(e.body.param) };
      throw e;
    }
    // The SetupIntent checks the card with the issuer, as Stripe's does: a declining card fails now.
    const refusal = behaviorOf(number).setup;
    if (refusal) {
      const a = declineAnswer(refusal);
      si.last_setup_error = { type: 'card_error', code: a.code, ...(a.decline_code ? { decline_code: a.decline_code } : {}), message: a.message, ...(a.param ? { param: a.param } : {}) };
      si.payment_method = null;
      this.emit('setup_intent.setup_failed', si.id);
      return { error: si.last_setup_error, field: fieldOf(a.param) };
    }
    try {
      this.psp.attachPaymentMethod(pmId, Object.assign(Object.create(null), { customer: cs.customer }) as FormObject);
    } catch (e) {
      if (e instanceof ApiError) {
        si.last_setup_error = { type: 'card_error', code: e.body.code ?? 'card_declined', message: e.body.message, ...(e.body.decline_code ? { decline_code: e.body.decline_code } : {}) };
        this.emit('setup_intent.setup_failed', si.id);
        return { error: e.body, field: fieldOf(e.body.param) };
      }
      throw e;
    }
    // (A card that needs 3-D Secure on setup would show the issuer's challenge here on Stripe; the
    // customer is on the page, so the sandbox counts it as completed.)
    si.payment_method = pmId;
    si.status = 'succeeded';
    si.last_setup_error = null;
    cs.status = 'complete';
    cs.completed_at = this.nowSec();
    this.emit('setup_intent.succeeded', si.id);
    this.emit('checkout.session.completed', cs.id);
    return { redirect: cs.success_url.split('{CHECKOUT_SESSION_ID}').join(cs.id) };
  }

  // ---------- rendering (Stripe's shapes) ----------
  sessionJson(cs: CheckoutSessionRec, baseUrl: string, expand: Set<string>) {
    const si = this.intents.get(cs.setup_intent)!;
    return {
      id: cs.id,
      object: 'checkout.session',
      cancel_url: cs.cancel_url,
      client_reference_id: cs.client_reference_id,
      created: cs.created,
      currency: cs.currency,
      customer: cs.customer,
      expires_at: cs.expires_at,
      livemode: false,
      locale: cs.locale === 'auto' ? null : cs.locale,
      metadata: cs.metadata,
      mode: 'setup',
      payment_intent: null,
      payment_method_types: ['card'],
      payment_status: 'no_payment_required',
      setup_intent: expand.has('setup_intent') ? this.setupIntentJson(si, expand.has('setup_intent.payment_method')) : si.id,
      status: cs.status,
      success_url: cs.success_url,
      ui_mode: 'hosted',
      url: cs.status === 'open' ? `${baseUrl}/checkout/${cs.id}` : null,
    };
  }

  private setupIntentJson(si: SetupIntentRec, expandPm: boolean) {
    return {
      id: si.id,
      object: 'setup_intent',
      cancellation_reason: null,
      client_secret: `${si.id}_secret_sandbox`,
      created: si.created,
      customer: si.customer,
      description: null,
      last_setup_error: si.last_setup_error,
      latest_attempt: null,
      livemode: false,
      metadata: si.metadata,
      next_action: null,
      payment_method: si.payment_method && expandPm ? this.psp.getPaymentMethod(si.payment_method) : si.payment_method,
      payment_method_types: ['card'],
      status: si.status,
      usage: 'off_session',
    };
  }
}

function fieldOf(param: string | undefined): 'number' | 'expiry' | 'cvc' | null {
  if (!param) return null;
  if (/number/.test(param)) return 'number';
  if (/exp/.test(param)) return 'expiry';
  if (/cvc/.test(param)) return 'cvc';
  return null;
}

/** The test cards the hosted page lists (Stripe's numbers, what each does at setup and later). */
export const SETUP_TEST_CARDS: ReadonlyArray<{ number: string; note: string }> = Object.entries(TEST_CARDS).map(([number, c]) => ({
  number,
  note: c.setup ? `refused at setup: ${c.setup}` : c.charge ? `sets up; later charges: ${c.charge}` : 'sets up; charges succeed',
}));
