// Operator (admin) keys: named, stored as SHA-256 hashes only, shown once when created, revocable,
// with the time each was last used. The environment's RENEWD_ADMIN_KEY is one of them: a start with
// a new value revokes the previous environment key (and the key a first start generated), so
// rotating the variable retires the old key. The API, the console and `renewd keys` all go
// through these commands.
//
// Key times are about people, not billing: they run on wall-clock time (as browser sessions do),
// never on the test clock.
import { CommandError, invalidFields } from '../core/errors.ts';
import { newSecret, sha256 } from '../lib/crypto.ts';
import type { Db } from '../store/db.ts';
import { insertEvents } from '../store/billing.ts';
import {
  anyAdminKey,
  insertAdminKey,
  listAdminKeys,
  lockActiveAdminKeys,
  lockAdminKey,
  revokeAdminKeys,
  unnamedAdminKeysOtherThan,
  type AdminKeyRecord,
} from '../store/credentials.ts';

export type AdminKeyView = AdminKeyRecord & { active: boolean };
export type NewAdminKey = AdminKeyView & { /** Shown once, never stored. */ key: string };

/** At least 32 characters drawn from at least 10 different ones (a generated key has 192 random bits). */
export const MIN_KEY_LENGTH = 32;
const MIN_DISTINCT = 10;
const NAME_MAX = 64;

const view = (k: AdminKeyRecord): AdminKeyView => ({ ...k, active: !k.revoked_at });
const idOf = (keyHash: string) => `ak_${keyHash.slice(0, 12)}`;

/** Why a key is too weak to accept, or null. */
export function weakKeyReason(key: string): string | null {
  if (/\s/.test(key)) return 'it contains white space';
  if (key.length < MIN_KEY_LENGTH) return `it has ${key.length} characters; at least ${MIN_KEY_LENGTH} are needed`;
  if (new Set(key).size < MIN_DISTINCT) return `it uses only ${new Set(key).size} different characters; at least ${MIN_DISTINCT} are needed`;
  return null;
}

function checkName(name: unknown): string {
  const n = typeof name === 'string' ? name.trim() : '';
  if (!n || n.length > NAME_MAX || /[\u0000-\u001f]/.test(n)) throw invalidFields('validation_error', `name must be 1 to ${NAME_MAX} printable characters`, [{ field: 'name', message: `1 to ${NAME_MAX} printable characters` }]);
  return n;
}

/**
 * At start: the environment's key (checked for strength; it replaces the previous environment key
 * and a generated one), or, with none configured and no key stored, a generated key returned once
 * to be printed.
 */
export async function ensureAdminKeys(db: Db, envKey: string | undefined, now = new Date()): Promise<{ generated: string | null; revoked: string[] }> {
  if (envKey !== undefined) {
    const weak = weakKeyReason(envKey);
    if (weak) throw new CommandError('invalid', 'weak_admin_key', `RENEWD_ADMIN_KEY is too weak: ${weak}. Generate one with \`openssl rand -base64 32\`.`);
    return db.tx(async (q) => {
      const h = sha256(envKey);
      const { key } = await insertAdminKey(q, { id: idOf(h), keyHash: h, name: 'RENEWD_ADMIN_KEY', source: 'environment', last4: envKey.slice(-4), now });
      if (key.revoked_at) throw new CommandError('conflict', 'admin_key_revoked', `RENEWD_ADMIN_KEY holds key ${key.id}, which was revoked on ${key.revoked_at.toISOString()}: set a new key`);
      const old = await unnamedAdminKeysOtherThan(q, key.id);
      await revokeAdminKeys(q, old, now);
      if (old.length) await insertEvents(q, old.map((id) => ({ account_id: null, type: 'admin_key.revoked', data: { admin_key_id: id, why: 'replaced by RENEWD_ADMIN_KEY' } })), now);
      return { generated: null, revoked: old };
    });
  }
  if (await anyAdminKey(db)) return { generated: null, revoked: [] };
  const generated = newSecret('rk_admin');
  const h = sha256(generated);
  await insertAdminKey(db, { id: idOf(h), keyHash: h, name: 'generated at first start', source: 'generated', last4: generated.slice(-4), now });
  return { generated, revoked: [] };
}

export async function createAdminKey(db: Db, name: unknown, now = new Date()): Promise<NewAdminKey> {
  const n = checkName(name);
  const secret = newSecret('rk_admin');
  const h = sha256(secret);
  return db.tx(async (q) => {
    const { key } = await insertAdminKey(q, { id: idOf(h), keyHash: h, name: n, source: 'operator', last4: secret.slice(-4), now });
    await insertEvents(q, [{ account_id: null, type: 'admin_key.created', data: { admin_key_id: key.id, name: n } }], now);
    return { ...view(key), key: secret };
  });
}

export async function listKeys(db: Db): Promise<AdminKeyView[]> {
  return (await listAdminKeys(db)).map(view);
}

/** Revokes a key at once. Revoking twice changes nothing; the last active key cannot be revoked (no way back in). */
export async function revokeAdminKey(db: Db, id: string, now = new Date()): Promise<AdminKeyView> {
  return db.tx(async (q) => {
    const active = await lockActiveAdminKeys(q);
    const k = await lockAdminKey(q, id);
    if (!k) throw new CommandError('not_found', 'not_found', `no admin key ${id}`);
    if (k.revoked_at) return view(k);
    if (active.length === 1 && active[0] === id)
      throw new CommandError('conflict', 'last_admin_key', `${id} is the only active admin key: create another one first, or nobody could operate renewd`);
    await revokeAdminKeys(q, [id], now);
    await insertEvents(q, [{ account_id: null, type: 'admin_key.revoked', data: { admin_key_id: id } }], now);
    return view({ ...k, revoked_at: now });
  });
}
