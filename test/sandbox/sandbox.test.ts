// The sandbox PSP over real HTTP: Stripe's wire format (form bodies, errors, idempotency) and the
// sandbox-only API (scripts, faults, charges, stats).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { parseForm, rawOf } from '../../src/sandbox/form.ts';
import { runSandbox } from '../../src/sandbox/main.ts';
import { RateMeter } from '../../src/sandbox/server.ts';
import { TEST_CARDS } from '../../src/sandbox/cards.ts';
import { API_KEY, ManualClock, newKey, startHarness, type Harness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const AUTH = { authorization: `Bearer ${API_KEY}` };
const FORM = { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' };

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const r = await fetch(h.url + path, { method: 'POST', headers: { ...FORM, ...headers }, body });
  return { status: r.status, headers: r.headers, body: (await r.json()) as any };
}
async function get(path: string, headers: Record<string, string> = AUTH) {
  const r = await fetch(h.url + path, { headers });
  return { status: r.status, body: (await r.json()) as any };
}
async function sandboxJson(method: string, path: string, body?: unknown) {
  const r = await fetch(h.url + path, { method, headers: body === undefined ? AUTH : { ...AUTH, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as any };
}
let fixtures = 0;
async function customerAndCard(number = '4242424242424242') {
  const cus = await post('/v1/customers', 'email=a%40example.test&name=A&metadata[renewd_account_id]=acct_wire');
  if (TEST_CARDS[number]?.setup) {
    // Refused when attached, as on Stripe: on file only as a card that went bad after it was saved.
    const id = `pm_fixture_wire_${++fixtures}`;
    h.sandbox.load({ cards: [{ id, customer: cus.body.id, number, exp_month: 12, exp_year: 2034 }] });
    return { cus: cus.body.id as string, pm: id };
  }
  const pm = await post('/v1/payment_methods', `type=card&card[number]=${number}&card[exp_month]=12&card[exp_year]=2034&card[cvc]=123`);
  const at = await post(`/v1/payment_methods/${pm.body.id}/attach`, `customer=${cus.body.id}`);
  assert.equal(at.status, 200);
  return { cus: cus.body.id as string, pm: pm.body.id as string };
}
const chargeBody = (c: { cus: string; pm: string }, amount = 1000, extra = '') =>
  `amount=${amount}&currency=eur&customer=${c.cus}&payment_method=${c.pm}&confirm=true&off_session=true&metadata[renewd_invoice]=inv_1${extra}`;

describe('form encoding', () => {
  test('bracketed keys nest, indexed keys become arrays, values are decoded', () => {
    const f = parseForm('a=1&metadata[k]=v%20w&card[number]=4242&expand[0]=x&expand[1]=y&q=metadata%5B%27k%27%5D%3A%27v%27&sp=a+b&__proto__[x]=1');
    assert.deepEqual({ ...f }, { a: '1', metadata: { k: 'v w' }, card: { number: '4242' }, expand: ['x', 'y'], q: "metadata['k']:'v'", sp: 'a b' });
    assert.equal(({} as Record<string, unknown>).x, undefined);
    assert.equal(rawOf(f).startsWith('a=1&'), true);
    assert.deepEqual({ ...parseForm('') }, {});
  });
});

describe('Stripe wire format', () => {
  test('secret test keys only', async () => {
    assert.equal((await get('/v1/customers/cus_x', {})).status, 401);
    const live = await get('/v1/customers/cus_x', { authorization: 'Bearer sk_live_123' });
    assert.equal(live.status, 401);
    assert.equal(live.body.error.type, 'invalid_request_error');
    const basic = await get('/v1/customers/cus_x', { authorization: `Basic ${Buffer.from(`${API_KEY}:`).toString('base64')}` });
    assert.equal(basic.status, 404, 'basic auth with a test key is accepted (then: no such customer)');
  });

  test('customers and card payment methods in Stripe shapes', async () => {
    const c = await customerAndCard('5555555555554444');
    const cus = await get(`/v1/customers/${c.cus}`);
    assert.deepEqual([cus.body.object, cus.body.email, cus.body.metadata], ['customer', 'a@example.test', { renewd_account_id: 'acct_wire' }]);
    const pm = await get(`/v1/payment_methods/${c.pm}`);
    assert.equal(pm.body.object, 'payment_method');
    assert.deepEqual([pm.body.customer, pm.body.card.brand, pm.body.card.last4, pm.body.card.exp_month, pm.body.card.exp_year], [c.cus, 'mastercard', '4444', 12, 2034]);
    assert.match(pm.body.card.fingerprint, /^[\w-]{16}$/);
    assert.ok(!JSON.stringify(pm.body).includes('5555555555554444'), 'the full number is never returned');
    const list = await get(`/v1/customers/${c.cus}/payment_methods`);
    assert.deepEqual(list.body.data.map((x: { id: string }) => x.id), [c.pm]);
    const upd = await post(`/v1/customers/${c.cus}`, `invoice_settings[default_payment_method]=${c.pm}&metadata[extra]=1`);
    assert.deepEqual([upd.body.invoice_settings.default_payment_method, upd.body.metadata.extra], [c.pm, '1']);
  });

  test('a succeeded off-session charge', async () => {
    const c = await customerAndCard();
    const r = await post('/v1/payment_intents', chargeBody(c), { 'idempotency-key': newKey() });
    assert.equal(r.status, 200);
    assert.deepEqual([r.body.object, r.body.status, r.body.amount, r.body.amount_received, r.body.currency], ['payment_intent', 'succeeded', 1000, 1000, 'eur']);
    assert.match(r.body.latest_charge, /^ch_/);
    assert.match(r.headers.get('request-id') ?? '', /^req_/);
    const again = await get(`/v1/payment_intents/${r.body.id}`);
    assert.equal(again.body.status, 'succeeded');
  });

  test('a decline is a 402 card_error with the payment intent, network code and advice', async () => {
    const c = await customerAndCard('4000000000009995');
    const r = await post('/v1/payment_intents', chargeBody(c), { 'idempotency-key': newKey() });
    assert.equal(r.status, 402);
    const e = r.body.error;
    assert.deepEqual([e.type, e.code, e.decline_code, e.network_decline_code, e.advice_code], ['card_error', 'card_declined', 'insufficient_funds', '51', 'try_again_later']);
    assert.equal(e.message, 'Your card has insufficient funds.');
    assert.equal(e.payment_intent.status, 'requires_payment_method');
    assert.equal(e.payment_intent.last_payment_error.decline_code, 'insufficient_funds');
    assert.equal(e.payment_method.id, c.pm);
    assert.match(e.charge, /^ch_/);
  });

  test('lost / stolen say only "Your card was declined."', async () => {
    for (const n of ['4000000000009987', '4000000000009979']) {
      const r = await post('/v1/payment_intents', chargeBody(await customerAndCard(n)));
      assert.equal(r.body.error.message, 'Your card was declined.');
    }
  });

  test('on-session authentication: requires_action with next_action (200)', async () => {
    const c = await customerAndCard('4000002760003184');
    const r = await post('/v1/payment_intents', `amount=500&currency=usd&customer=${c.cus}&payment_method=${c.pm}&confirm=true`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'requires_action');
    assert.equal(r.body.next_action.type, 'use_stripe_sdk');
  });

  test('create then confirm, and cancel', async () => {
    const c = await customerAndCard();
    const pi = await post('/v1/payment_intents', `amount=700&currency=eur&customer=${c.cus}&payment_method=${c.pm}`);
    assert.equal(pi.body.status, 'requires_confirmation');
    const conf = await post(`/v1/payment_intents/${pi.body.id}/confirm`, 'off_session=true');
    assert.equal(conf.body.status, 'succeeded');
    const other = await post('/v1/payment_intents', `amount=700&currency=eur&customer=${c.cus}`);
    const can = await post(`/v1/payment_intents/${other.body.id}/cancel`, 'cancellation_reason=abandoned');
    assert.deepEqual([can.body.status, can.body.cancellation_reason], ['canceled', 'abandoned']);
  });

  test('validation errors are 400 invalid_request_error; unknown objects 404 resource_missing', async () => {
    const c = await customerAndCard();
    assert.equal((await post('/v1/payment_intents', `currency=eur&customer=${c.cus}`)).body.error.param, 'amount');
    assert.equal((await post('/v1/payment_intents', `amount=-5&currency=eur`)).status, 400);
    assert.equal((await post('/v1/payment_intents', `amount=5&currency=euro`)).status, 400);
    assert.equal((await post('/v1/payment_intents', `amount=5&currency=eur&off_session=true`)).status, 400);
    const miss = await post('/v1/payment_intents', `amount=500&currency=eur&customer=cus_nope&payment_method=${c.pm}&confirm=true`);
    assert.deepEqual([miss.status, miss.body.error.code, miss.body.error.param], [404, 'resource_missing', 'customer']);
    const other = await customerAndCard();
    const wrong = await post('/v1/payment_intents', `amount=500&currency=eur&customer=${other.cus}&payment_method=${c.pm}&confirm=true`);
    assert.deepEqual([wrong.status, wrong.body.error.param], [400, 'payment_method']);
    const route = await get('/v1/charges');
    assert.deepEqual([route.status, route.body.error.type], [404, 'invalid_request_error']);
    const pm = await post('/v1/payment_methods', 'type=sepa_debit');
    assert.equal(pm.status, 400);
    const asJson = await fetch(h.url + '/v1/customers', { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: '{"email":"j@x.test"}' });
    assert.equal(asJson.status, 400, 'the API is form-encoded, like Stripe');
  });

  test('payment method creation refuses bad card data as card_error 402', async () => {
    const bad = async (card: string) => (await post('/v1/payment_methods', `type=card&${card}`)).body.error;
    assert.equal((await bad('card[number]=4242424242424241&card[exp_month]=1&card[exp_year]=2030')).code, 'incorrect_number');
    assert.equal((await bad('card[number]=42abc&card[exp_month]=1&card[exp_year]=2030')).code, 'invalid_number');
    assert.equal((await bad('card[number]=4242424242424242&card[exp_month]=0&card[exp_year]=2030')).code, 'invalid_expiry_month');
    assert.equal((await bad('card[number]=4242424242424242&card[exp_month]=1&card[exp_year]=2030&card[cvc]=12x')).code, 'invalid_cvc');
    const two = await post('/v1/payment_methods', 'type=card&card[number]=4242 4242 4242 4242&card[exp_month]=1&card[exp_year]=30');
    assert.deepEqual([two.status, two.body.card.exp_year], [200, 2030]);
  });

  test('test tokens: pm_card_* as payment method, tok_* as card token', async () => {
    const cus = await post('/v1/customers', 'email=t%40example.test');
    // A declining test payment method is refused when attached; 0341's attaches and declines on the charge.
    const refused = await post('/v1/payment_methods/pm_card_chargeDeclinedExpiredCard/attach', `customer=${cus.body.id}`);
    assert.deepEqual([refused.status, refused.body.error.code, refused.body.error.decline_code], [402, 'expired_card', 'expired_card']);
    const at = await post('/v1/payment_methods/pm_card_chargeCustomerFail/attach', `customer=${cus.body.id}`);
    assert.equal(at.body.card.last4, '0341');
    assert.notEqual(at.body.id, 'pm_card_chargeCustomerFail');
    const r = await post('/v1/payment_intents', `amount=100&currency=eur&customer=${cus.body.id}&payment_method=${at.body.id}&confirm=true&off_session=true`);
    assert.equal(r.body.error.decline_code, 'generic_decline');
    const direct = await post('/v1/payment_intents', `amount=100&currency=eur&payment_method=pm_card_visa&confirm=true`);
    assert.equal(direct.body.status, 'succeeded');
    const tok = await post('/v1/payment_methods', 'type=card&card[token]=tok_amex');
    assert.equal(tok.body.card.brand, 'amex');
  });

  test('list (newest first, paginated) and search by metadata', async () => {
    const c = await customerAndCard();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await post('/v1/payment_intents', chargeBody(c, 100 + i, `&metadata[n]=${i}`))).body.id);
    const page1 = await get(`/v1/payment_intents?customer=${c.cus}&limit=3`);
    assert.deepEqual(page1.body.data.map((p: { id: string }) => p.id), ids.slice(2).reverse());
    assert.equal(page1.body.has_more, true);
    const page2 = await get(`/v1/payment_intents?customer=${c.cus}&limit=3&starting_after=${ids[2]}`);
    assert.deepEqual(page2.body.data.map((p: { id: string }) => p.id), [ids[1], ids[0]]);
    assert.equal(page2.body.has_more, false);
    const q = encodeURIComponent(`metadata['n']:'3' AND customer:'${c.cus}'`);
    const s = await get(`/v1/payment_intents/search?query=${q}`);
    assert.deepEqual([s.body.object, s.body.data.map((p: { id: string }) => p.id)], ['search_result', [ids[3]]]);
    // the index keeps up with new payment intents
    const later = (await post('/v1/payment_intents', chargeBody(c, 999, '&metadata[n]=3'))).body.id;
    const s2 = await get(`/v1/payment_intents/search?query=${encodeURIComponent(`metadata["n"]:"3"`)}`);
    assert.deepEqual(s2.body.data.map((p: { id: string }) => p.id), [later, ids[3]]);
    assert.equal((await get(`/v1/payment_intents/search?query=${encodeURIComponent("amount>3")}`)).status, 400);
  });

  test('the official client reads the errors as typed Stripe errors', async () => {
    const cus = await h.stripe.customers.create({ email: 'x@example.test' });
    // Refused when attached (as on Stripe), then met on file as a card gone bad since.
    await assert.rejects(h.stripe.paymentMethods.attach('pm_card_chargeDeclinedProcessingError', { customer: cus.id }), (e: unknown) => e instanceof Stripe.errors.StripeCardError && e.code === 'processing_error');
    const id = `pm_fixture_typed_${++fixtures}`;
    h.sandbox.load({ cards: [{ id, customer: cus.id, number: '4000000000000119', exp_month: 12, exp_year: 2034 }] });
    const pm = { id };
    await assert.rejects(
      h.stripe.paymentIntents.create({ amount: 100, currency: 'eur', customer: cus.id, payment_method: pm.id, confirm: true, off_session: true }),
      (e: unknown) => e instanceof Stripe.errors.StripeCardError && e.code === 'processing_error' && e.network_decline_code === '96' && (e.payment_intent as { id: string }).id.startsWith('pi_'),
    );
  });
});

describe('idempotency on the wire', () => {
  test('replay with the Idempotent-Replayed header; parameter order does not matter', async () => {
    const c = await customerAndCard();
    const key = newKey('w');
    const a = await post('/v1/payment_intents', chargeBody(c), { 'idempotency-key': key });
    const reordered = chargeBody(c).split('&').reverse().join('&');
    const b = await post('/v1/payment_intents', reordered, { 'idempotency-key': key });
    assert.deepEqual(b.body, a.body);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(a.headers.get('idempotent-replayed'), null);
  });

  test('other parameters → 400 idempotency_error; another endpoint with the same key too', async () => {
    const c = await customerAndCard();
    const key = newKey('w');
    await post('/v1/payment_intents', chargeBody(c), { 'idempotency-key': key });
    const r = await post('/v1/payment_intents', chargeBody(c, 2000), { 'idempotency-key': key });
    assert.deepEqual([r.status, r.body.error.type], [400, 'idempotency_error']);
    const other = await post('/v1/customers', 'email=z%40example.test', { 'idempotency-key': key });
    assert.equal(other.status, 400);
  });

  test('declines and 5xx are stored; validation errors are not', async () => {
    const c = await customerAndCard('4000000000000002');
    const before = h.sandbox.stats().idempotency_records;
    const k1 = newKey('w');
    assert.equal((await post('/v1/payment_intents', chargeBody(c), { 'idempotency-key': k1 })).status, 402);
    const k2 = newKey('w');
    assert.equal((await post('/v1/payment_intents', 'amount=x&currency=eur', { 'idempotency-key': k2 })).status, 400);
    assert.equal(h.sandbox.stats().idempotency_records, before + 1);
    // k2 was not stored: it can now be used for a valid request
    assert.equal((await post('/v1/customers', 'email=k2%40example.test', { 'idempotency-key': k2 })).status, 200);
  });

  test('keys are forgotten after 24 hours of clock time', async () => {
    const clock = new ManualClock('2026-06-15T12:00:00Z');
    const t = await startHarness({ clock });
    try {
      const key = 'same-key';
      const hdr = { ...FORM, 'idempotency-key': key };
      const first = await (await fetch(`${t.url}/v1/customers`, { method: 'POST', headers: hdr, body: 'email=a%40x.test' })).json();
      clock.advance(23 * 3_600_000);
      assert.equal((await fetch(`${t.url}/v1/customers`, { method: 'POST', headers: hdr, body: 'email=b%40x.test' })).status, 400);
      clock.advance(2 * 3_600_000);
      const r = await fetch(`${t.url}/v1/customers`, { method: 'POST', headers: hdr, body: 'email=b%40x.test' });
      assert.equal(r.status, 200);
      assert.notEqual(((await r.json()) as { id: string }).id, (first as { id: string }).id);
      assert.equal(t.sandbox.stats().idempotency_records, 1);
    } finally {
      await t.close();
    }
  });

  test('stored records are bounded', async () => {
    const t = await startHarness({ maxIdempotencyRecords: 3 });
    try {
      for (let i = 0; i < 6; i++) await fetch(`${t.url}/v1/customers`, { method: 'POST', headers: { ...FORM, 'idempotency-key': `b${i}` }, body: 'email=a%40x.test' });
      assert.ok(t.sandbox.stats().idempotency_records <= 4);
    } finally {
      await t.close();
    }
  });

  test('a key in flight → 409', async () => {
    const c = await customerAndCard();
    h.sandbox.setFaults({ latencyMs: 100 });
    try {
      const key = newKey('w');
      const [a, b] = await Promise.all([post('/v1/payment_intents', chargeBody(c), { 'idempotency-key': key }), post('/v1/payment_intents', chargeBody(c), { 'idempotency-key': key })]);
      assert.deepEqual([a.status, b.status].sort(), [200, 409]);
      const conflict = a.status === 409 ? a : b;
      assert.equal(conflict.body.error.code, 'idempotency_key_in_use');
    } finally {
      h.sandbox.setFaults({ latencyMs: 0 });
    }
  });
});

describe('sandbox-only API', () => {
  test('scripts by HTTP: per payment method, per card number, list and clear', async () => {
    const c = await customerAndCard();
    const s = await sandboxJson('POST', `/_sandbox/payment_methods/${c.pm}/script`, { steps: [{ outcome: 'do_not_honor', times: 2 }, 'succeed'] });
    assert.equal(s.status, 200);
    assert.deepEqual(s.body.steps, [{ outcome: 'do_not_honor', times: 2 }, { outcome: 'succeed', times: 1 }]);
    const codes = [];
    for (let i = 0; i < 4; i++) {
      const r = await post('/v1/payment_intents', chargeBody(c));
      codes.push(r.status === 200 ? 'ok' : r.body.error.decline_code);
    }
    assert.deepEqual(codes, ['do_not_honor', 'do_not_honor', 'ok', 'ok']);

    const byCard = await sandboxJson('POST', '/_sandbox/scripts', { target: { card_number: '4000000000000085' }, steps: [{ outcome: 'processing_error', forever: true }] });
    assert.equal(byCard.status, 200);
    const listed = await sandboxJson('GET', '/_sandbox/scripts');
    assert.ok(listed.body.data.some((x: { target: string }) => x.target === byCard.body.target));
    await sandboxJson('DELETE', '/_sandbox/scripts');
    assert.deepEqual((await sandboxJson('GET', '/_sandbox/scripts')).body.data, []);
  });

  test('scripts by HTTP: per customer; append; validation', async () => {
    const c = await customerAndCard();
    assert.equal((await sandboxJson('POST', `/_sandbox/customers/${c.cus}/script`, { steps: ['insufficient_funds'] })).status, 200);
    const ap = await sandboxJson('POST', `/_sandbox/customers/${c.cus}/script`, { steps: [{ outcome: 'lost_card', network_decline_code: '41' }], append: true });
    assert.equal(ap.body.steps.length, 2);
    assert.equal((await post('/v1/payment_intents', chargeBody(c))).body.error.decline_code, 'insufficient_funds');
    assert.equal((await post('/v1/payment_intents', chargeBody(c))).body.error.decline_code, 'lost_card');
    assert.equal((await post('/v1/payment_intents', chargeBody(c))).status, 200);
    assert.equal((await sandboxJson('POST', '/_sandbox/payment_methods/pm_nope/script', { steps: ['succeed'] })).status, 404);
    assert.equal((await sandboxJson('POST', `/_sandbox/customers/${c.cus}/script`, { steps: [{ outcome: 'Bad Code' }] })).status, 400);
    assert.equal((await sandboxJson('POST', `/_sandbox/customers/${c.cus}/script`, { steps: [{ outcome: 'succeed', times: 0 }] })).status, 400);
    assert.equal((await sandboxJson('POST', `/_sandbox/customers/${c.cus}/script`, { steps: [{ outcome: 'succeed', until: 'never' }] })).status, 400);
    assert.equal((await sandboxJson('POST', '/_sandbox/scripts', { target: { nothing: 1 }, steps: [] })).status, 400);
  });

  test('a scripted api_error is a 500 stored under the key, with nothing charged', async () => {
    const c = await customerAndCard();
    h.sandbox.script(c.pm, ['api_error']);
    const key = newKey('w');
    const r = await post('/v1/payment_intents', chargeBody(c), { 'idempotency-key': key });
    assert.deepEqual([r.status, r.body.error.type], [500, 'api_error']);
    assert.equal((await post('/v1/payment_intents', chargeBody(c), { 'idempotency-key': key })).status, 500);
    assert.equal(h.sandbox.charges({ customer: c.cus }).length, 0);
  });

  test('faults by HTTP: validated, merged, cleared', async () => {
    assert.equal((await sandboxJson('POST', '/_sandbox/faults', { errors: { probability: 2 } })).status, 400);
    assert.equal((await sandboxJson('POST', '/_sandbox/faults', { outages: [{ from: '2026-01-02', to: '2026-01-01' }] })).status, 400);
    const set = await sandboxJson('POST', '/_sandbox/faults', { errors: { next: 1 }, seed: 7 });
    assert.deepEqual([set.body.errors.next, set.body.errors.status, set.body.seed, set.body.latencyMs], [1, 500, 7, 0]);
    const c = await customerAndCard();
    assert.equal((await post('/v1/payment_intents', chargeBody(c))).status, 500);
    assert.equal((await post('/v1/payment_intents', chargeBody(c))).status, 200, 'next: 1 means one');
    // non-charges are not affected by charge faults
    await sandboxJson('POST', '/_sandbox/faults', { errors: { next: 1 } });
    assert.equal((await post('/v1/customers', 'email=f%40x.test')).status, 200);
    const cleared = await sandboxJson('DELETE', '/_sandbox/faults');
    assert.equal(cleared.body.errors.next, 0);
  });

  test('probabilistic faults are reproducible with a seed', async () => {
    const run = async () => {
      const t = await startHarness({ faults: { errors: { probability: 0.5 }, seed: 42 } });
      try {
        const cus = await t.stripe.customers.create({});
        const out: number[] = [];
        for (let i = 0; i < 12; i++) {
          const r = await fetch(`${t.url}/v1/payment_intents`, { method: 'POST', headers: FORM, body: `amount=100&currency=eur&customer=${cus.id}&payment_method=pm_card_visa&confirm=true` });
          out.push(r.status);
        }
        return out;
      } finally {
        await t.close();
      }
    };
    const a = await run();
    assert.deepEqual(await run(), a);
    assert.ok(a.includes(500) && a.includes(200));
  });

  test('outage window by HTTP (clock time)', async () => {
    const clock = new ManualClock('2026-06-15T12:00:00Z');
    const t = await startHarness({ clock });
    try {
      await fetch(`${t.url}/_sandbox/faults`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ outages: [{ from: '2026-06-15T11:00:00Z', to: '2026-06-15T13:00:00Z' }] }) });
      const r = await fetch(`${t.url}/v1/customers`, { method: 'POST', headers: FORM, body: 'email=o%40x.test' });
      assert.equal(r.status, 503);
      assert.equal(((await r.json()) as { error: { type: string } }).error.type, 'api_error');
      clock.set('2026-06-15T13:00:00Z');
      assert.equal((await fetch(`${t.url}/v1/customers`, { method: 'POST', headers: FORM, body: 'email=o%40x.test' })).status, 200);
    } finally {
      await t.close();
    }
  });

  test('issuer outage window: charges declined issuer_not_available as a scripted decline is, stored under the key; lookups work; the script waits', async () => {
    const bad = await sandboxJson('POST', '/_sandbox/faults', { outages: [{ from: '2026-01-01', to: '2026-01-02', mode: 'bank' }] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /outages\[0\]\.mode must be "error", "drop" or "issuer"/);
    const clock = new ManualClock('2026-06-15T12:00:00Z');
    const t = await startHarness({ clock });
    const call = async (method: string, path: string, body?: string, key?: string) => {
      const r = await fetch(t.url + path, { method, headers: { ...FORM, ...(key ? { 'idempotency-key': key } : {}) }, body });
      return { status: r.status, body: (await r.json()) as any };
    };
    try {
      const set = await fetch(`${t.url}/_sandbox/faults`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ outages: [{ from: '2026-06-15T11:00:00Z', to: '2026-06-15T13:00:00Z', mode: 'issuer' }] }) });
      assert.equal(((await set.json()) as { outages: { mode: string }[] }).outages[0].mode, 'issuer');
      // Other requests work: a customer, a card attached to it (the issuer is not asked here).
      const cus = await call('POST', '/v1/customers', 'email=i%40x.test');
      assert.equal(cus.status, 200);
      const pm = await call('POST', '/v1/payment_methods', 'type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2034&card[cvc]=123');
      assert.equal((await call('POST', `/v1/payment_methods/${pm.body.id}/attach`, `customer=${cus.body.id}`)).status, 200);
      const c = { cus: cus.body.id as string, pm: pm.body.id as string };
      // Its script: succeed once, then decline for good. The outage must not use the step.
      t.sandbox.script(c.pm, ['succeed', { outcome: 'do_not_honor', forever: true }]);
      const key = newKey('iss');
      const r = await call('POST', '/v1/payment_intents', chargeBody(c), key);
      assert.equal(r.status, 402);
      assert.deepEqual([r.body.error.type, r.body.error.code, r.body.error.decline_code], ['card_error', 'card_declined', 'issuer_not_available']);
      const pi = r.body.error.payment_intent;
      assert.equal(pi.status, 'requires_payment_method');
      // Stored under the key like any decline: the same key replays the same answer.
      const again = await call('POST', '/v1/payment_intents', chargeBody(c), key);
      assert.equal(again.status, 402);
      assert.deepEqual(again.body, r.body);
      // A confirm in the window is declined the same way.
      const conf = await call('POST', `/v1/payment_intents/${pi.id}/confirm`, 'off_session=true', newKey('iss'));
      assert.deepEqual([conf.status, conf.body.error.decline_code], [402, 'issuer_not_available']);
      // Lookups answer normally.
      const got = await call('GET', `/v1/payment_intents/${pi.id}`);
      assert.deepEqual([got.status, got.body.last_payment_error.decline_code], [200, 'issuer_not_available']);
      assert.equal((await call('GET', `/v1/customers/${c.cus}`)).status, 200);
      // The same answer a scripted issuer_not_available decline gets (ids and times aside).
      const clock2 = new ManualClock('2026-06-15T12:00:00Z');
      const s = await startHarness({ clock: clock2 });
      try {
        const cus2 = await s.stripe.customers.create({ email: 'i@x.test' });
        const pm2 = await s.stripe.paymentMethods.create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' } } as never);
        await s.stripe.paymentMethods.attach(pm2.id, { customer: cus2.id });
        s.sandbox.script(pm2.id, ['issuer_not_available']);
        const r2 = await fetch(`${s.url}/v1/payment_intents`, { method: 'POST', headers: FORM, body: chargeBody({ cus: cus2.id, pm: pm2.id }) });
        assert.equal(r2.status, 402);
        const strip = (x: unknown) => JSON.parse(JSON.stringify(x).replace(/"(pi|ch|cus|pm)_[A-Za-z0-9]+(_secret_[A-Za-z0-9]+)?"/g, '"id"').replace(/"created":\d+/g, '"created":0'));
        assert.deepEqual(strip(r.body), strip(await r2.json()));
      } finally {
        await s.close();
      }
      assert.equal(t.sandbox.charges({ customer: c.cus }).length, 0, 'nothing charged in the window');
      // After the window the card's script answers: its first step (succeed) was kept.
      clock.set('2026-06-15T13:00:00Z');
      const after = await call('POST', '/v1/payment_intents', chargeBody(c), newKey('iss'));
      assert.deepEqual([after.status, after.body.status], [200, 'succeeded']);
      assert.equal((await call('POST', '/v1/payment_intents', chargeBody(c), newKey('iss'))).body.error?.decline_code, 'do_not_honor');
    } finally {
      await t.close();
    }
  });

  test('the controls need the secret test key; the pages a customer opens do not (issue 16)', async () => {
    const controls: [string, string][] = [
      ['GET', '/_sandbox'],
      ['GET', '/_sandbox/charges'],
      ['GET', '/_sandbox/stats'],
      ['POST', '/_sandbox/reset'],
      ['GET', '/_sandbox/faults'],
      ['POST', '/_sandbox/faults'],
      ['DELETE', '/_sandbox/faults'],
      ['GET', '/_sandbox/scripts'],
      ['POST', '/_sandbox/scripts'],
      ['DELETE', '/_sandbox/scripts'],
      ['POST', '/_sandbox/load'],
      ['POST', '/_sandbox/payment_methods/pm_x/script'],
      ['POST', '/_sandbox/customers/cus_x/script'],
      ['POST', '/_sandbox/payment_methods/pm_x/update'],
      ['GET', '/_sandbox/events'],
      ['POST', '/_sandbox/events/evt_x/deliver'],
    ];
    const c = await customerAndCard();
    await post('/v1/payment_intents', chargeBody(c), { 'idempotency-key': newKey() });
    const before = h.sandbox.charges().length;
    for (const [method, path] of controls)
      for (const headers of [{}, { authorization: 'Bearer sk_live_123' }, { authorization: 'Bearer renewd' }, { authorization: `Basic ${Buffer.from('pk_test_1:').toString('base64')}` }]) {
        const r = await fetch(h.url + path, { method, headers: { ...(headers as Record<string, string>), 'content-type': 'application/json' }, body: method === 'POST' ? '{"steps":["succeed"]}' : undefined });
        assert.equal(r.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.equal(((await r.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
      }
    // An encoded path reaches the same route and the same check.
    assert.equal((await fetch(`${h.url}/%5Fsandbox/reset`, { method: 'POST' })).status, 401);
    assert.equal(h.sandbox.charges().length, before, 'nothing was reset');
    assert.equal((await get('/_sandbox/stats')).status, 200, 'with the key');
    // The hosted pages answer (here: no such session / authentication) without a key.
    assert.equal((await fetch(`${h.url}/checkout/cs_test_nope`)).status, 404);
    assert.equal((await fetch(`${h.url}/checkout/checkout.css`)).status, 200);
    assert.equal((await fetch(`${h.url}/_sandbox/3ds/pi_nope/tok`)).status, 404);
    assert.equal((await fetch(`${h.url}/_sandbox/3ds/pi_nope/tok/complete`, { method: 'POST' })).status, 404);
  });

  test('GET /_sandbox/charges lists money moved, with filters and totals', async () => {
    const t = await startHarness();
    try {
      const cus = await t.stripe.customers.create({});
      for (const [i, amount] of [1000, 2000, 500].entries()) {
        await t.stripe.paymentIntents.create({ amount, currency: i === 2 ? 'usd' : 'eur', customer: cus.id, payment_method: 'pm_card_visa', confirm: true, metadata: { renewd_invoice: `inv_${i}` } }, { idempotencyKey: `ch-${i}` });
      }
      await t.stripe.paymentIntents.create({ amount: 700, currency: 'eur', customer: cus.id, payment_method: 'pm_card_chargeDeclined', confirm: true }).catch(() => null);
      const all = (await (await fetch(`${t.url}/_sandbox/charges`, { headers: AUTH })).json()) as { count: number; amount_by_currency: Record<string, number>; data: Array<{ idempotency_key: string; metadata: Record<string, string> }> };
      assert.equal(all.count, 3);
      assert.deepEqual(all.amount_by_currency, { eur: 3000, usd: 500 });
      assert.deepEqual(all.data.map((c) => c.idempotency_key), ['ch-0', 'ch-1', 'ch-2']);
      const one = (await (await fetch(`${t.url}/_sandbox/charges?metadata[renewd_invoice]=inv_1`, { headers: AUTH })).json()) as { count: number };
      assert.equal(one.count, 1);
      const paged = (await (await fetch(`${t.url}/_sandbox/charges?limit=1&offset=2`, { headers: AUTH })).json()) as { count: number; data: unknown[] };
      assert.deepEqual([paged.count, paged.data.length], [3, 1]);
      const st = t.sandbox.stats();
      assert.deepEqual([st.charges_attempted, st.charges_succeeded, st.charges_declined, st.amount_moved.eur], [4, 3, 1, 3000]);
      const viaHttp = (await (await fetch(`${t.url}/_sandbox/stats`, { headers: AUTH })).json()) as { charges_succeeded: number };
      assert.equal(viaHttp.charges_succeeded, 3);
      t.sandbox.reset();
      assert.equal(t.sandbox.charges().length, 0);
    } finally {
      await t.close();
    }
  });

  test('bulk load: customers and cards under chosen ids, validated like the API', async () => {
    const t = await startHarness();
    try {
      const n = t.sandbox.load({
        customers: [{ id: 'cus_fixture_1', email: 'f@x.test', metadata: { renewd_account_id: 'acct_fx' } }],
        cards: [{ id: 'pm_fixture_ok', customer: 'cus_fixture_1', number: '4242424242424242', exp_month: 12, exp_year: 2099 }, { id: 'pm_fixture_nsf', customer: 'cus_fixture_1', number: '4000000000009995', exp_month: 12, exp_year: 2099 }],
      });
      assert.deepEqual(n, { customers: 1, cards: 2 });
      const ok = await t.gateway.charge({ customer_ref: 'cus_fixture_1', payment_method_ref: 'pm_fixture_ok', amount: 100, currency: 'eur', idempotency_key: newKey() });
      const nsf = await t.gateway.charge({ customer_ref: 'cus_fixture_1', payment_method_ref: 'pm_fixture_nsf', amount: 100, currency: 'eur', idempotency_key: newKey() });
      assert.deepEqual([ok.outcome, nsf.reason], ['succeeded', 'insufficient_funds']);
      assert.throws(() => t.sandbox.load({ cards: [{ id: 'pm_bad', number: '4242424242424241', exp_month: 1, exp_year: 2099 }] }), /incorrect/);
      assert.throws(() => t.sandbox.load({ customers: [{ id: 'cus_fixture_1' }] }), /already exists/);
      const viaHttp = await fetch(`${t.url}/_sandbox/load`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ customers: [{ id: 'cus_http' }], cards: [{ id: 'pm_http', customer: 'cus_http', number: '5555555555554444', exp_month: 1, exp_year: 2030 }] }) });
      assert.equal(viaHttp.status, 200);
      assert.equal((await t.stripe.paymentMethods.retrieve('pm_http')).card?.brand, 'mastercard');
    } finally {
      await t.close();
    }
  });

  test('charges per second meter', () => {
    let now = 1_000_000;
    const m = new RateMeter(() => now);
    for (let s = 0; s < 5; s++) {
      for (let i = 0; i < 100 * (s + 1); i++) m.tick();
      now += 1000;
    }
    assert.equal(m.rate(5), (100 + 200 + 300 + 400 + 500) / 5);
    assert.equal(m.peak, 500);
    now += 10_000;
    assert.equal(m.rate(5), 0);
  });

  test('runSandbox (the CLI entry) listens and answers', async () => {
    const r = await runSandbox({ port: 0, clock: new ManualClock() });
    try {
      const info = (await (await fetch(`${r.url}/_sandbox`, { headers: AUTH })).json()) as { now: string; test_cards: unknown[] };
      assert.equal(info.now, '2026-06-15T12:00:00.000Z');
      assert.ok(info.test_cards.length >= 14);
    } finally {
      await r.close();
    }
  });
});

// Correctness under a burst, not speed: timings belong to `npm run bench` (its "bare sandbox
// client" reference measures the sandbox's rate), never to a test on a shared machine.
describe('a burst', () => {
  test('a burst of concurrent charges through the official client: each recorded once', async () => {
    // What is checked is that each charge is recorded once, not how fast: on a busy machine 32
    // requests at once can each take longer than the harness's usual 2 s, so no timeout bites here.
    const t = await startHarness({ timeoutMs: 120_000 });
    try {
      const cus = await t.stripe.customers.create({});
      const pm = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: cus.id });
      const N = 1000;
      let next = 0;
      const worker = async () => {
        while (next < N) {
          const i = next++;
          await t.stripe.paymentIntents.create({ amount: 100, currency: 'eur', customer: cus.id, payment_method: pm.id, confirm: true, off_session: true, metadata: { i: String(i) } }, { idempotencyKey: `tp-${i}` });
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      const charges = t.sandbox.charges();
      assert.equal(charges.length, N);
      assert.equal(new Set(charges.map((c) => c.idempotency_key)).size, N, 'each charge once, under its own key');
    } finally {
      await t.close();
    }
  });
});
