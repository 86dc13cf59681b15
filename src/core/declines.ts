// Decline classification as data: every gateway/network code renewd knows, mapped to the reason a
// customer understands and to what the card networks allow (retry soon, later, after the customer
// acts, never). Sources: payments-facts.md §1–2 (Visa categories, Mastercard Merchant Advice Codes,
// Stripe decline codes and advice codes).
//
// Precedence (first that applies decides; "hard stops first"):
//   1. Hard stops: Mastercard MAC 03 / 21, Stripe advice_code do_not_try_again → retry class `never`,
//      whatever the codes say. The reason still comes from the codes (step 2–4) so the customer is
//      told something sensible; lost/stolen/fraud are shown as a generic bank decline.
//   2. Any code (decline_code, code or network_decline_code) whose row says `never` (Visa category 1,
//      revocations R0/R1/R3, lost/stolen/fraud): a never-retry signal is never diluted by a softer one.
//   3. The first *specific* row matched, looking at decline_code, then code, then network_decline_code
//      (Stripe's own code is the most precise; the ISO code is the network's).
//   4. The first *generic* row matched in the same order (do_not_honor, generic_decline, card_declined,
//      call_issuer, ISO 05): a generic Stripe code never hides a specific ISO code.
//   5. Fallback: declined_by_bank / later (an unknown decline is retried, spaced, within the caps).
// Then the modifiers, which never touch the reason:
//   - Mastercard MAC 01 (new account information) and Stripe confirm_card_data turn soon/later into
//     `customer` (the card data must change before a retry can succeed).
//   - Mastercard MAC 24–30 give retry_after_ms (1 h, 24 h, 2 d, 4 d, 6 d, 8 d, 10 d) when the class
//     still allows an automatic retry (soon/later); a table row may carry its own retry_after_ms too.
//   - retry_after_ms is null whenever the class is `customer` or `never`.
import { DECLINE_REASONS, type DeclineReason, type RawDecline, type RetryClass } from './types.ts';

/** Where a code is read from. `stripe` codes are matched against decline_code, then code. */
export type DeclineCodeSource = 'stripe' | 'iso8583' | 'mastercard_advice' | 'stripe_advice';

export interface DeclineRule {
  source: DeclineCodeSource;
  /** The code as the gateway/network sends it (ISO codes as two characters: "05", "1A", "R1"). */
  code: string;
  /** null: a modifier row that keeps the reason found from the other codes. */
  reason: DeclineReason | null;
  /** null: keep the class found from the other codes. */
  retry_class: RetryClass | null;
  /** Minimum wait before a retry, when the row says so (Mastercard MAC 24–30). */
  retry_after_ms: number | null;
  /** A hard stop (MAC 03/21, do_not_try_again): forces `never` over every other code. */
  hard_stop?: boolean;
  /** A generic decline: used only when no specific code is present. */
  generic?: boolean;
  /** What the code means, in a few words for the operator (declineCodeMeaning: the console's timeline). */
  meaning: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function row(
  source: DeclineCodeSource,
  code: string,
  reason: DeclineReason | null,
  retry_class: RetryClass | null,
  meaning: string,
  extra: Partial<Pick<DeclineRule, 'retry_after_ms' | 'hard_stop' | 'generic'>> = {},
): DeclineRule {
  return { source, code, reason, retry_class, retry_after_ms: extra.retry_after_ms ?? null, meaning, ...(extra.hard_stop ? { hard_stop: true } : {}), ...(extra.generic ? { generic: true } : {}) };
}

export const DECLINE_RULES: readonly DeclineRule[] = [
  // ---- Stripe decline codes / error codes (docs.stripe.com/declines/codes) ----
  row('stripe', 'insufficient_funds', 'insufficient_funds', 'later', 'insufficient funds'),
  row('stripe', 'card_velocity_exceeded', 'credit_limit', 'later', 'balance, credit limit or amount limit exceeded'),
  row('stripe', 'withdrawal_count_limit_exceeded', 'credit_limit', 'later', 'credit limit / frequency limit exceeded'),
  row('stripe', 'expired_card', 'card_expired_or_inactive', 'customer', 'card expired'),
  row('stripe', 'invalid_expiry_month', 'card_expired_or_inactive', 'customer', 'expiry month invalid'),
  row('stripe', 'invalid_expiry_year', 'card_expired_or_inactive', 'customer', 'expiry year invalid'),
  row('stripe', 'new_account_information_available', 'card_expired_or_inactive', 'customer', 'card reissued: new details available'),
  row('stripe', 'restricted_card', 'card_expired_or_inactive', 'later', 'restricted card (Visa 62, category 2: a few retries)'),
  row('stripe', 'issuer_not_available', 'issuer_unavailable', 'soon', 'issuer could not be reached'),
  row('stripe', 'processing_error', 'payment_system_failure', 'soon', 'processing error'),
  row('stripe', 'reenter_transaction', 'payment_system_failure', 'soon', 'issuer asks to re-enter the transaction'),
  row('stripe', 'try_again_later', 'declined_by_bank', 'soon', 'declined for an unknown reason; retry'),
  row('stripe', 'authentication_required', 'authentication_required', 'customer', 'issuer requires authentication (3-D Secure)'),
  row('stripe', 'payment_intent_authentication_failure', 'authentication_required', 'customer', 'the customer failed or abandoned authentication (3-D Secure)'),
  row('stripe', 'incorrect_cvc', 'declined_by_bank', 'customer', 'CVC incorrect'),
  row('stripe', 'invalid_cvc', 'declined_by_bank', 'customer', 'CVC invalid'),
  row('stripe', 'incorrect_zip', 'declined_by_bank', 'customer', 'postal code incorrect'),
  row('stripe', 'card_not_supported', 'declined_by_bank', 'customer', 'card does not support this purchase'),
  row('stripe', 'currency_not_supported', 'declined_by_bank', 'customer', 'card does not support the currency'),
  row('stripe', 'resource_missing', 'declined_by_bank', 'customer', 'the saved payment method no longer exists at the gateway'),
  row('stripe', 'payment_method_unexpected_state', 'declined_by_bank', 'customer', 'the saved payment method cannot be used (detached, consumed)'),
  row('stripe', 'card_decline_rate_limit_exceeded', 'declined_by_bank', 'later', 'declined too often: wait 24 h', { retry_after_ms: DAY }),
  // never retry (Visa category 1; Stripe Billing never auto-retries these); shown as a generic decline
  row('stripe', 'lost_card', 'declined_by_bank', 'never', 'lost card (shown as a generic decline)'),
  row('stripe', 'stolen_card', 'declined_by_bank', 'never', 'stolen card (shown as a generic decline)'),
  row('stripe', 'fraudulent', 'declined_by_bank', 'never', 'suspected fraud (shown as a generic decline)'),
  row('stripe', 'pickup_card', 'declined_by_bank', 'never', 'pick up card'),
  row('stripe', 'incorrect_number', 'declined_by_bank', 'never', 'card number incorrect'),
  row('stripe', 'invalid_number', 'declined_by_bank', 'never', 'card number invalid'),
  row('stripe', 'invalid_account', 'declined_by_bank', 'never', 'card or account invalid'),
  row('stripe', 'revocation_of_authorization', 'declined_by_bank', 'never', 'cardholder revoked this recurring payment'),
  row('stripe', 'revocation_of_all_authorizations', 'declined_by_bank', 'never', 'cardholder revoked all recurring payments'),
  row('stripe', 'stop_payment_order', 'declined_by_bank', 'never', 'stop payment order'),
  row('stripe', 'transaction_not_allowed', 'declined_by_bank', 'never', 'transaction not permitted to the cardholder'),
  row('stripe', 'not_permitted', 'declined_by_bank', 'never', 'payment not permitted'),
  row('stripe', 'security_violation', 'declined_by_bank', 'never', 'security violation'),
  row('stripe', 'highest_risk_level', 'declined_by_bank', 'never', 'blocked by risk screening'),
  row('stripe', 'merchant_blacklist', 'declined_by_bank', 'never', 'blocked by the merchant block list'),
  // generic: retry spaced, within the caps
  row('stripe', 'do_not_honor', 'declined_by_bank', 'later', 'do not honor', { generic: true }),
  row('stripe', 'generic_decline', 'declined_by_bank', 'later', 'generic decline', { generic: true }),
  row('stripe', 'call_issuer', 'declined_by_bank', 'later', 'call the issuer', { generic: true }),
  row('stripe', 'card_declined', 'declined_by_bank', 'later', 'card declined (no detail)', { generic: true }),

  // ---- ISO 8583 network response codes (Visa categories; payments-facts §1) ----
  row('iso8583', '05', 'declined_by_bank', 'later', 'do not honor (Visa category 4)', { generic: true }),
  row('iso8583', '04', 'declined_by_bank', 'never', 'pick up card (category 1)'),
  row('iso8583', '07', 'declined_by_bank', 'never', 'pick up card, special condition (category 1)'),
  row('iso8583', '14', 'card_expired_or_inactive', 'never', 'invalid account number (category 1)'),
  row('iso8583', '15', 'declined_by_bank', 'never', 'no such issuer (category 1)'),
  row('iso8583', '41', 'declined_by_bank', 'never', 'lost card (category 1; shown as a generic decline)'),
  row('iso8583', '43', 'declined_by_bank', 'never', 'stolen card (category 1; shown as a generic decline)'),
  row('iso8583', '46', 'card_expired_or_inactive', 'never', 'closed account (category 1)'),
  row('iso8583', '51', 'insufficient_funds', 'later', 'insufficient funds / over credit limit (category 2)'),
  row('iso8583', '54', 'card_expired_or_inactive', 'customer', 'expired card (category 3)'),
  row('iso8583', '57', 'declined_by_bank', 'never', 'not permitted to cardholder (category 1 from 25 Oct 2026)'),
  row('iso8583', '61', 'credit_limit', 'later', 'exceeds amount limit (category 2)'),
  row('iso8583', '62', 'card_expired_or_inactive', 'later', 'restricted card (category 2)'),
  row('iso8583', '65', 'credit_limit', 'later', 'exceeds frequency limit (category 2)'),
  row('iso8583', '78', 'card_expired_or_inactive', 'later', 'card blocked / not yet activated'),
  row('iso8583', '91', 'issuer_unavailable', 'soon', 'issuer or switch inoperative (category 2)'),
  row('iso8583', '96', 'payment_system_failure', 'soon', 'system malfunction (category 2)'),
  row('iso8583', 'N7', 'declined_by_bank', 'customer', 'CVV2 failure (data quality)'),
  row('iso8583', '1A', 'authentication_required', 'customer', 'additional authentication required'),
  row('iso8583', 'R0', 'declined_by_bank', 'never', 'stop payment order (category 1)'),
  row('iso8583', 'R1', 'declined_by_bank', 'never', 'revocation of authorization (category 1)'),
  row('iso8583', 'R3', 'declined_by_bank', 'never', 'revocation of all authorizations (category 1)'),

  // ---- Mastercard Merchant Advice Codes (network_advice_code) ----
  row('mastercard_advice', '01', null, 'customer', 'new account information available: update the card'),
  row('mastercard_advice', '02', null, null, 'try again later'),
  row('mastercard_advice', '03', null, 'never', 'do not try again (hard stop)', { hard_stop: true }),
  row('mastercard_advice', '21', null, 'never', 'stop recurring: cardholder cancelled (hard stop)', { hard_stop: true }),
  row('mastercard_advice', '24', null, null, 'retry after 1 hour', { retry_after_ms: HOUR }),
  row('mastercard_advice', '25', null, null, 'retry after 24 hours', { retry_after_ms: DAY }),
  row('mastercard_advice', '26', null, null, 'retry after 2 days', { retry_after_ms: 2 * DAY }),
  row('mastercard_advice', '27', null, null, 'retry after 4 days', { retry_after_ms: 4 * DAY }),
  row('mastercard_advice', '28', null, null, 'retry after 6 days', { retry_after_ms: 6 * DAY }),
  row('mastercard_advice', '29', null, null, 'retry after 8 days', { retry_after_ms: 8 * DAY }),
  row('mastercard_advice', '30', null, null, 'retry after 10 days', { retry_after_ms: 10 * DAY }),

  // ---- Stripe advice codes (outcome.advice_code / error.advice_code) ----
  row('stripe_advice', 'do_not_try_again', null, 'never', 'do not try again (hard stop)', { hard_stop: true }),
  row('stripe_advice', 'try_again_later', null, null, 'try again later'),
  row('stripe_advice', 'confirm_card_data', null, 'customer', 'card data must be confirmed or updated'),
];

/**
 * The technical reasons: every code that gives one is retried `soon` (the issuer or the payment
 * system could not be reached, a gateway error or timeout settled as not charged): not the card's
 * fault. Read from the table (issuer_unavailable, payment_system_failure); a reason some of whose
 * codes are the card's (declined_by_bank: try_again_later is `soon`, do_not_honor is not) is not.
 */
export const TECHNICAL_REASONS: ReadonlySet<DeclineReason> = new Set(
  DECLINE_REASONS.filter((reason) => {
    const rows = DECLINE_RULES.filter((r) => r.reason === reason);
    return rows.length > 0 && rows.every((r) => r.retry_class === 'soon');
  }),
);

/** A decline for a technical reason (TECHNICAL_REASONS): the customer's card is not at fault. */
export function isTechnicalReason(reason: DeclineReason | string | null | undefined): boolean {
  return !!reason && TECHNICAL_REASONS.has(reason as DeclineReason);
}

export interface DeclineClassification {
  reason: DeclineReason;
  retry_class: RetryClass;
  retry_after_ms: number | null;
  /** Which rows decided, e.g. "stripe:lost_card" or "stripe:insufficient_funds+mastercard_advice:26". */
  rule: string;
}

const ruleId = (r: DeclineRule) => `${r.source}:${r.code}`;
const INDEX = new Map<string, DeclineRule>(DECLINE_RULES.map((r) => [ruleId(r), r]));

/** Codes are compared trimmed; Stripe codes lowercase, network codes uppercase and two characters. */
function stripeCode(c: string | null | undefined): string | null {
  const s = c?.trim().toLowerCase();
  return s ? s : null;
}
function networkCode(c: string | null | undefined): string | null {
  const s = c?.trim().toUpperCase();
  if (!s) return null;
  return s.length === 1 ? `0${s}` : s;
}

function lookup(source: DeclineCodeSource, code: string | null): DeclineRule | undefined {
  return code === null ? undefined : INDEX.get(`${source}:${code}`);
}

/**
 * What a raw code means, for the operator (the console's timeline shows it beside the code): the
 * row's `meaning`, or null for a code renewd does not know. `field` is where the attempt keeps the
 * code: `code` (Stripe's decline_code or code), `network` (the ISO network code) or `advice` (a
 * Mastercard advice code or a Stripe advice code: the attempt keeps one of the two).
 */
export function declineCodeMeaning(field: 'code' | 'network' | 'advice', code: string | null | undefined): string | null {
  const r =
    field === 'code'
      ? lookup('stripe', stripeCode(code))
      : field === 'network'
        ? lookup('iso8583', networkCode(code))
        : (lookup('mastercard_advice', networkCode(code)) ?? lookup('stripe_advice', stripeCode(code)));
  return r?.meaning || null;
}

export function classifyDecline(raw: RawDecline): DeclineClassification {
  // The code rows, in order of precision: Stripe's decline_code, Stripe's code, the ISO network code.
  const codeRows = [
    lookup('stripe', stripeCode(raw.decline_code)),
    lookup('stripe', stripeCode(raw.code)),
    lookup('iso8583', networkCode(raw.network_decline_code)),
  ].filter((r): r is DeclineRule => r !== undefined);
  const mac = lookup('mastercard_advice', networkCode(raw.network_advice_code));
  const advice = lookup('stripe_advice', stripeCode(raw.advice_code));

  const base =
    codeRows.find((r) => r.retry_class === 'never') ?? codeRows.find((r) => !r.generic) ?? codeRows.find((r) => r.generic);
  const reason: DeclineReason = base?.reason ?? 'declined_by_bank';
  let retry_class: RetryClass = base?.retry_class ?? 'later';
  let retry_after_ms: number | null = base?.retry_after_ms ?? null;
  const rules: string[] = [base ? ruleId(base) : 'fallback:unknown'];

  // 1. Hard stops override everything (they are checked last here only so the reason is known).
  const hard = [mac, advice].filter((r): r is DeclineRule => !!r?.hard_stop);
  if (hard.length > 0) {
    return { reason, retry_class: 'never', retry_after_ms: null, rule: [...hard.map(ruleId), ...rules].join('+') };
  }
  // Modifiers: the card data must change first (MAC 01, confirm_card_data).
  for (const m of [mac, advice]) {
    if (!m) continue;
    if (m.retry_class === 'customer' && (retry_class === 'soon' || retry_class === 'later')) {
      retry_class = 'customer';
      rules.push(ruleId(m));
    }
  }
  // Mastercard MAC 24–30: the earliest retry the network accepts.
  if (retry_class === 'customer' || retry_class === 'never') retry_after_ms = null;
  else if (mac?.retry_after_ms != null) {
    retry_after_ms = Math.max(retry_after_ms ?? 0, mac.retry_after_ms);
    rules.push(ruleId(mac));
  }
  return { reason, retry_class, retry_after_ms, rule: rules.join('+') };
}
