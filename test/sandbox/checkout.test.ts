// The sandbox's Checkout in setup mode, through the official stripe client and the adapter: the
// session and SetupIntent objects, Stripe-shaped refusals of bad parameters, the hosted page (good
// card → attached, session complete, 303 to success_url; declining card → error on the page, the
// session stays open; 4000000000000341 sets up and fails later), cancel link and 24 h expiry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { startHarness, type Harness } from './harness.ts';
import { checkoutTexts } from '../../src/sandbox/checkout-page.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const SUCCESS = 'https://renewd.example/portal/billing/return?session_id={CHECKOUT_SESSION_ID}&state=abc';
const CANCEL = 'https://renewd.example/portal#billing';

async function customer(account = 'acct_cs') {
  return (await h.stripe.customers.create({ email: 'c@example.test', metadata: { renewd_account_id: account } })).id;
}

async function session(cus: string, extra: Partial<Stripe.Checkout.SessionCreateParams> = {}) {
  return h.stripe.checkout.sessions.create({ mode: 'setup', customer: cus, currency: 'eur', success_url: SUCCESS, cancel_url: CANCEL, metadata: { renewd_account_id: 'acct_cs' }, ...extra });
}

/** Submits the hosted page's form as a browser would (no redirect following). */
async function submit(url: string, card: { number: string; expiry?: string; cvc?: string }) {
  const body = new URLSearchParams({ number: card.number, expiry: card.expiry ?? '12 / 34', cvc: card.cvc ?? '123' });
  const r = await fetch(url, { method: 'POST', body, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return { status: r.status, location: r.headers.get('location'), text: await r.text() };
}

describe('checkout sessions (setup mode) over the official client', () => {
  test('create: open, 24 h expiry on the sandbox clock, url on the sandbox, a SetupIntent waiting', async () => {
    const cus = await customer();
    const cs = await session(cus, { locale: 'fr' });
    assert.match(cs.id, /^cs_test_/);
    assert.equal(cs.mode, 'setup');
    assert.equal(cs.status, 'open');
    assert.equal(cs.customer, cus);
    assert.equal(cs.locale, 'fr');
    assert.equal(cs.expires_at, Math.floor(h.clock.now().getTime() / 1000) + 86_400);
    assert.equal(cs.url, `${h.url}/checkout/${cs.id}`);
    assert.equal(typeof cs.setup_intent, 'string');
    const si = await h.stripe.setupIntents.retrieve(cs.setup_intent as string);
    assert.equal(si.status, 'requires_payment_method');
    assert.equal(si.customer, cus);
  });

  test('bad parameters: 400 invalid_request_error naming the param, nothing created', async () => {
    const cus = await customer();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ customer: cus, currency: 'eur', success_url: SUCCESS }, 'mode'],
      [{ mode: 'payment', customer: cus, currency: 'eur', success_url: SUCCESS }, 'mode'],
      [{ mode: 'setup', customer: cus, success_url: SUCCESS }, 'currency'],
      [{ mode: 'setup', customer: cus, currency: 'eur' }, 'success_url'],
      [{ mode: 'setup', customer: cus, currency: 'eur', success_url: 'not a url' }, 'success_url'],
      [{ mode: 'setup', customer: cus, currency: 'eur', success_url: SUCCESS, locale: 'xx' }, 'locale'],
      [{ mode: 'setup', customer: cus, currency: 'eur', success_url: SUCCESS, colour: 'red' }, 'colour'],
    ];
    for (const [params, param] of cases) {
      await assert.rejects(
        h.stripe.checkout.sessions.create(params as unknown as Stripe.Checkout.SessionCreateParams),
        (e: Stripe.errors.StripeError) => e.statusCode === 400 && e.type === 'StripeInvalidRequestError' && e.param === param,
        `refused for ${param}`,
      );
    }
    await assert.rejects(session('cus_missing'), (e: Stripe.errors.StripeError) => e.statusCode === 404 && e.code === 'resource_missing');
  });

  test('the hosted page lists the test cards, in the session language, with labelled fields and a cancel link', async () => {
    const cs = await session(await customer(), { locale: 'fr' });
    const r = await fetch(cs.url!);
    assert.equal(r.status, 200);
    const page = await r.text();
    assert.match(page, /<html lang="fr">/);
    assert.match(page, /<label for="number">Numéro de carte<\/label>/);
    assert.match(page, /autocomplete="cc-number"/);
    assert.match(page, /4000000000000341/);
    assert.ok(page.includes(`href="${CANCEL}"`));
    assert.match(r.headers.get('content-security-policy') ?? '', /form-action 'self'/);
    const en = await (await fetch((await session(await customer())).url!)).text();
    assert.match(en, /<label for="number">Card number<\/label>/);
  });

  test('a good card: attached to the customer, SetupIntent succeeded, session complete, 303 to success_url with the id', async () => {
    const cus = await customer();
    const cs = await session(cus);
    const r = await submit(cs.url!, { number: '4242 4242 4242 4242' });
    assert.equal(r.status, 303);
    assert.equal(r.location, SUCCESS.replace('{CHECKOUT_SESSION_ID}', cs.id));
    const done = await h.stripe.checkout.sessions.retrieve(cs.id, { expand: ['setup_intent', 'setup_intent.payment_method'] });
    assert.equal(done.status, 'complete');
    assert.equal(done.url, null);
    const si = done.setup_intent as Stripe.SetupIntent;
    assert.equal(si.status, 'succeeded');
    const pm = si.payment_method as Stripe.PaymentMethod;
    assert.equal(pm.customer, cus);
    assert.equal(pm.card?.last4, '4242');
    // Unexpanded: ids only.
    const plain = await h.stripe.checkout.sessions.retrieve(cs.id);
    assert.equal(plain.setup_intent, si.id);
    const si2 = await h.stripe.setupIntents.retrieve(si.id);
    assert.equal(si2.payment_method, pm.id);
    // What the events work needs: the completion and the SetupIntent's success, in order.
    const ev = h.sandbox.checkout.events.filter((e) => e.object_id === cs.id || e.object_id === si.id).map((e) => e.type);
    assert.deepEqual(ev, ['setup_intent.succeeded', 'checkout.session.completed']);
    // A second submit changes nothing.
    const again = await submit(cs.url!, { number: '5555555555554444' });
    assert.equal(again.status, 409);
    const pms = await h.stripe.paymentMethods.list({ customer: cus, type: 'card' });
    assert.equal(pms.data.length, 1);
  });

  test('a declining card fails at setup: the page shows the error, nothing attached, the session stays open for another card', async () => {
    const cus = await customer();
    const cs = await session(cus);
    const r = await submit(cs.url!, { number: '4000000000000002' });
    assert.equal(r.status, 402);
    assert.match(r.text, /role="alert"/);
    assert.match(r.text, /Your card was declined/);
    assert.ok(!r.text.includes('4000000000000002"'), 'the number is not written back into the form');
    let s = await h.stripe.checkout.sessions.retrieve(cs.id, { expand: ['setup_intent'] });
    assert.equal(s.status, 'open');
    assert.equal((s.setup_intent as Stripe.SetupIntent).last_setup_error?.decline_code, 'generic_decline');
    assert.equal((await h.stripe.paymentMethods.list({ customer: cus, type: 'card' })).data.length, 0);
    assert.match((await submit(cs.url!, { number: '4000000000009995' })).text, /insufficient funds/);
    const bad = await submit(cs.url!, { number: '4242424242424241' });
    assert.equal(bad.status, 402);
    assert.match(bad.text, /aria-invalid="true"/);
    const ok = await submit(cs.url!, { number: '4242424242424242' });
    assert.equal(ok.status, 303);
    s = await h.stripe.checkout.sessions.retrieve(cs.id);
    assert.equal(s.status, 'complete');
  });

  test('4000000000000341 sets up (and is declined later, on the charge)', async () => {
    const cus = await customer();
    const cs = await session(cus);
    assert.equal((await submit(cs.url!, { number: '4000000000000341' })).status, 303);
    const g = await h.gateway.getCardSetup(cs.id);
    assert.equal(g.status, 'complete');
    const charge = await h.gateway.charge({ customer_ref: cus, payment_method_ref: g.payment_method!.gateway_ref, amount: 1000, currency: 'EUR', idempotency_key: `k_${cs.id}` });
    assert.equal(charge.outcome, 'declined');
  });

  test('sessions expire after 24 h of sandbox time: the page says so, the card is not taken', async () => {
    const cs = await session(await customer());
    h.clock.advance(86_400_000);
    const s = await h.stripe.checkout.sessions.retrieve(cs.id);
    assert.equal(s.status, 'expired');
    assert.equal(s.url, null);
    const r = await submit(`${h.url}/checkout/${cs.id}`, { number: '4242424242424242' });
    assert.equal(r.status, 409);
    assert.ok(r.text.includes(CANCEL));
    await assert.rejects(h.stripe.checkout.sessions.create({ mode: 'setup', customer: await customer(), currency: 'eur', success_url: SUCCESS, expires_at: Math.floor(h.clock.now().getTime() / 1000) + 60 }), (e: Stripe.errors.StripeError) => e.param === 'expires_at');
  });
});

describe('the adapter: startCardSetup / getCardSetup', () => {
  test('start answers id, url and expiry; get reads status, account and the attached card (never the number)', async () => {
    const cus = await customer('acct_adapter');
    const s = await h.gateway.startCardSetup({ customer_ref: cus, account_id: 'acct_adapter', success_url: SUCCESS, cancel_url: CANCEL, locale: 'fr-FR', currency: 'EUR' });
    assert.match(s.id, /^cs_test_/);
    assert.equal(s.url, `${h.url}/checkout/${s.id}`);
    assert.equal(s.expires_at.getTime(), Math.floor(h.clock.now().getTime() / 1000) * 1000 + 86_400_000);
    let g = await h.gateway.getCardSetup(s.id);
    assert.deepEqual(g, { id: s.id, status: 'open', account_id: 'acct_adapter', setup_intent_ref: g.setup_intent_ref, payment_method: null });
    assert.match(g.setup_intent_ref ?? '', /^seti_/);
    // What the adapter asked for, as Stripe documents it.
    const cs = await h.stripe.checkout.sessions.retrieve(s.id, { expand: ['setup_intent'] });
    assert.deepEqual([cs.mode, cs.customer, cs.currency, cs.locale, cs.success_url, cs.cancel_url], ['setup', cus, 'eur', 'fr', SUCCESS, CANCEL]);
    assert.deepEqual(cs.metadata, { renewd_account_id: 'acct_adapter' });
    assert.deepEqual((cs.setup_intent as Stripe.SetupIntent).metadata, { renewd_account_id: 'acct_adapter' });
    const page = await (await fetch(s.url)).text();
    assert.match(page, /<html lang="fr">/, 'fr-FR is passed as Checkout locale fr');
    await submit(s.url, { number: '5555555555554444', expiry: '03/31' });
    g = await h.gateway.getCardSetup(s.id);
    assert.equal(g.status, 'complete');
    assert.deepEqual({ ...g.payment_method, gateway_ref: 'x' }, { gateway_ref: 'x', type: 'card', brand: 'mastercard', last4: '4444', exp_month: 3, exp_year: 2031 });
  });

  test('a customer unknown to the gateway: a gateway error, nothing opened', async () => {
    await assert.rejects(
      h.gateway.startCardSetup({ customer_ref: 'cus_gone', account_id: 'a', success_url: SUCCESS, cancel_url: CANCEL, currency: 'EUR' }),
      (e: Error & { code?: string }) => e.name === 'GatewayError' && e.code === 'gateway_invalid_request',
    );
  });

  test('an unknown session is a gateway error, not a crash', async () => {
    await assert.rejects(h.gateway.getCardSetup('cs_test_nope'), (e: Error) => e.name === 'GatewayError');
  });
});

test('the hosted page speaks the session locale, else the best of Accept-Language (q-values, regions), else English', () => {
  assert.equal(checkoutTexts('fr', 'de').lang, 'fr');
  assert.equal(checkoutTexts('auto', 'nl-NL,nl;q=0.9,pl;q=0.8').lang, 'pl');
  assert.equal(checkoutTexts(null, 'pt-BR').lang, 'pt');
  assert.equal(checkoutTexts(null, 'en;q=0.3, it;q=0.9').lang, 'it');
  assert.equal(checkoutTexts('ja', 'ja-JP, *;q=0.1').lang, 'en');
  assert.equal(checkoutTexts(null, ';;,garbage').lang, 'en');
  assert.equal(checkoutTexts(null).lang, 'en');
});
