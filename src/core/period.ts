// Billing periods counted from an anchor, never from the previous period's end, so month-end
// anchors survive short months: Jan 31 → Feb 28/29 → Mar 31, and yearly Feb 29 → Feb 28 → Feb 29.
import type { Interval } from './types.ts';
import { addMonthsWall, fromWall, toWall } from './time.ts';

export function intervalMonths(interval: Interval): number {
  return interval === 'year' ? 12 : 1;
}

/** Start of period number n (0 = the anchor itself). */
export function periodBoundary(anchor: Date, n: number, interval: Interval, timeZone: string): Date {
  if (n === 0) return new Date(anchor.getTime());
  return fromWall(addMonthsWall(toWall(anchor, timeZone), n * intervalMonths(interval)), timeZone);
}

export function periodOf(anchor: Date, n: number, interval: Interval, timeZone: string): { start: Date; end: Date } {
  return {
    start: periodBoundary(anchor, n, interval, timeZone),
    end: periodBoundary(anchor, n + 1, interval, timeZone),
  };
}
