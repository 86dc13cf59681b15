// The sandbox's 3-D Secure flow as Stripe runs it, driven with the official client and renewd's
// adapter: on-session confirmation with return_url → requires_action with next_action.redirect_to_url
// → the issuer's test page (Complete / Fail) → back to return_url; off-session still declines with
// authentication_required; its events are signed so stripe.webhooks.constructEvent accepts them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import Stripe from 'stripe';
import { verifyGatewayEvent } from '../../src/gateway/stripe-events.ts';
import { chargeReq, customerWithCard, customerWithDecliningCard, newKey, startHarness, type Harness } from './harness.ts';

const RETURN = 'https://merchant.example/portal/authenticate/return';
const SECRET = 'whsec_sandbox_test_secret';

describe('3-D Secure in the sandbox (official client)', () => {
  let h: Harness;
  let hook: Server;
  const received: { body: string; signature: string }[] = [];

  before(async () => {
    h = await startHarness();
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ body, signature: String(req.headers['stripe-signature']) });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const port = (hook.address() as { port: number }).port;
    h.sandbox.setWebhook({ url: `http://127.0.0.1:${port}/hook`, secret: SECRET, delayMs: 3_600_000 });
  });
  after(async () => {
    await h.close();
    await new Promise((r) => hook.close(r));
  });

  async function press(url: string, button: 'complete' | 'fail') {
    const html = await (await fetch(url)).text();
    const action = new RegExp(`action="([^"]+/${button})"`).exec(html)![1];
    const r = await fetch(new URL(action, url), { method: 'POST', redirect: 'manual' });
    assert.equal(r.status, 303);
    return new URL(r.headers.get('location')!);
  }

  for (const number of ['4000002760003184', '4000002500003155', '4000000000003220']) {
    test(`${number}: on-session with return_url → redirect_to_url; Complete → succeeded, money moved once`, async () => {
      const c = await customerWithCard(h, number);
      const key = newKey();
      const pi = await h.stripe.paymentIntents.create(
        { amount: 2900, currency: 'eur', customer: c.customer_ref, payment_method: c.payment_method_ref, confirm: true, off_session: false, return_url: RETURN, metadata: { renewd_idempotency_key: key } },
        { idempotencyKey: key },
      );
      assert.equal(pi.status, 'requires_action');
      assert.equal(pi.next_action?.type, 'redirect_to_url');
      const url = pi.next_action!.redirect_to_url!.url!;
      assert.ok(url.startsWith(`${h.url}/_sandbox/3ds/${pi.id}/`), url);
      assert.equal(pi.next_action!.redirect_to_url!.return_url, RETURN);
      const back = await press(url, 'complete');
      assert.equal(back.origin + back.pathname, RETURN);
      assert.equal(back.searchParams.get('payment_intent'), pi.id);
      assert.equal(back.searchParams.get('redirect_status'), 'succeeded');
      assert.equal((await h.stripe.paymentIntents.retrieve(pi.id)).status, 'succeeded');
      assert.equal(h.sandbox.charges({ payment_intent: pi.id }).length, 1);
      // The page is over: pressing again does nothing.
      assert.equal((await fetch(url)).status, 404);
      assert.equal((await fetch(`${url}/complete`, { method: 'POST', redirect: 'manual' })).status, 404);
      assert.equal(h.sandbox.charges({ payment_intent: pi.id }).length, 1);
    });
  }

  test('Fail → requires_payment_method with payment_intent_authentication_failure; nothing charged', async () => {
    const c = await customerWithCard(h, '4000002760003184');
    const r = await h.gateway.startAuthentication({ ...chargeReq(c, newKey()), return_url: RETURN });
    assert.equal(r.outcome, 'requires_action');
    assert.ok(r.redirect_url);
    const back = await press(r.redirect_url!, 'fail');
    assert.equal(back.searchParams.get('redirect_status'), 'failed');
    const pi = await h.stripe.paymentIntents.retrieve(r.gateway_ref!);
    assert.equal(pi.status, 'requires_payment_method');
    assert.equal(pi.last_payment_error?.code, 'payment_intent_authentication_failure');
    const got = await h.gateway.getCharge(r.gateway_ref!);
    assert.equal(got?.outcome, 'declined');
    assert.equal(got?.reason, 'authentication_required');
    assert.equal(h.sandbox.charges({ payment_intent: pi.id }).length, 0);
  });

  test('the adapter: startAuthentication replays under its key; cancelAuthentication ends a waiting one; lookup finds it', async () => {
    const c = await customerWithCard(h, '4000002760003184');
    const req = { ...chargeReq(c, newKey()), return_url: RETURN };
    const first = await h.gateway.startAuthentication(req);
    const again = await h.gateway.startAuthentication(req);
    assert.equal(again.gateway_ref, first.gateway_ref);
    assert.equal((await h.gateway.lookup(req))?.outcome, 'requires_action');
    const canceled = await h.gateway.cancelAuthentication(first.gateway_ref!);
    assert.notEqual(canceled.outcome, 'succeeded');
    assert.equal((await h.stripe.paymentIntents.retrieve(first.gateway_ref!)).status, 'canceled');
    assert.equal((await fetch(first.redirect_url!)).status, 404);
  });

  test('a card that needs no challenge succeeds on-session at once (no redirect)', async () => {
    const c = await customerWithCard(h, '4242424242424242');
    const r = await h.gateway.startAuthentication({ ...chargeReq(c, newKey()), return_url: RETURN });
    assert.equal(r.outcome, 'succeeded');
    assert.equal(r.redirect_url, null);
  });

  test('off-session on the same cards still declines with authentication_required', async () => {
    const c = await customerWithCard(h, '4000002500003155');
    const r = await h.gateway.charge(chargeReq(c, newKey()));
    assert.equal(r.outcome, 'requires_action');
    assert.equal(r.raw.code, 'authentication_required');
  });

  test('events are Stripe-signed: constructEvent accepts them, a wrong secret does not; the account updater sends payment_method.automatically_updated', async () => {
    const c = await customerWithDecliningCard(h, '4000000000009995');
    const up = await fetch(`${h.url}/_sandbox/payment_methods/${c.payment_method_ref}/update`, { method: 'POST', headers: { authorization: 'Bearer sk_test_renewd', 'content-type': 'application/json' }, body: JSON.stringify({ exp_month: 4, exp_year: 2033 }) });
    assert.equal(up.status, 200);
    received.length = 0;
    await h.sandbox.flushEvents();
    assert.ok(received.length > 0);
    const now = h.clock.now();
    const types = received.map((r) => verifyGatewayEvent(r.body, r.signature, SECRET, now).type);
    assert.ok(types.includes('payment_intent.succeeded'));
    assert.ok(types.includes('payment_intent.payment_failed'));
    const upd = received.map((r) => verifyGatewayEvent(r.body, r.signature, SECRET, now)).find((e) => e.type === 'payment_method.automatically_updated')!;
    assert.equal(upd.payment_method?.gateway_ref, c.payment_method_ref);
    assert.equal(upd.payment_method?.exp_year, 2033);
    assert.throws(() => Stripe.webhooks.constructEvent(received[0].body, received[0].signature, 'whsec_other'));
    // Signed on the sandbox clock: ten minutes later the same delivery is stale.
    assert.throws(() => verifyGatewayEvent(received[0].body, received[0].signature, SECRET, new Date(now.getTime() + 10 * 60_000)));
  });
});
