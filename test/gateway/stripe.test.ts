// The Stripe adapter end to end: official stripe client → real HTTP → sandbox PSP on 127.0.0.1:0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/gateway/errors.ts';
import { createGatewayFromConfig } from '../../src/gateway/index.ts';
import { CardRejectedError, PaymentMethodRefusedError } from '../../src/gateway/types.ts';
import { API_KEY, ManualClock, chargeReq, customerWithCard, customerWithDecliningCard, newKey, startHarness, type Harness } from '../sandbox/harness.ts';

const H = 3_600_000;
const D = 24 * H;

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

describe('test cards of payments-facts §7 through the adapter', () => {
  // number → what renewd must see
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['4242424242424242', 'succeeds', { outcome: 'succeeded', reason: null, retry_class: null }],
    ['4000000000000002', 'generic_decline', { outcome: 'declined', reason: 'declined_by_bank', retry_class: 'later', decline_code: 'generic_decline', network: '05' }],
    ['4000000000009995', 'insufficient_funds', { outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later', decline_code: 'insufficient_funds', network: '51' }],
    ['4000000000009987', 'lost_card', { outcome: 'declined', reason: 'declined_by_bank', retry_class: 'never', decline_code: 'lost_card', network: '41' }],
    ['4000000000009979', 'stolen_card', { outcome: 'declined', reason: 'declined_by_bank', retry_class: 'never', decline_code: 'stolen_card', network: '43' }],
    ['4000000000000069', 'expired_card', { outcome: 'declined', reason: 'card_expired_or_inactive', retry_class: 'customer', code: 'expired_card', network: '54' }],
    ['4000000000000119', 'processing_error', { outcome: 'declined', reason: 'payment_system_failure', retry_class: 'soon', code: 'processing_error', network: '96' }],
    ['4000000000006975', 'card_velocity_exceeded', { outcome: 'declined', reason: 'credit_limit', retry_class: 'later', decline_code: 'card_velocity_exceeded', network: '61' }],
    ['4000000000000341', 'attaches, then every charge fails', { outcome: 'declined', reason: 'declined_by_bank', retry_class: 'later' }],
    ['4000002500003155', 'requires authentication off-session', { outcome: 'requires_action', reason: 'authentication_required', retry_class: 'customer', code: 'authentication_required', network: '1A' }],
    ['4000002760003184', 'always requires authentication', { outcome: 'requires_action', reason: 'authentication_required', retry_class: 'customer', code: 'authentication_required' }],
    ['4000003800000446', 'set up for off-session: succeeds', { outcome: 'succeeded', reason: null, retry_class: null }],
    ['5555555555554444', 'Mastercard succeeds', { outcome: 'succeeded', reason: null, retry_class: null }],
    ['378282246310005', 'Amex succeeds', { outcome: 'succeeded', reason: null, retry_class: null }],
  ];
  // Stripe refuses these when attached (the issuer is asked then): a renewal meets them on file
  // only as cards that went bad after they were saved.
  const refusedAtAttach = new Set(['4000000000000002', '4000000000009995', '4000000000009987', '4000000000009979', '4000000000000069', '4000000000000119', '4000000000006975']);
  for (const [number, what, want] of cases) {
    test(`${number}: ${what}`, async () => {
      const c = refusedAtAttach.has(number) ? await customerWithDecliningCard(h, number) : await customerWithCard(h, number);
      const key = newKey('card');
      const r = await h.gateway.charge(chargeReq(c, key));
      assert.equal(r.outcome, want.outcome);
      assert.equal(r.reason, want.reason);
      assert.equal(r.retry_class, want.retry_class);
      assert.match(r.gateway_ref ?? '', /^pi_/);
      if (want.decline_code) assert.equal(r.raw.decline_code, want.decline_code);
      if (want.code) assert.equal(r.raw.code, want.code);
      if (want.network) assert.equal(r.raw.network_decline_code, want.network);
      const moved = h.sandbox.charges({ idempotency_key: key });
      assert.equal(moved.length, want.outcome === 'succeeded' ? 1 : 0);
      if (moved[0]) assert.deepEqual([moved[0].amount, moved[0].currency, moved[0].payment_intent], [2900, 'eur', r.gateway_ref]);
    });
  }

  test('brand, last4 and expiry of the saved card (never the number)', async () => {
    const visa = await customerWithCard(h, '4242424242424242', { exp_month: 3, exp_year: 2031 });
    assert.deepEqual({ ...visa.pm, gateway_ref: 'x' }, { gateway_ref: 'x', type: 'card', brand: 'visa', last4: '4242', exp_month: 3, exp_year: 2031 });
    const mc = await customerWithCard(h, '5555555555554444');
    assert.equal(mc.pm.brand, 'mastercard');
    const amex = await customerWithCard(h, '378282246310005');
    assert.equal(amex.pm.brand, 'amex');
  });

  test('4242424242424241 (incorrect_number) is refused when saved', async () => {
    const cus = await h.gateway.createCustomer({ account_id: 'a', email: 'a@example.test', name: 'A' });
    await assert.rejects(h.gateway.attachCard(cus, { number: '4242424242424241', exp_month: 12, exp_year: 2034, cvc: '123' }), (e: unknown) => {
      assert.ok(e instanceof CardRejectedError);
      assert.equal(e.code, 'incorrect_number');
      assert.ok(!e.message.includes('4242424242424241'), 'the number is never in a message');
      return true;
    });
  });

  test('4000000000000127 (incorrect_cvc) is refused when saved', async () => {
    const cus = await h.gateway.createCustomer({ account_id: 'b', email: 'b@example.test', name: 'B' });
    await assert.rejects(h.gateway.attachCard(cus, { number: '4000000000000127', exp_month: 12, exp_year: 2034, cvc: '123' }), (e: unknown) => e instanceof CardRejectedError && e.code === 'incorrect_cvc');
  });

  test('an already expired card and a malformed expiry are refused when saved', async () => {
    const cus = await h.gateway.createCustomer({ account_id: 'c', email: 'c@example.test', name: 'C' });
    // the clock is 2026-06-15: 05/2026 is over
    await assert.rejects(h.gateway.attachCard(cus, { number: '4242424242424242', exp_month: 5, exp_year: 2026 }), (e: unknown) => e instanceof CardRejectedError && e.code === 'invalid_expiry_month');
    await assert.rejects(h.gateway.attachCard(cus, { number: '4242424242424242', exp_month: 13, exp_year: 2030 }), (e: unknown) => e instanceof CardRejectedError && e.code === 'invalid_expiry_month');
    await assert.rejects(h.gateway.attachCard(cus, { number: '4242424242424242', exp_month: 1, exp_year: 2020 }), (e: unknown) => e instanceof CardRejectedError && e.code === 'invalid_expiry_year');
  });

  test('attachToken: Stripe test payment methods and card tokens', async () => {
    const cus = await h.gateway.createCustomer({ account_id: 'd', email: 'd@example.test', name: 'D' });
    const a = await h.gateway.attachToken(cus, 'pm_card_visa');
    assert.deepEqual([a.brand, a.last4], ['visa', '4242']);
    const b = await h.gateway.attachToken(cus, 'tok_mastercard');
    assert.deepEqual([b.brand, b.last4], ['mastercard', '4444']);
    // A declining test payment method is refused when attached, as on Stripe; 0341's attaches and declines later.
    await assert.rejects(h.gateway.attachToken(cus, 'pm_card_chargeDeclinedInsufficientFunds'), (e: unknown) => e instanceof CardRejectedError && e.code === 'card_declined' && e.decline_code === 'insufficient_funds');
    const d = await h.gateway.attachToken(cus, 'pm_card_chargeCustomerFail');
    const r = await h.gateway.charge(chargeReq({ customer_ref: cus, payment_method_ref: d.gateway_ref }, newKey()));
    assert.equal(r.outcome, 'declined');
  });

  test('attachToken: a token the gateway does not know is the customer\'s input (PaymentMethodRefusedError), an unknown customer stays our fault', async () => {
    const cus = await h.gateway.createCustomer({ account_id: 'e', email: 'e@example.test', name: 'E' });
    for (const token of ['pm_nope', 'tok_nope']) {
      const err = await h.gateway.attachToken(cus, token).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof PaymentMethodRefusedError, `${token}: ${String(err)}`);
      assert.equal(err.code, 'resource_missing');
      assert.match(err.message, /nope/);
    }
    // Attached to another customer already: refused too, with Stripe's reason.
    const other = await h.gateway.createCustomer({ account_id: 'f', email: 'f@example.test', name: 'F' });
    const pm = await h.gateway.attachToken(other, 'pm_card_visa');
    const taken = await h.gateway.attachToken(cus, pm.gateway_ref).then(() => null, (e: unknown) => e);
    assert.ok(taken instanceof PaymentMethodRefusedError, String(taken));
    assert.equal(taken.code, 'payment_method_unexpected_state');
    const noCustomer = await h.gateway.attachToken('cus_nope', 'pm_card_visa').then(() => null, (e: unknown) => e);
    assert.ok(noCustomer instanceof GatewayError && noCustomer.code === 'gateway_invalid_request', String(noCustomer));
  });
});

describe('idempotency', () => {
  test('the same key returns the first result and moves money once', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const key = newKey('idem');
    const a = await h.gateway.charge(chargeReq(c, key));
    const b = await h.gateway.charge(chargeReq(c, key));
    assert.equal(a.outcome, 'succeeded');
    assert.deepEqual(b, a);
    const res = await fetch(`${h.url}/_sandbox/charges?idempotency_key=${key}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const body = (await res.json()) as { count: number; data: Array<{ payment_intent: string }> };
    assert.equal(body.count, 1);
    assert.equal(body.data[0].payment_intent, a.gateway_ref);
  });

  test('a declined answer is replayed too (no second attempt at the issuer)', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    h.sandbox.script(c.payment_method_ref, ['insufficient_funds']); // only the first charge declines
    const key = newKey('idem');
    const a = await h.gateway.charge(chargeReq(c, key));
    const b = await h.gateway.charge(chargeReq(c, key));
    assert.equal(a.outcome, 'declined');
    assert.deepEqual(b, a);
    assert.equal(h.sandbox.charges({ customer: c.customer_ref }).length, 0);
    // a new key is a new attempt
    assert.equal((await h.gateway.charge(chargeReq(c, newKey('idem')))).outcome, 'succeeded');
  });

  test('the same key with different parameters is refused', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const key = newKey('idem');
    await h.gateway.charge(chargeReq(c, key, 2900));
    await assert.rejects(h.gateway.charge(chargeReq(c, key, 3900)), (e: unknown) => e instanceof GatewayError && e.code === 'idempotency_key_reused' && e.status === 400);
    assert.equal(h.sandbox.charges({ idempotency_key: key }).length, 1);
  });

  test('a request with its key still in flight gets 409: sent again once the first is answered, the same answer, money moves once', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    h.sandbox.setFaults({ latencyMs: 150 });
    try {
      const key = newKey('idem');
      let first!: Promise<unknown>;
      // The adapter's wait before sending again ends when the first request is answered (no real sleep).
      const gw = h.adapter({ sleep: () => first.then(() => undefined) });
      first = gw.charge(chargeReq(c, key));
      const [a, b] = (await Promise.all([first, gw.charge(chargeReq(c, key))])) as Awaited<ReturnType<typeof gw.charge>>[];
      assert.deepEqual([a.outcome, b.outcome], ['succeeded', 'succeeded']);
      assert.equal(a.gateway_ref, b.gateway_ref);
      assert.equal(h.sandbox.charges({ idempotency_key: key }).length, 1);
    } finally {
      h.sandbox.setFaults({ latencyMs: 0 });
    }
  });

  test('a request with its key still in flight gets 409 and no retries are left: unknown, and money moves once', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    h.sandbox.setFaults({ latencyMs: 150 });
    try {
      const key = newKey('idem');
      const gw = h.adapter({ rateLimitRetries: 0 });
      const [a, b] = await Promise.all([gw.charge(chargeReq(c, key)), gw.charge(chargeReq(c, key))]);
      const outcomes = [a.outcome, b.outcome].sort();
      assert.deepEqual(outcomes, ['succeeded', 'unknown']);
      const u = a.outcome === 'unknown' ? a : b;
      assert.equal(u.raw.code, 'idempotency_key_in_use');
      assert.equal(h.sandbox.charges({ idempotency_key: key }).length, 1);
    } finally {
      h.sandbox.setFaults({ latencyMs: 0 });
    }
  });
});

describe('unknown outcomes and reconciliation by lookup', () => {
  test('lookup finds nothing for a key never used, without creating anything', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const before = h.sandbox.stats().payment_intents;
    assert.equal(await h.gateway.lookup(chargeReq(c, newKey('none'))), null);
    assert.equal(h.sandbox.stats().payment_intents, before);
  });

  test('timeout after the charge went through: unknown, lookup finds it, money moved once', async () => {
    const t = await startHarness({ timeoutMs: 250 });
    try {
      const c = await customerWithCard(t, '4242424242424242');
      t.sandbox.setFaults({ timeouts: { next: 1, phase: 'after' } });
      const key = newKey('to');
      const r = await t.gateway.charge(chargeReq(c, key));
      assert.equal(r.outcome, 'unknown');
      assert.equal(r.raw.code, 'gateway_timeout');
      const found = await t.gateway.lookup(chargeReq(c, key));
      assert.ok(found);
      assert.equal(found.outcome, 'succeeded');
      assert.equal(t.sandbox.charges({ idempotency_key: key }).length, 1);
      // charging again with the same key replays the stored success
      const again = await t.gateway.charge(chargeReq(c, key));
      assert.deepEqual([again.outcome, again.gateway_ref], ['succeeded', found.gateway_ref]);
      assert.equal(t.sandbox.charges({ idempotency_key: key }).length, 1);
    } finally {
      await t.close();
    }
  });

  test('timeout before the sandbox processed it: unknown, lookup finds nothing, the same key then charges once', async () => {
    const t = await startHarness({ timeoutMs: 250 });
    try {
      const c = await customerWithCard(t, '4242424242424242');
      t.sandbox.setFaults({ timeouts: { next: 1, phase: 'before' } });
      const key = newKey('to');
      const r = await t.gateway.charge(chargeReq(c, key));
      assert.equal(r.outcome, 'unknown');
      assert.equal(await t.gateway.lookup(chargeReq(c, key)), null);
      assert.equal((await t.gateway.charge(chargeReq(c, key))).outcome, 'succeeded');
      assert.equal(t.sandbox.charges({ idempotency_key: key }).length, 1);
    } finally {
      await t.close();
    }
  });

  test('a stored 5xx is replayed for the same key (as Stripe); lookup tells whether money moved', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    h.sandbox.setFaults({ errors: { next: 1, phase: 'before' } });
    const k1 = newKey('5xx');
    const r1 = await h.gateway.charge(chargeReq(c, k1));
    assert.equal(r1.outcome, 'unknown');
    assert.equal((await h.gateway.charge(chargeReq(c, k1))).outcome, 'unknown', 'the 500 is stored under the key');
    assert.equal(await h.gateway.lookup(chargeReq(c, k1)), null, 'nothing was charged');

    h.sandbox.setFaults({ errors: { next: 1, phase: 'after' } });
    const k2 = newKey('5xx');
    assert.equal((await h.gateway.charge(chargeReq(c, k2))).outcome, 'unknown');
    const found = await h.gateway.lookup(chargeReq(c, k2));
    assert.equal(found?.outcome, 'succeeded', 'the money moved behind the 500');
    assert.equal(h.sandbox.charges({ idempotency_key: k2 }).length, 1);
  });

  test('lookup maps a declined charge the same way as charge()', async () => {
    const c = await customerWithDecliningCard(h, '4000000000009995');
    const key = newKey('lk');
    const r = await h.gateway.charge(chargeReq(c, key));
    const l = await h.gateway.lookup(chargeReq(c, key));
    assert.deepEqual(l, r);
    const a = await customerWithCard(h, '4000002760003184');
    const ka = newKey('lk');
    const ra = await h.gateway.charge(chargeReq(a, ka));
    assert.deepEqual(await h.gateway.lookup(chargeReq(a, ka)), ra);
  });

  test('lookup pages through many payment intents of one customer', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const first = newKey('many');
    await h.gateway.charge(chargeReq(c, first, 100));
    for (let i = 0; i < 120; i++) await h.gateway.charge(chargeReq(c, newKey('many'), 100 + i));
    const found = await h.gateway.lookup(chargeReq(c, first, 100));
    assert.equal(found?.outcome, 'succeeded');
    assert.equal(found?.gateway_ref, h.sandbox.charges({ idempotency_key: first })[0].payment_intent);
  });
});

describe('scripted outcomes', () => {
  test('insufficient funds twice, then success (per payment method)', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    h.sandbox.script({ payment_method: c.payment_method_ref }, [{ outcome: 'insufficient_funds', times: 2 }, 'succeed']);
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push((await h.gateway.charge(chargeReq(c, newKey('s')))).reason ?? 'ok');
    assert.deepEqual(outcomes, ['insufficient_funds', 'insufficient_funds', 'ok']);
  });

  test('a card number scripted before renewd saves it', async () => {
    // An unusual valid number so no other test shares its fingerprint.
    const number = '4000000000000077';
    h.sandbox.script({ card_number: number }, [{ outcome: 'card_velocity_exceeded' }]);
    const c = await customerWithCard(h, number);
    assert.equal((await h.gateway.charge(chargeReq(c, newKey('s')))).reason, 'credit_limit');
    assert.equal((await h.gateway.charge(chargeReq(c, newKey('s')))).outcome, 'succeeded');
  });

  test("an account's card (by renewd account id) declines on its next charge, whatever card it saves", async () => {
    const c = await customerWithCard(h, '4242424242424242');
    h.sandbox.script({ account_id: c.account_id }, [{ outcome: 'expired_card' }]);
    // the customer changes card: the script follows the account
    const pm2 = await h.gateway.attachCard(c.customer_ref, { number: '5555555555554444', exp_month: 1, exp_year: 2033 });
    const r = await h.gateway.charge(chargeReq({ customer_ref: c.customer_ref, payment_method_ref: pm2.gateway_ref }, newKey('s')));
    assert.deepEqual([r.reason, r.retry_class], ['card_expired_or_inactive', 'customer']);
    assert.equal((await h.gateway.charge(chargeReq(c, newKey('s')))).outcome, 'succeeded');
  });

  test('issuer unavailable until a clock time, then the card works', async () => {
    const clock = new ManualClock('2026-06-15T12:00:00Z');
    const t = await startHarness({ clock });
    try {
      const c = await customerWithCard(t, '4242424242424242');
      t.sandbox.script(c.customer_ref, [{ outcome: 'issuer_not_available', until: '2026-06-15T18:00:00Z' }]);
      for (const hours of [0, 2, 5.9]) {
        clock.set('2026-06-15T12:00:00Z');
        clock.advance(hours * H);
        const r = await t.gateway.charge(chargeReq(c, newKey('u')));
        assert.deepEqual([r.reason, r.retry_class, r.raw.network_decline_code], ['issuer_unavailable', 'soon', '91']);
      }
      clock.set('2026-06-15T18:00:00Z');
      assert.equal((await t.gateway.charge(chargeReq(c, newKey('u')))).outcome, 'succeeded');
      assert.deepEqual(t.sandbox.scripts(), []);
    } finally {
      await t.close();
    }
  });

  test('a scripted succeed overrides a declining test card', async () => {
    const c = await customerWithDecliningCard(h, '4000000000000002');
    h.sandbox.script(c.payment_method_ref, ['succeed']);
    assert.equal((await h.gateway.charge(chargeReq(c, newKey('s')))).outcome, 'succeeded');
    assert.equal((await h.gateway.charge(chargeReq(c, newKey('s')))).outcome, 'declined');
  });
});

describe('the clock', () => {
  test('a card expiring 12/2026 works through December and declines as expired from January 2027', async () => {
    const clock = new ManualClock('2026-06-15T12:00:00Z');
    const t = await startHarness({ clock });
    try {
      const c = await customerWithCard(t, '4242424242424242', { exp_month: 12, exp_year: 2026 });
      clock.set('2026-12-31T23:59:59Z');
      assert.equal((await t.gateway.charge(chargeReq(c, newKey('exp')))).outcome, 'succeeded');
      clock.set('2027-01-01T00:00:00Z');
      const r = await t.gateway.charge(chargeReq(c, newKey('exp')));
      assert.deepEqual([r.outcome, r.reason, r.retry_class, r.raw.code, r.raw.network_decline_code], ['declined', 'card_expired_or_inactive', 'customer', 'expired_card', '54']);
      // a new card fixes it
      const pm = await t.gateway.attachCard(c.customer_ref, { number: '4242424242424242', exp_month: 12, exp_year: 2030 });
      assert.equal((await t.gateway.charge(chargeReq({ customer_ref: c.customer_ref, payment_method_ref: pm.gateway_ref }, newKey('exp')))).outcome, 'succeeded');
    } finally {
      await t.close();
    }
  });

  test('outage window: every call fails while the clock is inside it, charges are unknown', async () => {
    const clock = new ManualClock('2026-06-15T12:00:00Z');
    const t = await startHarness({ clock, faults: { outages: [{ from: '2026-06-16T00:00:00Z', to: '2026-06-16T06:00:00Z' }] } });
    try {
      const c = await customerWithCard(t, '4242424242424242');
      clock.set('2026-06-16T03:00:00Z');
      const key = newKey('out');
      const r = await t.gateway.charge(chargeReq(c, key));
      assert.deepEqual([r.outcome, r.raw.code], ['unknown', 'gateway_error']);
      await assert.rejects(t.gateway.createCustomer({ account_id: 'x', email: 'x@example.test', name: 'X' }), (e: unknown) => e instanceof GatewayError && e.code === 'gateway_unavailable');
      await assert.rejects(t.gateway.lookup(chargeReq(c, key)), (e: unknown) => e instanceof GatewayError && e.code === 'gateway_unavailable');
      clock.set('2026-06-16T06:00:00Z');
      assert.equal(await t.gateway.lookup(chargeReq(c, key)), null, 'the outage answer was not stored: nothing happened');
      assert.equal((await t.gateway.charge(chargeReq(c, key))).outcome, 'succeeded');
    } finally {
      await t.close();
    }
  });

  test('outage window that drops connections: unknown (connection error)', async () => {
    const clock = new ManualClock('2026-06-15T12:00:00Z');
    const t = await startHarness({ clock });
    try {
      const c = await customerWithCard(t, '4242424242424242');
      t.sandbox.setFaults({ outages: [{ from: '2026-06-15T12:00:00Z', to: '2026-06-15T13:00:00Z', mode: 'drop' }] });
      const r = await t.gateway.charge(chargeReq(c, newKey('drop')));
      assert.deepEqual([r.outcome, r.raw.code], ['unknown', 'gateway_connection_error']);
      assert.equal(t.sandbox.charges().length, 0);
    } finally {
      await t.close();
    }
  });
});

describe('network advice', () => {
  const macs: Array<[string, number]> = [
    ['24', 1 * H],
    ['25', 24 * H],
    ['26', 2 * D],
    ['27', 4 * D],
    ['28', 6 * D],
    ['29', 8 * D],
    ['30', 10 * D],
  ];
  for (const [mac, ms] of macs) {
    test(`Mastercard advice code ${mac} gives retry_after_ms ${ms}`, async () => {
      const c = await customerWithCard(h, '5555555555554444');
      h.sandbox.script(c.payment_method_ref, [{ outcome: 'insufficient_funds', network_advice_code: mac }]);
      const r = await h.gateway.charge(chargeReq(c, newKey('mac')));
      assert.deepEqual([r.outcome, r.reason, r.retry_class, r.retry_after_ms, r.raw.network_advice_code], ['declined', 'insufficient_funds', 'later', ms, mac]);
    });
  }

  test('Mastercard hard declines carry MAC 03 / 21 and are never retried', async () => {
    const c = await customerWithCard(h, '5555555555554444');
    h.sandbox.script(c.payment_method_ref, ['stolen_card', 'revocation_of_authorization', { outcome: 'insufficient_funds', network_advice_code: '03' }]);
    const a = await h.gateway.charge(chargeReq(c, newKey('mac')));
    assert.deepEqual([a.raw.network_advice_code, a.retry_class], ['03', 'never']);
    const b = await h.gateway.charge(chargeReq(c, newKey('mac')));
    assert.deepEqual([b.raw.network_advice_code, b.raw.network_decline_code, b.retry_class], ['21', 'R1', 'never']);
    const x = await h.gateway.charge(chargeReq(c, newKey('mac')));
    assert.deepEqual([x.reason, x.retry_class, x.retry_after_ms], ['insufficient_funds', 'never', null]);
  });

  test('Visa declines carry no Mastercard advice code', async () => {
    const c = await customerWithDecliningCard(h, '4000000000009987');
    const r = await h.gateway.charge(chargeReq(c, newKey('mac')));
    assert.equal(r.raw.network_advice_code, undefined);
    assert.equal(r.raw.advice_code, 'do_not_try_again');
  });
});

describe('configuration', () => {
  test('createGatewayFromConfig points the adapter at the sandbox', async () => {
    const gw = createGatewayFromConfig({ stripeApiKey: 'sk_test_cfg', stripeApiBase: h.url });
    const ref = await gw.createCustomer({ account_id: 'cfg', email: 'cfg@example.test', name: 'Cfg' });
    assert.match(ref, /^cus_/);
    assert.throws(() => createGatewayFromConfig({ stripeApiKey: undefined }), /STRIPE_API_KEY/);
  });

  test('a refused API key is a typed error, not an outcome', async () => {
    const gw = createGatewayFromConfig({ stripeApiKey: 'sk_live_nope', stripeApiBase: h.url });
    await assert.rejects(gw.createCustomer({ account_id: 'k', email: 'k@example.test', name: 'K' }), (e: unknown) => e instanceof GatewayError && e.code === 'gateway_authentication');
    await assert.rejects(
      gw.charge({ customer_ref: 'cus_x', payment_method_ref: 'pm_x', amount: 100, currency: 'eur', idempotency_key: newKey() }),
      (e: unknown) => e instanceof GatewayError && e.code === 'gateway_authentication',
    );
  });

  test('a payment method that no longer exists is a decline that needs the customer', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const r = await h.gateway.charge(chargeReq({ customer_ref: c.customer_ref, payment_method_ref: 'pm_gone' }, newKey()));
    assert.deepEqual([r.outcome, r.reason, r.retry_class, r.raw.code], ['declined', 'declined_by_bank', 'customer', 'resource_missing']);
  });
});
