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
// of formatToParts() (billing day converts several instants per renewal); any other shape (a far
// year, a runtime printing differently) goes through formatToParts as before.
const WALL = /^(\d{1,2})\/(\d{1,2})\/(\d{4}), (\d{2}):(\d{2}):(\d{2})$/;

export function toWall(instant: Date, timeZone: string): WallTime {
  const f = formatter(timeZone);
  const m = WALL.exec(f.format(instant));
  if (m) return { year: +m[3], month: +m[1], day: +m[2], hour: +m[4], minute: +m[5], second: +m[6], ms: instant.getUTCMilliseconds() };
  const parts = f.formatToParts(instant);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
    ms: instant.getUTCMilliseconds(),
  };
}

function offsetAt(utcMs: number, timeZone: string): number {
  const w = toWall(new Date(utcMs), timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms) - utcMs;
}

/** The instant a wall time denotes in a zone. A time skipped by DST moves forward by the gap. */
export function fromWall(w: WallTime, timeZone: string): Date {
  const naive = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms);
  let guess = naive - offsetAt(naive, timeZone);
  const off2 = offsetAt(guess, timeZone);
  if (naive - off2 !== guess) guess = Math.max(guess, naive - off2);
  return new Date(guess);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Adds calendar months to a wall time, clamping the day to the target month's length. */
export function addMonthsWall(w: WallTime, months: number): WallTime {
  const total = w.year * 12 + (w.month - 1) + months;
  const year = Math.floor(total / 12);
  const month = (total % 12) + 1;
  return { ...w, year, month, day: Math.min(w.day, daysInMonth(year, month)) };
}

export function addDaysWall(w: WallTime, days: number): WallTime {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + days));
  return { ...w, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Adds calendar days in the zone: 14 days of grace end at the same local time 14 days later. */
export function addDaysInZone(instant: Date, days: number, timeZone: string): Date {
  return fromWall(addDaysWall(toWall(instant, timeZone), days), timeZone);
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
