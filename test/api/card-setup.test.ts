// Card capture on the gateway's hosted page, over HTTP: POST /v1/accounts/{id}/card-setup-sessions
// (admin or the customer's own token; another account's token: 404), the return that saves the
// card with the same command as PUT …/payment-method (a past-due invoice paid at once), and every
// bad return changing nothing: an unknown session, a wrong state, a return in another browser
// session, a replay. With a real gateway (RENEWD_GATEWAY=stripe, here pointed at a sandbox started
// by the test), raw card data is refused with raw_card_data_not_accepted and nothing changes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, card, type TestService } from '../helpers/service.ts';
import { portalToken } from '../web/browser.ts';
import { completeCardSetup } from '../../src/engine/card-setup.ts';
import { createSandbox, type Sandbox } from '../../src/sandbox/server.ts';

const form = (o: Record<string, string>) => ({ method: 'POST', redirect: 'manual' as const, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o).toString() });

/** The customer types a card on the hosted page (as Chromium would); answers where the gateway sends the browser. */
async function typeCard(url: string, number: string) {
  const r = await fetch(url, form({ number, expiry: '12/34', cvc: '123' }));
  assert.equal(r.status, 303, `hosted page answered ${r.status}`);
  return r.headers.get('location')!;
}

async function attemptsOf(t: TestService, id: string) {
  return ((await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data as { attempts: unknown[] }[]).reduce((n, i) => n + i.attempts.length, 0);
}

describe('card setup sessions with the sandbox gateway', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
    await createPlans(t);
  });
  after(() => t?.close());

  async function pastDue(locale = 'fr-FR') {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds, locale });
    await t.advance(31);
    return id;
  }

  test('admin: 201 {id, url, expires_at} on the sandbox page; the return saves the card, pays the invoice and goes to return_url', async () => {
    const id = await pastDue();
    const r = await t.api('POST', `/v1/accounts/${id}/card-setup-sessions`, { return_url: 'https://app.example.com/billing?x=1' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ['expires_at', 'id', 'url']);
    assert.equal(r.body.url, `${t.sandboxUrl}/checkout/${r.body.id}`);
    assert.equal(new Date(r.body.expires_at).getTime(), (await t.now()).getTime() + 86_400_000);
    const back = await typeCard(r.body.url, CARDS.ok);
    assert.ok(back.startsWith(`${t.url}/portal/billing/return?session_id=${r.body.id}&state=`), back);
    const ret = await fetch(back, { redirect: 'manual' });
    assert.equal(ret.status, 303);
    assert.equal(ret.headers.get('location'), 'https://app.example.com/billing?x=1&card_setup=paid');
    assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'active');
    assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).body.last4, '4242');
    // A replay: nothing changes, and the app is told so.
    const attempts = await attemptsOf(t, id);
    const again = await fetch(back, { redirect: 'manual' });
    assert.equal(again.headers.get('location'), 'https://app.example.com/billing?x=1&card_setup=replayed');
    assert.equal(await attemptsOf(t, id), attempts);
    // completeCardSetup again (the gateway's event, later): the first result, nothing new.
    const c = await completeCardSetup(t.svc.ctx, r.body.id);
    assert.equal(c.status, 'saved');
    assert.equal(c.status === 'saved' && c.already, true);
    assert.equal(c.status === 'saved' && c.attempt?.outcome, 'succeeded');
    assert.equal(await attemptsOf(t, id), attempts);
  });

  test('a card that sets up and then fails (4000000000000341): saved, the retry declined with its reason; no return_url: the result page', async () => {
    const id = await pastDue('en-GB');
    const r = await t.api('POST', `/v1/accounts/${id}/card-setup-sessions`, {});
    assert.equal(r.status, 201);
    const ret = await fetch(await typeCard(r.body.url, CARDS.attach_then_fail), { redirect: 'manual' });
    assert.equal(ret.status, 200);
    const text = await ret.text();
    assert.match(text, /Your card was saved, but the payment failed/);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).body.last4, '0341');
    assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'past_due');
  });

  test('the browser and the gateway event completing at once save the card once', async () => {
    const id = await pastDue();
    const r = await t.api('POST', `/v1/accounts/${id}/card-setup-sessions`, {});
    // Not completed before the customer typed a card: nothing saved.
    assert.deepEqual(await completeCardSetup(t.svc.ctx, r.body.id), { status: 'open' });
    await typeCard(r.body.url, CARDS.ok);
    const both = await Promise.all([completeCardSetup(t.svc.ctx, r.body.id), completeCardSetup(t.svc.ctx, r.body.id)]);
    assert.equal(both.filter((x) => x.status === 'saved' && !x.already).length, 1, JSON.stringify(both));
    const rows = await t.svc.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM payment_methods WHERE account_id = $1', [id]);
    assert.equal(rows[0].n, 3, 'the two cards of subscribedAccount and the new one, saved once');
    const paid = ((await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data as { status: string; attempts: { outcome: string }[] }[])[0];
    assert.equal(paid.status, 'paid');
    assert.equal(paid.attempts.filter((a) => a.outcome === 'succeeded').length, 1);
  });

  test("the customer's own token: 201; another account's: 404; return_url off this service: 400; nothing opened", async () => {
    const a = await pastDue();
    const b = await subscribedAccount(t);
    const token = await portalToken(t, a);
    assert.equal((await t.api('POST', `/v1/accounts/${a}/card-setup-sessions`, {}, token)).status, 201);
    const other = await t.api('POST', `/v1/accounts/${b}/card-setup-sessions`, {}, token);
    assert.equal(other.status, 404);
    assert.equal(other.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const off = await t.api('POST', `/v1/accounts/${a}/card-setup-sessions`, { return_url: 'https://evil.example/' }, token);
    assert.equal(off.status, 400);
    assert.equal(off.body.code, 'validation_error');
    const bad = await t.api('POST', `/v1/accounts/${a}/card-setup-sessions`, { return_url: 'x', extra: 1 });
    assert.equal(bad.status, 400);
    const rows = await t.svc.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM card_setup_sessions WHERE account_id = $1', [b]);
    assert.equal(rows[0].n, 0);
  });

  test('pages: the return must carry the recorded state and come to the browser session that started it; a replay changes nothing', async () => {
    const id = await pastDue();
    const signIn = async () => {
      const res = await fetch(`${t.url}/portal?token=${encodeURIComponent(await portalToken(t, id))}`, { redirect: 'manual' });
      const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const page = await (await fetch(`${t.url}/portal`, { headers: { cookie } })).text();
      return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page)![1] };
    };
    const flashOf = async (cookie: string) => {
      const page = await (await fetch(`${t.url}/portal`, { headers: { cookie } })).text();
      return /<div id="flash"[^>]*><p>([^<]*)<\/p>/.exec(page)?.[1] ?? '';
    };
    const a = await signIn();
    const b = await signIn();
    // No CSRF token: 403 and no session opened.
    assert.equal((await fetch(`${t.url}/portal/billing/setup`, { ...form({}), headers: { ...form({}).headers, cookie: a.cookie } })).status, 403);
    const start = await fetch(`${t.url}/portal/billing/setup`, { ...form({ _csrf: a.csrf }), headers: { ...form({}).headers, cookie: a.cookie } });
    assert.equal(start.status, 303);
    const hosted = start.headers.get('location')!;
    assert.ok(hosted.startsWith(`${t.sandboxUrl}/checkout/cs_test_`), hosted);
    const back = new URL(await typeCard(hosted, CARDS.ok));
    const before = { pm: (await t.api('GET', `/v1/accounts/${id}/payment-method`)).body.last4, attempts: await attemptsOf(t, id) };
    const unchanged = async () => {
      assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).body.last4, before.pm);
      assert.equal(await attemptsOf(t, id), before.attempts);
    };
    const ret = (cookie: string | null, q: string, headers: Record<string, string> = {}) => fetch(`${t.url}/portal/billing/return?${q}`, { redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...headers } });
    const sid = back.searchParams.get('session_id')!;
    const state = back.searchParams.get('state')!;

    // A wrong state, an unknown session: a clear message, nothing changed.
    let r = await ret(a.cookie, `session_id=${sid}&state=${state.slice(0, -2)}xx`);
    assert.equal(r.status, 303);
    assert.equal(await flashOf(a.cookie), 'Ce retour de la page de carte n&#39;est pas valide ; rien n&#39;a été modifié.');
    r = await ret(a.cookie, `session_id=cs_test_forged&state=${state}`);
    assert.match(await flashOf(a.cookie), /pas valide/);
    await unchanged();
    // The right state in another browser session of the same customer: refused, nothing changed.
    r = await ret(b.cookie, back.search.slice(1));
    assert.equal(r.status, 303);
    assert.match(await flashOf(b.cookie), /autre session du navigateur/);
    await unchanged();
    // Coming back cross-site without the cookie (from the gateway's own site): a same-site hop first.
    r = await ret(null, back.search.slice(1), { 'sec-fetch-site': 'cross-site' });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /http-equiv="refresh"/);
    await unchanged();
    // The browser that started it: saved and paid.
    r = await ret(a.cookie, back.search.slice(1));
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/portal#billing');
    assert.match(await flashOf(a.cookie), /^Paiement réussi/);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).body.last4, '4242');
    const attempts = await attemptsOf(t, id);
    // Replayed: nothing changes, and it says so.
    r = await ret(a.cookie, back.search.slice(1));
    assert.match(await flashOf(a.cookie), /déjà été traitée/);
    assert.equal(await attemptsOf(t, id), attempts);
  });

  test('raw card data stays allowed with the sandbox gateway (test cards in scripts)', async () => {
    const acc = await t.api('POST', '/v1/accounts', { name: 'Raw', email: 'raw@example.test', locale: 'en-US', domain_zone: 'us', currency: 'USD' });
    assert.equal((await t.api('PUT', `/v1/accounts/${acc.body.id}/payment-method`, card(CARDS.ok))).status, 200);
  });
});

describe('with a real gateway (RENEWD_GATEWAY=stripe)', () => {
  let t: TestService;
  let psp: Sandbox;
  before(async () => {
    // Stripe's API as the sandbox speaks it, reached the way a real gateway is (STRIPE_API_BASE).
    psp = createSandbox();
    const base = await psp.listen(0, '127.0.0.1');
    t = await startTestService({ config: { gateway: 'stripe', stripeApiKey: 'sk_test_real_gateway', stripeApiBase: base } });
    await createPlans(t);
  });
  after(async () => {
    await t?.close();
    await psp?.close();
  });

  test('PUT …/payment-method with raw card fields: 400 raw_card_data_not_accepted saying why, nothing changed', async () => {
    const acc = await t.api('POST', '/v1/accounts', { name: 'Real', email: 'real@example.test', locale: 'de-DE', domain_zone: 'de', currency: 'EUR' });
    assert.equal(acc.status, 201);
    const id = acc.body.id as string;
    const calls = psp.stats().requests;
    const r = await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok));
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'raw_card_data_not_accepted');
    assert.equal(r.body.type, 'urn:renewd:problem:raw_card_data_not_accepted');
    assert.match(r.body.detail, /PCI DSS SAQ D/);
    assert.match(r.body.detail, /card-setup-sessions/);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).status, 404);
    assert.equal(psp.stats().requests, calls, 'the card never went to the gateway');
    // A token from the gateway's client-side capture is the way, as is the hosted page.
    const tok = await t.api('PUT', `/v1/accounts/${id}/payment-method`, { type: 'card', token: 'pm_card_visa' });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    const s = await t.api('POST', `/v1/accounts/${id}/card-setup-sessions`, {});
    assert.equal(s.status, 201);
    assert.ok(s.body.url.startsWith(`${psp.url}/checkout/`));
  });

  test("the pages' CSP lets forms lead to Stripe Checkout and Stripe's 3-D Secure host, and nowhere else", async () => {
    const res = await fetch(`${t.url}/console/login`);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /form-action 'self' https:\/\/checkout\.stripe\.com https:\/\/hooks\.stripe\.com(;|$)/);
  });
});

// The customer saves the card on the hosted page and closes the tab: the gateway's
// checkout.session.completed event (Stripe-signed, posted by the sandbox to /v1/gateway-events)
// saves it, and the invoice in grace is paid, with no return to renewd at all.
describe('card setup completed by the gateway event alone', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService({ config: { sandboxEvents: true } });
    await createPlans(t);
    // Events wait until the test delivers them: no timing in the assertions.
    t.svc.sandbox!.setWebhook({ url: `${t.url}/v1/gateway-events`, secret: t.svc.ctx.gatewayEventSecret!, delayMs: 3_600_000 });
  });
  after(() => t?.close());

  test('checkout.session.completed saves the card and pays the past-due invoice once; a redelivery changes nothing', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'past_due');
    const r = await t.api('POST', `/v1/accounts/${id}/card-setup-sessions`, {});
    assert.equal(r.status, 201);
    await typeCard(r.body.url, CARDS.ok); // …and the browser never comes back
    const ev = t.svc.sandbox!.events().find((e) => e.type === 'checkout.session.completed' && (e.data.object as { id: string }).id === r.body.id);
    assert.ok(ev, 'the sandbox made the event');
    await t.svc.sandbox!.flushEvents();
    assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'active');
    assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).body.last4, '4242');
    const attempts = await attemptsOf(t, id);
    assert.equal(await t.svc.sandbox!.deliverEvent(ev.id), 200);
    assert.equal(await attemptsOf(t, id), attempts, 'a duplicate delivery makes no attempt');
    const stored = await t.svc.ctx.db.query<{ result: string }>('SELECT result FROM gateway_events WHERE id = $1', [ev.id]);
    assert.equal(stored[0].result, 'applied');
  });
});
