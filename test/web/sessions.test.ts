// Issue 16 item 4: the pages' browser sessions live in the database. Two instances on one database
// share them and a restarted instance keeps them; an account has at most 20 live ones (the oldest
// is dropped); they end after their idle time and lifetime (wall clock, injected here) and with the
// portal session behind them (service clock: the test clock); revoking the portal session, the
// account's links and sessions, or the admin key ends them everywhere; exchanging one portal token
// for sessions is bounded; only the SHA-256 of a session id is stored. Over HTTP, no browser.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, ADMIN_KEY, type TestService } from '../helpers/service.ts';
import { portalSessions } from '../../src/web/portal.ts';
import { SESSIONS_PER_OWNER } from '../../src/web/sessions.ts';
import { countWebSessions } from '../../src/store/web-sessions.ts';
import { sha256 } from '../../src/lib/crypto.ts';
import { RATE_LIMITS } from '../../src/engine/limits.ts';

/** The cookie a response sets (name=value), or null. */
function cookieOf(res: Response, name: string): string | null {
  for (const c of res.headers.getSetCookie()) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(c);
    if (m) return m[1] || null;
  }
  return null;
}

describe('browser sessions in the database', () => {
  let a: TestService; // the first instance (owns the database)
  let b: TestService; // a second instance on the same database
  let account: string;
  before(async () => {
    a = await startTestService({ engine: 'postgres' });
    b = await startTestService({ sameDatabaseAs: a });
    await createPlans(a);
    account = await subscribedAccount(a);
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  /** A new portal session of the account, exchanged for a browser session on `on`: the cookie's value. */
  async function signIn(on: TestService, accountId = account): Promise<{ cookie: string; token: string; portal_session_id: string }> {
    const ps = await on.api('POST', `/v1/accounts/${accountId}/portal-sessions`);
    assert.equal(ps.status, 201, JSON.stringify(ps.body));
    const res = await fetch(`${on.url}/portal?token=${ps.body.token}`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    const cookie = cookieOf(res, 'renewd_portal');
    assert.ok(cookie);
    return { cookie, token: ps.body.token, portal_session_id: ps.body.id };
  }
  const page = (on: TestService, cookie: string) => fetch(`${on.url}/portal`, { headers: { cookie: `renewd_portal=${cookie}` }, redirect: 'manual' });
  const signedIn = async (on: TestService, cookie: string) => {
    const r = await page(on, cookie);
    const body = await r.text();
    return r.status === 200 && body.includes('name="_csrf"');
  };

  test('a session made on one instance works on the other, and after a restart; only its hash is stored', async () => {
    const { cookie } = await signIn(a);
    assert.equal(await signedIn(a, cookie), true);
    assert.equal(await signedIn(b, cookie), true, 'the second instance knows it');
    // The second instance restarts (a new process on the same database).
    await b.close();
    b = await startTestService({ sameDatabaseAs: a });
    assert.equal(await signedIn(b, cookie), true, 'kept across the restart');
    // The message an action leaves for the next page is stored too: posted on one, shown by the other.
    const html = await (await page(b, cookie)).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1];
    const post = await fetch(`${b.url}/portal/sign-out`, { method: 'POST', headers: { cookie: `renewd_portal=${cookie}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(csrf)}` });
    assert.equal(post.status, 200);
    assert.equal(await signedIn(a, cookie), false, 'signed out on one instance: on every instance');

    const again = await signIn(a);
    const dump = JSON.stringify(await a.svc.ctx.db.query('SELECT * FROM web_sessions'));
    assert.ok(!dump.includes(again.cookie), 'the session id is not stored');
    assert.ok(!dump.includes(again.token), 'nor the portal token');
    assert.ok(dump.includes(sha256(again.cookie)), 'its SHA-256 is');
  });

  test(`at most ${SESSIONS_PER_OWNER} live sessions per account: the oldest are dropped`, async () => {
    const other = await subscribedAccount(a);
    const cookies: string[] = [];
    for (let i = 0; i < SESSIONS_PER_OWNER + 5; i++) cookies.push((await signIn(i % 2 ? a : b, other)).cookie);
    assert.equal(await countWebSessions(a.svc.ctx.db, 'customer', other, new Date()), SESSIONS_PER_OWNER);
    for (const [i, c] of cookies.entries()) assert.equal(await signedIn(a, c), i >= 5, `session ${i}`);
    // The other account's sessions are not touched.
    assert.ok((await countWebSessions(a.svc.ctx.db, 'customer', account, new Date())) >= 1);
  });

  test(`one portal token is exchanged for at most ${RATE_LIMITS.portalSignIns.limit} sessions an hour (every instance counts)`, async () => {
    const ps = await a.api('POST', `/v1/accounts/${account}/portal-sessions`);
    const codes: number[] = [];
    for (let i = 0; i < RATE_LIMITS.portalSignIns.limit + 2; i++) codes.push((await fetch(`${(i % 2 ? a : b).url}/portal?token=${ps.body.token}`, { redirect: 'manual' })).status);
    assert.deepEqual(codes, [...Array(RATE_LIMITS.portalSignIns.limit).fill(303), 429, 429]);
    // Another token of the same account still works; the next hour (service clock), this one again.
    await signIn(a);
    a.svc.ctx.testClock!.set(new Date(a.svc.ctx.clock.now().getTime() + 60 * 60_000));
    b.svc.ctx.testClock!.set(a.svc.ctx.clock.now());
    const later = await a.api('POST', `/v1/accounts/${account}/portal-sessions`, { ttl_minutes: 120 });
    assert.equal((await fetch(`${a.url}/portal?token=${later.body.token}`, { redirect: 'manual' })).status, 303);
  });

  test('idle time and lifetime end a session (wall clock); the portal session behind it ends it on the test clock', async () => {
    const acct = await subscribedAccount(a); // an account of its own: the others' sessions are newer than this wall clock
    let wall = Date.parse('2026-03-01T12:00:00Z');
    const store = portalSessions(a.svc.ctx, { now: () => wall });
    const ps = await a.api('POST', `/v1/accounts/${acct}/portal-sessions`, { ttl_minutes: 1440 });
    assert.equal(ps.status, 201);
    const s = await store.create({ kind: 'customer', account_id: acct, portal_session_id: ps.body.id });
    wall += 2 * 3_600_000 - 1000;
    assert.ok(await store.get(s.id), 'seen within its idle time');
    wall += 2 * 3_600_000 - 1000;
    assert.ok(await store.get(s.id), 'seen again: the idle time starts over');
    wall += 2 * 3_600_000 + 1;
    assert.equal(await store.get(s.id), null, 'idle for more than 2 h: ended');
    assert.equal((await a.svc.ctx.db.query('SELECT 1 FROM web_sessions WHERE id_hash = $1', [sha256(s.id)])).length, 0, 'and deleted');

    const long = await store.create({ kind: 'customer', account_id: acct, portal_session_id: ps.body.id });
    for (let h = 0; h < 11; h++) {
      wall += 3_600_000;
      assert.ok(await store.get(long.id), `hour ${h + 1}`);
    }
    wall += 3_600_000 - 1;
    assert.ok(await store.get(long.id), 'a millisecond before 12 h');
    wall += 1;
    assert.equal(await store.get(long.id), null, 'at most 12 h, however busy');

    // The portal session behind a browser session expires on the service clock (the test clock here).
    const { cookie } = await signIn(a, acct);
    assert.equal(await signedIn(a, cookie), true);
    a.svc.ctx.testClock!.set(new Date(a.svc.ctx.clock.now().getTime() + 61 * 60_000));
    assert.equal(await signedIn(a, cookie), false, 'its portal session (1 h) has expired');
  });

  test('revoking the portal session, the account\'s links and sessions, or the admin key ends the sessions on every instance', async () => {
    const one = await signIn(a);
    const two = await signIn(b);
    assert.equal((await a.api('DELETE', `/v1/portal-sessions/${one.portal_session_id}`)).status, 200);
    assert.equal(await signedIn(b, one.cookie), false, 'its portal session revoked');
    assert.equal(await signedIn(b, two.cookie), true, 'another is not');
    assert.equal((await b.api('POST', `/v1/accounts/${account}/links/revoke`)).status, 200);
    assert.equal(await countWebSessions(a.svc.ctx.db, 'customer', account, new Date()), 0, 'all of the account\'s are deleted');
    assert.equal(await signedIn(a, two.cookie), false);

    // The console: signed in on one instance with a key of its own, used on the other, ended by revoking the key.
    const key = await a.api('POST', '/v1/admin-keys', { name: 'sessions test' });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const login = await fetch(`${a.url}/console/login`);
    const loginCsrf = cookieOf(login, 'renewd_console_login')!;
    const signed = await fetch(`${a.url}/console/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `renewd_console_login=${loginCsrf}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${encodeURIComponent(loginCsrf)}&key=${encodeURIComponent(key.body.key)}`,
    });
    assert.equal(signed.status, 303);
    const op = cookieOf(signed, 'renewd_console')!;
    const consoleOn = (on: TestService) => fetch(`${on.url}/console`, { headers: { cookie: `renewd_console=${op}` }, redirect: 'manual' }).then((r) => r.status);
    assert.equal(await consoleOn(b), 200);
    const dump = JSON.stringify(await a.svc.ctx.db.query(`SELECT * FROM web_sessions WHERE kind = 'operator'`));
    assert.ok(!dump.includes(key.body.key) && !dump.includes(ADMIN_KEY) && !dump.includes(op), 'no key, no session id stored');
    assert.equal((await a.api('DELETE', `/v1/admin-keys/${key.body.id}`)).status, 200);
    assert.equal(await consoleOn(b), 303, 'the key revoked: back to the sign-in');
  });
});
