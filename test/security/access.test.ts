// Access control, for every operation in GET /openapi.json × {no auth, wrong key, malformed header,
// expired token, revoked token, a customer token on another account's resource, a customer token on
// an operator endpoint}: 401 / 404 / 403 as problem+json, and nothing changes. Then the pages:
// secure headers, CSRF refusals; and secrets at rest: admin keys and portal tokens only hashed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { world, operations, urlFor, snapshot, diff, type World, type Operation } from './helpers.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('access control', () => {
  let w: World;
  let ops: Operation[];
  before(async () => {
    w = await world();
    ops = await operations(w.t);
  });
  after(() => w.close());

  test('the OpenAPI document lists the operations, each with its security', () => {
    assert.ok(ops.length >= 30, `only ${ops.length} operations`);
    for (const op of ops) assert.ok(op.adminOnly || op.customer || op.signed, `${op.method} ${op.path} declares no security`);
  });

  test('matrix: every operation refuses callers who may not use it, and changes nothing', async () => {
    const before = await snapshot(w.t.svc.ctx.db);
    const rows: string[] = [];
    const failures: string[] = [];
    let tried = 0;
    const expect = async (op: Operation, who: string, auth: string | null, want: number, header?: string) => {
      // B's resources; a customer call that is not about an account resource (its own session) is skipped below.
      const query = op.path === '/v1/notifications' ? `?account_id=${w.b.account}` : '';
      const url = urlFor(w, op, w.b, query);
      // A customer may buy for their own account only: the body names B's account.
      const body = op.method === 'POST' && op.path === '/v1/subscriptions' ? { ...op.body, account_id: w.b.account } : op.body;
      const headers: Record<string, string> = {};
      let res;
      if (header !== undefined) {
        headers.authorization = header;
        res = await w.t.api(op.method, url, body, null, headers);
      } else res = await w.t.api(op.method, url, body, auth);
      tried++;
      const ct = res.headers.get('content-type') ?? '';
      const okStatus = res.status === want;
      const okType = ct.startsWith('application/problem+json') && res.body?.status === res.status && String(res.body?.type).startsWith('urn:renewd:problem:');
      rows.push(`${op.method.padEnd(6)} ${op.path.padEnd(46)} ${who.padEnd(18)} ${res.status}`);
      if (!okStatus || !okType) failures.push(`${op.method} ${url} as ${who}: ${res.status} ${ct} (want ${want}) ${JSON.stringify(res.body).slice(0, 200)}`);
    };
    for (const op of ops) {
      if (op.signed) {
        // No key opens it: without the gateway's signature it is 400 (an invalid bearer is 401 before that).
        await expect(op, 'no auth', null, 400);
        await expect(op, 'admin key', w.admin, 400);
        await expect(op, 'customer token', w.a.token, 400);
        await expect(op, 'wrong key', 'rk_admin_not_the_key_at_all', 401);
        continue;
      }
      await expect(op, 'no auth', null, 401);
      await expect(op, 'wrong key', 'rk_admin_not_the_key_at_all', 401);
      await expect(op, 'malformed header', null, 401, `Basic ${Buffer.from(`${w.admin}:`).toString('base64')}`);
      await expect(op, 'expired token', w.expiredToken, 401);
      await expect(op, 'revoked token', w.revokedToken, 401);
      if (op.adminOnly) await expect(op, 'customer→admin', w.a.token, 403);
      // Operations that name no account (the token's own session; the plans a customer may buy) have no "other".
      else if (op.path !== '/v1/portal-sessions/current' && op.path !== '/v1/plans') await expect(op, 'customer→other', w.a.token, 404);
    }
    console.log(`access matrix: ${ops.length} operations, ${tried} requests`);
    assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
    assert.deepEqual(diff(before, await snapshot(w.t.svc.ctx.db)), [], 'a refused request changed the state');
  });

  test('unauthenticated requests with an invalid body are refused too (never 2xx)', async () => {
    for (const op of ops.filter((o) => o.bodySchema)) {
      const r = await w.t.api(op.method, urlFor(w, op, w.b), { definitely_not_a_field: true }, null);
      assert.ok([400, 401].includes(r.status), `${op.method} ${op.path}: ${r.status}`);
    }
  });

  test('control: the same calls succeed for their rightful callers', async () => {
    const gets = ops.filter((o) => o.method === 'GET');
    for (const op of gets) {
      const admin = await w.t.api('GET', urlFor(w, op, w.b));
      if (op.path === '/v1/portal-sessions/current') assert.equal(admin.status, 404); // the admin key has no portal session
      else assert.equal(admin.status, 200, `admin GET ${op.path}: ${admin.status} ${JSON.stringify(admin.body).slice(0, 200)}`);
      // The fixture's credit note is a third account's (C): a customer's own is fetched in test/api/documents.test.ts.
      if (op.customer && !['/v1/help-requests/{id}', '/v1/credit-notes/{id}', '/v1/credit-notes/{id}/pdf'].includes(op.path)) {
        const own = await w.t.api('GET', urlFor(w, op, w.a), undefined, w.a.token);
        assert.equal(own.status, 200, `customer GET own ${op.path}: ${own.status} ${JSON.stringify(own.body).slice(0, 200)}`);
      }
    }
    // A customer's own help request (the fixture's are made by the operator on each account's first invoice).
    const own = await w.t.api('GET', `/v1/help-requests/${w.a.help}`, undefined, w.a.token);
    assert.equal(own.status, 200);
    const current = await w.t.api('GET', '/v1/portal-sessions/current', undefined, w.a.token);
    assert.equal(current.body.account_id, w.a.account);
    // The list of e-mails of a customer never holds another account's.
    const mails = await w.t.api('GET', '/v1/notifications', undefined, w.a.token);
    assert.equal(mails.status, 200);
    assert.ok(mails.body.data.length > 0 && mails.body.data.every((n: any) => n.account_id === undefined || n.account_id === w.a.account));
  });

  test('customer tokens do not open the operator console', async () => {
    const r = await fetch(`${w.t.url}/console/accounts`, { headers: { authorization: `Bearer ${w.a.token}` }, redirect: 'manual' });
    assert.ok([303, 401, 403].includes(r.status), `console with a customer token: ${r.status}`);
    const login = await consoleLogin(w, w.a.token);
    assert.equal(login.status, 401, 'a portal token is not an admin key');
  });

  test('secrets at rest: admin keys and portal tokens are stored as SHA-256 only', async () => {
    const db = w.t.svc.ctx.db;
    const keys = await db.query<Record<string, unknown>>('SELECT * FROM admin_keys');
    assert.ok(keys.length >= 1);
    const dump = JSON.stringify(keys);
    assert.ok(!dump.includes(w.admin), 'the admin key is stored in plain text');
    assert.ok(keys.some((k) => k.key_hash === sha256(w.admin)));
    const sessions = JSON.stringify(await db.query('SELECT * FROM portal_sessions'));
    for (const tok of [w.a.token, w.b.token, w.expiredToken, w.revokedToken]) assert.ok(!sessions.includes(tok), 'a portal token is stored in plain text');
    // Nowhere else either: every table, as text.
    const tables = await db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`);
    for (const { table_name } of tables) {
      const [r] = await db.query<{ s: string | null }>(`SELECT string_agg(x::text, '|') AS s FROM ${table_name} x`);
      for (const secret of [w.admin, w.a.token, w.b.token]) assert.ok(!(r.s ?? '').includes(secret), `a secret is stored in ${table_name}`);
    }
  });
});

/** Signs in to the console with `key`; answers the final response (cookies followed by hand). */
async function consoleLogin(w: World, key: string) {
  const page = await fetch(`${w.t.url}/console/login`);
  const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0];
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  return fetch(`${w.t.url}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ _csrf: csrf, key }).toString(),
    redirect: 'manual',
  });
}

describe('pages: secure headers and CSRF', () => {
  let w: World;
  before(async () => {
    w = await world();
  });
  after(() => w.close());

  /** A browser session on the customer pages (the portal link exchanged for a cookie). */
  async function portalSession(token: string) {
    const r = await fetch(`${w.t.url}/portal?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
    assert.equal(r.status, 303);
    const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0];
    assert.ok(cookie.includes('='), 'no session cookie');
    const page = await fetch(`${w.t.url}/portal`, { headers: { cookie } });
    assert.equal(page.status, 200);
    const body = await page.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
    assert.ok(csrf, 'no CSRF token in the page forms');
    return { cookie, csrf: csrf!, page, body };
  }

  function assertSecureHeaders(h: Headers, where: string) {
    const csp = h.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/, `${where}: CSP ${csp}`);
    assert.match(csp, /default-src 'self'/, `${where}: CSP ${csp}`);
    assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/, `${where}: CSP ${csp}`);
    assert.equal(h.get('x-content-type-options'), 'nosniff', where);
    assert.ok(['DENY', 'SAMEORIGIN'].includes(h.get('x-frame-options') ?? ''), `${where}: x-frame-options ${h.get('x-frame-options')}`);
    assert.ok(h.get('referrer-policy'), `${where}: no referrer-policy`);
  }

  test('customer pages and console send CSP (frame-ancestors), nosniff, frame options', async () => {
    const { page, cookie } = await portalSession(w.a.token);
    assertSecureHeaders(page.headers, '/portal');
    assert.match(cookie, /=/);
    const setCookie = (await fetch(`${w.t.url}/portal?token=${encodeURIComponent(w.a.token)}`, { redirect: 'manual' })).headers.get('set-cookie') ?? '';
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    assertSecureHeaders((await fetch(`${w.t.url}/console/login`)).headers, '/console/login');
    assertSecureHeaders((await fetch(`${w.t.url}/portal`)).headers, '/portal signed out');
  });

  test('portal forms without (or with a wrong) CSRF token are refused and change nothing', async () => {
    const { cookie, csrf } = await portalSession(w.a.token);
    const other = await portalSession(w.b.token);
    const db = w.t.svc.ctx.db;
    const before = await snapshot(db);
    const post = (path: string, form: Record<string, string>) =>
      fetch(`${w.t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams(form).toString(), redirect: 'manual' });
    for (const [path, form] of [
      ['/portal/billing/setup', {}],
      [`/portal/invoices/${w.a.pastDue}/retry`, {}],
      [`/portal/invoices/${w.a.pastDue}/help-requests`, { message: 'help' }],
      ['/portal/sign-out', {}],
    ] as const) {
      for (const token of [undefined, '', 'x'.repeat(43), other.csrf]) {
        const r = await post(path, token === undefined ? { ...form } : { ...form, _csrf: token });
        assert.equal(r.status, 403, `${path} with csrf ${JSON.stringify(token?.slice(0, 8))}: ${r.status}`);
      }
    }
    assert.deepEqual(diff(before, await snapshot(db)), [], 'a refused form changed the state');
    // The right token works (control): the session is still signed in and the help request goes through.
    const ok = await post(`/portal/invoices/${w.a.pastDue}/help-requests`, { message: 'help', _csrf: csrf });
    assert.equal(ok.status, 303);
  });

  test('console sign-in and forms need their CSRF token', async () => {
    // No login CSRF cookie/token: refused even with the right key.
    const bare = await fetch(`${w.t.url}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: w.admin }).toString(),
      redirect: 'manual',
    });
    assert.equal(bare.status, 403);
    const login = await consoleLogin(w, w.admin);
    assert.equal(login.status, 303);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const db = w.t.svc.ctx.db;
    const before = await snapshot(db);
    for (const [path, form] of [
      ['/console/test-clock/advance', { days: '1' }],
      [`/console/invoices/${w.a.pastDue}/retry`, { account_id: w.a.account }],
      [`/console/help/${w.b.help}/close`, {}],
      ['/console/policy', { grace_days: '10' }],
      ['/console/policy/backtest', { policy: '{}', since: '90' }],
    ] as const) {
      const r = await fetch(`${w.t.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams({ ...form, _csrf: 'forged' }).toString(),
        redirect: 'manual',
      });
      assert.equal(r.status, 403, `${path}: ${r.status}`);
    }
    assert.deepEqual(diff(before, await snapshot(db)), []);
  });
});
