// Page strings for the customer area in the 7 languages, and formatting in the account's locale
// and time zone (Intl only). An account whose language has no catalog sees English.
import { en, type Catalog, type CatalogKey } from './en.ts';
import { fr } from './fr.ts';
import { de } from './de.ts';
import { es } from './es.ts';
import { it } from './it.ts';
import { pt } from './pt.ts';
import { pl } from './pl.ts';
import { formatMoney } from '../../core/money.ts';
import { dateTimeFormat, formatDateIn, numberFormat, pluralRulesFor } from '../../core/intl.ts';

export const CATALOGS: Record<string, Catalog> = { en, fr, de, es, it, pt, pl };
export const LANGUAGES = Object.keys(CATALOGS);
export type { CatalogKey };

export interface I18n {
  /** Language of the catalog in use (en, fr…). */
  lang: string;
  /** Locale for Intl (the account's own, e.g. fr-FR, when its language has a catalog). */
  locale: string;
  timeZone: string;
  t(key: CatalogKey, vars?: Record<string, string | number>): string;
  money(amount: number, currency: string): string;
  date(d: Date | string | null | undefined): string;
  dateTime(d: Date | string | null | undefined): string;
  /** "5 days left", with the language's plural rules. */
  daysLeft(n: number): string;
  /** Card expiry as MM/YYYY. */
  expiry(month: number | null, year: number | null): string;
}

export function languageOf(locale: string | null | undefined): string {
  const lang = (locale ?? '').split(/[-_]/)[0].toLowerCase();
  return CATALOGS[lang] ? lang : 'en';
}

/** The best catalog language for an Accept-Language header (pages shown before we know the account). */
export function languageFromHeader(header: string | undefined): string {
  if (!header) return 'en';
  const tags = header
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^q=([0-9.]+)$/.exec(p.trim())).find(Boolean);
      return { tag, q: q ? Number(q[1]) : 1 };
    })
    .sort((a, b) => b.q - a.q);
  for (const { tag } of tags) {
    const lang = tag.split('-')[0].toLowerCase();
    if (CATALOGS[lang]) return lang;
  }
  return 'en';
}

export function interpolate(s: string, vars: Record<string, string | number> = {}): string {
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

export function i18n(locale: string | null | undefined, timeZone = 'UTC'): I18n {
  const lang = languageOf(locale);
  let intlLocale = lang;
  if (locale && languageOf(locale) === lang && lang !== 'en') intlLocale = locale;
  else if (locale && lang === 'en' && locale.toLowerCase().startsWith('en')) intlLocale = locale;
  try {
    dateTimeFormat(intlLocale);
  } catch {
    intlLocale = lang;
  }
  const cat = CATALOGS[lang];
  const dateFmt = dateTimeFormat(intlLocale, { dateStyle: 'long', timeZone });
  const dateTimeFmt = dateTimeFormat(intlLocale, { dateStyle: 'medium', timeStyle: 'short', timeZone });
  const plural = pluralRulesFor(intlLocale);
  const num = numberFormat(intlLocale);
  const toDate = (d: Date | string) => (d instanceof Date ? d : new Date(d));
  const t = (key: CatalogKey, vars?: Record<string, string | number>) => interpolate(cat[key] ?? en[key], vars);
  return {
    lang,
    locale: intlLocale,
    timeZone,
    t,
    money: (amount, currency) => formatMoney(amount, currency, intlLocale),
    date: (d) => (d ? formatDateIn(dateFmt, toDate(d)) : ''),
    dateTime: (d) => (d ? formatDateIn(dateTimeFmt, toDate(d)) : ''),
    daysLeft(n) {
      const cat = plural.select(n);
      const key = (['one', 'few', 'many'].includes(cat) ? `grace.days.${cat}` : 'grace.days.other') as CatalogKey;
      return t(key, { n: num.format(n) });
    },
    expiry: (m, y) => (m && y ? `${String(m).padStart(2, '0')}/${y}` : ''),
  };
}
