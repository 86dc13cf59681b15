// The sandbox is as strict as Stripe (issue 19), checked with the official `stripe` client: one row
// per documented behaviour — unknown and missing parameters, integers, currencies and their minimum
// amounts, expand, refunds, deleted customers, declining cards refused when saved (0341 attaches),
// and Stripe's rate limiter (429 rate_limit / lock_timeout with Retry-After, nothing stored).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { TokenBucket } from '../../src/sandbox/server.ts';
import { API_KEY, newKey, startHarness, type Harness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());
beforeEach(() => {
  h.sandbox.clearFaults();
  h.sandbox.setRateLimit(null);
});

type Want = { status: number; type?: string; code?: string; param?: string; decline_code?: string; message?: RegExp };
async function refused(call: () => Promise<unknown>, want: Want) {
  const err = await call().then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof Stripe.errors.StripeError, `expected a Stripe error, got ${String(err)}`);
  const e = err as Stripe.errors.StripeError;
  assert.equal(e.statusCode, want.status, e.message);
  if (want.type) assert.equal(e.rawType, want.type);
  assert.equal(e.code, want.code);
  assert.equal(e.param, want.param);
  if (want.decline_code) assert.equal(e.decline_code, want.decline_code);
  if (want.message) assert.match(e.message, want.message);
  return e;
}

async function customer() {
  return (await h.stripe.customers.create({ email: 'strict@example.test' })).id;
}
async function customerWith(pm: string) {
  const cus = await customer();
  const attached = await h.stripe.paymentMethods.attach(pm, { customer: cus });
  return { cus, pm: attached.id };
}
const charge = (c: { cus: string; pm: string }, amount = 1000, currency = 'eur', extra: Partial<Stripe.PaymentIntentCreateParams> = {}) =>
  h.stripe.paymentIntents.create({ amount, currency, customer: c.cus, payment_method: c.pm, confirm: true, off_session: true, ...extra });

describe('parameters, as Stripe validates them', () => {
  const rows: Array<[string, () => Promise<unknown>, Want]> = [
    ['an unknown parameter', () => h.stripe.customers.create({ email: 'x@example.test', colour: 'blue' } as Stripe.CustomerCreateParams), { status: 400, type: 'invalid_request_error', code: 'parameter_unknown', param: 'colour', message: /Received unknown parameter: colour/ }],
    ['an unknown nested parameter', () => h.stripe.paymentMethods.create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, colour: 'x' } as unknown as Stripe.PaymentMethodCreateParams.Card }), { status: 400, code: 'parameter_unknown', param: 'card[colour]' }],
    ['an unknown parameter on a charge', () => h.stripe.paymentIntents.create({ amount: 1000, currency: 'eur', tip: 5 } as unknown as Stripe.PaymentIntentCreateParams), { status: 400, code: 'parameter_unknown', param: 'tip' }],
    ['amount missing', () => h.stripe.paymentIntents.create({ currency: 'eur' } as Stripe.PaymentIntentCreateParams), { status: 400, code: 'parameter_missing', param: 'amount', message: /Missing required param: amount/ }],
    ['currency missing', () => h.stripe.paymentIntents.create({ amount: 1000 } as Stripe.PaymentIntentCreateParams), { status: 400, code: 'parameter_missing', param: 'currency' }],
    ['amount zero', () => h.stripe.paymentIntents.create({ amount: 0, currency: 'eur' }), { status: 400, code: 'parameter_invalid_integer', param: 'amount', message: /greater than or equal to 1/ }],
    ['amount not an integer', () => h.stripe.paymentIntents.create({ amount: 'ten' as unknown as number, currency: 'eur' }), { status: 400, code: 'parameter_invalid_integer', param: 'amount' }],
    ['an invalid currency', () => h.stripe.paymentIntents.create({ amount: 1000, currency: 'zzz' }), { status: 400, code: 'parameter_invalid_string', param: 'currency', message: /Invalid currency: zzz/ }],
    ['10 cents in EUR (below €0.50)', () => h.stripe.paymentIntents.create({ amount: 10, currency: 'eur' }), { status: 400, code: 'amount_too_small', param: 'amount', message: /at least €0\.50 eur/ }],
    ['49 cents in USD', () => h.stripe.paymentIntents.create({ amount: 49, currency: 'usd' }), { status: 400, code: 'amount_too_small', param: 'amount', message: /\$0\.50 usd/ }],
    ['29 pence in GBP', () => h.stripe.paymentIntents.create({ amount: 29, currency: 'gbp' }), { status: 400, code: 'amount_too_small', param: 'amount' }],
    ['more than Stripe takes in one charge', () => h.stripe.paymentIntents.create({ amount: 100_000_000, currency: 'eur' }), { status: 400, code: 'amount_too_large', param: 'amount' }],
    ['attach without a customer', () => h.stripe.paymentMethods.attach('pm_card_visa', {} as Stripe.PaymentMethodAttachParams), { status: 400, code: 'parameter_missing', param: 'customer' }],
  ];
  for (const [what, call, want] of rows) test(what, () => refused(call, want).then(() => undefined));

  test('the minimums are met exactly: 50 cents EUR, 30 pence GBP, ¥50', async () => {
    const c = await customerWith('pm_card_visa');
    for (const [amount, currency] of [[50, 'eur'], [30, 'gbp'], [50, 'jpy']] as const) assert.equal((await charge(c, amount, currency)).status, 'succeeded');
  });

  test('a refused parameter is not stored under the Idempotency-Key', async () => {
    const key = newKey('strict');
    await refused(() => h.stripe.customers.create({ email: 'x@example.test', colour: 'blue' } as Stripe.CustomerCreateParams, { idempotencyKey: key }), { status: 400, code: 'parameter_unknown', param: 'colour' });
    assert.match((await h.stripe.customers.create({ email: 'x@example.test' }, { idempotencyKey: key })).id, /^cus_/);
  });
});

describe('declining cards are refused when saved; 4000000000000341 attaches and declines later', () => {
  const rows: Array<[string, string, Want]> = [
    ['pm_card_chargeDeclined', '4000000000000002', { status: 402, type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' }],
    ['pm_card_chargeDeclinedInsufficientFunds', '4000000000009995', { status: 402, code: 'card_declined', decline_code: 'insufficient_funds' }],
    ['pm_card_chargeDeclinedLostCard', '4000000000009987', { status: 402, code: 'card_declined', decline_code: 'lost_card' }],
    ['pm_card_chargeDeclinedStolenCard', '4000000000009979', { status: 402, code: 'card_declined', decline_code: 'stolen_card' }],
    ['pm_card_chargeDeclinedExpiredCard', '4000000000000069', { status: 402, code: 'expired_card', param: 'exp_month', decline_code: 'expired_card' }],
    ['pm_card_chargeDeclinedProcessingError', '4000000000000119', { status: 402, code: 'processing_error', decline_code: 'processing_error' }],
    ['pm_card_chargeDeclinedVelocityLimitExceeded', '4000000000006975', { status: 402, code: 'card_declined', decline_code: 'card_velocity_exceeded' }],
    ['pm_card_chargeDeclinedIncorrectCvc', '4000000000000127', { status: 402, code: 'incorrect_cvc', param: 'cvc', decline_code: 'incorrect_cvc' }],
  ];
  for (const [token, number, want] of rows) {
    test(`${number} (${token}) is refused at attach`, async () => {
      const cus = await customer();
      await refused(() => h.stripe.paymentMethods.attach(token, { customer: cus }), want);
      // Typed in, the same: the payment method is made, attaching it to the customer is refused.
      const pm = await h.stripe.paymentMethods.create({ type: 'card', card: { number, exp_month: 12, exp_year: 2034, cvc: '123' } });
      await refused(() => h.stripe.paymentMethods.attach(pm.id, { customer: cus }), want);
      assert.equal((await h.stripe.paymentMethods.list({ customer: cus, type: 'card' })).data.length, 0);
    });
  }

  test('4000000000000341 attaches, then its charge is declined', async () => {
    const c = await customerWith('pm_card_chargeCustomerFail');
    await refused(() => charge(c), { status: 402, type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' });
  });

  test('a card needing authentication attaches (it asks for it on the charge)', async () => {
    const c = await customerWith('pm_card_authenticationRequired');
    await refused(() => charge(c), { status: 402, code: 'authentication_required', decline_code: 'authentication_required' });
  });
});

describe('expand', () => {
  test('latest_charge and payment_method on create, on retrieve', async () => {
    const c = await customerWith('pm_card_visa');
    const pi = await charge(c, 1500, 'eur', { expand: ['latest_charge', 'payment_method'] });
    const ch = pi.latest_charge as Stripe.Charge;
    assert.deepEqual([ch.object, ch.status, ch.amount, ch.paid, ch.payment_intent, ch.amount_refunded], ['charge', 'succeeded', 1500, true, pi.id, 0]);
    assert.equal((pi.payment_method as Stripe.PaymentMethod).object, 'payment_method');
    assert.equal((pi.payment_method as Stripe.PaymentMethod).card?.last4, '4242');
    const again = await h.stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    assert.equal((again.latest_charge as Stripe.Charge).id, ch.id);
    const plain = await h.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(plain.latest_charge, ch.id, 'not expanded unless asked');
  });

  test("a declined charge's latest_charge says failed, with its failure code", async () => {
    const c = await customerWith('pm_card_chargeCustomerFail');
    const e = await refused(() => charge(c), { status: 402, code: 'card_declined', decline_code: 'generic_decline' });
    const pi = await h.stripe.paymentIntents.retrieve((e.payment_intent as { id: string }).id, { expand: ['latest_charge'] });
    const ch = pi.latest_charge as Stripe.Charge;
    assert.deepEqual([ch.status, ch.paid, ch.failure_code, ch.outcome?.type], ['failed', false, 'card_declined', 'issuer_declined']);
  });
});

describe('refunds', () => {
  test('in full by payment intent: the charge shows it refunded', async () => {
    const c = await customerWith('pm_card_visa');
    const pi = await charge(c, 2900);
    await refused(() => h.stripe.refunds.create({ payment_intent: pi.id, reason: 'because' as 'duplicate' }), { status: 400, code: 'parameter_invalid_string', param: 'reason' });
    const r = await h.stripe.refunds.create({ payment_intent: pi.id, reason: 'requested_by_customer' });
    assert.deepEqual([r.object, r.status, r.amount, r.currency, r.payment_intent, r.reason], ['refund', 'succeeded', 2900, 'eur', pi.id, 'requested_by_customer']);
    assert.equal((await h.stripe.refunds.retrieve(r.id)).id, r.id);
    const ch = (await h.stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] })).latest_charge as Stripe.Charge;
    assert.deepEqual([ch.amount_refunded, ch.refunded], [2900, true]);
    assert.deepEqual(h.sandbox.refunds().at(-1)?.amount, 2900);
    await refused(() => h.stripe.refunds.create({ payment_intent: pi.id }), { status: 400, code: 'charge_already_refunded', param: 'charge' });
  });

  test('in part by charge, never more than what is left', async () => {
    const c = await customerWith('pm_card_visa');
    const pi = await charge(c, 2900);
    const charge_id = pi.latest_charge as string;
    assert.equal((await h.stripe.refunds.create({ charge: charge_id, amount: 900 })).amount, 900);
    await refused(() => h.stripe.refunds.create({ charge: charge_id, amount: 2001 }), { status: 400, code: 'amount_too_large', param: 'amount' });
    assert.equal((await h.stripe.refunds.create({ charge: charge_id })).amount, 2000, 'the rest');
  });

  test('nothing to refund, nothing asked, an unknown charge', async () => {
    const c = await customerWith('pm_card_chargeCustomerFail');
    const e = await refused(() => charge(c), { status: 402, code: 'card_declined', decline_code: 'generic_decline' });
    await refused(() => h.stripe.refunds.create({ payment_intent: (e.payment_intent as { id: string }).id }), { status: 400, code: 'charge_not_refundable', param: 'payment_intent' });
    await refused(() => h.stripe.refunds.create({}), { status: 400, code: 'parameter_missing', param: 'payment_intent' });
    await refused(() => h.stripe.refunds.create({ charge: 'ch_nope' }), { status: 404, code: 'resource_missing', param: 'charge' });
  });
});

describe('deleting a customer', () => {
  test('deleted: true; it can no longer be charged; its cards are detached', async () => {
    const c = await customerWith('pm_card_visa');
    const d = await h.stripe.customers.del(c.cus);
    assert.deepEqual([d.id, d.deleted], [c.cus, true]);
    const got = (await h.stripe.customers.retrieve(c.cus)) as Stripe.DeletedCustomer;
    assert.equal(got.deleted, true);
    await refused(() => charge(c), { status: 404, code: 'resource_missing', param: 'customer' });
    assert.equal((await h.stripe.paymentMethods.retrieve(c.pm)).customer, null);
    await refused(() => h.stripe.customers.del(c.cus), { status: 404, code: 'resource_missing', param: 'id' });
  });
});

describe("Stripe's rate limiter", () => {
  test('beyond the rate: 429 rate_limit (StripeRateLimitError) with Retry-After, and nothing stored under the key', async () => {
    const c = await customerWith('pm_card_visa');
    h.sandbox.setRateLimit({ perSecond: 1, burst: 1 });
    await h.stripe.customers.retrieve(c.cus); // the one token
    const key = newKey('rl');
    const e = await refused(() => charge(c, 1000, 'eur', {}).then(() => undefined), { status: 429, type: 'invalid_request_error', code: 'rate_limit' });
    assert.ok(e instanceof Stripe.errors.StripeRateLimitError);
    assert.equal(e.headers?.['retry-after'], '1');
    assert.equal(e.headers?.['stripe-should-retry'], 'true');
    const before = h.sandbox.stats().rate_limited;
    await refused(() => h.stripe.paymentIntents.create({ amount: 1000, currency: 'eur', customer: c.cus, payment_method: c.pm, confirm: true, off_session: true }, { idempotencyKey: key }), { status: 429, code: 'rate_limit' });
    assert.equal(h.sandbox.stats().rate_limited, before + 1);
    h.sandbox.setRateLimit(null);
    const pi = await h.stripe.paymentIntents.create({ amount: 1000, currency: 'eur', customer: c.cus, payment_method: c.pm, confirm: true, off_session: true }, { idempotencyKey: key });
    assert.equal(pi.status, 'succeeded', 'the key was free: the 429 stored nothing');
    assert.equal(h.sandbox.charges({ idempotency_key: key }).length, 1);
  });

  test('lock_timeout is a 429 too', async () => {
    const c = await customerWith('pm_card_visa');
    h.sandbox.setFaults({ rateLimits: { next: 1, code: 'lock_timeout' } });
    await refused(() => charge(c), { status: 429, code: 'lock_timeout' });
  });

  test('the token bucket: a burst, then the rate', () => {
    let now = 0;
    const b = new TokenBucket({ perSecond: 25, burst: 25 }, () => now);
    for (let i = 0; i < 25; i++) assert.equal(b.take(), 0);
    assert.equal(b.take(), 40, '40 ms until the next token');
    now += 40;
    assert.equal(b.take(), 0);
    now += 10_000;
    for (let i = 0; i < 25; i++) assert.equal(b.take(), 0);
    assert.ok(b.take() > 0, 'never more than the burst at once');
    assert.throws(() => new TokenBucket({ perSecond: 0 }), /perSecond/);
  });

  test('the control API switches it on and off', async () => {
    const on = await fetch(`${h.url}/_sandbox/rate-limit`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ per_second: 100 }) });
    assert.deepEqual(await on.json(), { per_second: 100, burst: 100 });
    const off = await fetch(`${h.url}/_sandbox/rate-limit`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ per_second: 0 }) });
    assert.deepEqual(await off.json(), { per_second: 0 });
    const bad = await fetch(`${h.url}/_sandbox/rate-limit`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ per_second: -1 }) });
    assert.equal(bad.status, 400);
  });
});
