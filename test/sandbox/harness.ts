// Shared by the sandbox and gateway tests: a sandbox on 127.0.0.1:0 with a manual clock, the Stripe
// adapter pointed at it, and the official stripe client for raw calls.
import Stripe from 'stripe';
import type { Clock } from '../../src/core/clock.ts';
import { createStripeGateway, type StripeGatewayOptions } from '../../src/gateway/stripe.ts';
import type { ChargeRequest, Gateway } from '../../src/gateway/types.ts';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/server.ts';

export class ManualClock implements Clock {
  t: number;
  constructor(start: string | Date = '2026-06-15T12:00:00Z') {
    this.t = new Date(start).getTime();
  }
  now() {
    return new Date(this.t);
  }
  set(iso: string) {
    this.t = new Date(iso).getTime();
  }
  advance(ms: number) {
    this.t += ms;
  }
}

export interface Harness {
  sandbox: Sandbox;
  clock: ManualClock;
  url: string;
  gateway: Gateway;
  /** The official client, for raw API calls. */
  stripe: Stripe;
  /** The waits the adapter asked for between its retries of rate-limited requests (never slept). */
  waits: number[];
  /** Another adapter on the same sandbox, with other options. */
  adapter(o?: Partial<StripeGatewayOptions>): Gateway;
  close(): Promise<void>;
}

export const API_KEY = 'sk_test_renewd_tests';

export async function startHarness(opts: Omit<SandboxOptions, 'clock'> & { clock?: ManualClock; timeoutMs?: number; gateway?: Partial<StripeGatewayOptions> } = {}): Promise<Harness> {
  const clock = opts.clock ?? new ManualClock();
  const sandbox = createSandbox({ ...opts, clock });
  const url = await sandbox.listen(0, '127.0.0.1');
  const u = new URL(url);
  const waits: number[] = [];
  // Retries of rate-limited requests wait nothing here: the delays are only recorded.
  const adapter = (o: Partial<StripeGatewayOptions> = {}) =>
    createStripeGateway({ apiKey: API_KEY, host: u.hostname, port: Number(u.port), protocol: 'http', timeoutMs: opts.timeoutMs ?? 2000, sleep: async (ms) => void waits.push(ms), random: () => 0.5, ...opts.gateway, ...o });
  const gateway = adapter();
  const stripe = new Stripe(API_KEY, { host: u.hostname, port: Number(u.port), protocol: 'http', maxNetworkRetries: 0, telemetry: false, timeout: opts.timeoutMs ?? 2000 });
  return { sandbox, clock, url, gateway, stripe, waits, adapter, close: () => sandbox.close() };
}

let n = 0;
/** A customer with a saved card (number given; expiry far away unless given). */
export async function customerWithCard(h: Harness, number: string, exp: { exp_month?: number; exp_year?: number } = {}) {
  const account_id = `acct_test_${++n}`;
  const customer_ref = await h.gateway.createCustomer({ account_id, email: `c${n}@example.test`, name: `Customer ${n}` });
  const pm = await h.gateway.attachCard(customer_ref, { number, exp_month: exp.exp_month ?? 12, exp_year: exp.exp_year ?? 2034, cvc: '123' });
  return { account_id, customer_ref, pm, payment_method_ref: pm.gateway_ref };
}

/**
 * A customer with a declining card already on file: a card that went bad after it was saved.
 * Stripe (and the sandbox) refuse to attach a declining test card, so the card is put on file as a
 * fixture (sandbox load), the way a renewal months later meets it. 4000000000000341 needs no help.
 */
export async function customerWithDecliningCard(h: Harness, number: string, exp: { exp_month?: number; exp_year?: number } = {}) {
  const account_id = `acct_test_${++n}`;
  const customer_ref = await h.gateway.createCustomer({ account_id, email: `c${n}@example.test`, name: `Customer ${n}` });
  const payment_method_ref = `pm_fixture_${process.pid}_${n}`;
  h.sandbox.load({ cards: [{ id: payment_method_ref, customer: customer_ref, number, exp_month: exp.exp_month ?? 12, exp_year: exp.exp_year ?? 2034, cvc: '123' }] });
  return { account_id, customer_ref, payment_method_ref };
}

export function chargeReq(c: { customer_ref: string; payment_method_ref: string }, key: string, amount = 2900, currency = 'EUR'): ChargeRequest {
  return {
    customer_ref: c.customer_ref,
    payment_method_ref: c.payment_method_ref,
    amount,
    currency,
    idempotency_key: key,
    description: 'renewd invoice test',
    metadata: { renewd_invoice: `inv_${key}` },
  };
}

let k = 0;
export const newKey = (p = 'key') => `${p}_${process.pid}_${++k}`;
