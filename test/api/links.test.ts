// Issue 14, part 1: the no-login links of customer e-mails. A failed renewal's e-mail carries one
// link per way out (billing, Retry when the policy allows it, help); each opens the pages signed in
// at its section, any number of times (a GET never consumes or acts), until it expires (grace end +
// 7 days) or the operator revokes it; a dead, forged or unknown link offers a new one, with the same
// answer whatever the token was; a link token is no API token, and a portal token is no link.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, card, CARDS, type TestService } from '../helpers/service.ts';
import { sha256 } from '../../src/lib/crypto.ts';
import { RATE_LIMITS } from '../../src/engine/limits.ts';
import { problemOf, portalToken } from './helpers.ts';

const DAY = 86_400_000;
const LINK = /\/portal\/links\/(rl_[A-Za-z0-9_-]{32})/g;

describe('e-mail links', () => {
  let t: TestService;
  let n = 0;
  before(async () => {
    t = await startTestService();
    await createPlans(t);
  });
  after(() => t?.close());

  /** A subscribed account with its own address; its card fails at the renewal with `later`. */
  async function account(later: string, a: { locale?: string; domain_zone?: string } = {}) {
    const email = `links-${++n}@acme.example`;
    const acc = await t.api('POST', '/v1/accounts', { name: `Acme ${n}`, email, locale: a.locale ?? 'fr-FR', domain_zone: a.domain_zone ?? 'fr', currency: 'EUR', time_zone: 'Europe/Paris' });
    assert.equal(acc.status, 201, JSON.stringify(acc.body));
    const id = acc.body.id as string;
    assert.equal((await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok))).status, 200);
    assert.equal((await t.api('POST', '/v1/subscriptions', { account_id: id, plan_id: 'pro', interval: 'month' })).status, 201);
    assert.equal((await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(later))).status, 200);
    return { id, email };
  }

  /** The account's newest e-mail of `template`, with its links by purpose (looked up by the token's hash). */
  async function mail(accountId: string, template: string) {
    const list = (await t.api('GET', `/v1/notifications?account_id=${accountId}`)).body.data as { id: string; template: string; created_at: string }[];
    const m = list.filter((x) => x.template === template).sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
    assert.ok(m, `no ${template} e-mail`);
    const full = (await t.api('GET', `/v1/notifications/${m.id}`)).body;
    const links: Record<string, { token: string; path: string; invoice_id: string | null; expires_at: Date }> = {};
    for (const [path, token] of (full.body_text as string).matchAll(LINK)) {
      const [row] = await t.svc.ctx.db.query<{ purpose: string; invoice_id: string | null; expires_at: Date }>('SELECT purpose, invoice_id, expires_at FROM customer_links WHERE token_hash = $1', [sha256(token)]);
      assert.ok(row, 'every link in the e-mail is a stored link');
      links[row.purpose] = { token, path, invoice_id: row.invoice_id, expires_at: new Date(row.expires_at) };
    }
    return { text: full.body_text as string, html: full.body_html as string, links };
  }

  async function get(path: string, headers: Record<string, string> = {}) {
    const res = await fetch(t.url + path, { redirect: 'manual', headers });
    return { status: res.status, location: res.headers.get('location'), cookie: res.headers.getSetCookie().join('; '), body: await res.text(), headers: res.headers };
  }

  /** Posts a page form as a browser would: the form's double-submit cookie and hidden field. */
  async function postForm(page: { cookie: string; body: string }, action: string, fields: Record<string, string>, lang = 'en') {
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    const cookie = /renewd_link_form=([^;]+)/.exec(page.cookie)?.[1];
    assert.ok(csrf && cookie, 'the page has a form token');
    const res = await fetch(t.url + action, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `renewd_link_form=${cookie}`, 'accept-language': lang },
      body: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
    });
    return { status: res.status, body: await res.text() };
  }

  async function failedRenewal(later: string = CARDS.insufficient_funds, a: { locale?: string; domain_zone?: string } = {}) {
    const acc = await account(later, a);
    await t.advance(31);
    assert.equal((await t.api('GET', `/v1/accounts/${acc.id}/subscription`)).body.status, 'past_due');
    return acc;
  }

  test('a failed renewal e-mail carries billing, Retry and help links; each opens its section, signed in; only hashes are stored', async () => {
    const { id } = await failedRenewal();
    const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
    assert.equal(inv.retry.available, true);
    const m = await mail(id, 'renewal_failed');
    assert.deepEqual(Object.keys(m.links).sort(), ['billing', 'help', 'retry']);
    assert.equal(m.links.retry.invoice_id, inv.id);
    assert.equal(m.links.help.invoice_id, inv.id);
    assert.ok(!m.text.includes('Abonnement → Informations de facturation'));
    // Valid until grace ends + 7 days.
    const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
    assert.equal(m.links.billing.expires_at.getTime(), new Date(sub.grace_ends_at).getTime() + 7 * DAY);
    const rows = await t.svc.ctx.db.query('SELECT * FROM customer_links WHERE account_id = $1', [id]);
    for (const l of Object.values(m.links)) assert.ok(!JSON.stringify(rows).includes(l.token), 'no token at rest');

    const landings = { billing: '/portal#billing', retry: `/portal#inv-${inv.id}`, help: `/portal#help-${inv.id}` };
    for (const [purpose, landing] of Object.entries(landings)) {
      const r = await get(m.links[purpose].path);
      assert.equal(r.status, 303, purpose);
      assert.equal(r.location, landing, `${purpose} lands on its section, with no token in the address`);
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(r.headers.get('cache-control'), 'no-store');
      const session = /renewd_portal=([^;]+)/.exec(r.cookie)?.[1];
      assert.ok(session, 'a session cookie');
      const page = await get('/portal', { cookie: `renewd_portal=${session}` });
      assert.equal(page.status, 200);
      assert.ok(page.body.includes(`id="inv-${inv.id}"`) && page.body.includes(`Acme ${n}`), 'the account\'s own pages');
    }
    // A mail client's click is a cross-site navigation: a same-site page continues to the landing, anchor kept.
    const cross = await get(m.links.billing.path, { 'sec-fetch-site': 'cross-site' });
    assert.equal(cross.status, 200);
    assert.match(cross.body, /<meta http-equiv="refresh" content="0;url=\/portal#billing">/);
  });

  test('opening a link twice (a scanner, then the customer) neither consumes it nor acts', async () => {
    const { id } = await failedRenewal();
    const m = await mail(id, 'renewal_failed');
    const before = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
    for (let i = 0; i < 3; i++) assert.equal((await get(m.links.retry.path)).status, 303);
    const after = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
    assert.equal(after.attempts.length, before.attempts.length, 'no attempt from opening the Retry link');
    assert.equal(after.status, 'past_due');
    const [row] = await t.svc.ctx.db.query<{ last_used_at: Date | null; revoked_at: Date | null }>('SELECT last_used_at, revoked_at FROM customer_links WHERE token_hash = $1', [sha256(m.links.retry.token)]);
    assert.ok(row.last_used_at && !row.revoked_at);
  });

  test('Retry is left out of the e-mail when the policy refuses it (lost card: a new card is needed)', async () => {
    const { id } = await failedRenewal(CARDS.lost);
    const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
    assert.equal(inv.retry.available, false);
    const m = await mail(id, 'renewal_failed');
    assert.deepEqual(Object.keys(m.links).sort(), ['billing', 'help']);
    assert.ok(!m.text.includes('Relancer le paiement'));
  });

  test('Retry is left out for a domain zone the policy excludes', async () => {
    assert.equal((await t.api('PUT', '/v1/dunning-policy', { manual_retry: { disabled_domain_zones: ['de'] } })).status, 200);
    try {
      const { id } = await failedRenewal(CARDS.insufficient_funds, { locale: 'de-DE', domain_zone: 'de' });
      const m = await mail(id, 'renewal_failed');
      assert.deepEqual(Object.keys(m.links).sort(), ['billing', 'help']);
      assert.match(m.text, /Meine Karte aktualisieren: /);
      assert.match(m.text, /Hilfe anfordern: /);
    } finally {
      await t.api('PUT', '/v1/dunning-policy', { manual_retry: { disabled_domain_zones: [] } });
    }
  });

  test('an expired link offers "Send me a new link": a fresh link of the same purpose goes to the address on file, and works', async () => {
    const { id, email } = await failedRenewal();
    const m = await mail(id, 'renewal_failed');
    const at = m.links.billing.expires_at;
    await t.advanceTo(new Date(at.getTime() + 1000));
    const dead = await get(m.links.billing.path);
    assert.equal(dead.status, 410);
    assert.match(dead.body, /Envoyez-moi un nouveau lien/, 'in the account language');
    assert.doesNotMatch(dead.cookie, /renewd_portal=/, 'no session');
    const sent = await postForm(dead, '/portal/links/new', { token: m.links.billing.token });
    assert.equal(sent.status, 200);
    const fresh = await mail(id, 'access_link');
    const list = (await t.api('GET', `/v1/notifications?account_id=${id}`)).body.data;
    assert.equal(list.find((x: any) => x.template === 'access_link').to, email);
    assert.deepEqual(Object.keys(fresh.links), ['billing']);
    assert.equal(fresh.links.billing.expires_at.getTime(), (await t.now()).getTime() + DAY);
    const r = await get(fresh.links.billing.path);
    assert.equal(r.status, 303);
    assert.equal(r.location, '/portal#billing');
  });

  test('the answer to "send me a new link" is the same for a known, an unknown and a forged token; it is rate-limited per account', async () => {
    const { id } = await failedRenewal();
    const m = await mail(id, 'renewal_failed');
    const page = await get('/portal/links/rl_' + 'x'.repeat(32));
    assert.equal(page.status, 410);
    assert.match(page.body, /Send me a new link/, 'Accept-Language (none): English');
    const known = await postForm(page, '/portal/links/new', { token: m.links.help.token });
    const unknown = await postForm(page, '/portal/links/new', { token: 'rl_' + 'y'.repeat(32) });
    const forged = await postForm(page, '/portal/links/new', { token: '<script>' });
    assert.equal(known.status, 200);
    assert.equal(unknown.status, known.status);
    assert.equal(unknown.body, known.body);
    assert.equal(forged.body, known.body);
    for (let i = 0; i < RATE_LIMITS.linkRequests.limit + 2; i++) assert.equal((await postForm(page, '/portal/links/new', { token: m.links.help.token })).body, known.body);
    const sent = (await t.api('GET', `/v1/notifications?account_id=${id}`)).body.data.filter((x: any) => x.template === 'access_link');
    assert.equal(sent.length, RATE_LIMITS.linkRequests.limit, 'no more e-mails than the limit');
    // Without the form's cookie the POST is refused (a cross-site form cannot make us mail someone).
    const res = await fetch(t.url + '/portal/links/new', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${m.links.help.token}&_csrf=x` });
    assert.equal(res.status, 403);
  });

  test('the pages without a session offer the e-mail form; the answer is the same whether the address is known', async () => {
    const { id, email } = await account(CARDS.ok);
    const bare = await get('/portal', { 'accept-language': 'de-DE,de;q=0.9' });
    assert.equal(bare.status, 401);
    assert.match(bare.body, /Link per E-Mail senden/);
    assert.match(bare.body, /name="email"/);
    const known = await postForm(bare, '/portal/links/request', { email: email.toUpperCase() }, 'de');
    const unknown = await postForm(bare, '/portal/links/request', { email: 'nobody@example.org' }, 'de');
    assert.equal(known.status, 200);
    assert.equal(unknown.body, known.body);
    const m = await mail(id, 'access_link');
    assert.deepEqual(Object.keys(m.links), ['subscription']);
    assert.equal((await get(m.links.subscription.path)).location, '/portal#subscription');
    const empty = await postForm(bare, '/portal/links/request', { email: ' ' }, 'de');
    assert.equal(empty.status, 400);
  });

  test('scope: a link token is no API token; a portal token is no link; a link opens only its own account', async () => {
    // Both renewals fail on the same day (a link of a lives until a's grace end + 7 days).
    const a = await account(CARDS.insufficient_funds);
    const b = await account(CARDS.insufficient_funds);
    await t.advance(31);
    const ma = await mail(a.id, 'renewal_failed');
    problemOf(await t.api('GET', `/v1/accounts/${a.id}`, undefined, ma.links.billing.token), 401, 'unauthorized');
    problemOf(await t.api('GET', `/v1/accounts/${a.id}/invoices`, undefined, ma.links.retry.token), 401, 'unauthorized');
    const ps = await portalToken(t, a.id);
    assert.equal((await get(`/portal/links/${ps}`)).status, 410);
    assert.equal((await get(`/portal?token=${ma.links.billing.token}`)).status, 401, 'a link token is no portal-session token');
    // Opening A's link gives a session of A, never B.
    const count = async (acc: string) => Number((await t.svc.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM portal_sessions WHERE account_id = $1', [acc]))[0].n);
    const [a0, b0] = [await count(a.id), await count(b.id)];
    const opened = await get(ma.links.billing.path);
    assert.deepEqual([await count(a.id), await count(b.id)], [a0 + 1, b0]);
    const session = /renewd_portal=([^;]+)/.exec(opened.cookie)![1];
    const page = await get('/portal', { cookie: `renewd_portal=${session}` });
    const mb = await mail(b.id, 'renewal_failed');
    assert.ok(page.body.includes(ma.links.retry.invoice_id!), "A's invoice is on the page");
    assert.ok(!page.body.includes(mb.links.retry.invoice_id!), "B's invoice is not");
  });

  test('opening one link is rate-limited', async () => {
    const { id } = await failedRenewal();
    const m = await mail(id, 'renewal_failed');
    for (let i = 0; i < RATE_LIMITS.linkOpens.limit; i++) assert.equal((await get(m.links.help.path)).status, 303);
    const r = await get(m.links.help.path);
    assert.equal(r.status, 429);
    assert.match(r.body, /Envoyez-moi un nouveau lien/);
    // Another link of the same e-mail still opens.
    assert.equal((await get(m.links.billing.path)).status, 303);
  });

  test('the operator revokes the links and active portal sessions of an account (API); revoked links offer a new one', async () => {
    const { id } = await failedRenewal();
    const m = await mail(id, 'renewal_failed');
    const opened = await get(m.links.billing.path);
    const session = /renewd_portal=([^;]+)/.exec(opened.cookie)![1];
    assert.equal((await get('/portal', { cookie: `renewd_portal=${session}` })).status, 200);
    const ps = await portalToken(t, id);
    const tok = await portalToken(t, id);
    problemOf(await t.api('POST', `/v1/accounts/${id}/links/revoke`, undefined, tok), 403, 'forbidden');
    const r = await t.api('POST', `/v1/accounts/${id}/links/revoke`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.account_id, id);
    assert.ok(r.body.links_revoked >= 3);
    assert.ok(r.body.portal_sessions_revoked >= 3, 'the link\'s session and the two API sessions');
    problemOf(await t.api('GET', `/v1/accounts/${id}`, undefined, ps), 401, 'unauthorized');
    assert.equal((await get('/portal', { cookie: `renewd_portal=${session}` })).status, 401, 'the signed-in page is signed out');
    const dead = await get(m.links.billing.path);
    assert.equal(dead.status, 410);
    assert.match(dead.body, /Envoyez-moi un nouveau lien/);
    const again = await t.api('POST', `/v1/accounts/${id}/links/revoke`);
    assert.deepEqual(again.body, { account_id: id, links_revoked: 0, portal_sessions_revoked: 0 });
    problemOf(await t.api('POST', '/v1/accounts/acct_nobody/links/revoke'), 404, 'not_found');
    const events = (await t.api('GET', `/v1/accounts/${id}/timeline`)).body;
    assert.ok(JSON.stringify(events).includes('customer_links.revoked'));
  });
});
