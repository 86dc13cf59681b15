// A 429 is not an attempt outcome (issue 19): the adapter sends a rate-limited request again with
// the same idempotency key after the gateway's Retry-After or an exponential backoff with jitter,
// and only when its retries run out answers `rate_limited` (nothing made under the key). Official
// stripe client → sandbox answering 429 like Stripe. The waits are recorded, never slept.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/gateway/errors.ts';
import { retryAfterMs, type GatewayPace } from '../../src/gateway/stripe.ts';
import { chargeReq, customerWithCard, newKey, startHarness, type Harness } from '../sandbox/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());
beforeEach(() => {
  h.sandbox.clearFaults();
  h.waits.length = 0;
});

describe('charges the gateway rate-limits', () => {
  test('429 twice, then the same key charges: succeeded, money moved once, waits back off exponentially', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const key = newKey('rl');
    const before = h.sandbox.stats().rate_limited;
    h.sandbox.setFaults({ rateLimits: { next: 2 } });
    const r = await h.gateway.charge(chargeReq(c, key));
    assert.equal(r.outcome, 'succeeded');
    assert.equal(h.sandbox.stats().rate_limited - before, 2);
    const moved = h.sandbox.charges({ idempotency_key: key });
    assert.equal(moved.length, 1);
    assert.equal(moved[0].payment_intent, r.gateway_ref);
    // base 500 ms doubling, jitter on the upper half (random fixed at 0.5): 375, 750.
    assert.deepEqual(h.waits, [375, 750]);
  });

  test("the gateway's Retry-After is the wait", async () => {
    const c = await customerWithCard(h, '4242424242424242');
    h.sandbox.setFaults({ rateLimits: { next: 1, retryAfterS: 2 } });
    const r = await h.gateway.charge(chargeReq(c, newKey('rl')));
    assert.equal(r.outcome, 'succeeded');
    assert.deepEqual(h.waits, [2000]);
  });

  test('lock_timeout (429) is sent again the same way', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    h.sandbox.setFaults({ rateLimits: { next: 1, code: 'lock_timeout' } });
    const key = newKey('lock');
    const r = await h.gateway.charge(chargeReq(c, key));
    assert.equal(r.outcome, 'succeeded');
    assert.equal(h.waits.length, 1);
    assert.equal(h.sandbox.charges({ idempotency_key: key }).length, 1);
  });

  test('a decline after a 429 is that decline (the 429 changed nothing)', async () => {
    const c = await customerWithCard(h, '4000000000000341');
    h.sandbox.setFaults({ rateLimits: { next: 1 } });
    const r = await h.gateway.charge(chargeReq(c, newKey('rl')));
    assert.equal(r.outcome, 'declined');
    assert.equal(h.waits.length, 1);
  });

  test('retries run out: rate_limited with the wait, nothing made under the key; the same key later charges once', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const key = newKey('rl');
    h.sandbox.setFaults({ rateLimits: { next: 4, chargesOnly: true } });
    const r = await h.gateway.charge(chargeReq(c, key));
    assert.equal(r.outcome, 'rate_limited');
    assert.equal(r.raw.code, 'rate_limit');
    assert.equal(r.gateway_ref, null);
    assert.ok(r.retry_after_ms! > 0);
    assert.deepEqual(h.waits, [375, 750, 1500], 'three retries, then it gives up');
    assert.equal(h.sandbox.charges({ idempotency_key: key }).length, 0);
    assert.equal(await h.gateway.lookup(chargeReq(c, key)), null, 'no payment intent exists under the key');
    const again = await h.gateway.charge(chargeReq(c, key));
    assert.equal(again.outcome, 'succeeded');
    assert.equal(h.sandbox.charges({ idempotency_key: key }).length, 1);
  });

  test('a Retry-After longer than the adapter waits inline: rate_limited at once, carrying that wait', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    h.sandbox.setFaults({ rateLimits: { next: 1, retryAfterS: 30 } });
    const r = await h.gateway.charge(chargeReq(c, newKey('rl')));
    assert.equal(r.outcome, 'rate_limited');
    assert.equal(r.retry_after_ms, 30_000);
    assert.deepEqual(h.waits, []);
  });

  test('backoff is capped', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const gw = h.adapter({ rateLimitRetries: 6, backoffBaseMs: 1000, backoffMaxMs: 4000, random: () => 0 });
    h.sandbox.setFaults({ rateLimits: { next: 6 } });
    const r = await gw.charge(chargeReq(c, newKey('rl')));
    assert.equal(r.outcome, 'succeeded');
    assert.deepEqual(h.waits, [500, 1000, 2000, 2000, 2000, 2000], 'half of 1, 2, 4, 4, 4, 4 s (random 0: the low end of the jitter)');
  });
});

describe('other requests the gateway rate-limits', () => {
  test('creating a customer and saving a card are sent again', async () => {
    h.sandbox.setFaults({ rateLimits: { next: 2 } });
    const c = await customerWithCard(h, '4242424242424242');
    assert.match(c.customer_ref, /^cus_/);
    assert.equal(h.waits.length, 2);
  });

  test('retries run out outside a charge: gateway_unavailable (HTTP 429), a typed error', async () => {
    h.sandbox.setFaults({ rateLimits: { next: 4 } });
    await assert.rejects(h.gateway.createCustomer({ account_id: 'a', email: 'a@example.test', name: 'A' }), (e: unknown) => e instanceof GatewayError && e.code === 'gateway_unavailable' && e.status === 429);
  });

  test('a lookup is sent again too and still finds the charge', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const key = newKey('rl');
    const r = await h.gateway.charge(chargeReq(c, key));
    h.sandbox.setFaults({ rateLimits: { next: 1 } });
    const found = await h.gateway.lookup(chargeReq(c, key));
    assert.equal(found?.gateway_ref, r.gateway_ref);
    assert.equal(h.waits.length, 1);
  });
});

describe('the pace hears of it', () => {
  test('acquire before every request (lane billing for a charge, customer when asked), rateLimited on each 429', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const seen: string[] = [];
    const pace: GatewayPace = {
      acquire: async (lane) => void seen.push(`acquire:${lane}`),
      rateLimited: (ms) => void seen.push(`429:${ms}`),
      answered: () => void seen.push('ok'),
    };
    const gw = h.adapter({ pace });
    h.sandbox.setFaults({ rateLimits: { next: 1, retryAfterS: 1 } });
    await gw.charge(chargeReq(c, newKey('rl')));
    await gw.charge({ ...chargeReq(c, newKey('rl')), lane: 'customer' });
    assert.deepEqual(seen, ['acquire:billing', '429:1000', 'acquire:billing', 'ok', 'acquire:customer', 'ok']);
  });
});

test('Retry-After in seconds or as an HTTP date', () => {
  assert.equal(retryAfterMs({ headers: { 'retry-after': '3' } }), 3000);
  assert.equal(retryAfterMs({ headers: { 'retry-after': 'Tue, 01 Dec 2026 12:00:10 GMT' } }, Date.parse('2026-12-01T12:00:00Z')), 10_000);
  assert.equal(retryAfterMs({ headers: { 'retry-after': 'soon' } }), null);
  assert.equal(retryAfterMs({ headers: {} }), null);
});
