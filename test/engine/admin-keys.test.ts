// Operator keys' commands (src/engine/admin-keys.ts) at the unit, on a database: what a weak key
// is, the names a key may have, the environment's key replacing earlier ones at start, a key
// generated only for an installation with none, creation shown once, revocation (never of the
// last active key) and the events each leaves. test/security/admin-keys.test.ts walks the same
// through the API and `renewd keys`; these run in seconds, for mutation testing.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { CommandError } from '../../src/core/errors.ts';
import { createAdminKey, ensureAdminKeys, listKeys, MIN_KEY_LENGTH, revokeAdminKey, weakKeyReason } from '../../src/engine/admin-keys.ts';
import { sha256 } from '../../src/lib/crypto.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const T1 = new Date('2026-03-02T10:00:00.000Z');
const STRONG = 'abcdefghij0123456789ABCDEFGHIJKLMNOP'; // 36 characters, 36 different
const STRONG2 = 'ZYXWVUTSRQ9876543210zyxwvutsrqponmlk';

/** The admin-key events, oldest first (type and data). */
async function keyEvents(db: Db) {
  return db.query<{ type: string; data: Record<string, unknown>; account_id: string | null; occurred_at: Date }>(
    "SELECT type, data, account_id, occurred_at FROM events WHERE type LIKE 'admin_key.%' ORDER BY id",
  );
}

/** The CommandError a call throws, for its kind, code and message. */
async function refusal(p: Promise<unknown>): Promise<CommandError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CommandError, String(e));
    return e;
  }
  assert.fail('expected a refusal');
}

describe('weakKeyReason', () => {
  test(`a key needs ${MIN_KEY_LENGTH} characters, 10 different ones, and no white space`, () => {
    assert.equal(MIN_KEY_LENGTH, 32);
    assert.equal(weakKeyReason(STRONG), null);
    assert.equal(weakKeyReason('abcdefghij'.padEnd(32, 'a')), null, '32 characters, exactly 10 different: strong enough');
    assert.equal(weakKeyReason('abcdefghij'.padEnd(31, 'a')), 'it has 31 characters; at least 32 are needed');
    assert.equal(weakKeyReason(''), 'it has 0 characters; at least 32 are needed');
    assert.equal(weakKeyReason('abcdefghi'.padEnd(40, 'a')), 'it uses only 9 different characters; at least 10 are needed');
    assert.equal(weakKeyReason(`${STRONG} x`), 'it contains white space');
    assert.equal(weakKeyReason(`${STRONG}\n`), 'it contains white space');
    assert.equal(weakKeyReason(`\t${STRONG}`), 'it contains white space');
  });
});

describe('admin key commands', () => {
  let t: TestDb;
  before(async () => {
    t = await createTestDatabase('pglite');
  });
  after(() => t.db && t.drop());
  // One database for the file (a new one costs seconds, and mutation testing runs this file for
  // every mutant): each test starts from an installation with no key and no event.
  beforeEach(async () => {
    await t.db.query('DELETE FROM admin_keys');
    await t.db.query('DELETE FROM events');
  });

  test('an installation with no key and none configured generates one, once, returned to be printed', async () => {
    const first = await ensureAdminKeys(t.db, undefined, T0);
    assert.match(first.generated!, /^rk_admin_[A-Za-z0-9_-]{32}$/);
    assert.deepEqual(first.revoked, []);
    const [k] = await listKeys(t.db);
    assert.deepEqual(
      { ...k },
      { id: `ak_${sha256(first.generated!).slice(0, 12)}`, name: 'generated at first start', source: 'generated', last4: first.generated!.slice(-4), created_at: T0, last_used_at: null, revoked_at: null, active: true },
    );
    const [stored] = await t.db.query<{ key_hash: string }>('SELECT key_hash FROM admin_keys');
    assert.equal(stored.key_hash, sha256(first.generated!), 'only the hash is stored');
    assert.deepEqual(await ensureAdminKeys(t.db, undefined, T1), { generated: null, revoked: [] }, 'a second start generates nothing');
    assert.equal((await listKeys(t.db)).length, 1);
    assert.deepEqual(await keyEvents(t.db), [], 'generating the first key is not an event');
  });

  test('a weak RENEWD_ADMIN_KEY is refused by name, with how to make one, and nothing is stored', async () => {
    const e = await refusal(ensureAdminKeys(t.db, 'short', T0));
    assert.equal(e.kind, 'invalid');
    assert.equal(e.code, 'weak_admin_key');
    assert.equal(e.message, 'RENEWD_ADMIN_KEY is too weak: it has 5 characters; at least 32 are needed. Generate one with `openssl rand -base64 32`.');
    assert.deepEqual(await listKeys(t.db), []);
  });

  test('RENEWD_ADMIN_KEY is stored as the environment key; a new value revokes the previous one and the generated one, with events', async () => {
    const { generated } = await ensureAdminKeys(t.db, undefined, T0);
    const op = await createAdminKey(t.db, 'job', T0);
    const first = await ensureAdminKeys(t.db, STRONG, T0);
    const generatedId = `ak_${sha256(generated!).slice(0, 12)}`;
    assert.deepEqual(first, { generated: null, revoked: [generatedId] });
    const envId = `ak_${sha256(STRONG).slice(0, 12)}`;
    const env = (await listKeys(t.db)).find((k) => k.id === envId)!;
    assert.deepEqual(
      { name: env.name, source: env.source, last4: env.last4, created_at: env.created_at, active: env.active },
      { name: 'RENEWD_ADMIN_KEY', source: 'environment', last4: 'MNOP', created_at: T0, active: true },
    );
    assert.equal(await ensureAdminKeys(t.db, STRONG, T1).then((r) => r.revoked.length), 0, 'the same value again revokes nothing');

    const second = await ensureAdminKeys(t.db, STRONG2, T1);
    assert.deepEqual(second.revoked, [envId]);
    const keys = await listKeys(t.db);
    assert.equal(keys.find((k) => k.id === envId)!.revoked_at!.toISOString(), T1.toISOString());
    assert.equal(keys.find((k) => k.id === op.id)!.active, true, "an operator's named key is never revoked by the environment");
    assert.equal(keys.find((k) => k.id === generatedId)!.active, false);
    const events = (await keyEvents(t.db)).filter((e) => e.type === 'admin_key.revoked');
    assert.deepEqual(
      events.map((e) => ({ data: e.data, account_id: e.account_id })),
      [
        { data: { admin_key_id: generatedId, why: 'replaced by RENEWD_ADMIN_KEY' }, account_id: null },
        { data: { admin_key_id: envId, why: 'replaced by RENEWD_ADMIN_KEY' }, account_id: null },
      ],
    );
    assert.deepEqual(events.map((e) => new Date(e.occurred_at).toISOString()), [T0.toISOString(), T1.toISOString()]);

    // A revoked key cannot come back through the environment.
    const back = await refusal(ensureAdminKeys(t.db, STRONG, T1));
    assert.equal(back.kind, 'conflict');
    assert.equal(back.code, 'admin_key_revoked');
    assert.equal(back.message, `RENEWD_ADMIN_KEY holds key ${envId}, which was revoked on ${T1.toISOString()}: set a new key`);
    assert.equal((await listKeys(t.db)).find((k) => k.id === `ak_${sha256(STRONG2).slice(0, 12)}`)!.active, true, 'and the current one stays');
  });

  test('a created key is shown once with its secret, stored as a hash, listed without it, with an event', async () => {
    const k = await createAdminKey(t.db, '  billing job  ', T0);
    assert.match(k.key, /^rk_admin_[A-Za-z0-9_-]{32}$/);
    assert.deepEqual(
      { id: k.id, name: k.name, source: k.source, last4: k.last4, created_at: k.created_at, revoked_at: k.revoked_at, active: k.active },
      { id: `ak_${sha256(k.key).slice(0, 12)}`, name: 'billing job', source: 'operator', last4: k.key.slice(-4), created_at: T0, revoked_at: null, active: true },
    );
    const listed = (await listKeys(t.db)).find((x) => x.id === k.id)!;
    assert.equal('key' in listed, false);
    assert.equal(listed.active, true);
    const [created] = (await keyEvents(t.db)).filter((e) => e.type === 'admin_key.created' && e.data.admin_key_id === k.id);
    assert.deepEqual(created.data, { admin_key_id: k.id, name: 'billing job' });
    assert.equal(created.account_id, null);
    assert.equal(new Date(created.occurred_at).toISOString(), T0.toISOString());
  });

  test('a key name is 1 to 64 printable characters, trimmed; anything else is refused by field and stores nothing', async () => {
    assert.equal((await createAdminKey(t.db, 'n'.repeat(64), T0)).name, 'n'.repeat(64));
    assert.equal((await createAdminKey(t.db, ' é ü ', T0)).name, 'é ü');
    const before = (await listKeys(t.db)).length;
    for (const name of ['', '   ', 'n'.repeat(65), 'tab\there', 'nul\u0000', 'unit\u001f', 42, null, undefined, ['a']]) {
      const e = await refusal(createAdminKey(t.db, name, T0));
      assert.equal(e.kind, 'invalid', String(name));
      assert.equal(e.code, 'validation_error');
      assert.equal(e.message, 'name must be 1 to 64 printable characters');
      assert.deepEqual(e.fields, [{ field: 'name', message: '1 to 64 printable characters' }]);
    }
    assert.equal((await listKeys(t.db)).length, before);
  });

  test('revoking: at once, with an event; twice changes nothing; an unknown key is not found; the last active key stays', async () => {
    const a = await createAdminKey(t.db, 'a', T0);
    const b = await createAdminKey(t.db, 'b', T0);
    const revoked = await revokeAdminKey(t.db, a.id, T1);
    assert.equal(revoked.id, a.id);
    assert.equal(revoked.active, false);
    assert.equal(revoked.revoked_at!.toISOString(), T1.toISOString());
    assert.equal('key' in revoked, false);
    const again = await revokeAdminKey(t.db, a.id, new Date(T1.getTime() + 60_000));
    assert.equal(again.revoked_at!.toISOString(), T1.toISOString(), 'the first revocation stands');
    const events = (await keyEvents(t.db)).filter((e) => e.type === 'admin_key.revoked');
    assert.deepEqual(events.map((e) => e.data), [{ admin_key_id: a.id }], 'one event for one revocation');
    assert.equal(new Date(events[0].occurred_at).toISOString(), T1.toISOString());

    const missing = await refusal(revokeAdminKey(t.db, 'ak_nope', T1));
    assert.equal(missing.kind, 'not_found');
    assert.equal(missing.code, 'not_found');
    assert.equal(missing.message, 'no admin key ak_nope');

    const last = await refusal(revokeAdminKey(t.db, b.id, T1));
    assert.equal(last.kind, 'conflict');
    assert.equal(last.code, 'last_admin_key');
    assert.equal(last.message, `${b.id} is the only active admin key: create another one first, or nobody could operate renewd`);
    assert.equal((await listKeys(t.db)).find((k) => k.id === b.id)!.active, true);
    assert.equal((await keyEvents(t.db)).filter((e) => e.type === 'admin_key.revoked').length, 1);
  });

  test('any active key may be revoked while another stays active, whichever sorts first', async () => {
    // Three keys: each of the first two is revoked while at least one other is active.
    const keys = await Promise.all(['a', 'b', 'c'].map((n) => createAdminKey(t.db, n, T0)));
    const [first, second] = keys.map((k) => k.id).sort();
    assert.equal((await revokeAdminKey(t.db, first, T1)).active, false, 'the first by id');
    assert.equal((await revokeAdminKey(t.db, second, T1)).active, false);
    const left = (await listKeys(t.db)).filter((k) => k.active);
    assert.equal(left.length, 1);
    assert.equal((await refusal(revokeAdminKey(t.db, left[0].id, T1))).code, 'last_admin_key');
  });

  test('listed keys say whether they are active: active ones first', async () => {
    const a = await createAdminKey(t.db, 'a', T0);
    const b = await createAdminKey(t.db, 'b', T1);
    await revokeAdminKey(t.db, b.id, T1);
    assert.deepEqual(
      (await listKeys(t.db)).map((k) => [k.id, k.active]),
      [
        [a.id, true],
        [b.id, false],
      ],
    );
  });
});
