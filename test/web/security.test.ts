// The pages' protections over plain HTTP: strict CSP and secure headers, HttpOnly SameSite=Strict
// session cookies, CSRF tokens on every form (403 without), expired links, sign-in required.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, ADMIN_KEY, type TestService } from '../helpers/service.ts';
import { portalToken } from './browser.ts';

describe('page security', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
    await createPlans(t);
  });
  after(() => t?.close());

  const get = (path: string, cookie?: string) => fetch(t.url + path, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  const post = (path: string, form: Record<string, string>, cookie?: string) =>
    fetch(t.url + path, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
      body: new URLSearchParams(form).toString(),
    });
  const cookieOf = (res: Response) =>
    res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
  const csrfOf = async (res: Response) => /name="_csrf" value="([^"]+)"/.exec(await res.text())?.[1] ?? '';

  async function customerSession() {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    const token = await portalToken(t, id);
    const res = await get(`/portal?token=${encodeURIComponent(token)}`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/portal');
    const setCookie = res.headers.getSetCookie().join('\n');
    assert.match(setCookie, /renewd_portal=/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.ok(!setCookie.includes(token), 'the portal token is not the cookie');
    const cookie = cookieOf(res);
    const page = await get('/portal', cookie);
    assert.equal(page.status, 200);
    return { id, cookie, csrf: await csrfOf(page) };
  }

  test('pages carry a strict CSP and secure headers; assets are local', async () => {
    const res = await get('/console/login');
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.text();
    assert.ok(!/https?:\/\/(?!127\.0\.0\.1)/.test(body), 'no external URL in the page');
    assert.ok(!/ style=/.test(body) && !/<script>/.test(body), 'no inline style or script');
    for (const a of ['/assets/web.css', '/assets/web.js']) assert.equal((await get(a)).status, 200);
    // The JSON API is left as it was (no page CSP on it).
    const api = await t.api('GET', '/v1/plans');
    assert.equal(api.status, 200);
    assert.equal(api.headers.get('content-security-policy'), null);
  });

  test('a portal link that is unknown or expired does not sign in', async () => {
    const res = await get('/portal?token=ps_nope');
    assert.equal(res.status, 401);
    // No session cookie (the page's e-mail form sets only its own form token).
    assert.deepEqual(res.headers.getSetCookie().filter((c) => !c.startsWith('renewd_link_form=')), []);
    assert.equal((await get('/portal')).status, 401);
    // The admin key is not a portal link.
    assert.equal((await get(`/portal?token=${ADMIN_KEY}`)).status, 401);
  });

  test('a portal link opened from another site lands on a same-site page before the cookie is used', async () => {
    const id = await subscribedAccount(t);
    const token = await portalToken(t, id);
    const res = await fetch(`${t.url}/portal?token=${encodeURIComponent(token)}`, { redirect: 'manual', headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /http-equiv="refresh" content="0;url=\/portal"/);
  });

  test('customer forms without the CSRF token, or with a wrong one, are refused with 403 and change nothing', async () => {
    // Another session first: each session advances the clock a month, past an older portal token's hour.
    const other = await customerSession();
    const { id, cookie, csrf } = await customerSession();
    assert.ok(csrf.length > 20);
    const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
    assert.equal((await post('/portal/billing/setup', {}, cookie)).status, 403); // Update card (the hosted card page)
    assert.equal((await post('/portal/billing/setup', { _csrf: 'x'.repeat(csrf.length) }, cookie)).status, 403);
    assert.equal((await post(`/portal/invoices/${inv.id}/retry`, {}, cookie)).status, 403);
    assert.equal((await post(`/portal/invoices/${inv.id}/help-requests`, { message: 'hi', _csrf: '' }, cookie)).status, 403);
    assert.equal((await post('/portal/subscription/buy', { plan_id: 'pro', interval: 'month' }, cookie)).status, 403); // Restore / buy (issue 15)
    assert.equal((await post('/portal/subscription/buy', { plan_id: 'pro', interval: 'month', _csrf: other.csrf }, cookie)).status, 403);
    // Another session's token is not this session's.
    assert.equal((await post(`/portal/invoices/${inv.id}/retry`, { _csrf: other.csrf }, cookie)).status, 403);
    const after = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
    assert.equal(after.attempts.length, inv.attempts.length, 'no attempt was made');
    assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'past_due');
    // With the token it works (and redirects back to the page).
    const ok = await post(`/portal/invoices/${inv.id}/retry`, { _csrf: csrf }, cookie);
    assert.equal(ok.status, 303);
  });

  test("a customer cannot act on another account's invoice", async () => {
    // B first: A's session advances the clock past B's renewal, and A's portal token stays fresh.
    const b = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    const a = await customerSession();
    const invB = (await t.api('GET', `/v1/accounts/${b}/invoices`)).body.data[0];
    const before = invB.attempts.length;
    const res = await post(`/portal/invoices/${invB.id}/retry`, { _csrf: a.csrf }, a.cookie);
    assert.equal(res.status, 303);
    const page = await (await get('/portal', a.cookie)).text();
    assert.ok(!page.includes(invB.id));
    assert.equal((await t.api('GET', `/v1/accounts/${b}/invoices`)).body.data[0].attempts.length, before);
  });

  test('console: sign-in needs the CSRF cookie and the key; pages and forms need the session', async () => {
    assert.equal((await get('/console')).status, 303);
    assert.equal((await get('/console')).headers.get('location'), '/console/login');
    // Without the login form's token: 403.
    assert.equal((await post('/console/login', { key: ADMIN_KEY })).status, 403);
    const form = await get('/console/login');
    const loginCookie = cookieOf(form);
    const token = await csrfOf(form);
    const wrong = await post('/console/login', { key: 'rk_wrong', _csrf: token }, loginCookie);
    assert.equal(wrong.status, 401);
    const ok = await post('/console/login', { key: ADMIN_KEY, _csrf: token }, loginCookie);
    assert.equal(ok.status, 303);
    const setCookie = ok.headers.getSetCookie().join('\n');
    assert.ok(!setCookie.includes(ADMIN_KEY));
    assert.match(setCookie, /renewd_console=[^;]+;.*HttpOnly/);
    const cookie = cookieOf(ok);
    const dash = await get('/console', cookie);
    assert.equal(dash.status, 200);
    const csrf = await csrfOf(dash);
    // Console forms need the session's token.
    assert.equal((await post('/console/test-clock/advance', { days: '1' }, cookie)).status, 403);
    assert.equal((await post('/console/policy', { grace_days: '20' }, cookie)).status, 403);
    assert.equal((await post('/console/webhooks', { url: 'https://example.com/x', event_types: '*' }, cookie)).status, 403);
    assert.equal((await post('/console/webhooks', { url: 'https://example.com/x', event_types: '*', _csrf: 'wrong' }, cookie)).status, 403);
    assert.deepEqual((await t.api('GET', '/v1/webhook-endpoints')).body.data, [], 'no endpoint registered without the token');
    const before = await t.now();
    assert.equal((await post('/console/test-clock/advance', { days: '1', _csrf: csrf }, cookie)).status, 303);
    assert.equal((await t.now()).getTime() - before.getTime(), 86_400_000);
    // Without a session, a form post is refused and changes nothing.
    assert.equal((await post('/console/test-clock/advance', { days: '1', _csrf: csrf })).status, 401);
  });
});
