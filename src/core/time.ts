// Wall-clock arithmetic in a time zone with nothing but Intl: periods and grace end follow the
// account's calendar (a month is a calendar month where the customer lives, across DST changes).

export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

// "11/25/2026, 08:42:40": the en-US h23 shape of the formatter above. Reading format() costs a third
// of formatToParts(); any other shape (a far year, a runtime printing differently) goes through
// formatToParts.
const WALL = /^(\d{1,2})\/(\d{1,2})\/(\d{4}), (\d{2}):(\d{2}):(\d{2})$/;

/** The zone's UTC offset at an instant (ms; wall minus UTC), as Intl says. */
function intlOffset(utcMs: number, timeZone: string): number {
  const f = formatter(timeZone);
  const instant = new Date(utcMs);
  const m = WALL.exec(f.format(instant));
  let w: number[];
  if (m) w = [+m[3], +m[1], +m[2], +m[4], +m[5], +m[6]];
  else {
    const parts = f.formatToParts(instant);
    const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
    w = [get('year'), get('month'), get('day'), get('hour'), get('minute'), get('second')];
  }
  return utc(w[0], w[1] - 1, w[2], w[3], w[4], w[5], instant.getUTCMilliseconds()) - utcMs;
}

/** Date.UTC, except that years 0–99 stay years 0–99 (Date.UTC reads them as 1900–1999). */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  if (year >= 100) return Date.UTC(year, month, day, hour, minute, second, ms);
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

// Offsets change a few times a year, on whole minutes, never twice in a quarter hour. So one
// offset serves a whole quarter hour when both of its ends agree: a billing day converts several
// instants per renewal, and a Map lookup costs far less than formatting with Intl. A quarter hour with a
// transition inside is never cached and goes to Intl each time.
const QUARTER = 15 * 60_000;
const offsets = new Map<string, Map<number, number>>();

function offsetAt(utcMs: number, timeZone: string): number {
  let zone = offsets.get(timeZone);
  if (!zone) {
    formatter(timeZone); // throws for a zone Intl does not know, before it takes a cache entry
    offsets.set(timeZone, (zone = new Map()));
  }
  const q = Math.floor(utcMs / QUARTER);
  const hit = zone.get(q);
  if (hit !== undefined) return hit;
  const start = intlOffset(q * QUARTER, timeZone);
  if (start !== intlOffset((q + 1) * QUARTER - 1, timeZone)) return intlOffset(utcMs, timeZone);
  if (zone.size >= 50_000) zone.clear(); // bounded: ~500 days of distinct quarter hours per zone
  zone.set(q, start);
  return start;
}

export function toWall(instant: Date, timeZone: string): WallTime {
  const d = new Date(instant.getTime() + offsetAt(instant.getTime(), timeZone));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), ms: d.getUTCMilliseconds() };
}

/**
 * The instant a wall time denotes in a zone. The offsets in force a day before and a day after are
 * the only candidates (a zone changes its offset at most once in two days); a candidate is right
 * when the zone has that offset at the instant it gives. A wall time that two instants show (the
 * hour repeated when clocks go back) is the earlier one; a time skipped when clocks go forward moves
 * forward by the gap. These are Temporal's "compatible" rules, which test/core/period.test.ts holds
 * this function to.
 */
export function fromWall(w: WallTime, timeZone: string): Date {
  const naive = utc(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms);
  const before = offsetAt(naive - DAY, timeZone);
  const after = offsetAt(naive + DAY, timeZone);
  const early = naive - before;
  const late = naive - after;
  const earlyOk = offsetAt(early, timeZone) === before;
  const lateOk = before !== after && offsetAt(late, timeZone) === after;
  if (earlyOk && lateOk) return new Date(Math.min(early, late));
  if (earlyOk) return new Date(early);
  if (lateOk) return new Date(late);
  return new Date(early); // skipped: read with the offset before the change, i.e. forward by the gap
}

export function daysInMonth(year: number, month: number): number {
  return new Date(utc(year, month, 0)).getUTCDate();
}

/** Adds calendar months to a wall time, clamping the day to the target month's length. */
export function addMonthsWall(w: WallTime, months: number): WallTime {
  const total = w.year * 12 + (w.month - 1) + months;
  const year = Math.floor(total / 12);
  const month = (total % 12) + 1;
  return { ...w, year, month, day: Math.min(w.day, daysInMonth(year, month)) };
}

export function addDaysWall(w: WallTime, days: number): WallTime {
  const d = new Date(utc(w.year, w.month - 1, w.day + days));
  return { ...w, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Adds calendar days in the zone: 14 days of grace end at the same local time 14 days later. */
export function addDaysInZone(instant: Date, days: number, timeZone: string): Date {
  return fromWall(addDaysWall(toWall(instant, timeZone), days), timeZone);
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
