// Issue 14 part 3: 3-D Secure that completes, through the API and the sandbox's issuer page, and
// the gateway's events settling what the customer left (PostgreSQL server).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { charges, latestInvoice, portalToken, problemOf, templates } from './helpers.ts';

describe('authentication sessions (3-D Secure) and gateway events (PostgreSQL)', () => {
  let t: TestService;
  const acc: Record<string, string> = {};

  before(async () => {
    t = await startTestService({ engine: 'postgres', config: { sandboxEvents: true } });
    await createPlans(t);
    acc.active = await subscribedAccount(t);
    for (const k of ['webhook', 'fail', 'expire', 'other', 'voided']) acc[k] = await subscribedAccount(t, { later: CARDS.auth_always });
    acc.funds = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31); // the renewals fail: authentication_required (or insufficient funds)
    await t.svc.sandbox!.flushEvents();
  });
  after(() => t?.close());

  const start = (invoiceId: string, token?: string) => t.api('POST', `/v1/invoices/${invoiceId}/authentication-sessions`, undefined, token);
  const attempts = async (accountId: string) => (await latestInvoice(t, accountId)).attempts;

  /** The sandbox's challenge page, then one of its two buttons (plain forms), as a browser would. */
  async function challenge(url: string, button: 'complete' | 'fail') {
    const page = await fetch(url);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Complete authentication/);
    assert.match(html, /Fail authentication/);
    const action = new RegExp(`action="([^"]+/${button})"`).exec(html)![1];
    const r = await fetch(new URL(action, url), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    assert.equal(r.status, 303);
    return new URL(r.headers.get('location')!);
  }

  test('the renewal declined for authentication: the invoice is past due, its attempt says requires_action', async () => {
    const inv = await latestInvoice(t, acc.webhook);
    assert.equal(inv.status, 'past_due');
    assert.equal(inv.attempts.at(-1).outcome, 'requires_action');
    assert.equal(inv.attempts.at(-1).reason, 'authentication_required');
    assert.ok((await templates(t, acc.webhook)).includes('authentication_required'));
  });

  test('complete on the issuer page → paid through the gateway event alone (the customer never comes back)', async () => {
    const tok = await portalToken(t, acc.webhook);
    const inv = await latestInvoice(t, acc.webhook);
    const r = await start(inv.id, tok);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.status, 'requires_action');
    assert.ok(r.body.url.startsWith(`${t.sandboxUrl}/_sandbox/3ds/`), r.body.url);
    const now = await t.now();
    assert.equal(new Date(r.body.expires_at).getTime() - now.getTime(), 30 * 60_000);
    // Committed with its key before the gateway call, and open (not a decline) while the customer authenticates.
    const open = (await attempts(acc.webhook)).at(-1);
    assert.equal(open.trigger, 'customer_authentication');
    assert.equal(open.outcome, 'pending');
    const [key] = await t.svc.ctx.db.query<{ idempotency_key: string; gateway_ref: string }>('SELECT idempotency_key, gateway_ref FROM payment_attempts WHERE id = $1', [open.id]);
    assert.match(key.idempotency_key, /^renewd_inv_/);
    assert.match(key.gateway_ref, /^pi_/);
    // A second start while it is open: refused, nothing new.
    problemOf(await start(inv.id, tok), 409, 'attempt_in_flight');

    const back = await challenge(r.body.url, 'complete');
    assert.equal(back.pathname, '/portal/authenticate/return');
    assert.equal(back.searchParams.get('redirect_status'), 'succeeded');
    assert.equal(back.searchParams.get('payment_intent'), key.gateway_ref);
    await t.svc.sandbox!.flushEvents();
    const after = await latestInvoice(t, acc.webhook);
    assert.equal(after.status, 'paid');
    assert.equal(after.attempts.at(-1).outcome, 'succeeded');
    const sub = (await t.api('GET', `/v1/accounts/${acc.webhook}/subscription`)).body;
    assert.equal(sub.status, 'active');
    // Renewed from the original period end, as a paid retry.
    assert.equal(new Date(sub.current_period_start).getTime(), new Date((after as any).period_start).getTime());
    assert.equal((await charges(t, acc.webhook)).filter((c) => c.metadata.renewd_idempotency_key === key.idempotency_key).length, 1);
    assert.ok((await templates(t, acc.webhook)).includes('retry_succeeded'));
    // The events were stored once each; a redelivery is a duplicate that changes nothing.
    const evs = t.svc.sandbox!.events().filter((e) => (e.data.object as any).id === key.gateway_ref);
    assert.ok(evs.some((e) => e.type === 'payment_intent.succeeded'));
    for (const e of evs) assert.equal(await t.svc.sandbox!.deliverEvent(e.id), 200);
    const [row] = await t.svc.ctx.db.query<{ deliveries: number; result: string }>(`SELECT deliveries, result FROM gateway_events WHERE object_id = $1 AND type = 'payment_intent.succeeded'`, [key.gateway_ref]);
    assert.equal(row.deliveries, 2);
    assert.equal(row.result, 'applied');
    problemOf(await start(inv.id, tok), 409, 'authentication_not_needed'); // paid now
  });

  test('fail on the issuer page → recorded as a failed authentication with its reason; the customer can try again', async () => {
    const tok = await portalToken(t, acc.fail);
    const inv = await latestInvoice(t, acc.fail);
    const r = await start(inv.id, tok);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const back = await challenge(r.body.url, 'fail');
    assert.equal(back.searchParams.get('redirect_status'), 'failed');
    await t.svc.sandbox!.flushEvents();
    const a = (await attempts(acc.fail)).at(-1);
    assert.equal(a.trigger, 'customer_authentication');
    assert.equal(a.outcome, 'declined');
    assert.equal(a.reason, 'authentication_required');
    assert.equal((await latestInvoice(t, acc.fail)).status, 'past_due');
    assert.equal((await charges(t, acc.fail)).length, 1); // only the first purchase moved money
    const again = await start(inv.id, tok);
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal((await challenge(again.body.url, 'complete')).searchParams.get('redirect_status'), 'succeeded');
    await t.svc.sandbox!.flushEvents();
    assert.equal((await latestInvoice(t, acc.fail)).status, 'paid');
  });

  test('the window passes without an outcome: reconcile cancels the PaymentIntent and records a failed authentication; a late event is harmless', async () => {
    const inv = await latestInvoice(t, acc.expire);
    const r = await start(inv.id); // the operator's key
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const ref = (await t.svc.ctx.db.query<{ gateway_ref: string }>(`SELECT gateway_ref FROM payment_attempts WHERE invoice_id = $1 ORDER BY number DESC LIMIT 1`, [inv.id]))[0].gateway_ref;
    await t.api('POST', '/v1/test-clock/advance', { hours: 0.25 });
    assert.equal((await attempts(acc.expire)).at(-1).outcome, 'pending'); // still inside the window
    await t.api('POST', '/v1/test-clock/advance', { hours: 0.3 });
    const a = (await attempts(acc.expire)).at(-1);
    assert.equal(a.outcome, 'declined');
    assert.equal(a.reason, 'authentication_required');
    const pi = (await t.sandbox('GET', `/v1/payment_intents/${ref}`)).body;
    assert.equal(pi.status, 'canceled');
    // The challenge page is over: completing it now cannot charge.
    const late = await fetch(r.body.url);
    assert.equal(late.status, 404);
    // Late and replayed events change nothing.
    await t.svc.sandbox!.flushEvents();
    for (const e of t.svc.sandbox!.events().filter((e) => (e.data.object as any).id === ref)) await t.svc.sandbox!.deliverEvent(e.id);
    const again = (await attempts(acc.expire)).at(-1);
    assert.equal(again.outcome, 'declined');
    assert.equal((await latestInvoice(t, acc.expire)).status, 'past_due');
    assert.equal((await charges(t, acc.expire)).length, 1);
  });

  test('409 when the invoice does not need authentication: paid, void, or its last failure was not authentication', async () => {
    const paid = await latestInvoice(t, acc.active);
    assert.equal(paid.status, 'paid');
    problemOf(await start(paid.id, await portalToken(t, acc.active)), 409, 'authentication_not_needed');
    const funds = await latestInvoice(t, acc.funds);
    assert.equal(funds.status, 'past_due');
    const before = funds.attempts.length;
    problemOf(await start(funds.id, await portalToken(t, acc.funds)), 409, 'authentication_not_needed');
    assert.equal((await latestInvoice(t, acc.funds)).attempts.length, before); // nothing written
    const voided = await latestInvoice(t, acc.voided);
    assert.equal((await t.api('POST', `/v1/accounts/${acc.voided}/subscription/cancel`, { at: 'now' })).status, 200);
    assert.equal((await latestInvoice(t, acc.voided)).status, 'void');
    problemOf(await start(voided.id), 409, 'authentication_not_needed');
  });

  test("another account's invoice: 404, nothing written", async () => {
    const inv = await latestInvoice(t, acc.other);
    problemOf(await start(inv.id, await portalToken(t, acc.active)), 404, 'not_found');
    problemOf(await start('inv_nope'), 404, 'not_found');
    assert.equal((await latestInvoice(t, acc.other)).attempts.length, 1);
  });
});
