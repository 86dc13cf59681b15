// The customer pages' texts (the shared catalogs of core/messages, 7 languages), formatted in the
// account's locale and time zone (Intl only), and the language of a visitor not yet known from
// the Accept-Language header (negotiator). An account whose language has no catalog sees English.
import Negotiator from 'negotiator';
import { LANGUAGES, formatMessage, languageOf, type MessageKey, type Values } from '../../core/messages/index.ts';
import { formatMoney } from '../../core/money.ts';
import { dateTimeFormat, formatDateIn } from '../../core/intl.ts';

export type CatalogKey = MessageKey;

export interface I18n {
  /** Language of the catalog in use (en, fr…). */
  lang: string;
  /** Locale for Intl (the account's own, e.g. fr-FR, when its language has a catalog). */
  locale: string;
  timeZone: string;
  t(key: CatalogKey, vars?: Values): string;
  money(amount: number, currency: string): string;
  date(d: Date | string | null | undefined): string;
  dateTime(d: Date | string | null | undefined): string;
  /** "5 days left", with the language's plural rules. */
  daysLeft(n: number): string;
  /** Card expiry as MM/YYYY. */
  expiry(month: number | null, year: number | null): string;
}

/**
 * The best catalog language for an Accept-Language header (pages shown before we know the
 * account): q-values, a region falling back to its language (pt-BR → pt), `*`; English when
 * nothing matches or the header is missing or unreadable.
 */
export function languageFromHeader(header: string | undefined): string {
  if (!header) return 'en';
  return new Negotiator({ headers: { 'accept-language': header } }).language(LANGUAGES) ?? 'en';
}

export function i18n(locale: string | null | undefined, timeZone = 'UTC'): I18n {
  const lang = languageOf(locale);
  let intlLocale: string = lang;
  if (locale && languageOf(locale) === lang && lang !== 'en') intlLocale = locale;
  else if (locale && lang === 'en' && locale.toLowerCase().startsWith('en')) intlLocale = locale;
  try {
    dateTimeFormat(intlLocale);
  } catch {
    intlLocale = lang;
  }
  const dateFmt = dateTimeFormat(intlLocale, { dateStyle: 'long', timeZone });
  const dateTimeFmt = dateTimeFormat(intlLocale, { dateStyle: 'medium', timeStyle: 'short', timeZone });
  const toDate = (d: Date | string) => (d instanceof Date ? d : new Date(d));
  const t = (key: CatalogKey, vars?: Values) => formatMessage(lang, intlLocale, key, vars);
  return {
    lang,
    locale: intlLocale,
    timeZone,
    t,
    money: (amount, currency) => formatMoney(amount, currency, intlLocale),
    date: (d) => (d ? formatDateIn(dateFmt, toDate(d)) : ''),
    dateTime: (d) => (d ? formatDateIn(dateTimeFmt, toDate(d)) : ''),
    daysLeft: (n) => t('grace.daysLeft', { n }),
    expiry: (m, y) => (m && y ? `${String(m).padStart(2, '0')}/${y}` : ''),
  };
}
