// Issue 17 item 7: the integration kit (client/) against a running renewd, and the example SaaS app
// (examples/saas-app) that uses it: the generated types match the served document; the typed
// client reads and writes; the access cache asks once per freshness window and never past the
// answer's `until`; a real webhook delivery verifies (and a tampered one does not); the example
// gates a route on access, links to the customer pages, and takes renewd's webhooks.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestService, createPlans, subscribedAccount, ADMIN_KEY, CARDS, type TestService } from '../helpers/service.ts';
import { createRenewdClient, createAccessCache, customerPagesUrl, verifyWebhook, type RenewdClient } from '../../client/index.js';
// @ts-expect-error: a plain-JS script (no types); its output is what the test compares
import { typesFor, TYPES_FILE } from '../../scripts/client-types.mjs';
// @ts-expect-error: the example is plain JavaScript, as a SaaS team would write it
import { buildApp } from '../../examples/saas-app/server.js';

describe('the integration kit and the example app', () => {
  let t: TestService;
  let client: RenewdClient;
  let calls: string[];
  let app: any;
  let appUrl: string;
  let secret: string;

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    calls = [];
    // The kit's requests, counted (the access cache must not ask renewd every time).
    const counting: typeof fetch = (input, init) => {
      calls.push(input instanceof Request ? `${input.method} ${new URL(input.url).pathname}` : String(input));
      return fetch(input, init);
    };
    client = createRenewdClient({ baseUrl: t.url, apiKey: ADMIN_KEY, fetch: counting });
    const ep = await t.api('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/placeholder', event_types: ['*'] });
    secret = ep.body.secret;
    app = buildApp({ renewdUrl: t.url, apiKey: ADMIN_KEY, webhookSecret: secret });
    appUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    assert.equal((await t.api('PATCH', `/v1/webhook-endpoints/${ep.body.id}`, { url: `${appUrl}/webhooks/renewd` })).status, 200);
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('client/schema.d.ts is generated from the document the service serves (npm run client:types)', async () => {
    const doc = (await t.api('GET', '/openapi.json')).body;
    assert.equal(await typesFor(doc), readFileSync(TYPES_FILE, 'utf8'), 'client/schema.d.ts is out of date: run npm run client:types');
  });

  test('the typed client creates and reads; a refusal comes back as the problem', async () => {
    const created = await client.POST('/v1/accounts', { body: { name: 'Kit Ltd', email: 'billing@kit.example', locale: 'en-GB', domain_zone: 'uk', currency: 'EUR' } });
    assert.equal(created.response.status, 201);
    const id = created.data!.id!;
    const read = await client.GET('/v1/accounts/{id}', { params: { path: { id } } });
    assert.equal(read.data!.name, 'Kit Ltd');
    const missing = await client.GET('/v1/accounts/{id}', { params: { path: { id: 'acct_nope' } } });
    assert.equal(missing.response.status, 404);
    assert.equal(missing.response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.match(String((missing.error as any).type), /^urn:renewd:problem:/);
  });

  test('the access cache asks renewd once per window, again after forget(), and never past the answer’s until', async () => {
    const id = await subscribedAccount(t);
    let now = Date.parse((await t.now()).toISOString());
    const cache = createAccessCache(client, { maxAgeMs: 60_000, now: () => now });
    const asked = () => calls.filter((c) => c === `GET /v1/accounts/${id}/access`).length;
    const first = await cache.access(id);
    assert.deepEqual([first.paid, first.reason], [true, 'active']);
    await cache.access(id);
    assert.equal(asked(), 1, 'the second check is answered from the cache');
    cache.forget(id);
    await cache.access(id);
    assert.equal(asked(), 2);
    // Past the answer's until (the period end), a cached "paid" is never used.
    now = Date.parse(first.until!) + 1;
    await cache.access(id);
    assert.equal(asked(), 3);
  });

  test('the example app: a paid account opens /reports, a free one gets 402; /billing opens the customer pages signed in', async () => {
    const paid = await subscribedAccount(t);
    const free = (await t.api('POST', '/v1/accounts', { name: 'Free Co', email: 'f@free.example', locale: 'de-DE', domain_zone: 'de', currency: 'EUR' })).body.id;
    const reports = (account: string) => fetch(`${appUrl}/reports`, { headers: { 'x-account-id': account } });
    assert.equal((await reports(paid)).status, 200);
    const refused = await reports(free);
    assert.equal(refused.status, 402);
    assert.equal((await refused.json()).billing, '/billing');
    const billing = await fetch(`${appUrl}/billing`, { headers: { 'x-account-id': paid }, redirect: 'manual' });
    assert.equal(billing.status, 303);
    const pages = billing.headers.get('location')!;
    assert.ok(pages.startsWith(`${t.url}/portal?token=`), pages);
    const opened = await fetch(pages, { redirect: 'manual' });
    assert.ok([200, 303].includes(opened.status), `the customer pages open (${opened.status})`);
    assert.match(String(await customerPagesUrl(client, paid)), /\/portal\?token=ps_/);
  });

  test('renewd’s webhooks reach the example app, verified on the raw body; a tampered or stale copy is refused', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31); // the renewal fails: events fan out and are delivered (the runners drain)
    const types = app.received.filter((e: any) => e.data?.account_id === id).map((e: any) => e.type);
    assert.ok(types.includes('subscription.past_due'), types.join(', '));
    // The kit's check on a body signed the way renewd signs (src/notify/signing.ts).
    const { signatureHeader } = await import('../../src/notify/signing.ts');
    const body = JSON.stringify({ id: 'evt_kit', type: 'invoice.paid', data: { account_id: id } });
    const t0 = Math.floor(Date.now() / 1000);
    const header = signatureHeader(secret, body, t0);
    assert.ok(verifyWebhook(secret, header, body));
    assert.ok(verifyWebhook(secret, header, Buffer.from(body)));
    assert.equal(verifyWebhook(secret, header, body.replace('kit', 'kat')), false);
    assert.equal(verifyWebhook('whsec_other', header, body), false);
    assert.equal(verifyWebhook(secret, header, body, { now: (t0 + 301) * 1000 }), false, 'older than 5 minutes: a replay');
    assert.equal(verifyWebhook(secret, 'garbage', body), false);
    const bad = await fetch(`${appUrl}/webhooks/renewd`, { method: 'POST', headers: { 'content-type': 'application/json', 'renewd-signature': header }, body: body.replace('kit', 'kat') });
    assert.equal(bad.status, 400);
  });
});
