// Issue 5, portal sessions: the operator creates a customer token for one account (shown once,
// stored as a hash), with a link to the customer pages; it expires, and it can be revoked.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, T0, type TestService } from '../helpers/service.ts';
import { sha256 } from '../../src/lib/crypto.ts';
import { portalToken, problemOf } from './helpers.ts';

describe('portal sessions', () => {
  let t: TestService;
  let A: string, B: string;
  before(async () => {
    t = await startTestService();
    await createPlans(t);
    A = await subscribedAccount(t);
    B = await subscribedAccount(t);
  });
  after(() => t?.close());

  test('POST /v1/accounts/{id}/portal-sessions → 201 {id, token, url, expires_at}; one hour by default; only a hash is stored', async () => {
    const r = await t.api('POST', `/v1/accounts/${A}/portal-sessions`);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const s = r.body;
    assert.match(s.id, /^pses_/);
    assert.match(s.token, /^ps_[A-Za-z0-9_-]{32}$/);
    assert.equal(s.url, `${t.svc.ctx.publicUrl}/portal?token=${s.token}`);
    assert.equal(s.account_id, A);
    assert.equal(s.expires_at, new Date(new Date(T0).getTime() + 3_600_000).toISOString());
    assert.equal(s.active, true);
    const rows = await t.svc.ctx.db.query<Record<string, unknown>>('SELECT * FROM portal_sessions WHERE id = $1', [s.id]);
    assert.equal(rows[0].token_hash, sha256(s.token));
    assert.ok(!JSON.stringify(rows).includes(s.token));
    // The token reaches its account.
    assert.equal((await t.api('GET', `/v1/accounts/${A}`, undefined, s.token)).status, 200);
    const cur = await t.api('GET', '/v1/portal-sessions/current', undefined, s.token);
    assert.deepEqual({ id: cur.body.id, account_id: cur.body.account_id, active: cur.body.active }, { id: s.id, account_id: A, active: true });
    assert.equal(cur.body.token, undefined);
    // The operator lists sessions, never their tokens.
    const list = (await t.api('GET', `/v1/accounts/${A}/portal-sessions`)).body.data;
    assert.ok(list.some((x: any) => x.id === s.id));
    assert.ok(!JSON.stringify(list).includes(s.token));
  });

  test('ttl_minutes is 5 to 1440; other input is refused', async () => {
    const r = await t.api('POST', `/v1/accounts/${A}/portal-sessions`, { ttl_minutes: 1440 });
    assert.equal(r.status, 201);
    assert.equal(new Date(r.body.expires_at).getTime() - new Date(r.body.created_at).getTime(), 1440 * 60_000);
    assert.equal((await t.api('POST', `/v1/accounts/${A}/portal-sessions`, { ttl_minutes: 5 })).status, 201);
    for (const body of [{ ttl_minutes: 4 }, { ttl_minutes: 1441 }, { ttl_minutes: '60' }, { ttl_minutes: 7.5 }, { ttl: 60 }])
      problemOf(await t.api('POST', `/v1/accounts/${A}/portal-sessions`, body), 400, 'validation_error');
    problemOf(await t.api('POST', '/v1/accounts/acct_nobody/portal-sessions', {}), 404, 'not_found');
  });

  test('a customer token cannot create sessions (403), not even for its own account', async () => {
    const tok = await portalToken(t, A);
    problemOf(await t.api('POST', `/v1/accounts/${A}/portal-sessions`, {}, tok), 403, 'forbidden');
    problemOf(await t.api('GET', `/v1/accounts/${A}/portal-sessions`, undefined, tok), 403, 'forbidden');
  });

  test('revocation: by the operator, by the customer (log out); twice is harmless; another account’s session is 404', async () => {
    const s1 = (await t.api('POST', `/v1/accounts/${A}/portal-sessions`, {})).body;
    const d1 = await t.api('DELETE', `/v1/portal-sessions/${s1.id}`);
    assert.equal(d1.status, 200);
    assert.equal(d1.body.active, false);
    assert.ok(d1.body.revoked_at);
    problemOf(await t.api('GET', `/v1/accounts/${A}`, undefined, s1.token), 401, 'unauthorized');
    assert.equal((await t.api('DELETE', `/v1/portal-sessions/${s1.id}`)).body.revoked_at, d1.body.revoked_at);

    const s2 = (await t.api('POST', `/v1/accounts/${A}/portal-sessions`, {})).body;
    const sB = (await t.api('POST', `/v1/accounts/${B}/portal-sessions`, {})).body;
    problemOf(await t.api('DELETE', `/v1/portal-sessions/${sB.id}`, undefined, s2.token), 404, 'not_found');
    assert.equal((await t.api('GET', `/v1/accounts/${B}`, undefined, sB.token)).status, 200);
    assert.equal((await t.api('DELETE', `/v1/portal-sessions/${s2.id}`, undefined, s2.token)).status, 200);
    problemOf(await t.api('GET', `/v1/accounts/${A}/invoices`, undefined, s2.token), 401, 'unauthorized');
    problemOf(await t.api('DELETE', '/v1/portal-sessions/pses_nothing'), 404, 'not_found');
    const tl = (await t.api('GET', `/v1/accounts/${A}/timeline`)).body.events.map((e: any) => e.type);
    assert.ok(tl.includes('portal_session.created') && tl.includes('portal_session.revoked'));
  });

  test('expiry: a token works until expires_at and answers 401 after', async () => {
    const s = (await t.api('POST', `/v1/accounts/${A}/portal-sessions`, { ttl_minutes: 5 })).body;
    await t.api('POST', '/v1/test-clock/advance', { hours: 4 / 60 });
    assert.equal((await t.api('GET', `/v1/accounts/${A}/subscription`, undefined, s.token)).status, 200);
    await t.api('POST', '/v1/test-clock/advance', { hours: 1 / 60 });
    const r = await t.api('GET', `/v1/accounts/${A}/subscription`, undefined, s.token);
    problemOf(r, 401, 'unauthorized');
    const list = (await t.api('GET', `/v1/accounts/${A}/portal-sessions`)).body.data;
    assert.equal(list.find((x: any) => x.id === s.id).active, false);
    // A garbage token is refused the same way.
    problemOf(await t.api('GET', `/v1/accounts/${A}`, undefined, 'ps_not_a_real_token'), 401, 'unauthorized');
  });
});
