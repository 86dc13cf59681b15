// The proration rule of a plan change (src/core/proration.ts), property-tested: for random prices,
// period lengths and change instants, old share + new share is exactly what the customer pays
// (old price + charge), the charge is never negative for a dearer plan and never above the new price.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { prorate } from '../../src/core/proration.ts';
import { DAY } from '../../src/core/time.ts';

const START = Date.UTC(2026, 0, 31, 9);

test('credit + charge add up exactly, never negative, never above the new price', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10_000_000 }),
      fc.integer({ min: 0, max: 10_000_000 }),
      fc.integer({ min: 1, max: 400 * DAY }),
      fc.double({ min: -0.2, max: 1.2, noNaN: true }),
      (a, b, length, f) => {
        const oldAmount = Math.min(a, b);
        const newAmount = Math.max(a, b);
        const periodStart = new Date(START);
        const periodEnd = new Date(START + length);
        const at = new Date(START + Math.round(length * f));
        const p = prorate({ oldAmount, newAmount, periodStart, periodEnd, at });
        for (const v of [p.credit, p.charge, p.new_share, p.old_share]) assert.ok(Number.isSafeInteger(v));
        assert.equal(oldAmount + p.charge, p.old_share + p.new_share);
        assert.equal(p.credit + p.charge, p.new_share);
        assert.ok(p.charge >= 0 && p.charge <= newAmount);
        assert.ok(p.credit >= 0 && p.credit <= oldAmount);
        assert.ok(p.new_share >= 0 && p.new_share <= newAmount);
      },
    ),
    // A fixed seed keeps npm test deterministic; FC_SEED=<n> explores other runs.
    { numRuns: 2000, seed: Number(process.env.FC_SEED ?? 20261201) },
  );
});

test('the ends of the period and a worked example', () => {
  const periodStart = new Date('2026-02-01T00:00:00Z');
  const periodEnd = new Date('2026-03-01T00:00:00Z'); // 28 days
  assert.deepEqual(prorate({ oldAmount: 2900, newAmount: 7900, periodStart, periodEnd, at: periodStart }), { credit: 2900, new_share: 7900, old_share: 0, charge: 5000 });
  assert.deepEqual(prorate({ oldAmount: 2900, newAmount: 7900, periodStart, periodEnd, at: periodEnd }), { credit: 0, new_share: 0, old_share: 2900, charge: 0 });
  // 14 of 28 days left: half of each, rounded down.
  assert.deepEqual(prorate({ oldAmount: 2901, newAmount: 7901, periodStart, periodEnd, at: new Date('2026-02-15T00:00:00Z') }), { credit: 1450, new_share: 3950, old_share: 1451, charge: 2500 });
  assert.throws(() => prorate({ oldAmount: 1.5, newAmount: 2, periodStart, periodEnd, at: periodStart }), RangeError);
  assert.throws(() => prorate({ oldAmount: 1, newAmount: 2, periodStart: periodEnd, periodEnd: periodStart, at: periodStart }), RangeError);
});
