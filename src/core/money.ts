// Money is integer minor units; each currency has its own exponent (EUR 2, JPY 0, KWD 3).
// The exponent comes from Intl (ISO 4217 data shipped with Node), not from a hand-kept table.
import { numberFormat } from './intl.ts';

const exponentCache = new Map<string, number>();

/** True for an ISO 4217 code that Intl knows; Intl accepts any 3 letters, so check the display name. */
export function isKnownCurrency(code: string): boolean {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  const names = new Intl.DisplayNames(['en'], { type: 'currency', fallback: 'none' });
  return names.of(code) !== undefined;
}

export function currencyExponent(currency: string): number {
  let e = exponentCache.get(currency);
  if (e === undefined) {
    e = numberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    exponentCache.set(currency, e);
  }
  return e;
}

/** 2900 EUR → 29 (a number for display only; arithmetic stays in minor units). */
export function toMajor(amount: number, currency: string): number {
  return amount / 10 ** currencyExponent(currency);
}

/** Formats integer minor units: formatMoney(2900, 'EUR', 'fr-FR') → "29,00 €". */
export function formatMoney(amount: number, currency: string, locale: string): string {
  return numberFormat(locale, { style: 'currency', currency }).format(toMajor(amount, currency));
}
