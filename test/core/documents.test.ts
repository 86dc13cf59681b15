// Invoice documents (issue 23, src/core/documents.ts): which invoice a step finalizes or cancels,
// the numbers' shape, and the tax inside a price split so that net + tax is the total.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { documentChanges, documentNumber, splitTax, isFinal } from '../../src/core/documents.ts';
import { INVOICE_STATUSES } from '../../src/core/types.ts';

const inv = (id: string, status: any) => ({ id, status });

test('finalized: open → paid or past due (or uncollectible at once); a created past-due invoice', () => {
  assert.deepEqual(documentChanges(inv('i', 'open'), inv('i', 'paid'), null), { finalized: ['i'], credited: [] });
  assert.deepEqual(documentChanges(inv('i', 'open'), inv('i', 'past_due'), null), { finalized: ['i'], credited: [] });
  assert.deepEqual(documentChanges(inv('i', 'open'), inv('i', 'uncollectible'), null), { finalized: ['i'], credited: [] });
  // Already issued: its number stays; paying it or writing it off issues nothing new.
  assert.deepEqual(documentChanges(inv('i', 'past_due'), inv('i', 'paid'), null), { finalized: [], credited: [] });
  assert.deepEqual(documentChanges(inv('i', 'past_due'), inv('i', 'uncollectible'), null), { finalized: [], credited: [] });
  // A plan change in grace: the past-due invoice is cancelled (credit note), its replacement issued.
  assert.deepEqual(documentChanges(inv('i', 'past_due'), inv('i', 'void'), inv('j', 'past_due')), { finalized: ['j'], credited: ['i'] });
  // A purchase or a renewal opened now: nothing issued yet.
  assert.deepEqual(documentChanges(null, null, inv('j', 'open')), { finalized: [], credited: [] });
});

test('voided before finalization: no number and no credit note', () => {
  assert.deepEqual(documentChanges(inv('i', 'open'), inv('i', 'void'), null), { finalized: [], credited: [] });
});

test('over every pair of statuses: a number exactly when the invoice becomes issued, a credit note exactly when an issued one is voided', () => {
  for (const a of INVOICE_STATUSES)
    for (const b of INVOICE_STATUSES) {
      const c = documentChanges(inv('i', a), inv('i', b), null);
      assert.equal(c.finalized.length, !isFinal(a) && isFinal(b) ? 1 : 0, `${a} → ${b}`);
      assert.equal(c.credited.length, isFinal(a) && a !== 'paid' && b === 'void' ? 1 : 0, `${a} → ${b}`);
    }
});

test('numbers: prefix, year, six digits (more when outgrown)', () => {
  assert.equal(documentNumber('RNW', 2026, 123), 'RNW-2026-000123');
  assert.equal(documentNumber('RNC', 2027, 1), 'RNC-2027-000001');
  assert.equal(documentNumber('X', 2026, 1_234_567), 'X-2026-1234567');
});

test('tax inside a price: 20 % of 12.00 is 2.00; rounding half up; 0 % is no tax', () => {
  assert.deepEqual(splitTax(1200, 2000), { net: 1000, tax: 200 });
  assert.deepEqual(splitTax(2900, 2000), { net: 2417, tax: 483 }); // 483.33
  assert.deepEqual(splitTax(2900, 0), { net: 2900, tax: 0 });
  assert.deepEqual(splitTax(0, 2000), { net: 0, tax: 0 });
  assert.deepEqual(splitTax(5, 10_000), { net: 2, tax: 3 }); // 2.5 → 3 (half up)
});

test('tax split: net + tax = total, tax within half a unit of the exact share', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 0, max: 10_000 }), (total, bp) => {
      const { net, tax } = splitTax(total, bp);
      assert.equal(net + tax, total);
      assert.ok(tax >= 0 && net >= 0);
      const exact = (total * bp) / (10_000 + bp);
      assert.ok(Math.abs(tax - exact) <= 0.5 + 1e-6 * Math.max(1, exact), `${total} at ${bp}: ${tax} vs ${exact}`);
    }),
  );
});

test('a step that leaves the loaded invoice alone, or changes another one, issues nothing for it', () => {
  assert.deepEqual(documentChanges(inv('i', 'past_due'), null, null), { finalized: [], credited: [] });
  assert.deepEqual(documentChanges(inv('i', 'open'), null, null), { finalized: [], credited: [] });
  // Only the same invoice's statuses are compared: i's past-due state says nothing of j.
  assert.deepEqual(documentChanges(inv('i', 'past_due'), inv('j', 'void'), null), { finalized: [], credited: [] });
  assert.deepEqual(documentChanges(inv('i', 'open'), inv('j', 'paid'), null), { finalized: [], credited: [] });
});

test('a tax rate of 0 or below is no tax: the whole price is net', () => {
  assert.deepEqual(splitTax(1200, -2000), { net: 1200, tax: 0 });
});
