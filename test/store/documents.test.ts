// store/documents.ts on PGlite: numbers run on per series and year, an invoice is numbered once,
// credit notes take their own series, and an invoice issued before numbering began (no number)
// is voided without a credit note instead of blocking its cancel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { finalizeInvoices, issueCreditNotes, type IssueSettings } from '../../src/store/documents.ts';

const S: IssueSettings = { invoicePrefix: 'INV', creditNotePrefix: 'CN', seller: { name: 'Seller', address: null, vat_id: null }, taxRateBp: 2000 };
const JAN = new Date('2026-01-15T00:00:00Z');
const NEXT_YEAR = new Date('2027-01-01T00:00:00Z');
let t: TestDb;
let n = 0;
const newId = (p: string) => `${p}_${++n}`;

before(async () => {
  t = await createTestDatabase('pglite');
  await t.db.query(`INSERT INTO plans (id, name, free) VALUES ('pro', 'Pro', false)`);
  await t.db.query(`INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, created_at) VALUES ('a', 'Acme', 'a@example.com', 'fr-FR', 'fr', 'EUR', 'Europe/Paris', $1)`, [JAN]);
  await t.db.query(`INSERT INTO subscriptions (id, account_id, plan_id, interval, status, billing_anchor, current_period_start, current_period_end, created_at) VALUES ('s', 'a', 'pro', 'month', 'active', $1, $1, $2, $1)`, [JAN, NEXT_YEAR]);
  for (const [id, status, pre] of [['i1', 'paid', false], ['i2', 'past_due', false], ['i3', 'paid', false], ['i4', 'uncollectible', true], ['i5', 'paid', false]] as const)
    await t.db.query(
      `INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, created_at, pre_numbering)
       VALUES ($1, 'a', 's', 'pro', 2900, 'EUR', $2, $2, $3, 'renewal', 'month', $2, $4)`,
      [id, new Date(JAN.getTime() + Number(id.slice(1)) * 86_400_000), status, pre],
    );
});
after(() => t.drop());

test('a block per call, in id order, continuing the series; a new year starts at 1; the snapshot records seller, tax, buyer, plan', async () => {
  const a = await t.db.tx((q) => finalizeInvoices(q, ['i2', 'i1'], S, JAN));
  assert.deepEqual(a.map((x) => [x.id, x.number]), [['i1', 'INV-2026-000001'], ['i2', 'INV-2026-000002']]);
  const b = await t.db.tx((q) => finalizeInvoices(q, ['i3'], S, JAN));
  assert.deepEqual(b.map((x) => x.number), ['INV-2026-000003']);
  const c = await t.db.tx((q) => finalizeInvoices(q, ['i5'], S, NEXT_YEAR));
  assert.deepEqual(c.map((x) => x.number), ['INV-2027-000001']);
  const [r] = await t.db.query<{ issued: any }>(`SELECT issued FROM invoices WHERE id = 'i1'`);
  assert.deepEqual(r.issued, { seller: S.seller, tax_rate_bp: 2000, plan_name: 'Pro', buyer: { name: 'Acme', email: 'a@example.com', address: null, vat_id: null, locale: 'fr-FR', time_zone: 'Europe/Paris' } });
});

test('an invoice is numbered once: a second numbering is refused and the transaction gives its block back', async () => {
  await assert.rejects(t.db.tx((q) => finalizeInvoices(q, ['i1'], S, JAN)), /already numbered/);
  const [s] = await t.db.query<{ next: number }>(`SELECT next FROM document_series WHERE prefix = 'INV' AND year = 2026`);
  assert.equal(Number(s.next), 4);
});

test('credit notes: their own series; an invoice without a number (issued before numbering) takes none', async () => {
  const notes = await t.db.tx((q) => issueCreditNotes(q, [{ invoice_id: 'i4', reason: 'canceled' }, { invoice_id: 'i2', reason: 'canceled' }], S, JAN, newId));
  assert.deepEqual(notes.map((x) => [x.invoice_id, x.number, x.amount]), [['i2', 'CN-2026-000001', 2900]]);
  assert.deepEqual(await t.db.tx((q) => issueCreditNotes(q, [{ invoice_id: 'i4', reason: 'canceled' }], S, JAN, newId)), []);
  const series = await t.db.query<{ prefix: string; next: number }>(`SELECT prefix, next FROM document_series WHERE year = 2026 ORDER BY prefix`);
  assert.deepEqual(series.map((x) => [x.prefix, Number(x.next)]), [['CN', 2], ['INV', 4]]);
});
