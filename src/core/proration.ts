// Proration of a plan change in the middle of a paid period. Pure, integer minor units only.
//
// Rule (rounding documented here and in docs/ARCHITECTURE.md): of a period [start, end) changed at
// `at`, the remaining fraction is (end − at) / (end − start), measured in milliseconds. Each plan's
// share of the remaining time is that fraction of its full price, ROUNDED DOWN to a minor unit
// (exact BigInt arithmetic, no floating point):
//   credit    = ⌊old × remaining / total⌋   (the unused part of what was paid for the old plan)
//   new_share = ⌊new × remaining / total⌋   (the new plan's share of the rest of the period)
//   charge    = new_share − credit
// So what the customer pays over the period is exactly old_share + new_share, with
// old_share = old − credit (the used part of the old plan, hence rounded up): old + charge.
// For a dearer plan (new ≥ old) the charge is never negative (⌊·⌋ is monotonic) and never above
// new_share ≤ new. A change at or after the period end charges 0; at the period start, new − old.

export interface ProrationInput {
  /** Full price of the old plan for the period (minor units). */
  oldAmount: number;
  /** Full price of the new plan for the same period (minor units). */
  newAmount: number;
  periodStart: Date;
  periodEnd: Date;
  /** The instant of the change. */
  at: Date;
}

export interface Proration {
  /** The unused part of the old plan, credited. */
  credit: number;
  /** The new plan's share of the rest of the period. */
  new_share: number;
  /** The old plan's share (the used part): oldAmount − credit. */
  old_share: number;
  /** What is charged now: new_share − credit (≥ 0 when newAmount ≥ oldAmount). */
  charge: number;
}

function share(amount: number, remaining: bigint, total: bigint): number {
  return Number((BigInt(amount) * remaining) / total);
}

export function prorate(i: ProrationInput): Proration {
  if (!Number.isSafeInteger(i.oldAmount) || !Number.isSafeInteger(i.newAmount) || i.oldAmount < 0 || i.newAmount < 0)
    throw new RangeError('amounts must be non-negative integers (minor units)');
  const start = i.periodStart.getTime();
  const end = i.periodEnd.getTime();
  if (!(end > start)) throw new RangeError('the period must end after it starts');
  const total = BigInt(end - start);
  const remaining = BigInt(Math.min(end - start, Math.max(0, end - i.at.getTime())));
  const credit = share(i.oldAmount, remaining, total);
  const new_share = share(i.newAmount, remaining, total);
  return { credit, new_share, old_share: i.oldAmount - credit, charge: new_share - credit };
}
