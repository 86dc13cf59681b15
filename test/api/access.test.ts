// Issue 5: what a customer token reaches. Every endpoint a portal token may call (found in the
// OpenAPI document, so a new one cannot slip through untested) answers 404 for another account's
// resources and changes nothing there; every operator endpoint answers 403 to a customer token,
// 401 without one; expired and revoked tokens answer 401 everywhere.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, card, CARDS, type TestService } from '../helpers/service.ts';
import { latestInvoice, portalToken, problemOf } from './helpers.ts';

type Call = { method: string; path: string; body?: unknown };

describe('customer tokens reach only their own account', () => {
  let t: TestService;
  let A: string, B: string;
  let tokA: string, tokB: string;
  let invA: string, invB: string;
  let helpB: string, sessionB: string;
  /** A credit note of a third account (C cancelled in grace: its issued invoice is credited). */
  let creditC: string;
  let ops: { method: string; path: string; security: string[] }[];

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    A = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    B = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    const C = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    assert.equal((await t.api('POST', `/v1/accounts/${C}/subscription/cancel`, { at: 'now' })).status, 200);
    const creditNotes = ((await t.api('GET', `/v1/accounts/${C}/invoices`)).body.data as any[]).flatMap((i) => i.credit_notes ?? []);
    assert.equal(creditNotes.length, 1, 'C\'s cancel in grace credits its issued invoice');
    creditC = creditNotes[0].id;
    tokA = await portalToken(t, A);
    const sB = await t.api('POST', `/v1/accounts/${B}/portal-sessions`, {});
    tokB = sB.body.token;
    sessionB = sB.body.id;
    invA = (await latestInvoice(t, A)).id;
    invB = (await latestInvoice(t, B)).id;
    const h = await t.api('POST', `/v1/invoices/${invB}/help-requests`, { message: 'B needs help' }, tokB);
    assert.equal(h.status, 201);
    helpB = h.body.id;
    const doc = (await t.api('GET', '/openapi.json', undefined, null)).body;
    ops = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries<any>(item)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        ops.push({ method: method.toUpperCase(), path, security: (op.security ?? []).flatMap((s: object) => Object.keys(s)) });
      }
    }
  });
  after(() => t?.close());

  // Every customer endpoint, called with A's token on B's resources.
  const crossAccount = (): Record<string, Call> => ({
    'GET /v1/accounts/{id}': { method: 'GET', path: `/v1/accounts/${B}` },
    'GET /v1/accounts/{id}/payment-method': { method: 'GET', path: `/v1/accounts/${B}/payment-method` },
    'PUT /v1/accounts/{id}/payment-method': { method: 'PUT', path: `/v1/accounts/${B}/payment-method`, body: card(CARDS.ok) },
    'GET /v1/accounts/{id}/backup-payment-method': { method: 'GET', path: `/v1/accounts/${B}/backup-payment-method` },
    'PUT /v1/accounts/{id}/backup-payment-method': { method: 'PUT', path: `/v1/accounts/${B}/backup-payment-method`, body: { ...card(CARDS.ok), consent: true } },
    'DELETE /v1/accounts/{id}/backup-payment-method': { method: 'DELETE', path: `/v1/accounts/${B}/backup-payment-method` },
    'POST /v1/accounts/{id}/card-setup-sessions': { method: 'POST', path: `/v1/accounts/${B}/card-setup-sessions`, body: {} },
    'GET /v1/accounts/{id}/subscription': { method: 'GET', path: `/v1/accounts/${B}/subscription` },
    'PATCH /v1/accounts/{id}/subscription': { method: 'PATCH', path: `/v1/accounts/${B}/subscription`, body: { auto_renew: false } },
    'POST /v1/accounts/{id}/subscription/cancel': { method: 'POST', path: `/v1/accounts/${B}/subscription/cancel`, body: { at: 'now' } },
    'POST /v1/accounts/{id}/subscription/resume': { method: 'POST', path: `/v1/accounts/${B}/subscription/resume`, body: {} },
    'GET /v1/accounts/{id}/access': { method: 'GET', path: `/v1/accounts/${B}/access` },
    'GET /v1/accounts/{id}/invoices': { method: 'GET', path: `/v1/accounts/${B}/invoices` },
    'POST /v1/invoices/{id}/retry': { method: 'POST', path: `/v1/invoices/${invB}/retry` },
    'POST /v1/invoices/{id}/retry-date': { method: 'POST', path: `/v1/invoices/${invB}/retry-date`, body: { date: '2030-01-01' } },
    'POST /v1/invoices/{id}/authentication-sessions': { method: 'POST', path: `/v1/invoices/${invB}/authentication-sessions` },
    'POST /v1/invoices/{id}/help-requests': { method: 'POST', path: `/v1/invoices/${invB}/help-requests`, body: { message: 'not my invoice' } },
    'GET /v1/accounts/{id}/help-requests': { method: 'GET', path: `/v1/accounts/${B}/help-requests` },
    'GET /v1/help-requests/{id}': { method: 'GET', path: `/v1/help-requests/${helpB}` },
    'DELETE /v1/portal-sessions/{id}': { method: 'DELETE', path: `/v1/portal-sessions/${sessionB}` },
    'GET /v1/notifications': { method: 'GET', path: `/v1/notifications?account_id=${B}` },
    'POST /v1/subscriptions': { method: 'POST', path: '/v1/subscriptions', body: { account_id: B, plan_id: 'pro', interval: 'month' } },
    'GET /v1/invoices/{id}/pdf': { method: 'GET', path: `/v1/invoices/${invB}/pdf` },
    'GET /v1/credit-notes/{id}': { method: 'GET', path: `/v1/credit-notes/${creditC}` },
    'GET /v1/credit-notes/{id}/pdf': { method: 'GET', path: `/v1/credit-notes/${creditC}/pdf` },
    'GET /v1/accounts/{id}/billing-details': { method: 'GET', path: `/v1/accounts/${B}/billing-details` },
    'PUT /v1/accounts/{id}/billing-details': { method: 'PUT', path: `/v1/accounts/${B}/billing-details`, body: { name: 'Not B', address: null, vat_id: null } },
  });
  // Customer endpoints that name no other account (they act on the token's own session).
  const ownOnly = new Set(['GET /v1/portal-sessions/current', 'GET /v1/plans']);

  test('every endpoint open to portal tokens is covered here', () => {
    const customerOps = ops.filter((o) => o.security.includes('portalToken')).map((o) => `${o.method} ${o.path}`);
    assert.ok(customerOps.length >= 12, customerOps.join(', '));
    const covered = new Set([...Object.keys(crossAccount()), ...ownOnly]);
    const missing = customerOps.filter((k) => !covered.has(k));
    assert.deepEqual(missing, [], `customer endpoints without a cross-account test: ${missing.join(', ')}`);
  });

  test("A's token gets 404 on every one of B's resources, and B's data does not change", async () => {
    const before = await snapshotB();
    const documented = new Set(ops.map((o) => `${o.method} ${o.path}`));
    for (const [name, c] of Object.entries(crossAccount())) {
      if (!documented.has(name)) continue; // e.g. a route of another part not served in this build
      const r = await t.api(c.method, c.path, c.body, tokA);
      problemOf(r, 404, 'not_found');
      assert.equal(r.status, 404, name);
    }
    assert.deepEqual(await snapshotB(), before);
    // B's token still works: nothing of B was revoked or changed.
    assert.equal((await t.api('GET', `/v1/accounts/${B}`, undefined, tokB)).status, 200);
  });

  test("B's own token reaches the same resources", async () => {
    for (const p of [`/v1/accounts/${B}`, `/v1/accounts/${B}/payment-method`, `/v1/accounts/${B}/subscription`, `/v1/accounts/${B}/access`, `/v1/accounts/${B}/invoices`, `/v1/accounts/${B}/help-requests`, `/v1/help-requests/${helpB}`]) {
      const r = await t.api('GET', p, undefined, tokB);
      assert.equal(r.status, 200, `${p}: ${JSON.stringify(r.body)}`);
    }
    const cur = await t.api('GET', '/v1/portal-sessions/current', undefined, tokA);
    assert.equal(cur.status, 200);
    assert.equal(cur.body.account_id, A);
  });

  test('an unknown id answers the same 404 as an id of another account', async () => {
    const other = await t.api('GET', `/v1/accounts/${B}/invoices`, undefined, tokA);
    const none = await t.api('GET', '/v1/accounts/acct_doesnotexist/invoices', undefined, tokA);
    assert.equal(other.status, none.status);
    assert.equal(other.body.type, none.body.type);
    problemOf(await t.api('POST', '/v1/invoices/inv_doesnotexist/retry', undefined, tokA), 404, 'not_found');
  });

  test('every operator endpoint answers 403 to a customer token and 401 without a token', async () => {
    // The gateway's events are signed by the gateway, not sent with a key (test/api/gateway-events.test.ts).
    const adminOps = ops.filter((o) => !o.security.includes('portalToken') && !o.security.includes('gatewaySignature'));
    assert.ok(adminOps.length >= 15, adminOps.map((o) => o.path).join(', '));
    const names = adminOps.map((o) => `${o.method} ${o.path}`);
    for (const must of ['POST /v1/accounts/{id}/portal-sessions', 'GET /v1/help-requests', 'POST /v1/help-requests/{id}/answer', 'POST /v1/help-requests/{id}/close', 'POST /v1/plans', 'PUT /v1/dunning-policy'])
      assert.ok(names.includes(must), must);
    for (const o of adminOps) {
      // Own ids where a path names one: being the owner does not open an operator endpoint.
      const path = o.path.replace(/\{scope\}/g, 'zone:fr').replace(/\{[a-z_]+\}/g, o.path.includes('invoices') ? invA : o.path.includes('help-requests') ? helpB : A);
      const r = await t.api(o.method, path, undefined, tokA);
      assert.equal(r.status, 403, `${o.method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.type, 'urn:renewd:problem:forbidden');
      const anon = await t.api(o.method, path, undefined, null);
      assert.equal(anon.status, 401, `${o.method} ${path} without a token: ${anon.status}`);
    }
  });

  test('expired and revoked tokens answer 401 on every customer endpoint', async () => {
    const expiring = await t.api('POST', `/v1/accounts/${A}/portal-sessions`, { ttl_minutes: 5 });
    const revoked = await portalToken(t, A);
    const revokedId = (await t.api('GET', '/v1/portal-sessions/current', undefined, revoked)).body.id;
    assert.equal((await t.api('DELETE', `/v1/portal-sessions/${revokedId}`, undefined, revoked)).status, 200); // log out
    await t.api('POST', '/v1/test-clock/advance', { hours: 0.1 }); // 6 minutes
    const own: Call[] = [
      { method: 'GET', path: `/v1/accounts/${A}` },
      { method: 'GET', path: `/v1/accounts/${A}/invoices` },
      { method: 'PUT', path: `/v1/accounts/${A}/payment-method`, body: card(CARDS.ok) },
      { method: 'POST', path: `/v1/invoices/${invA}/retry` },
      { method: 'POST', path: `/v1/invoices/${invA}/help-requests`, body: { message: 'help' } },
      { method: 'GET', path: '/v1/portal-sessions/current' },
    ];
    for (const tok of [expiring.body.token, revoked]) {
      for (const c of own) problemOf(await t.api(c.method, c.path, c.body, tok), 401, 'unauthorized');
    }
    // A long-lived token of A still works.
    assert.equal((await t.api('GET', `/v1/accounts/${A}`, undefined, tokA)).status, 200);
  });

  async function snapshotB() {
    const db = t.svc.ctx.db;
    const q = async (sql: string) => JSON.stringify(await db.query(sql, [B]));
    return {
      pm: await q(`SELECT id, last4 FROM payment_methods WHERE account_id = $1 ORDER BY id`),
      sub: await q(`SELECT status, auto_renew, version FROM subscriptions WHERE account_id = $1`),
      attempts: await q(`SELECT id, outcome FROM payment_attempts WHERE account_id = $1 ORDER BY id`),
      help: await q(`SELECT id, status FROM help_requests WHERE account_id = $1 ORDER BY id`),
      sessions: await q(`SELECT id, revoked_at FROM portal_sessions WHERE account_id = $1 ORDER BY id`),
      mails: await q(`SELECT template FROM notifications WHERE account_id = $1 ORDER BY id`),
    };
  }
});
