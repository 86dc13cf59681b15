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

// Money in is integer minor units, and a period has a length: anything else is a bug upstream, and
// proration refuses it rather than charge a fraction of a cent or divide by zero.
test('refuses amounts that are not non-negative integers, and a period that does not end after it starts', () => {
  const start = new Date('2026-03-01T00:00:00Z');
  const end = new Date('2026-04-01T00:00:00Z');
  const ok = { oldAmount: 2900, newAmount: 7900, periodStart: start, periodEnd: end, at: new Date('2026-03-16T00:00:00Z') };
  const amounts = /^RangeError: amounts must be non-negative integers \(minor units\)$/;
  for (const bad of [{ oldAmount: -1 }, { newAmount: -1 }, { oldAmount: 29.5 }, { newAmount: 79.5 }, { oldAmount: Number.MAX_SAFE_INTEGER + 2 }, { newAmount: Number.NaN }])
    assert.throws(() => prorate({ ...ok, ...bad }), (e: unknown) => e instanceof RangeError && amounts.test(String(e)), JSON.stringify(bad));
  const period = /^RangeError: the period must end after it starts$/;
  assert.throws(() => prorate({ ...ok, periodEnd: start }), (e: unknown) => e instanceof RangeError && period.test(String(e)), 'an empty period');
  assert.throws(() => prorate({ ...ok, periodEnd: new Date(start.getTime() - DAY) }), (e: unknown) => e instanceof RangeError && period.test(String(e)), 'a period ending before it starts');
  // Zero is an amount (a free price): allowed.
  assert.equal(prorate({ ...ok, oldAmount: 0 }).credit, 0);
  assert.equal(prorate({ ...ok, newAmount: 0 }).new_share, 0);
});
