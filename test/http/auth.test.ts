// Who is calling (src/http/auth.ts) and the throttle of wrong keys (src/http/auth-throttle.ts),
// stated at the unit: the Authorization header's forms, admin keys and their short cache, portal
// tokens and their expiry on the service clock, the 401/403 answers, and the throttle's window.
// The whole service states the same through HTTP in test/security/admin-keys.test.ts; these run
// in a second, so a mutation of either file is caught without starting a service.
import { test, describe, before, after, beforeEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { canSee, forgetAdminKeys, requireAdmin, requireAnyone, resolvePrincipal, type Principal } from '../../src/http/auth.ts';
import { failureThrottle } from '../../src/http/auth-throttle.ts';
import { sha256 } from '../../src/lib/crypto.ts';
import { insertAdminKey, insertPortalSession, revokeAdminKeys, revokePortalSession } from '../../src/store/credentials.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { insertAccount } from '../helpers/store-rows.ts';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const clockAt = (at: Date) => ({ now: () => at });

async function lastUsed(db: Db, id: string): Promise<string | null> {
  const [r] = await db.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM admin_keys WHERE id = $1', [id]);
  return r.last_used_at ? new Date(r.last_used_at).toISOString() : null;
}

describe('resolvePrincipal: the Authorization header', () => {
  let t: TestDb;
  let n = 0;
  /** A stored admin key; its secret is returned (only its hash is stored). */
  async function adminKey(secret = `rk_admin_unit_${++n}_abcdefghijklmnopqrstuvwxyz`) {
    const id = `ak_unit_${++n}`;
    await insertAdminKey(t.db, { id, keyHash: sha256(secret), name: id, source: 'operator', last4: secret.slice(-4), now: T0 });
    return { id, secret };
  }
  /** A portal session of acc_1 expiring at `expires`. */
  async function portalToken(expires: Date, token = `ps_unit_${++n}_abcdefghijklmnop`) {
    const id = `pss_unit_${++n}`;
    await insertPortalSession(t.db, { id, token_hash: sha256(token), account_id: 'acc_1', created_at: T0, expires_at: expires });
    return { id, token };
  }

  before(async () => {
    t = await createTestDatabase('pglite');
    await insertAccount(t.db, 'acc_1', { created_at: T0 });
  });
  after(() => t.db && t.drop());
  beforeEach(() => {
    forgetAdminKeys(t.db);
    mock.timers.reset();
  });

  test('no header is nobody (null); a header that is not "Bearer <one token>" is invalid', async () => {
    const clock = clockAt(T0);
    assert.equal(await resolvePrincipal(t.db, clock, undefined), null);
    assert.equal(await resolvePrincipal(t.db, clock, ''), null);
    for (const header of ['Basic abc', 'Bearer', 'Bearer ', 'Bearer a b', 'xBearer abc', 'Bearer abc x', 'Token abc'])
      assert.equal(await resolvePrincipal(t.db, clock, header), 'invalid', header);
  });

  test('an active admin key is the operator, with its id; the scheme is case-insensitive and any white space separates it', async () => {
    const k = await adminKey();
    for (const header of [`Bearer ${k.secret}`, `bearer ${k.secret}`, `BEARER\t${k.secret}`, `Bearer   ${k.secret}`]) {
      forgetAdminKeys(t.db);
      assert.deepEqual(await resolvePrincipal(t.db, clockAt(T0), header), { kind: 'admin', key_id: k.id }, header);
    }
    // The whole header is the scheme and the key: a valid key with anything before or after is not valid.
    for (const header of [`xBearer ${k.secret}`, `Token Bearer ${k.secret}`, `Bearer ${k.secret} x`, `Bearer ${k.secret} ${k.secret}`]) {
      forgetAdminKeys(t.db);
      assert.equal(await resolvePrincipal(t.db, clockAt(T0), header), 'invalid', header);
    }
  });

  test('an unknown key and a revoked key are invalid', async () => {
    assert.equal(await resolvePrincipal(t.db, clockAt(T0), 'Bearer rk_admin_never_stored_abcdefghijklmnopqrstuvwxyz'), 'invalid');
    const k = await adminKey();
    await revokeAdminKeys(t.db, [k.id], T0);
    assert.equal(await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k.secret}`), 'invalid');
  });

  test('"last used" is written once per 10-second cache period (wall-clock), not once per request', async () => {
    mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-05-01T12:00:00.000Z') });
    const k = await adminKey();
    assert.equal(await lastUsed(t.db, k.id), null);
    await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k.secret}`);
    assert.equal(await lastUsed(t.db, k.id), '2026-05-01T12:00:00.000Z', 'wall-clock time, not the service clock');
    mock.timers.tick(9_999);
    assert.deepEqual(await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k.secret}`), { kind: 'admin', key_id: k.id });
    assert.equal(await lastUsed(t.db, k.id), '2026-05-01T12:00:00.000Z', 'within the cache period: no write');
    mock.timers.tick(1);
    assert.deepEqual(await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k.secret}`), { kind: 'admin', key_id: k.id });
    assert.equal(await lastUsed(t.db, k.id), '2026-05-01T12:00:10.000Z', 'at 10 s the database is asked again');
  });

  test('the cache holds several keys at once: each is read from the database once per period', async () => {
    mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-05-01T12:00:00.000Z') });
    const a = await adminKey();
    const b = await adminKey();
    await resolvePrincipal(t.db, clockAt(T0), `Bearer ${a.secret}`);
    await resolvePrincipal(t.db, clockAt(T0), `Bearer ${b.secret}`);
    mock.timers.tick(5_000);
    await resolvePrincipal(t.db, clockAt(T0), `Bearer ${a.secret}`);
    await resolvePrincipal(t.db, clockAt(T0), `Bearer ${b.secret}`);
    assert.equal(await lastUsed(t.db, a.id), '2026-05-01T12:00:00.000Z', 'a is still cached after b was');
    assert.equal(await lastUsed(t.db, b.id), '2026-05-01T12:00:00.000Z');
  });

  test('the cache is bounded: past 1,001 keys it starts over with the newest', async () => {
    mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-05-01T12:00:00.000Z') });
    const keys = [];
    for (let i = 0; i < 1_002; i++) keys.push(await adminKey());
    for (const k of keys) await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k.secret}`);
    mock.timers.tick(5_000);
    // 1,001 keys fit; the 1,002nd empties the cache before it is kept.
    for (const i of [0, 1_000, 1_001]) await resolvePrincipal(t.db, clockAt(T0), `Bearer ${keys[i].secret}`);
    assert.equal(await lastUsed(t.db, keys[0].id), '2026-05-01T12:00:05.000Z', 'the first was forgotten: read again');
    assert.equal(await lastUsed(t.db, keys[1_000].id), '2026-05-01T12:00:05.000Z', 'the 1,001st too');
    assert.equal(await lastUsed(t.db, keys[1_001].id), '2026-05-01T12:00:00.000Z', 'the newest is kept');
  });

  test('a key revoked elsewhere stops working when its 10 s in the cache end; forgetAdminKeys ends it at once', async () => {
    mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-05-01T12:00:00.000Z') });
    const k = await adminKey();
    const header = `Bearer ${k.secret}`;
    assert.equal((await resolvePrincipal(t.db, clockAt(T0), header)) !== 'invalid', true);
    await revokeAdminKeys(t.db, [k.id], T0); // another instance, or `renewd keys revoke`
    mock.timers.tick(9_999);
    assert.deepEqual(await resolvePrincipal(t.db, clockAt(T0), header), { kind: 'admin', key_id: k.id }, 'still cached');
    mock.timers.tick(1);
    assert.equal(await resolvePrincipal(t.db, clockAt(T0), header), 'invalid', 'the cache period is over');

    const k2 = await adminKey();
    assert.deepEqual(await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k2.secret}`), { kind: 'admin', key_id: k2.id });
    await revokeAdminKeys(t.db, [k2.id], T0);
    forgetAdminKeys(t.db); // a revocation in this process
    assert.equal(await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k2.secret}`), 'invalid');
  });

  test('the cache is per database: a key of one installation opens nothing in another', async () => {
    const other = await createTestDatabase('pglite');
    try {
      const k = await adminKey();
      assert.deepEqual(await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k.secret}`), { kind: 'admin', key_id: k.id });
      assert.equal(await resolvePrincipal(other.db, clockAt(T0), `Bearer ${k.secret}`), 'invalid');
    } finally {
      await other.drop();
    }
  });

  test('a portal token is the customer of its account until it expires on the service clock (expiry itself is out)', async () => {
    const expires = new Date(T0.getTime() + 3_600_000);
    const s = await portalToken(expires);
    const header = `Bearer ${s.token}`;
    const customer: Principal = { kind: 'customer', account_id: 'acc_1', session_id: s.id };
    assert.deepEqual(await resolvePrincipal(t.db, clockAt(T0), header), customer);
    assert.deepEqual(await resolvePrincipal(t.db, clockAt(new Date(expires.getTime() - 1)), header), customer);
    assert.equal(await resolvePrincipal(t.db, clockAt(expires), header), 'invalid');
    assert.equal(await resolvePrincipal(t.db, clockAt(new Date(expires.getTime() + 1)), header), 'invalid');
  });

  test('a revoked portal session is invalid, even before it expires', async () => {
    const s = await portalToken(new Date(T0.getTime() + 3_600_000));
    await revokePortalSession(t.db, s.id, T0);
    assert.equal(await resolvePrincipal(t.db, clockAt(T0), `Bearer ${s.token}`), 'invalid');
  });

  test('a token shaped as a portal token (ps_…) is only ever a portal token: it is never looked up as an admin key', async () => {
    // The fast path: a customer's request costs one look-up, not two. A stored admin key whose
    // secret starts with ps_ therefore opens nothing (generated keys start rk_admin_).
    const k = await adminKey('ps_looks_like_a_portal_token_abcdefghijklmnop');
    assert.equal(await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k.secret}`), 'invalid');
  });

  test('a cached admin key answers without asking the database', async () => {
    // A cached admin key answers before the database is asked, whatever the token looks like.
    const k = await adminKey('rk_admin_cached_abcdefghijklmnopqrstuvwxyz');
    await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k.secret}`);
    await t.db.query('DELETE FROM admin_keys WHERE id = $1', [k.id]);
    assert.deepEqual(await resolvePrincipal(t.db, clockAt(T0), `Bearer ${k.secret}`), { kind: 'admin', key_id: k.id });
  });
});

describe('requireAdmin, requireAnyone, canSee: the answers', () => {
  let app: FastifyInstance;
  const principals: Record<string, Principal> = {
    admin: { kind: 'admin', key_id: 'ak_1' },
    customer: { kind: 'customer', account_id: 'acc_1', session_id: 'pss_1' },
    none: null,
  };
  before(async () => {
    app = Fastify();
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (req) => {
      req.principal = principals[String(req.headers['x-as'])];
    });
    app.get('/admin', { preValidation: requireAdmin }, async () => ({ ok: true }));
    app.get('/anyone', { preValidation: requireAnyone }, async () => ({ ok: true }));
    app.get('/sees/:account', async (req) => ({ sees: canSee(req, (req.params as { account: string }).account) }));
    await app.ready();
  });
  after(() => app.close());

  const call = async (url: string, as: string) => {
    const r = await app.inject({ method: 'GET', url, headers: { 'x-as': as } });
    return { status: r.statusCode, type: r.headers['content-type'], body: r.json() };
  };

  test('operator-only: nobody gets 401 (how to authenticate), a customer 403, the operator passes', async () => {
    const none = await call('/admin', 'none');
    assert.equal(none.status, 401);
    assert.equal(none.type, 'application/problem+json; charset=utf-8');
    assert.equal(none.body.code, 'unauthorized');
    assert.equal(none.body.detail, 'send Authorization: Bearer <admin key>');
    const customer = await call('/admin', 'customer');
    assert.equal(customer.status, 403);
    assert.equal(customer.body.code, 'forbidden');
    assert.equal(customer.body.detail, 'this endpoint is for operators');
    assert.deepEqual(await call('/admin', 'admin'), { status: 200, type: 'application/json; charset=utf-8', body: { ok: true } });
  });

  test('anyone signed in: nobody gets 401, naming both credentials; a customer and the operator pass', async () => {
    const none = await call('/anyone', 'none');
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'unauthorized');
    assert.equal(none.body.detail, 'send Authorization: Bearer <admin key or portal token>');
    assert.equal((await call('/anyone', 'customer')).status, 200);
    assert.equal((await call('/anyone', 'admin')).status, 200);
  });

  test('a customer sees only their own account; the operator sees every account; nobody sees none', async () => {
    assert.equal((await call('/sees/acc_1', 'customer')).body.sees, true);
    assert.equal((await call('/sees/acc_2', 'customer')).body.sees, false);
    assert.equal((await call('/sees/acc_2', 'admin')).body.sees, true);
    assert.equal((await call('/sees/acc_1', 'none')).body.sees, false);
  });
});

describe('failureThrottle: wrong keys per address', () => {
  test('by default 20 wrong keys a minute: the 20th blocks, for the rest of the minute (whole seconds, rounded up)', () => {
    const th = failureThrottle();
    for (let i = 0; i < 19; i++) th.failed('10.0.0.1', 1_000 + i);
    assert.equal(th.blockedFor('10.0.0.1', 1_100), 0, '19 wrong keys do not block');
    th.failed('10.0.0.1', 1_200);
    assert.equal(th.blockedFor('10.0.0.1', 1_200), 60, 'the window counts from the first failure');
    assert.equal(th.blockedFor('10.0.0.1', 1_000 + 30_000), 30);
    assert.equal(th.blockedFor('10.0.0.1', 1_000 + 30_001), 30, 'rounded up');
    assert.equal(th.blockedFor('10.0.0.1', 1_000 + 59_999), 1, 'never 0 while blocked');
    assert.equal(th.blockedFor('10.0.0.1', 1_000 + 60_000), 0, 'the window is over exactly a minute after the first failure');
    assert.equal(th.blockedFor('10.0.0.2', 1_200), 0, 'other addresses are not blocked');
  });

  test('the limit and window are the caller\'s: the console uses 10 in 15 minutes', () => {
    const th = failureThrottle({ limit: 10, windowMs: 15 * 60_000 });
    for (let i = 0; i < 9; i++) th.failed('a', 0);
    assert.equal(th.blockedFor('a', 0), 0);
    th.failed('a', 0);
    assert.equal(th.blockedFor('a', 0), 900);
    assert.equal(th.blockedFor('a', 15 * 60_000 - 1), 1);
    assert.equal(th.blockedFor('a', 15 * 60_000), 0);
  });

  test('a failure after the window starts a new window of one failure', () => {
    const th = failureThrottle({ limit: 2, windowMs: 1_000 });
    th.failed('a', 0);
    th.failed('a', 1_000); // the first window is over: this is the first of a new one
    assert.equal(th.blockedFor('a', 1_000), 0);
    th.failed('a', 1_999);
    assert.equal(th.blockedFor('a', 1_999), 1);
    assert.equal(th.blockedFor('a', 2_000), 0, 'the new window began at 1,000');
  });

  test('a failure inside the window adds to its count without moving its start', () => {
    const th = failureThrottle({ limit: 3, windowMs: 10_000 });
    th.failed('a', 0);
    th.failed('a', 9_000);
    th.failed('a', 9_999);
    assert.equal(th.blockedFor('a', 9_999), 1, 'blocked until 10,000, the first failure plus the window');
    assert.equal(th.blockedFor('a', 10_000), 0);
  });

  test('bounded: past maxAddresses the oldest address is forgotten first', () => {
    const th = failureThrottle({ limit: 1, windowMs: 60_000, maxAddresses: 2 });
    th.failed('first', 0);
    th.failed('second', 0);
    assert.equal(th.blockedFor('first', 1), 60);
    th.failed('third', 1);
    assert.equal(th.blockedFor('first', 1), 0, 'the oldest is forgotten');
    assert.equal(th.blockedFor('second', 1), 60);
    assert.equal(th.blockedFor('third', 1), 60);
    // A failure of an address already counted adds no address: nobody is forgotten.
    th.failed('second', 2);
    assert.equal(th.blockedFor('third', 2), 60);
  });

  test('the default bound is 10,000 addresses', () => {
    const th = failureThrottle({ limit: 1 });
    for (let i = 0; i < 10_000; i++) th.failed(`a${i}`, 0);
    assert.equal(th.blockedFor('a0', 0), 60, '10,000 addresses are all kept');
    th.failed('one more', 0);
    assert.equal(th.blockedFor('a0', 0), 0, 'the 10,001st forgets the first');
    assert.equal(th.blockedFor('a1', 0), 60);
  });

  test('without a time, the wall clock is used', () => {
    mock.timers.enable({ apis: ['Date'], now: 5_000 });
    try {
      const th = failureThrottle({ limit: 1, windowMs: 10_000 });
      th.failed('a');
      assert.equal(th.blockedFor('a'), 10);
      mock.timers.tick(9_000);
      assert.equal(th.blockedFor('a'), 1);
      mock.timers.tick(1_000);
      assert.equal(th.blockedFor('a'), 0);
    } finally {
      mock.timers.reset();
    }
  });
});
