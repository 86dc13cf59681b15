// Issue 14 part 4: the gateway's own events at POST /v1/gateway-events — verified with the official
// stripe.webhooks.constructEvent, refused (400, nothing stored) when the signature is bad, stale or
// replayed late; each event id processed exactly once; the account updater's card update.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { latestInvoice, problemOf } from './helpers.ts';

describe('gateway events (PGlite)', () => {
  let t: TestService;
  let secret: string;

  before(async () => {
    t = await startTestService({ config: { sandboxEvents: true } });
    await createPlans(t);
    secret = t.svc.ctx.gatewayEventSecret!;
    assert.match(secret, /^whsec_/);
    // Events wait until the test delivers them (flushEvents, deliverEvent): no timing in the assertions.
    t.svc.sandbox!.setWebhook({ url: `${t.url}/v1/gateway-events`, secret, delayMs: 3_600_000 });
  });
  after(() => t?.close());

  const clockSec = async () => Math.floor((await t.now()).getTime() / 1000);
  const event = (id: string, type: string, object: Record<string, unknown>, created: number) =>
    JSON.stringify({ id, object: 'event', api_version: '2026-01-28.clover', created, data: { object }, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type });
  async function post(payload: string, signature: string | null) {
    const res = await fetch(`${t.url}/v1/gateway-events`, { method: 'POST', headers: { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}) }, body: payload });
    return { status: res.status, body: await res.json(), headers: res.headers };
  }
  const sign = (payload: string, timestamp: number, key = secret) => Stripe.webhooks.generateTestHeaderString({ payload, secret: key, timestamp });
  const stored = async (id: string) => (await t.svc.ctx.db.query<{ deliveries: number; result: string | null; processed_at: Date | null }>('SELECT deliveries, result, processed_at FROM gateway_events WHERE id = $1', [id]))[0];

  test('a bad signature, a missing one, a tampered body or a stale timestamp: 400 invalid_signature, nothing stored', async () => {
    const now = await clockSec();
    const payload = event('evt_bad_1', 'setup_intent.succeeded', { id: 'seti_1', object: 'setup_intent' }, now);
    problemOf(await post(payload, sign(payload, now, 'whsec_not_the_secret')), 400, 'invalid_signature');
    problemOf(await post(payload, null), 400, 'invalid_signature');
    problemOf(await post(payload.replace('seti_1', 'seti_2'), sign(payload, now)), 400, 'invalid_signature');
    problemOf(await post(payload, sign(payload, now - 10 * 60)), 400, 'invalid_signature'); // signed 10 minutes ago (test clock)
    problemOf(await post(payload, 't=abc,v1=def'), 400, 'invalid_signature');
    assert.equal(await stored('evt_bad_1'), undefined);
  });

  test('an event is processed once: a duplicate answers duplicate and changes nothing; unhandled types are acknowledged and stored', async () => {
    const now = await clockSec();
    const payload = event('evt_once_1', 'setup_intent.succeeded', { id: 'seti_9', object: 'setup_intent' }, now);
    const first = await post(payload, sign(payload, now));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { id: 'evt_once_1', type: 'setup_intent.succeeded', duplicate: false, result: 'unhandled' });
    const again = await post(payload, sign(payload, now));
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
    const row = await stored('evt_once_1');
    assert.equal(row.deliveries, 2);
    assert.equal(row.result, 'unhandled');
  });

  test('a replay of a captured delivery after the tolerance is refused, even with its original valid signature', async () => {
    const now = await clockSec();
    const payload = event('evt_replay_1', 'checkout.session.completed', { id: 'cs_1', object: 'checkout.session' }, now);
    const sig = sign(payload, now);
    assert.equal((await post(payload, sig)).status, 200);
    await t.api('POST', '/v1/test-clock/advance', { hours: 1 });
    problemOf(await post(payload, sig), 400, 'invalid_signature');
    assert.equal((await stored('evt_replay_1')).deliveries, 1);
  });

  test("a payment_intent event for a charge renewd did not make is stored and ignored", async () => {
    const now = await clockSec();
    const payload = event('evt_pi_foreign', 'payment_intent.succeeded', { id: 'pi_foreign', object: 'payment_intent', status: 'succeeded', amount: 100, currency: 'eur', metadata: {}, customer: null }, now);
    const r = await post(payload, sign(payload, now));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result, 'ignored');
  });

  test('payment_method.automatically_updated: new expiry and number stored; a past-due invoice gets an attempt at once; an older update arriving late is ignored', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    await t.svc.sandbox!.flushEvents();
    assert.equal((await latestInvoice(t, id)).status, 'past_due');
    const [pm] = await t.svc.ctx.db.query<{ id: string; gateway_ref: string; last4: string }>(`SELECT id, gateway_ref, last4 FROM payment_methods WHERE account_id = $1 AND status = 'active'`, [id]);
    assert.equal(pm.last4, '9995');
    // The network's updater: the bank reissued the card (new number and expiry), same payment method.
    const older = await t.sandbox('POST', `/_sandbox/payment_methods/${pm.gateway_ref}/update`, { exp_month: 3, exp_year: 2031 });
    assert.equal(older.status, 200, JSON.stringify(older.body));
    // 36 seconds later, the older one's delivery still late (an advance would deliver it first:
    // the clock is moved by hand, as time passes between a gateway's retries).
    const tc = t.svc.ctx.testClock!;
    tc.set(new Date(tc.now().getTime() + 36_000));
    const upd = await t.sandbox('POST', `/_sandbox/payment_methods/${pm.gateway_ref}/update`, { exp_month: 9, exp_year: 2032, number: CARDS.ok });
    assert.equal(upd.status, 200, JSON.stringify(upd.body));
    const events = t.svc.sandbox!.events().filter((e) => e.type === 'payment_method.automatically_updated' && (e.data.object as any).id === pm.gateway_ref);
    assert.equal(events.length, 2);
    // The newer one first, the older one after it (out of order).
    assert.equal(await t.svc.sandbox!.deliverEvent(events[1].id), 200);
    assert.equal(await t.svc.sandbox!.deliverEvent(events[0].id), 200);
    await t.svc.sandbox!.flushEvents(); // the scheduled deliveries: duplicates now
    const [after] = await t.svc.ctx.db.query<{ last4: string; exp_month: number; exp_year: number }>('SELECT last4, exp_month, exp_year FROM payment_methods WHERE id = $1', [pm.id]);
    assert.deepEqual({ ...after }, { last4: '4242', exp_month: 9, exp_year: 2032 });
    assert.equal((await stored(events[0].id)).result, 'ignored');
    const inv = await latestInvoice(t, id);
    assert.equal(inv.status, 'paid');
    assert.equal(inv.attempts.at(-1).trigger, 'payment_method_updated');
    assert.equal(inv.attempts.filter((a: any) => a.trigger === 'payment_method_updated').length, 1); // once, however often delivered
    const timeline = (await t.api('GET', `/v1/accounts/${id}/timeline`)).body.events.map((e: any) => e.type);
    assert.ok(timeline.includes('payment_method.automatically_updated'));
  });
});
