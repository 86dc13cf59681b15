// The sandbox PSP's state and rules, without HTTP: customers, card payment methods, payment intents
// (off-session charges), the money actually moved, scripted outcomes and card expiry on the injected
// clock. Everything is in memory and O(1) per charge. Objects are rendered in Stripe's shapes.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { MINIMUM_CHARGE } from '../core/money.ts';
import { TEST_TOKENS, behaviorOf, brandOf, declineAnswer, fingerprintOf, luhnValid, normalizeNumber, type CardBehavior } from './cards.ts';
import type { FormObject, FormValue } from './form.ts';

// ---------- errors (Stripe's error object) ----------
export interface StripeErrorBody {
  type: 'card_error' | 'invalid_request_error' | 'api_error' | 'idempotency_error' | 'authentication_error' | 'rate_limit_error';
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  network_decline_code?: string;
  advice_code?: string;
  network_advice_code?: string;
  charge?: string;
  payment_intent?: unknown;
  payment_method?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly body: StripeErrorBody;
  constructor(
    status: number,
    body: StripeErrorBody,
  ) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

const invalid = (message: string, param?: string, code?: string) =>
  new ApiError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code } : {}), ...(code ? { doc_url: `https://docs.stripe.com/error-codes/${code.replace(/_/g, '-')}` } : {}) });
/** Stripe's answer to a required parameter left out. */
const missingParam = (param: string) => invalid(`Missing required param: ${param}.`, param, 'parameter_missing');

/**
 * Currencies Stripe charges in, with the smallest amount it accepts for each (core/money.ts holds
 * Stripe's table); any other 3-letter code is an invalid currency.
 */
export const MINIMUM_AMOUNTS = MINIMUM_CHARGE;
const ZERO_DECIMAL = new Set(['jpy', 'krw', 'bif', 'clp', 'djf', 'gnf', 'kmf', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);

/** "€0.50 eur" as Stripe words a minimum. */
function minimumWords(currency: string, minor: number): string {
  const major = ZERO_DECIMAL.has(currency) ? minor : minor / 100;
  try {
    return `${new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).format(major)} ${currency}`;
  } catch {
    return `${major} ${currency}`;
  }
}
const missing = (what: string, id: string, param: string) =>
  new ApiError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${what}: '${id}'`, param });
const cardError = (code: string, message: string, param?: string, decline_code?: string) =>
  new ApiError(402, { type: 'card_error', code, message, ...(param ? { param } : {}), ...(decline_code ? { decline_code } : {}), doc_url: `https://docs.stripe.com/error-codes/${code.replace(/_/g, '-')}` });

// ---------- records ----------
type Metadata = Record<string, string>;

interface CustomerRec {
  id: string;
  created: number;
  email: string | null;
  name: string | null;
  description: string | null;
  metadata: Metadata;
  default_payment_method: string | null;
}

interface PmRec {
  id: string;
  created: number;
  customer: string | null;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  fingerprint: string;
  cvc_check: 'pass' | null;
  behavior: CardBehavior;
  metadata: Metadata;
  billing_name: string | null;
  billing_email: string | null;
}

interface LastError {
  type: 'card_error';
  code: string;
  decline_code: string | null;
  message: string;
  param?: string;
  network_decline_code: string | null;
  advice_code: string | null;
  network_advice_code: string | null;
  charge: string;
}

export interface PiRec {
  id: string;
  seq: number;
  created: number;
  amount: number;
  currency: string;
  customer: string | null;
  payment_method: string | null;
  description: string | null;
  metadata: Metadata;
  status: 'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'succeeded' | 'canceled';
  amount_received: number;
  latest_charge: string | null;
  last_error: LastError | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  /** Where the issuer's page sends the customer back (on-session confirmations). */
  return_url: string | null;
  /** Unguessable part of the challenge page's address, per PaymentIntent. */
  challenge: string | null;
  /** Idempotency records whose stored response renders this PI (snapshotted before it changes). */
  idem: IdemRec[] | null;
}

/** A request's stored result under its Idempotency-Key. */
export interface IdemRec {
  fp: string;
  created: number;
  inFlight: boolean;
  status: number;
  /** Rendered lazily from the PI while it has not changed since (memory: no copy per charge). */
  pi: PiRec | null;
  body: string | null;
}

/** Money given back (POST /v1/refunds). */
export interface SandboxRefund {
  id: string;
  amount: number;
  currency: string;
  charge: string;
  payment_intent: string;
  reason: string | null;
  metadata: Metadata;
  created: number;
}

/** Money that moved: one row per succeeded charge. */
export interface SandboxCharge {
  id: string;
  payment_intent: string;
  amount: number;
  currency: string;
  customer: string | null;
  payment_method: string;
  /** The Idempotency-Key of the request that made it (null when none was sent). */
  idempotency_key: string | null;
  metadata: Metadata;
  created: number;
}

// ---------- scripts ----------
export interface ScriptStep {
  /** 'succeed' | 'requires_action' | 'api_error' (a 500) | any decline code: 'insufficient_funds', 'expired_card', 'issuer_not_available', … */
  outcome: string;
  /** How many charges this step answers (default 1). */
  times?: number;
  /** Answers every charge until this clock time (ISO string or Date), then the next step applies. */
  until?: string | Date;
  /** Answers every charge from now on. */
  forever?: boolean;
  network_decline_code?: string;
  network_advice_code?: string;
  advice_code?: string;
  message?: string;
}

/**
 * Whose charges a script answers. A string is a payment method id (pm_…), a customer id (cus_…) or a
 * card number (all payment methods made from it, now or later). account_id matches customers that
 * renewd created for that account (metadata renewd_account_id). The most specific script wins:
 * payment method, then card, then customer.
 */
export type ScriptTarget =
  | string
  | { payment_method: string }
  | { customer: string }
  | { card_number: string }
  | { fingerprint: string }
  | { account_id: string }
  | { customer_metadata: Record<string, string> };

interface Step {
  outcome: string;
  remaining: number;
  untilMs: number | null;
  forever: boolean;
  network_decline_code?: string;
  network_advice_code?: string;
  advice_code?: string;
  message?: string;
  until?: string;
}

const OUTCOME_RE = /^[a-z][a-z0-9_]{1,63}$/;

export function targetKey(t: ScriptTarget): string {
  if (typeof t === 'string') {
    if (t.startsWith('pm_')) return `pm:${t}`;
    if (t.startsWith('cus_')) return `cus:${t}`;
    const n = normalizeNumber(t);
    if (/^\d{12,19}$/.test(n)) return `fp:${fingerprintOf(n)}`;
    throw new TypeError('script target: give a pm_… or cus_… id, a card number, or an object target');
  }
  if (!t || typeof t !== 'object') throw new TypeError('script target missing');
  if ('payment_method' in t && typeof t.payment_method === 'string') return `pm:${t.payment_method}`;
  if ('customer' in t && typeof t.customer === 'string') return `cus:${t.customer}`;
  if ('card_number' in t && typeof t.card_number === 'string') return `fp:${fingerprintOf(normalizeNumber(t.card_number))}`;
  if ('fingerprint' in t && typeof t.fingerprint === 'string') return `fp:${t.fingerprint}`;
  if ('account_id' in t && typeof t.account_id === 'string') return `meta:renewd_account_id=${t.account_id}`;
  if ('customer_metadata' in t && t.customer_metadata && typeof t.customer_metadata === 'object') {
    const e = Object.entries(t.customer_metadata);
    if (e.length === 1 && typeof e[0][1] === 'string') return `meta:${e[0][0]}=${e[0][1]}`;
  }
  throw new TypeError('script target: one of payment_method, customer, card_number, fingerprint, account_id, customer_metadata {key: value}');
}

function normalizeStep(s: ScriptStep | string): Step {
  const o: ScriptStep = typeof s === 'string' ? { outcome: s } : s;
  if (!o || typeof o !== 'object') throw new TypeError('a script step is an object {outcome, times?, until?, forever?} or an outcome string');
  let outcome = String(o.outcome ?? '');
  if (outcome === 'succeeded' || outcome === 'success') outcome = 'succeed';
  if (!OUTCOME_RE.test(outcome)) throw new TypeError(`script step outcome "${outcome}" is not a code (succeed, requires_action, api_error or a decline code)`);
  const times = o.times === undefined ? 1 : Number(o.times);
  if (!Number.isInteger(times) || times < 1) throw new TypeError('script step times must be a positive integer');
  let untilMs: number | null = null;
  if (o.until !== undefined && o.until !== null) {
    untilMs = new Date(o.until).getTime();
    if (Number.isNaN(untilMs)) throw new TypeError(`script step until "${String(o.until)}" is not a date`);
  }
  const str = (v: unknown, name: string) => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.length > 64) throw new TypeError(`script step ${name} must be a short string`);
    return v;
  };
  return {
    outcome,
    remaining: times,
    untilMs,
    forever: o.forever === true,
    network_decline_code: str(o.network_decline_code, 'network_decline_code'),
    network_advice_code: str(o.network_advice_code, 'network_advice_code'),
    advice_code: str(o.advice_code, 'advice_code'),
    message: str(o.message, 'message'),
  };
}

function stepView(s: Step): ScriptStep {
  return {
    outcome: s.outcome,
    ...(s.untilMs !== null ? { until: new Date(s.untilMs).toISOString() } : s.forever ? { forever: true } : { times: s.remaining }),
    ...(s.network_decline_code ? { network_decline_code: s.network_decline_code } : {}),
    ...(s.network_advice_code ? { network_advice_code: s.network_advice_code } : {}),
    ...(s.advice_code ? { advice_code: s.advice_code } : {}),
    ...(s.message ? { message: s.message } : {}),
  };
}

// ---------- helpers ----------
const str = (v: FormValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const bool = (v: FormValue | undefined) => v === 'true' || v === '1';
function metadataOf(v: FormValue | undefined, into: Metadata = {}): Metadata {
  if (v === undefined || v === '') return into;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid('Invalid object', 'metadata');
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw invalid('Invalid metadata value', `metadata[${k}]`);
    if (k.length > 40 || x.length > 500) throw invalid('Metadata keys are at most 40 characters and values at most 500', `metadata[${k}]`);
    if (x === '') delete into[k];
    else into[k] = x;
  }
  if (Object.keys(into).length > 50) throw invalid('Metadata can have at most 50 keys', 'metadata');
  return into;
}

export interface SandboxLoad {
  customers?: Array<{ id: string; email?: string; name?: string; metadata?: Record<string, string> }>;
  /** Card data is only read to derive brand, last4, fingerprint and behaviour; the number is not kept. */
  cards?: Array<{ id: string; customer?: string; number: string; exp_month: number; exp_year: number; cvc?: string }>;
}

/** The outcome a charge gets. */
type Decision =
  | { kind: 'succeed' }
  | { kind: 'requires_action' }
  | { kind: 'api_error'; message?: string }
  | { kind: 'decline'; code: string; step: Step | null };

export interface PspStats {
  requests: number;
  charges_attempted: number;
  charges_succeeded: number;
  charges_declined: number;
  amount_moved: Record<string, number>;
}

export class SandboxPsp {
  readonly clock: Clock;
  private readonly tag = randomBytes(4).toString('hex');
  private seq = 0;
  private customers = new Map<string, CustomerRec>();
  private pms = new Map<string, PmRec>();
  private pis: PiRec[] = [];
  private piById = new Map<string, PiRec>();
  private piByCustomer = new Map<string, PiRec[]>();
  /** Built lazily per metadata key on its first search, then kept up to date. */
  private metaIndex = new Map<string, Map<string, PiRec[]>>();
  private moved: SandboxCharge[] = [];
  private chargeById = new Map<string, SandboxCharge>();
  private refundedByCharge = new Map<string, number>();
  private refundList: SandboxRefund[] = [];
  private refundById = new Map<string, SandboxRefund>();
  /** Deleted customers answer `deleted: true` on retrieve and no longer exist for anything else. */
  private deletedCustomers = new Set<string>();
  /**
   * As Stripe: a card that declines is refused when attached to a customer (Stripe checks it with
   * the issuer then); 4000000000000341 is the card that attaches and declines later. Off only for
   * fixtures that need a declining card already on file (tests reaching grace in one step).
   */
  declineOnAttach = true;
  private scriptQueues = new Map<string, Step[]>();
  private metaScripts = 0;
  readonly counters: PspStats = { requests: 0, charges_attempted: 0, charges_succeeded: 0, charges_declined: 0, amount_moved: {} };
  /** Called for every charge decision (the server counts charges per second). */
  onCharge: ((succeeded: boolean) => void) | null = null;
  /** Called for every event Stripe would send (type, the object's JSON); the server delivers them. */
  onEvent: ((type: string, object: unknown) => void) | null = null;
  /** Base URL the sandbox is reachable at (its hosted pages: the 3-D Secure challenge). */
  baseUrl: string | null = null;
  /**
   * Whether the issuers are down now (an 'issuer' outage window): every charge is then declined
   * issuer_not_available, as a scripted issuer_not_available decline is, and no script step is used.
   */
  issuerDown: (() => boolean) | null = null;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  reset() {
    this.customers.clear();
    this.pms.clear();
    this.pis = [];
    this.piById.clear();
    this.piByCustomer.clear();
    this.metaIndex.clear();
    this.moved = [];
    this.chargeById.clear();
    this.refundedByCharge.clear();
    this.refundList = [];
    this.refundById.clear();
    this.deletedCustomers.clear();
    this.scriptQueues.clear();
    this.metaScripts = 0;
    Object.assign(this.counters, { requests: 0, charges_attempted: 0, charges_succeeded: 0, charges_declined: 0, amount_moved: {} });
  }

  private id(prefix: string) {
    return `${prefix}_${this.tag}${(++this.seq).toString(36).padStart(8, '0')}`;
  }
  private nowSec() {
    return Math.floor(this.clock.now().getTime() / 1000);
  }

  // ---------- customers ----------
  createCustomer(p: FormObject) {
    const c: CustomerRec = {
      id: this.id('cus'),
      created: this.nowSec(),
      email: str(p.email) ?? null,
      name: str(p.name) ?? null,
      description: str(p.description) ?? null,
      metadata: metadataOf(p.metadata),
      default_payment_method: null,
    };
    this.customers.set(c.id, c);
    const pm = str(p.payment_method);
    if (pm) this.attachPaymentMethod(pm, { customer: c.id });
    const dpm = str((p.invoice_settings as FormObject | undefined)?.default_payment_method);
    if (dpm) c.default_payment_method = this.requirePm(dpm, 'invoice_settings[default_payment_method]').id;
    return this.customerJson(c);
  }

  getCustomer(id: string) {
    if (this.deletedCustomers.has(id)) return { id, object: 'customer', deleted: true };
    return this.customerJson(this.requireCustomer(id, 'id'));
  }

  /** DELETE /v1/customers/:id: its cards are detached; it can no longer be charged or updated. */
  deleteCustomer(id: string) {
    this.requireCustomer(id, 'id');
    this.customers.delete(id);
    this.deletedCustomers.add(id);
    for (const pm of this.pms.values()) if (pm.customer === id) pm.customer = null;
    return { id, object: 'customer', deleted: true };
  }

  updateCustomer(id: string, p: FormObject) {
    const c = this.requireCustomer(id, 'id');
    if (p.email !== undefined) c.email = str(p.email) || null;
    if (p.name !== undefined) c.name = str(p.name) || null;
    if (p.description !== undefined) c.description = str(p.description) || null;
    if (p.metadata !== undefined) metadataOf(p.metadata, c.metadata);
    const is = p.invoice_settings as FormObject | undefined;
    if (is && is.default_payment_method !== undefined) {
      const dpm = str(is.default_payment_method);
      c.default_payment_method = dpm ? this.requirePm(dpm, 'invoice_settings[default_payment_method]').id : null;
    }
    return this.customerJson(c);
  }

  private requireCustomer(id: string, param: string) {
    const c = this.customers.get(id);
    if (!c) throw missing('customer', id, param);
    return c;
  }

  private customerJson(c: CustomerRec) {
    return {
      id: c.id,
      object: 'customer',
      address: null,
      balance: 0,
      created: c.created,
      currency: null,
      default_source: null,
      delinquent: false,
      description: c.description,
      email: c.email,
      invoice_prefix: c.id.slice(4, 12).toUpperCase(),
      invoice_settings: { custom_fields: null, default_payment_method: c.default_payment_method, footer: null, rendering_options: null },
      livemode: false,
      metadata: c.metadata,
      name: c.name,
      phone: null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: null,
    };
  }

  // ---------- bulk load (fixtures, benchmarks) ----------
  /**
   * Loads customers and saved cards directly, under ids chosen by the caller (cus_…, pm_…), with the
   * same validation as the API (Luhn, expiry on the clock, attach checks). O(1) per record.
   */
  load(data: SandboxLoad): { customers: number; cards: number } {
    for (const c of data.customers ?? []) {
      if (!/^cus_[\w-]{1,120}$/.test(c.id)) throw invalid(`customer id must look like cus_…: '${c.id}'`, 'id');
      if (this.customers.has(c.id)) throw invalid(`customer '${c.id}' already exists`, 'id');
      this.customers.set(c.id, {
        id: c.id,
        created: this.nowSec(),
        email: c.email ?? null,
        name: c.name ?? null,
        description: null,
        metadata: { ...(c.metadata ?? {}) },
        default_payment_method: null,
      });
    }
    for (const k of data.cards ?? []) {
      if (!/^pm_[\w-]{1,120}$/.test(k.id)) throw invalid(`payment method id must look like pm_…: '${k.id}'`, 'id');
      if (this.pms.has(k.id)) throw invalid(`payment method '${k.id}' already exists`, 'id');
      const pm = this.pmFromCard({ number: k.number, exp_month: String(k.exp_month), exp_year: String(k.exp_year), ...(k.cvc ? { cvc: k.cvc } : {}) });
      pm.id = k.id;
      this.pms.set(pm.id, pm);
      // A fixture may put a declining card on file (a card that was good when saved).
      if (k.customer) this.attachPaymentMethod(pm.id, { customer: k.customer }, { fixture: true });
    }
    return { customers: data.customers?.length ?? 0, cards: data.cards?.length ?? 0 };
  }

  // ---------- payment methods ----------
  /** type=card with card[number], card[exp_month], card[exp_year], card[cvc]; or card[token]=tok_…. */
  createPaymentMethod(p: FormObject) {
    const type = str(p.type);
    if (!type) throw missingParam('type');
    if (type !== 'card') throw invalid(`The sandbox supports only card payment methods, not '${type}'`, 'type', 'parameter_invalid_string');
    const card = p.card;
    if (!card || typeof card !== 'object' || Array.isArray(card)) throw missingParam('card');
    const token = str(card.token);
    let pm: PmRec;
    if (token) {
      const number = TEST_TOKENS[token];
      if (!number) throw missing('token', token, 'card[token]');
      pm = this.pmFromNumber(number, 12, new Date(this.clock.now()).getUTCFullYear() + 5, null);
    } else {
      pm = this.pmFromCard(card);
    }
    const bd = p.billing_details as FormObject | undefined;
    if (bd && typeof bd === 'object') {
      pm.billing_name = str(bd.name) ?? null;
      pm.billing_email = str(bd.email) ?? null;
    }
    pm.metadata = metadataOf(p.metadata);
    this.pms.set(pm.id, pm);
    return this.pmJson(pm);
  }

  private pmFromCard(card: FormObject): PmRec {
    const number = normalizeNumber(str(card.number));
    if (!number) throw missingParam('card[number]');
    if (!/^\d{12,19}$/.test(number)) throw cardError('invalid_number', 'Your card number is not a valid credit card number.', 'number');
    if (!luhnValid(number)) throw cardError('incorrect_number', 'Your card number is incorrect.', 'number');
    const month = Number(str(card.exp_month));
    if (!Number.isInteger(month) || month < 1 || month > 12) throw cardError('invalid_expiry_month', "Your card's expiration month is invalid.", 'exp_month');
    let year = Number(str(card.exp_year));
    if (Number.isInteger(year) && year >= 0 && year < 100) year += 2000;
    if (!Number.isInteger(year) || year < 1970 || year > 2100) throw cardError('invalid_expiry_year', "Your card's expiration year is invalid.", 'exp_year');
    const now = this.clock.now();
    if (year < now.getUTCFullYear()) throw cardError('invalid_expiry_year', "Your card's expiration year is invalid.", 'exp_year');
    if (this.expired(month, year, now.getTime())) throw cardError('invalid_expiry_month', "Your card's expiration month is invalid.", 'exp_month');
    const cvc = str(card.cvc);
    if (cvc !== undefined && cvc !== '' && !/^\d{3,4}$/.test(cvc)) throw cardError('invalid_cvc', "Your card's security code is invalid.", 'cvc');
    return this.pmFromNumber(number, month, year, cvc ? 'pass' : null);
  }

  private pmFromNumber(number: string, exp_month: number, exp_year: number, cvc_check: 'pass' | null): PmRec {
    return {
      id: this.id('pm'),
      created: this.nowSec(),
      customer: null,
      brand: brandOf(number),
      last4: number.slice(-4),
      exp_month,
      exp_year,
      fingerprint: fingerprintOf(number),
      cvc_check,
      behavior: behaviorOf(number),
      metadata: {},
      billing_name: null,
      billing_email: null,
    };
  }

  /** A test token used as a payment method id (pm_card_visa…) becomes a new payment method each time, as on Stripe. */
  private requirePm(id: string, param: string): PmRec {
    const pm = this.pms.get(id);
    if (pm) return pm;
    const number = TEST_TOKENS[id];
    if (number && id.startsWith('pm_')) {
      const made = this.pmFromNumber(number, 12, this.clock.now().getUTCFullYear() + 5, 'pass');
      this.pms.set(made.id, made);
      return made;
    }
    throw missing('PaymentMethod', id, param);
  }

  getPaymentMethod(id: string) {
    return this.pmJson(this.requirePm(id, 'id'));
  }

  attachPaymentMethod(id: string, p: FormObject, o: { fixture?: boolean } = {}) {
    const customerId = str(p.customer);
    if (!customerId) throw missingParam('customer');
    const customer = this.requireCustomer(customerId, 'customer');
    const pm = this.requirePm(id, 'payment_method');
    if (pm.customer && pm.customer !== customer.id) throw invalid(`The payment method you provided has already been attached to a customer.`, 'payment_method', 'payment_method_unexpected_state');
    // Stripe checks the card when it is attached: the CVC, the expiry (on this sandbox's clock).
    if (pm.behavior.attach) {
      const a = declineAnswer(pm.behavior.attach);
      throw cardError(a.code, a.message, a.param, a.decline_code ?? undefined);
    }
    if (this.expired(pm.exp_month, pm.exp_year, this.clock.now().getTime())) throw cardError('expired_card', 'Your card has expired.', 'exp_month', 'expired_card');
    // Stripe checks the card with the issuer on attach: a declining test card is refused now.
    if (pm.behavior.setup && this.declineOnAttach && !o.fixture) {
      const a = declineAnswer(pm.behavior.setup);
      throw cardError(a.code, a.message, a.param, a.decline_code ?? undefined);
    }
    pm.customer = customer.id;
    return this.pmJson(pm);
  }

  detachPaymentMethod(id: string) {
    const pm = this.requirePm(id, 'payment_method');
    if (!pm.customer) throw invalid('The payment method you provided is not attached to a customer so detachment is impossible.', 'payment_method', 'payment_method_unexpected_state');
    const c = this.customers.get(pm.customer);
    if (c && c.default_payment_method === pm.id) c.default_payment_method = null;
    pm.customer = null;
    return this.pmJson(pm);
  }

  listPaymentMethods(q: FormObject, customerFromPath?: string) {
    const customer = customerFromPath ?? str(q.customer);
    if (customer) this.requireCustomer(customer, 'customer');
    const limit = this.limitOf(q);
    const data = [];
    for (const pm of [...this.pms.values()].reverse()) {
      if (customer && pm.customer !== customer) continue;
      if (!customer) continue; // like Stripe, listing needs a customer
      data.push(this.pmJson(pm));
      if (data.length > limit) break;
    }
    const has_more = data.length > limit;
    return { object: 'list', data: data.slice(0, limit), has_more, url: '/v1/payment_methods' };
  }

  private pmJson(pm: PmRec) {
    return {
      id: pm.id,
      object: 'payment_method',
      allow_redisplay: 'unspecified',
      billing_details: {
        address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
        email: pm.billing_email,
        name: pm.billing_name,
        phone: null,
      },
      card: {
        brand: pm.brand,
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: pm.cvc_check },
        country: 'US',
        display_brand: pm.brand,
        exp_month: pm.exp_month,
        exp_year: pm.exp_year,
        fingerprint: pm.fingerprint,
        funding: 'credit',
        generated_from: null,
        last4: pm.last4,
        networks: { available: [pm.brand], preferred: null },
        three_d_secure_usage: { supported: true },
        wallet: null,
      },
      created: pm.created,
      customer: pm.customer,
      livemode: false,
      metadata: pm.metadata,
      type: 'card',
    };
  }

  /** A card is valid through the last day of its expiry month (UTC). */
  private expired(month: number, year: number, nowMs: number) {
    return nowMs >= Date.UTC(year, month, 1);
  }

  // ---------- payment intents ----------
  /** Validates a creation request; answers whether it confirms (a charge: faults and scripts apply). */
  isCharge(p: FormObject) {
    return bool(p.confirm);
  }

  createPaymentIntent(p: FormObject, idempotencyKey: string | null): { status: number; pi: PiRec } {
    const amountText = str(p.amount);
    if (amountText === undefined || amountText === '') throw missingParam('amount');
    if (!/^-?\d+$/.test(amountText)) throw invalid(`Invalid integer: ${amountText}`, 'amount', 'parameter_invalid_integer');
    const amount = Number(amountText);
    if (amount < 1) throw invalid('This value must be greater than or equal to 1.', 'amount', 'parameter_invalid_integer');
    const currency = str(p.currency)?.toLowerCase();
    if (!currency) throw missingParam('currency');
    const minimum = MINIMUM_AMOUNTS[currency];
    if (minimum === undefined) throw invalid(`Invalid currency: ${currency}. Stripe currently supports these currencies: ${Object.keys(MINIMUM_AMOUNTS).join(', ')}`, 'currency', 'parameter_invalid_string');
    if (amount < minimum) throw invalid(`Amount must be at least ${minimumWords(currency, minimum)}`, 'amount', 'amount_too_small');
    if (amount > 99_999_999) throw invalid(`Amount must be no more than ${minimumWords(currency, 99_999_999)}`, 'amount', 'amount_too_large');
    const customerId = str(p.customer) || null;
    if (customerId) this.requireCustomer(customerId, 'customer');
    const confirm = bool(p.confirm);
    const offSession = p.off_session !== undefined && p.off_session !== 'false' && p.off_session !== '';
    if (offSession && !confirm) throw invalid('You may only specify `off_session` when `confirm` is true.', 'off_session');
    const pmId = str(p.payment_method) || null;
    const pm = pmId ? this.requirePm(pmId, 'payment_method') : null;
    if (pm && customerId && pm.customer && pm.customer !== customerId)
      throw invalid(`The provided PaymentMethod ${pm.id} does not belong to the Customer ${customerId}.`, 'payment_method');
    if (confirm && !pm) throw invalid('You cannot confirm this PaymentIntent because it\'s missing a payment method.', 'payment_method', 'payment_intent_unexpected_state');
    const returnUrl = str(p.return_url) || null;
    if (returnUrl && !confirm) throw invalid('You may only specify `return_url` when `confirm` is true.', 'return_url');
    if (returnUrl && !/^https?:\/\//.test(returnUrl)) throw invalid('Not a valid URL', 'return_url');
    const metadata = metadataOf(p.metadata);
    // Decided before anything is created: an api_error outcome leaves nothing behind.
    const decision = confirm && pm ? this.decide(pm, customerId) : null;
    if (decision?.kind === 'api_error') throw apiError(decision.message);

    const pi: PiRec = {
      id: this.id('pi'),
      seq: this.pis.length,
      created: this.nowSec(),
      amount,
      currency,
      customer: customerId,
      payment_method: pm?.id ?? null,
      description: str(p.description) || null,
      metadata,
      status: pm ? 'requires_confirmation' : 'requires_payment_method',
      amount_received: 0,
      latest_charge: null,
      last_error: null,
      canceled_at: null,
      cancellation_reason: null,
      return_url: returnUrl,
      challenge: null,
      idem: null,
    };
    this.pis.push(pi);
    this.piById.set(pi.id, pi);
    if (customerId) {
      const list = this.piByCustomer.get(customerId);
      if (list) list.push(pi);
      else this.piByCustomer.set(customerId, [pi]);
    }
    if (this.metaIndex.size > 0) this.indexMeta(pi);
    if (!decision || !pm) return { status: 200, pi };
    return { status: this.apply(pi, pm, decision, offSession, idempotencyKey), pi };
  }

  confirmPaymentIntent(id: string, p: FormObject, idempotencyKey: string | null): { status: number; pi: PiRec } {
    const pi = this.requirePi(id);
    if (pi.status !== 'requires_confirmation' && pi.status !== 'requires_payment_method' && pi.status !== 'requires_action')
      throw invalid(`This PaymentIntent's status is ${pi.status}, so it cannot be confirmed.`, undefined, 'payment_intent_unexpected_state');
    const pmId = str(p.payment_method) || pi.payment_method;
    if (!pmId) throw invalid("You cannot confirm this PaymentIntent because it's missing a payment method.", 'payment_method', 'payment_intent_unexpected_state');
    const pm = this.requirePm(pmId, 'payment_method');
    if (pi.customer && pm.customer && pm.customer !== pi.customer) throw invalid(`The provided PaymentMethod ${pm.id} does not belong to the Customer ${pi.customer}.`, 'payment_method');
    const offSession = p.off_session !== undefined && p.off_session !== 'false' && p.off_session !== '';
    const decision = this.decide(pm, pi.customer);
    if (decision.kind === 'api_error') throw apiError(decision.message);
    this.beforeChange(pi);
    pi.payment_method = pm.id;
    return { status: this.apply(pi, pm, decision, offSession, idempotencyKey), pi };
  }

  cancelPaymentIntent(id: string, p: FormObject) {
    const pi = this.requirePi(id);
    if (pi.status === 'succeeded' || pi.status === 'canceled') throw invalid(`You cannot cancel this PaymentIntent because it has a status of ${pi.status}.`, undefined, 'payment_intent_unexpected_state');
    this.beforeChange(pi);
    pi.status = 'canceled';
    pi.canceled_at = this.nowSec();
    pi.cancellation_reason = str(p.cancellation_reason) ?? null;
    pi.challenge = null;
    this.emit('payment_intent.canceled', pi);
    return { status: 200, pi };
  }

  getPaymentIntent(id: string) {
    return this.requirePi(id);
  }

  private requirePi(id: string, param = 'intent') {
    const pi = this.piById.get(id);
    if (!pi) throw missing('payment_intent', id, param);
    return pi;
  }

  /** Newest first; filter by customer; cursor starting_after / ending_before. */
  listPaymentIntents(q: FormObject) {
    const limit = this.limitOf(q);
    const customer = str(q.customer);
    const list = customer ? (this.piByCustomer.get(customer) ?? []) : this.pis;
    let end = list.length; // exclusive, walking down
    const after = str(q.starting_after);
    if (after) {
      const at = this.piById.get(after);
      if (!at) throw missing('payment_intent', after, 'starting_after');
      end = indexBySeq(list, at.seq);
    }
    let start = 0;
    const before = str(q.ending_before);
    if (before && !after) {
      const at = this.piById.get(before);
      if (!at) throw missing('payment_intent', before, 'ending_before');
      start = indexBySeq(list, at.seq) + 1;
      end = Math.min(list.length, start + limit);
    }
    // created[gte|gt|lte|lt] (Unix seconds), as Stripe: a window of the list, newest first.
    const c = q.created && typeof q.created === 'object' && !Array.isArray(q.created) ? (q.created as Record<string, unknown>) : null;
    const bound = (k: string) => {
      const v = c ? str(c[k] as FormValue | undefined) : undefined;
      if (v === undefined) return undefined;
      if (!/^\d+$/.test(v)) throw invalid(`Invalid integer: ${v}`, `created[${k}]`);
      return Number(v);
    };
    const gte = bound('gte') ?? (bound('gt') !== undefined ? bound('gt')! + 1 : -Infinity);
    const lte = bound('lte') ?? (bound('lt') !== undefined ? bound('lt')! - 1 : Infinity);
    const inWindow = (pi: PiRec) => pi.created >= gte && pi.created <= lte;
    const data = [];
    let i = end - 1;
    for (; i >= start && data.length < limit; i--) if (inWindow(list[i])) data.push(this.piJson(list[i]));
    let more = false;
    for (; i >= start && !more; i--) more = inWindow(list[i]);
    return { object: 'list', data, has_more: more, url: '/v1/payment_intents' };
  }

  /**
   * Stripe's search query language, the subset renewd needs: clauses joined by AND, each
   * `metadata['key']:'value'`, `customer:'cus_…'`, `status:'succeeded'` or `currency:'eur'`.
   * (Unlike Stripe's search, which is eventually consistent, this index is always up to date.)
   */
  searchPaymentIntents(q: FormObject) {
    const query = str(q.query);
    if (!query) throw invalid('Missing required param: query.', 'query');
    if (/\sOR\s/i.test(query)) throw invalid('The sandbox search supports only AND.', 'query');
    const clauses = query.split(/\s+AND\s+/i).map((c) => parseClause(c.trim()));
    const limit = this.limitOf(q);
    const page = Number(str(q.page) ?? 0) || 0;
    let candidates: PiRec[] = this.pis;
    const meta = clauses.find((c) => c.field === 'metadata');
    const cust = clauses.find((c) => c.field === 'customer');
    if (meta) candidates = this.metaLookup(meta.key!, meta.value);
    else if (cust) candidates = this.piByCustomer.get(cust.value) ?? [];
    const data = [];
    let skipped = 0;
    let more = false;
    for (let i = candidates.length - 1; i >= 0; i--) {
      const pi = candidates[i];
      if (!clauses.every((c) => matches(pi, c))) continue;
      if (skipped < page) {
        skipped++;
        continue;
      }
      if (data.length === limit) {
        more = true;
        break;
      }
      data.push(this.piJson(pi));
    }
    return { object: 'search_result', data, has_more: more, next_page: more ? String(page + limit) : null, url: '/v1/payment_intents/search' };
  }

  private metaLookup(key: string, value: string): PiRec[] {
    let idx = this.metaIndex.get(key);
    if (!idx) {
      idx = new Map();
      this.metaIndex.set(key, idx);
      for (const pi of this.pis) this.indexOne(idx, key, pi);
    }
    return idx.get(value) ?? [];
  }
  private indexMeta(pi: PiRec) {
    for (const [key, idx] of this.metaIndex) this.indexOne(idx, key, pi);
  }
  private indexOne(idx: Map<string, PiRec[]>, key: string, pi: PiRec) {
    const v = pi.metadata[key];
    if (v === undefined) return;
    const l = idx.get(v);
    if (l) l.push(pi);
    else idx.set(v, [pi]);
  }

  private limitOf(q: FormObject) {
    const l = str(q.limit);
    if (l === undefined) return 10;
    const n = Number(l);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw invalid('limit must be an integer from 1 to 100.', 'limit');
    return n;
  }

  // ---------- charging ----------
  private decide(pm: PmRec, customerId: string | null): Decision {
    // The issuer never sees the charge: the card's own answer (its script, its expiry) waits.
    if (this.issuerDown?.()) return { kind: 'decline', code: 'issuer_not_available', step: null };
    const step = this.scriptStep(pm, customerId);
    if (step) {
      if (step.outcome === 'succeed') return { kind: 'succeed' };
      if (step.outcome === 'requires_action') return { kind: 'requires_action' };
      if (step.outcome === 'api_error') return { kind: 'api_error', message: step.message };
      return { kind: 'decline', code: step.outcome, step };
    }
    if (this.expired(pm.exp_month, pm.exp_year, this.clock.now().getTime())) return { kind: 'decline', code: 'expired_card', step: null };
    const c = pm.behavior.charge;
    if (c === 'authentication_required') return { kind: 'requires_action' };
    if (c) return { kind: 'decline', code: c, step: null };
    return { kind: 'succeed' };
  }

  /** Applies a decision to a PI; returns the HTTP status of the answer. */
  private apply(pi: PiRec, pm: PmRec, d: Decision, offSession: boolean, idempotencyKey: string | null): number {
    this.counters.charges_attempted++;
    if (d.kind === 'succeed') {
      const ch = this.id('ch');
      pi.status = 'succeeded';
      pi.amount_received = pi.amount;
      pi.latest_charge = ch;
      pi.last_error = null;
      const moved: SandboxCharge = {
        id: ch,
        payment_intent: pi.id,
        amount: pi.amount,
        currency: pi.currency,
        customer: pi.customer,
        payment_method: pm.id,
        idempotency_key: idempotencyKey,
        metadata: pi.metadata,
        created: this.nowSec(),
      };
      this.moved.push(moved);
      this.chargeById.set(ch, moved);
      this.counters.charges_succeeded++;
      this.counters.amount_moved[pi.currency] = (this.counters.amount_moved[pi.currency] ?? 0) + pi.amount;
      this.onCharge?.(true);
      this.emit('payment_intent.succeeded', pi);
      return 200;
    }
    if (d.kind === 'requires_action' && !offSession) {
      pi.status = 'requires_action';
      // With a return URL the customer is sent to the issuer's page (the sandbox's challenge page).
      if (pi.return_url) pi.challenge = randomBytes(12).toString('hex');
      this.onCharge?.(false);
      this.emit('payment_intent.requires_action', pi);
      return 200;
    }
    const code = d.kind === 'requires_action' ? 'authentication_required' : d.kind === 'decline' ? d.code : 'generic_decline';
    const step = d.kind === 'decline' ? d.step : null;
    const a = declineAnswer(code);
    const ch = this.id('ch');
    pi.status = 'requires_payment_method';
    pi.latest_charge = ch;
    pi.last_error = {
      type: 'card_error',
      code: a.code,
      decline_code: a.decline_code,
      message: step?.message ?? a.message,
      ...(a.param ? { param: a.param } : {}),
      network_decline_code: step?.network_decline_code ?? a.network_decline_code,
      advice_code: step?.advice_code ?? a.advice_code,
      network_advice_code: step?.network_advice_code ?? (pm.brand === 'mastercard' ? a.mastercard_advice_code : null),
      charge: ch,
    };
    this.counters.charges_declined++;
    this.onCharge?.(false);
    this.emit('payment_intent.payment_failed', pi);
    return 402;
  }

  private emit(type: string, pi: PiRec) {
    if (this.onEvent) this.onEvent(type, this.piJson(pi));
  }

  // ---------- 3-D Secure challenge (the issuer's page; sandbox-hosted, like Stripe's test page) ----------
  /** The PaymentIntent waiting on this challenge page, or null (unknown, already answered, wrong token). */
  challengeOf(id: string, token: string): PiRec | null {
    const pi = this.piById.get(id);
    if (!pi || pi.status !== 'requires_action' || !pi.challenge || pi.challenge !== token) return null;
    return pi;
  }

  /**
   * The customer's answer on the challenge page: complete → the charge goes through (succeeded);
   * fail → requires_payment_method with last_payment_error payment_intent_authentication_failure.
   * Answers where the customer goes next (return_url with payment_intent and redirect_status).
   */
  answerChallenge(id: string, token: string, complete: boolean): string | null {
    const pi = this.challengeOf(id, token);
    if (!pi) return null;
    const pm = pi.payment_method ? this.pms.get(pi.payment_method) : undefined;
    this.beforeChange(pi);
    pi.challenge = null;
    if (complete && pm) this.apply(pi, pm, { kind: 'succeed' }, false, null);
    else {
      const ch = this.id('ch');
      pi.status = 'requires_payment_method';
      pi.latest_charge = ch;
      pi.last_error = {
        type: 'card_error',
        code: 'payment_intent_authentication_failure',
        decline_code: null,
        message: 'The provided payment method has failed authentication. Provide a new payment method to attempt to fulfill this PaymentIntent again.',
        network_decline_code: null,
        advice_code: null,
        network_advice_code: null,
        charge: ch,
      };
      this.counters.charges_declined++;
      this.emit('payment_intent.payment_failed', pi);
    }
    const back = new URL(pi.return_url!);
    back.searchParams.set('payment_intent', pi.id);
    back.searchParams.set('payment_intent_client_secret', `${pi.id}_secret_sandbox`);
    back.searchParams.set('redirect_status', pi.status === 'succeeded' ? 'succeeded' : 'failed');
    return back.toString();
  }

  // ---------- account updater (the card networks' new expiry or number) ----------
  /**
   * The issuer sent new details for a saved card (a reissued card: new expiry, maybe a new number):
   * the payment method keeps its id, its details change, and payment_method.automatically_updated
   * is sent. The number, if given, is only read for brand, last4, fingerprint and behaviour.
   */
  updateCardDetails(id: string, p: { exp_month?: number; exp_year?: number; number?: string }) {
    const pm = this.requirePm(id, 'payment_method');
    if (p.number !== undefined) {
      const n = normalizeNumber(p.number);
      if (!/^\d{12,19}$/.test(n) || !luhnValid(n)) throw invalid('number must be a valid card number', 'number');
      const made = this.pmFromNumber(n, pm.exp_month, pm.exp_year, pm.cvc_check);
      Object.assign(pm, { brand: made.brand, last4: made.last4, fingerprint: made.fingerprint, behavior: made.behavior });
    }
    if (p.exp_month !== undefined) {
      if (!Number.isInteger(p.exp_month) || p.exp_month < 1 || p.exp_month > 12) throw invalid('exp_month must be 1 to 12', 'exp_month');
      pm.exp_month = p.exp_month;
    }
    if (p.exp_year !== undefined) {
      if (!Number.isInteger(p.exp_year) || p.exp_year < 1970 || p.exp_year > 2100) throw invalid('exp_year must be a 4-digit year', 'exp_year');
      pm.exp_year = p.exp_year;
    }
    const json = this.pmJson(pm);
    this.onEvent?.('payment_method.automatically_updated', json);
    return json;
  }

  private scriptStep(pm: PmRec, customerId: string | null): Step | null {
    if (this.scriptQueues.size === 0) return null;
    const now = this.clock.now().getTime();
    let s = this.take(`pm:${pm.id}`, now) ?? this.take(`fp:${pm.fingerprint}`, now);
    if (s) return s;
    const owner = customerId ?? pm.customer;
    if (!owner) return null;
    s = this.take(`cus:${owner}`, now);
    if (s || this.metaScripts === 0) return s;
    const c = this.customers.get(owner);
    if (!c) return null;
    for (const k in c.metadata) {
      s = this.take(`meta:${k}=${c.metadata[k]}`, now);
      if (s) return s;
    }
    return null;
  }

  private take(key: string, now: number): Step | null {
    const q = this.scriptQueues.get(key);
    if (!q) return null;
    while (q.length > 0 && q[0].untilMs !== null && now >= q[0].untilMs) q.shift();
    const s = q[0];
    if (s && s.untilMs === null && !s.forever && --s.remaining <= 0) q.shift();
    if (q.length === 0) this.dropQueue(key);
    return s ?? null;
  }

  private dropQueue(key: string) {
    if (this.scriptQueues.delete(key) && key.startsWith('meta:')) this.metaScripts--;
  }

  // ---------- scripts (sandbox-only) ----------
  script(target: ScriptTarget, steps: ReadonlyArray<ScriptStep | string>, opts: { append?: boolean } = {}) {
    const key = targetKey(target);
    if (!Array.isArray(steps)) throw new TypeError('steps must be an array');
    const parsed = steps.map(normalizeStep);
    const existing = this.scriptQueues.get(key);
    if (opts.append && existing) existing.push(...parsed);
    else {
      this.dropQueue(key);
      if (parsed.length > 0) {
        this.scriptQueues.set(key, parsed);
        if (key.startsWith('meta:')) this.metaScripts++;
      }
    }
    return { target: key, steps: (this.scriptQueues.get(key) ?? []).map(stepView) };
  }

  clearScripts(target?: ScriptTarget) {
    if (target === undefined) {
      this.scriptQueues.clear();
      this.metaScripts = 0;
    } else this.dropQueue(targetKey(target));
  }

  listScripts() {
    return [...this.scriptQueues].map(([target, steps]) => ({ target, steps: steps.map(stepView) }));
  }

  hasPaymentMethod(id: string) {
    return this.pms.has(id);
  }
  hasCustomer(id: string) {
    return this.customers.has(id);
  }

  // ---------- money moved ----------
  charges(): readonly SandboxCharge[] {
    return this.moved;
  }

  // ---------- rendering ----------
  /** Records whose stored answer renders a PI get a frozen copy before the PI changes. */
  private beforeChange(pi: PiRec) {
    if (!pi.idem) return;
    for (const rec of pi.idem) {
      if (rec.pi === pi) {
        rec.body = this.render(rec);
        rec.pi = null;
      }
    }
    pi.idem = null;
  }

  /** The JSON text of a stored answer. */
  render(rec: IdemRec): string {
    if (rec.body !== null) return rec.body;
    const pi = rec.pi!;
    return rec.status === 402 ? JSON.stringify({ error: this.piErrorJson(pi) }) : JSON.stringify(this.piJson(pi));
  }

  /** A pruned record no longer pins its PI's rendering. */
  unlinkIdem(rec: IdemRec) {
    const pi = rec.pi;
    if (!pi?.idem) return;
    pi.idem = pi.idem.length === 1 ? null : pi.idem.filter((r) => r !== rec);
    rec.pi = null;
  }

  linkIdem(pi: PiRec, rec: IdemRec) {
    rec.pi = pi;
    rec.body = null;
    (pi.idem ??= []).push(rec);
  }

  piErrorJson(pi: PiRec): StripeErrorBody {
    const e = pi.last_error!;
    const pm = pi.payment_method ? this.pms.get(pi.payment_method) : undefined;
    return {
      ...errorFields(e),
      doc_url: `https://docs.stripe.com/error-codes/${e.code.replace(/_/g, '-')}`,
      payment_intent: this.piJson(pi),
      ...(pm ? { payment_method: this.pmJson(pm) } : {}),
    };
  }

  piJson(pi: PiRec, expand?: ReadonlySet<string>) {
    const pm = pi.last_error && pi.payment_method ? this.pms.get(pi.payment_method) : undefined;
    const json = this.piJsonPlain(pi, pm);
    if (!expand || expand.size === 0) return json;
    const out: Record<string, unknown> = { ...json };
    if (expand.has('latest_charge') && pi.latest_charge) out.latest_charge = this.chargeJson(pi, pi.latest_charge);
    if (expand.has('payment_method') && pi.payment_method) {
      const full = this.pms.get(pi.payment_method);
      if (full) out.payment_method = this.pmJson(full);
    }
    if (expand.has('customer') && pi.customer) out.customer = this.getCustomer(pi.customer);
    return out;
  }

  /** The Charge object behind a PaymentIntent's latest_charge (succeeded or failed). */
  private chargeJson(pi: PiRec, id: string) {
    const moved = this.chargeById.get(id);
    const refunded = this.refundedByCharge.get(id) ?? 0;
    const failed = !moved;
    const e = failed && pi.last_error?.charge === id ? pi.last_error : null;
    return {
      id,
      object: 'charge',
      amount: pi.amount,
      amount_captured: failed ? 0 : pi.amount,
      amount_refunded: refunded,
      captured: !failed,
      created: moved?.created ?? pi.created,
      currency: pi.currency,
      customer: pi.customer,
      description: pi.description,
      failure_code: e?.code ?? null,
      failure_message: e?.message ?? null,
      livemode: false,
      metadata: pi.metadata,
      outcome: failed
        ? { network_status: 'declined_by_network', reason: e?.decline_code ?? e?.code ?? null, risk_level: 'normal', seller_message: 'The bank did not return any further details with this decline.', type: 'issuer_declined' }
        : { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
      paid: !failed,
      payment_intent: pi.id,
      payment_method: moved?.payment_method ?? pi.payment_method,
      refunded: !failed && refunded >= pi.amount,
      status: failed ? 'failed' : 'succeeded',
    };
  }

  // ---------- refunds ----------
  /** POST /v1/refunds: payment_intent or charge, amount (default: what is left), reason, metadata. */
  createRefund(p: FormObject): SandboxRefund & { object: 'refund'; status: 'succeeded' } {
    const piId = str(p.payment_intent);
    const chId = str(p.charge);
    if (!piId && !chId) throw invalid('One of the following params should be provided for this request: payment_intent or charge.', 'payment_intent', 'parameter_missing');
    let charge: SandboxCharge | undefined;
    if (piId) {
      const pi = this.requirePi(piId, 'payment_intent');
      charge = pi.latest_charge ? this.chargeById.get(pi.latest_charge) : undefined;
      if (!charge) throw invalid(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, 'payment_intent', 'charge_not_refundable');
    } else {
      charge = this.chargeById.get(chId!);
      if (!charge) throw missing('charge', chId!, 'charge');
    }
    const done = this.refundedByCharge.get(charge.id) ?? 0;
    const left = charge.amount - done;
    if (left <= 0) throw invalid(`Charge ${charge.id} has already been refunded.`, 'charge', 'charge_already_refunded');
    const amountText = str(p.amount);
    let amount = left;
    if (amountText !== undefined) {
      if (!/^-?\d+$/.test(amountText)) throw invalid(`Invalid integer: ${amountText}`, 'amount', 'parameter_invalid_integer');
      amount = Number(amountText);
      if (amount < 1) throw invalid('This value must be greater than or equal to 1.', 'amount', 'parameter_invalid_integer');
      if (amount > left) throw invalid(`Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`, 'amount', 'amount_too_large');
    }
    const reason = str(p.reason) || null;
    if (reason && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)) throw invalid(`Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer`, 'reason', 'parameter_invalid_string');
    const r: SandboxRefund = { id: this.id('re'), amount, currency: charge.currency, charge: charge.id, payment_intent: charge.payment_intent, reason, metadata: metadataOf(p.metadata), created: this.nowSec() };
    this.refundList.push(r);
    this.refundById.set(r.id, r);
    this.refundedByCharge.set(charge.id, done + amount);
    this.counters.amount_moved[r.currency] = (this.counters.amount_moved[r.currency] ?? 0) - amount;
    const json = this.refundJson(r);
    this.onEvent?.('refund.created', json);
    return json;
  }

  getRefund(id: string) {
    const r = this.refundById.get(id);
    if (!r) throw missing('refund', id, 'id');
    return this.refundJson(r);
  }

  refunds(): readonly SandboxRefund[] {
    return this.refundList;
  }

  private refundJson(r: SandboxRefund) {
    return { ...r, object: 'refund' as const, status: 'succeeded' as const, balance_transaction: null };
  }

  private piJsonPlain(pi: PiRec, pm: PmRec | undefined) {
    return {
      id: pi.id,
      object: 'payment_intent',
      amount: pi.amount,
      amount_capturable: 0,
      amount_received: pi.amount_received,
      application: null,
      application_fee_amount: null,
      automatic_payment_methods: null,
      canceled_at: pi.canceled_at,
      cancellation_reason: pi.cancellation_reason,
      capture_method: 'automatic',
      client_secret: `${pi.id}_secret_sandbox`,
      confirmation_method: 'automatic',
      created: pi.created,
      currency: pi.currency,
      customer: pi.customer,
      description: pi.description,
      last_payment_error: pi.last_error ? { ...errorFields(pi.last_error), ...(pm ? { payment_method: this.pmJson(pm) } : {}) } : null,
      latest_charge: pi.latest_charge,
      livemode: false,
      metadata: pi.metadata,
      next_action: this.nextAction(pi),
      on_behalf_of: null,
      payment_method: pi.payment_method,
      payment_method_types: ['card'],
      processing: null,
      receipt_email: null,
      setup_future_usage: null,
      statement_descriptor: null,
      status: pi.status,
    };
  }

  /** Stripe's next_action: the issuer's page to redirect to when a return URL was given, else the SDK's. */
  private nextAction(pi: PiRec) {
    if (pi.status !== 'requires_action') return null;
    if (pi.challenge && pi.return_url && this.baseUrl)
      return { type: 'redirect_to_url', redirect_to_url: { url: `${this.baseUrl}/_sandbox/3ds/${pi.id}/${pi.challenge}`, return_url: pi.return_url } };
    return { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect' } };
  }

  piCount() {
    return this.pis.length;
  }
}

function errorFields(e: LastError) {
  return {
    type: e.type,
    charge: e.charge,
    code: e.code,
    ...(e.decline_code ? { decline_code: e.decline_code } : {}),
    message: e.message,
    ...(e.param ? { param: e.param } : {}),
    ...(e.network_decline_code ? { network_decline_code: e.network_decline_code } : {}),
    ...(e.advice_code ? { advice_code: e.advice_code } : {}),
    ...(e.network_advice_code ? { network_advice_code: e.network_advice_code } : {}),
  };
}

export function apiError(message?: string) {
  return new ApiError(500, { type: 'api_error', message: message ?? 'An unknown error occurred while processing this request (sandbox fault).' });
}

function indexBySeq(list: PiRec[], seq: number) {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Clause {
  field: 'metadata' | 'customer' | 'status' | 'currency';
  key?: string;
  value: string;
}

function parseClause(c: string): Clause {
  let m = /^metadata\[(['"])(.+?)\1\]:(['"])(.*)\3$/.exec(c);
  if (m) return { field: 'metadata', key: m[2], value: m[4] };
  m = /^(customer|status|currency):(['"])(.*)\2$/.exec(c);
  if (m) return { field: m[1] as Clause['field'], value: m[3] };
  throw invalid(`The sandbox cannot parse the search clause "${c}" (supported: metadata['k']:'v', customer:'…', status:'…', currency:'…' joined by AND).`, 'query');
}

function matches(pi: PiRec, c: Clause) {
  switch (c.field) {
    case 'metadata':
      return pi.metadata[c.key!] === c.value;
    case 'customer':
      return pi.customer === c.value;
    case 'status':
      return pi.status === c.value;
    case 'currency':
      return pi.currency === c.value.toLowerCase();
  }
}
