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

/**
 * The smallest amount the card gateways charge per currency, in its minor unit (Stripe's table,
 * docs.stripe.com/currencies "Minimum and maximum charge amounts"; lower-case codes as Stripe
 * writes them). The sandbox refuses less, as Stripe does (amount_too_small); the engine never asks.
 */
export const MINIMUM_CHARGE: Readonly<Record<string, number>> = {
  usd: 50, eur: 50, gbp: 30, chf: 50, cad: 50, aud: 50, nzd: 50, sgd: 50, brl: 50, inr: 50, jpy: 50,
  dkk: 250, nok: 300, sek: 300, pln: 200, czk: 1500, huf: 17500, ron: 200, bgn: 100, hkd: 400, mxn: 1000,
  aed: 200, thb: 1000, myr: 200, krw: 100, zar: 1000, ils: 200, try: 1000,
};

/** The smallest chargeable amount in `currency` (minor units); 1 for a currency the table lacks. */
export function minimumCharge(currency: string): number {
  return MINIMUM_CHARGE[currency.toLowerCase()] ?? 1;
}
