// Issue 16 item 1: no card number, expiry or CVC is recoverable from the database. Every test card
// goes through the API with an Idempotency-Key (as the customer and as the operator, replayed,
// refused, then renewals and retries on it); then every table is dumped as text and searched for
// the numbers, and for every hash an attacker holding the database (and so the idempotency hash
// secret in settings) could check a guess against: the old request fingerprint, CVC by CVC, and
// plain or keyed SHA-256 of the number and the CVC.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { startTestService, createPlans, CARDS, type TestService } from '../helpers/service.ts';
import { portalToken } from '../api/helpers.ts';
import { canonicalJson, requestHash } from '../../src/http/idempotency.ts';

interface Sent {
  method: string;
  url: string;
  body: { type: string; card: { number: string; exp_month: number; exp_year: number; cvc: string } };
}

describe('card data at rest (idempotency fingerprints)', () => {
  let t: TestService;
  const sent: Sent[] = [];
  let dump = '';
  let secret = '';

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    const cards = Object.values(CARDS);
    let i = 0;
    for (const number of cards) {
      const acc = (await t.api('POST', '/v1/accounts', { name: 'Card', email: `c${i}@example.com`, locale: 'en-GB', domain_zone: 'uk', currency: 'EUR' })).body.id;
      const tok = await portalToken(t, acc);
      // A CVC of four digits that cannot occur by chance elsewhere in the dump is not needed: the
      // search below looks for every hash of it, and for it beside its field name.
      const body = { type: 'card', card: { number, exp_month: 1 + (i % 12), exp_year: 2031 + (i % 5), cvc: String(100 + 37 * i).padStart(3, '0') } };
      const url = `/v1/accounts/${acc}/payment-method`;
      for (const [auth, k] of [[tok, `cust-${i}`], [undefined, `op-${i}`]] as const) {
        const first = await t.api('PUT', url, body, auth, { 'idempotency-key': k });
        assert.ok([200, 402].includes(first.status), `${number}: ${first.status} ${JSON.stringify(first.body)}`);
        const again = await t.api('PUT', url, body, auth, { 'idempotency-key': k });
        assert.equal(again.status, first.status);
        if (first.status < 500) assert.equal(again.headers.get('idempotent-replayed'), 'true');
        sent.push({ method: 'PUT', url, body });
      }
      if (i % 3 === 0) await t.api('POST', '/v1/subscriptions', { account_id: acc, plan_id: 'pro', interval: 'month' }, tok, { 'idempotency-key': `sub-${i}` });
      i++;
    }
    await t.advance(40); // renewals, retries and their e-mails and events on every card
    secret = (await t.svc.ctx.db.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'idempotency_hash_secret'`))[0].value;
    const tables = await t.svc.ctx.db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
    assert.ok(tables.length > 10);
    const parts: string[] = [];
    for (const { table_name } of tables) {
      for (const r of await t.svc.ctx.db.query<{ row: string }>(`SELECT t::text AS row FROM "${table_name}" t`)) parts.push(`${table_name}: ${r.row}`);
    }
    dump = parts.join('\n');
  });
  after(() => t?.close());

  test('the dump holds the fingerprints (the search looks in the right place)', async () => {
    const stored = await t.svc.ctx.db.query<{ request_hash: string }>(`SELECT request_hash FROM idempotent_requests WHERE scope LIKE '%payment-method'`);
    assert.equal(stored.length, sent.length);
    for (const r of stored) assert.ok(dump.includes(r.request_hash));
  });

  test('no card number, in any spacing, and no CVC beside its name', () => {
    for (const { body } of sent) {
      const n = body.card.number;
      for (const form of [n, n.replace(/(\d{4})(?=\d)/g, '$1 '), n.slice(0, 12)]) assert.ok(!dump.includes(form), `${form} found`);
      assert.ok(!new RegExp(`cvc\\W{0,6}${body.card.cvc}`).test(dump), `cvc ${body.card.cvc} found`);
    }
  });

  test('no hash an attacker could check a guessed number or CVC against', () => {
    const hex = (h: { digest(e: 'hex'): string }) => h.digest('hex');
    const sha = (s: string) => hex(createHash('sha256').update(s));
    const hmac = (s: string) => hex(createHmac('sha256', secret).update(s));
    const candidates = new Set<string>();
    for (const { method, url, body } of sent) {
      const { number, cvc, exp_month, exp_year } = body.card;
      for (const s of [number, cvc, `${number}${cvc}`, `${number}|${exp_month}|${exp_year}|${cvc}`, canonicalJson(body.card), canonicalJson(body)]) {
        candidates.add(sha(s));
        candidates.add(hmac(s));
      }
      // The attack of the issue: the number known, every CVC tried through the request fingerprint.
      for (let c = 0; c < 1000; c++) {
        const guess = { ...body, card: { ...body.card, cvc: String(c).padStart(3, '0') } };
        candidates.add(hmac(`${method}\n${url}\n${canonicalJson(guess)}`));
      }
    }
    const found = [...candidates].filter((h) => dump.includes(h));
    assert.deepEqual(found, []);
  });

  test('the fingerprint of a card change is the same whatever the card: it carries nothing of it', async () => {
    for (const { method, url, body } of sent.slice(0, 4)) {
      const other = { ...body, card: { number: '5555555555554444', exp_month: 3, exp_year: 2040, cvc: '999' } };
      assert.equal(await requestHash(t.svc.ctx.db, method, url, body), await requestHash(t.svc.ctx.db, method, url, other));
      // …while the rest of the request still counts.
      assert.notEqual(await requestHash(t.svc.ctx.db, method, url, body), await requestHash(t.svc.ctx.db, method, url, { type: 'card', token: 'pm_x' }));
    }
  });
});

test('migration 018 deletes the card changes kept under the old fingerprint, and only those', async () => {
  const { createTestDatabase } = await import('../helpers/db.ts');
  const { migrate } = await import('../../src/store/migrate.ts');
  const tdb = await createTestDatabase('pglite');
  try {
    const { db } = tdb;
    const row = (scope: string, key: string) =>
      db.query(`INSERT INTO idempotent_requests (scope, key, request_hash, status_code, body, created_at) VALUES ($1, $2, 'old', 200, 'null', now())`, [scope, key]);
    await row('admin PUT /v1/accounts/:id/payment-method', 'a');
    await row('account:acct_1 PUT /v1/accounts/:id/payment-method', 'b');
    await row('admin POST /v1/subscriptions', 'c');
    await db.query(`DELETE FROM schema_migrations WHERE name LIKE '018_%'`);
    assert.deepEqual(await migrate(db), ['018_idempotency_card_purge.sql']);
    assert.deepEqual((await db.query<{ key: string }>('SELECT key FROM idempotent_requests ORDER BY key')).map((r) => r.key), ['c']);
  } finally {
    await tdb.drop();
  }
});
