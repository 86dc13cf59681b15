// Intl formatters, built once per (locale, options). Building one costs far more than using it
// (it resolves locale data and time-zone rules), and billing day renders an e-mail per renewal.

const numberFormats = new Map<string, Intl.NumberFormat>();
const dateFormats = new Map<string, Intl.DateTimeFormat>();

// The caches are keyed by locale and options, which come from a small set (locales × currencies ×
// time zones in use); the bound only guards against a flood of distinct values.
const MAX = 2000;

function memo<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let v = cache.get(key);
  if (v === undefined) {
    v = make(); // throws (RangeError) for a bad locale, currency or time zone: nothing is cached
    if (cache.size >= MAX) cache.clear();
    cache.set(key, v);
  }
  return v;
}

export function numberFormat(locale: string, options: Intl.NumberFormatOptions = {}): Intl.NumberFormat {
  return memo(numberFormats, `${locale}|${JSON.stringify(options)}`, () => new Intl.NumberFormat(locale, options));
}

export function dateTimeFormat(locale: string, options: Intl.DateTimeFormatOptions = {}): Intl.DateTimeFormat {
  return memo(dateFormats, `${locale}|${JSON.stringify(options)}`, () => new Intl.DateTimeFormat(locale, options));
}

/**
 * A date as the locale writes it. Intl follows CLDR, which writes the first of the month in French
 * as "1 janvier"; French writes "1er janvier" (the ordinal, and only for the 1st).
 */
export function formatDateIn(fmt: Intl.DateTimeFormat, d: Date): string {
  if (!fmt.resolvedOptions().locale.startsWith('fr')) return fmt.format(d);
  const parts = fmt.formatToParts(d);
  return parts.map((p) => (p.type === 'day' && p.value === '1' ? '1er' : p.value)).join('');
}

/** The time zone when Intl knows it, else UTC. */
export function validTimeZone(tz: string | null | undefined): string {
  if (!tz) return 'UTC';
  try {
    dateTimeFormat('en', { timeZone: tz });
    return tz;
  } catch {
    return 'UTC';
  }
}
