// Admin keys (#16 item 3): named, hashed, shown once, revocable, rotated with the environment;
// wrong keys are throttled per client address without ever refusing a correct key; the client
// address and https come from a trusted proxy only when RENEWD_TRUST_PROXY says so.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_KEY, startTestService, type TestService } from '../helpers/service.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { startService } from '../../src/service.ts';
import { weakKeyReason } from '../../src/engine/admin-keys.ts';
import { suiteLogger } from '../helpers/suite-log.ts';

const run = promisify(execFile);

describe('admin keys through the API', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
  });
  after(() => t.close());

  test('a created key works at once, is listed without its secret, and stops working when revoked', async () => {
    const created = await t.api('POST', '/v1/admin-keys', { name: 'billing-sync job' });
    assert.equal(created.status, 201);
    assert.match(created.body.key, /^rk_admin_[A-Za-z0-9_-]{32}$/);
    assert.equal(created.body.last4, created.body.key.slice(-4));
    assert.equal((await t.api('GET', '/v1/accounts', undefined, created.body.key)).status, 200);

    const list = await t.api('GET', '/v1/admin-keys');
    assert.equal(list.status, 200);
    const listed = list.body.data.find((k: any) => k.id === created.body.id);
    assert.equal(listed.name, 'billing-sync job');
    assert.equal(listed.active, true);
    assert.ok(listed.last_used_at, 'last used is recorded');
    assert.ok(!JSON.stringify(list.body).includes(created.body.key), 'the list never holds a key');
    assert.ok(list.body.data.some((k: any) => k.source === 'environment' && k.active), 'the environment key is one of the keys');

    const revoked = await t.api('DELETE', `/v1/admin-keys/${created.body.id}`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.active, false);
    const after = await t.api('GET', '/v1/accounts', undefined, created.body.key);
    assert.equal(after.status, 401, 'a revoked key stops working at once in this process');
    assert.equal(after.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    // Revoking twice changes nothing.
    const again = await t.api('DELETE', `/v1/admin-keys/${created.body.id}`);
    assert.equal(again.status, 200);
    assert.equal(again.body.revoked_at, revoked.body.revoked_at);
  });

  test('bad input: no name, unknown key, a customer token, the last active key', async () => {
    assert.equal((await t.api('POST', '/v1/admin-keys', {})).status, 400);
    assert.equal((await t.api('POST', '/v1/admin-keys', { name: '' })).status, 400);
    assert.equal((await t.api('POST', '/v1/admin-keys', { name: 'x', scope: 'all' })).status, 400);
    const missing = await t.api('DELETE', '/v1/admin-keys/ak_nope');
    assert.equal(missing.status, 404);
    const acct = await t.api('POST', '/v1/accounts', { name: 'A', email: 'a@example.test', locale: 'en', domain_zone: 'com', currency: 'EUR' });
    const ps = await t.api('POST', `/v1/accounts/${acct.body.id}/portal-sessions`, {});
    assert.equal((await t.api('GET', '/v1/admin-keys', undefined, ps.body.token)).status, 403);
    assert.equal((await t.api('POST', '/v1/admin-keys', { name: 'x' }, ps.body.token)).status, 403);

    const keys = (await t.api('GET', '/v1/admin-keys')).body.data.filter((k: any) => k.active);
    assert.equal(keys.length, 1, 'only the environment key is left');
    const last = await t.api('DELETE', `/v1/admin-keys/${keys[0].id}`);
    assert.equal(last.status, 409);
    assert.equal(last.body.code, 'last_admin_key');
    assert.equal((await t.api('GET', '/v1/accounts')).status, 200, 'and it still works');
  });

  test('wrong keys from one address are throttled (429, Retry-After); the correct key is never refused', async () => {
    // Earlier tests here sent one wrong key (the revoked one); the limit is 20 a minute.
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await t.api('GET', '/v1/accounts', undefined, `rk_admin_wrong_${i}`)).status);
    assert.deepEqual(statuses, [...Array(19).fill(401), 429]);
    const throttled = await t.api('GET', '/v1/accounts', undefined, 'rk_admin_wrong_again');
    assert.equal(throttled.status, 429);
    assert.equal(throttled.body.code, 'rate_limited');
    assert.ok(Number(throttled.headers.get('retry-after')) > 0);
    assert.equal((await t.api('GET', '/v1/accounts')).status, 200, 'the correct key right after');
  });
});

describe('the environment key', () => {
  test('a weak RENEWD_ADMIN_KEY is refused, naming the variable', async () => {
    assert.match(weakKeyReason('abc123')!, /6 characters; at least 32/);
    assert.match(weakKeyReason('a'.repeat(40))!, /only 1 different characters/);
    assert.equal(weakKeyReason(ADMIN_KEY), null);
    const tdb = await createTestDatabase('pglite');
    try {
      await assert.rejects(start(tdb.db, 'secret'), /RENEWD_ADMIN_KEY is too weak: it has 6 characters; at least 32 are needed/);
    } finally {
      await tdb.drop();
    }
  });

  test('a new RENEWD_ADMIN_KEY revokes the previous one and the generated one; a revoked key cannot come back', async () => {
    const tdb = await createTestDatabase('pglite');
    try {
      // First start without a key: one is generated.
      const first = await start(tdb.db, undefined);
      const generated = first.generatedAdminKey!;
      assert.ok(generated);
      await first.stop();
      const keyA = 'rk_env_key_A_0123456789abcdefghijkl';
      const keyB = 'rk_env_key_B_0123456789abcdefghijkl';
      const a = await start(tdb.db, keyA);
      assert.equal(await status(a, generated), 401, 'the generated key is retired by the environment key');
      assert.equal(await status(a, keyA), 200);
      const named = await (await call(a, 'POST', '/v1/admin-keys', keyA, { name: 'ops laptop' })).json();
      await a.stop();
      const b = await start(tdb.db, keyB);
      assert.equal(await status(b, keyA), 401, 'rotation: the previous environment key is revoked');
      assert.equal(await status(b, keyB), 200);
      assert.equal(await status(b, named.key), 200, 'named keys are not touched by a rotation');
      await b.stop();
      await assert.rejects(start(tdb.db, keyA), /RENEWD_ADMIN_KEY holds key ak_\w+, which was revoked/);
    } finally {
      await tdb.drop();
    }
  });
});

describe('client address and https behind a proxy (RENEWD_TRUST_PROXY)', () => {
  test('without it, X-Forwarded-For is ignored: every forwarded client shares the proxy address', async () => {
    const t = await startTestService({ config: { authFailuresPerMinute: 3 } });
    try {
      for (let i = 0; i < 3; i++) await t.api('GET', '/v1/accounts', undefined, 'wrong', { 'x-forwarded-for': `203.0.113.${i}` });
      assert.equal((await t.api('GET', '/v1/accounts', undefined, 'wrong', { 'x-forwarded-for': '203.0.113.99' })).status, 429);
    } finally {
      await t.close();
    }
  });

  test('with it, each forwarded client is throttled on its own, and the console cookie is Secure over https', async () => {
    const t = await startTestService({ config: { authFailuresPerMinute: 3, trustProxy: true } });
    try {
      for (let i = 0; i < 3; i++) await t.api('GET', '/v1/accounts', undefined, 'wrong', { 'x-forwarded-for': '203.0.113.1' });
      assert.equal((await t.api('GET', '/v1/accounts', undefined, 'wrong', { 'x-forwarded-for': '203.0.113.1' })).status, 429);
      assert.equal((await t.api('GET', '/v1/accounts', undefined, 'wrong', { 'x-forwarded-for': '203.0.113.2' })).status, 401);
      const login = await fetch(`${t.url}/console/login`, { headers: { 'x-forwarded-proto': 'https' } });
      assert.match(login.headers.get('set-cookie') ?? '', /; Secure/);
    } finally {
      await t.close();
    }
  });

  test('a value that is not a proxy list is refused, naming the variable', () => {
    assert.throws(() => loadConfig({ RENEWD_TRUST_PROXY: 'everyone' }), /RENEWD_TRUST_PROXY="everyone" is not accepted: true, false, hops:N or a comma-separated list/);
    assert.equal(loadConfig({ RENEWD_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy, '10.0.0.0/8,127.0.0.1');
    assert.equal(loadConfig({ RENEWD_TRUST_PROXY: 'hops:2' }).trustProxy, 2);
  });
});

describe('renewd keys (the command)', () => {
  test('create prints the key once; list shows it without the key; revoke retires it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'renewd-keys-'));
    const env = { ...process.env, RENEWD_DATA_DIR: dir, RENEWD_ADMIN_KEY: '', DATABASE_URL: '' };
    const renewd = (...args: string[]) => run(process.execPath, ['bin/renewd.js', 'keys', ...args], { env });
    try {
      const created = await renewd('create', '--name', 'deploy bot');
      const key = created.stdout.trim();
      assert.match(key, /^rk_admin_/);
      const id = /created (ak_\w+)/.exec(created.stderr)![1];
      const list = (await renewd('list')).stdout;
      assert.match(list, new RegExp(`${id}\\tactive \\t…${key.slice(-4)}\\toperator\\tlast used never\\tdeploy bot`));
      assert.ok(!list.includes(key));
      // The only key cannot be revoked (nobody could operate renewd); with a second one it can.
      await assert.rejects(renewd('revoke', id), (e: any) => e.code === 1 && /the only active admin key: create another one first/.test(e.stderr));
      await renewd('create', '--name', 'successor');
      assert.match((await renewd('revoke', id)).stdout, new RegExp(`${id} "deploy bot" revoked`));
      assert.match((await renewd('list')).stdout, new RegExp(`${id}\\trevoked`));
      await assert.rejects(renewd('create'), (e: any) => e.code === 2 && /renewd keys create --name NAME/.test(e.stderr));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function start(db: Awaited<ReturnType<typeof createTestDatabase>>['db'], adminKey: string | undefined) {
  const config: Config = { ...loadConfig({}), port: 0, host: '127.0.0.1', testClock: true, testClockStart: '2026-01-31T09:00:00Z', sandboxPort: 0, adminKey, worker: false, smtpUrl: undefined };
  return startService(config, { db, worker: false, logger: suiteLogger() });
}

function urlOf(svc: Awaited<ReturnType<typeof start>>) {
  const addr = svc.app.server.address();
  return typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}` : svc.url;
}

function call(svc: Awaited<ReturnType<typeof start>>, method: string, p: string, key: string, body?: unknown) {
  return fetch(urlOf(svc) + p, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
}

async function status(svc: Awaited<ReturnType<typeof start>>, key: string) {
  return (await call(svc, 'GET', '/v1/accounts', key)).status;
}
