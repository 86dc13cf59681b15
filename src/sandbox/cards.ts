// Test cards of the sandbox PSP: Stripe's test numbers and what they do (docs.stripe.com/testing,
// payments-facts.md §7), the decline answers (Stripe error fields with realistic ISO 8583 network
// codes and Mastercard advice codes), brands, Luhn and fingerprints. A full card number is only
// ever held for the duration of the request that carries it; a payment method keeps its behaviour,
// brand, last4 and fingerprint.
import { createHash } from 'node:crypto';

/** What a card does. `charge`: the answer to every off-session charge (absent: succeed). */
export interface CardBehavior {
  charge?: string;
  /** Refused when attached to a customer (Stripe validates the CVC on attach). */
  attach?: string;
  /**
   * Refused when set up for later payments (a SetupIntent, e.g. on the hosted card page): Stripe
   * checks the card with the issuer then, so a declining test card fails at setup. Absent: set up.
   */
  setup?: string;
}

/** Card numbers with a behaviour; any other Luhn-valid number behaves like 4242424242424242. */
export const TEST_CARDS: Readonly<Record<string, CardBehavior & { note: string }>> = {
  '4242424242424242': { note: 'succeeds' },
  '4000056655665556': { note: 'Visa debit, succeeds' },
  '5555555555554444': { note: 'Mastercard, succeeds' },
  '2223003122003222': { note: 'Mastercard 2-series, succeeds' },
  '5200828282828210': { note: 'Mastercard debit, succeeds' },
  '378282246310005': { note: 'American Express, succeeds' },
  '4000000000000002': { setup: 'generic_decline', charge: 'generic_decline', note: 'declined: generic_decline' },
  '4000000000009995': { setup: 'insufficient_funds', charge: 'insufficient_funds', note: 'declined: insufficient_funds' },
  '4000000000009987': { setup: 'lost_card', charge: 'lost_card', note: 'declined: lost_card' },
  '4000000000009979': { setup: 'stolen_card', charge: 'stolen_card', note: 'declined: stolen_card' },
  '4000000000000069': { setup: 'expired_card', charge: 'expired_card', note: 'declined: expired_card' },
  '4000000000000127': { setup: 'incorrect_cvc', charge: 'incorrect_cvc', attach: 'incorrect_cvc', note: 'refused on attach (CVC check): incorrect_cvc' },
  '4000000000000119': { setup: 'processing_error', charge: 'processing_error', note: 'declined: processing_error' },
  '4000000000006975': { setup: 'card_velocity_exceeded', charge: 'card_velocity_exceeded', note: 'declined: card_velocity_exceeded' },
  '4000000000000341': { charge: 'generic_decline', note: 'attaches (and sets up), then every charge is declined' },
  '4000002500003155': { charge: 'authentication_required', note: 'requires authentication off-session (not set up)' },
  '4000002760003184': { charge: 'authentication_required', note: 'always requires authentication' },
  '4000000000003220': { charge: 'authentication_required', note: '3-D Secure 2: every payment must be authenticated' },
  '4000003800000446': { note: 'set up for off-session: off-session charges succeed' },
  // 4242424242424241 fails the Luhn check: refused at creation with incorrect_number.
};

/** Stripe's test payment method tokens (usable as a payment method id) and card tokens. */
export const TEST_TOKENS: Readonly<Record<string, string>> = {
  pm_card_visa: '4242424242424242',
  pm_card_visa_debit: '4000056655665556',
  pm_card_mastercard: '5555555555554444',
  pm_card_mastercard_debit: '5200828282828210',
  pm_card_amex: '378282246310005',
  pm_card_chargeDeclined: '4000000000000002',
  pm_card_chargeDeclinedInsufficientFunds: '4000000000009995',
  pm_card_chargeDeclinedLostCard: '4000000000009987',
  pm_card_chargeDeclinedStolenCard: '4000000000009979',
  pm_card_chargeDeclinedExpiredCard: '4000000000000069',
  pm_card_chargeDeclinedIncorrectCvc: '4000000000000127',
  pm_card_chargeDeclinedProcessingError: '4000000000000119',
  pm_card_chargeDeclinedVelocityLimitExceeded: '4000000000006975',
  pm_card_chargeCustomerFail: '4000000000000341',
  pm_card_authenticationRequiredOnSetup: '4000002500003155',
  pm_card_authenticationRequired: '4000002760003184',
  pm_card_authenticationRequiredSetupForOffSession: '4000003800000446',
  tok_visa: '4242424242424242',
  tok_visa_debit: '4000056655665556',
  tok_mastercard: '5555555555554444',
  tok_amex: '378282246310005',
  tok_chargeDeclined: '4000000000000002',
  tok_chargeDeclinedInsufficientFunds: '4000000000009995',
  tok_chargeDeclinedExpiredCard: '4000000000000069',
  tok_chargeCustomerFail: '4000000000000341',
};

export function behaviorOf(number: string): CardBehavior {
  const b = TEST_CARDS[number];
  return b ? { ...(b.charge ? { charge: b.charge } : {}), ...(b.attach ? { attach: b.attach } : {}), ...(b.setup ? { setup: b.setup } : {}) } : {};
}

export function brandOf(number: string): string {
  const d1 = number[0];
  const d2 = number.slice(0, 2);
  const d4 = Number(number.slice(0, 4));
  if (d1 === '4') return 'visa';
  if (d1 === '5' || (d4 >= 2221 && d4 <= 2720)) return 'mastercard';
  if (d2 === '34' || d2 === '37') return 'amex';
  if (d2 === '35') return 'jcb';
  if (d2 === '30' || d2 === '36' || d2 === '38' || d2 === '39') return 'diners';
  if (d1 === '3') return 'amex';
  if (d1 === '6') return 'discover';
  return 'unknown';
}

export function luhnValid(number: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = number.length - 1; i >= 0; i--) {
    let d = number.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/** Stable per card number, like Stripe's card.fingerprint; the number cannot be read back from it. */
export function fingerprintOf(number: string): string {
  return createHash('sha256').update(`renewd-sandbox-card:${number}`).digest('base64url').slice(0, 16);
}

export function normalizeNumber(input: unknown): string {
  return String(input ?? '').replace(/[\s-]/g, '');
}

/** The error fields of a decline, as Stripe sends them in a 402 card_error. */
export interface DeclineAnswer {
  code: string;
  decline_code: string | null;
  message: string;
  param?: string;
  network_decline_code: string | null;
  advice_code: string | null;
  /** Mastercard Merchant Advice Code, sent only for Mastercard cards. */
  mastercard_advice_code: string | null;
}

const DECLINED = 'Your card was declined.';
function d(
  code: string,
  decline_code: string | null,
  network_decline_code: string | null,
  advice_code: string | null,
  mastercard_advice_code: string | null,
  message = DECLINED,
  param?: string,
): DeclineAnswer {
  return { code, decline_code, message, network_decline_code, advice_code, mastercard_advice_code, ...(param ? { param } : {}) };
}

/** Keyed by the decline code a card or a script names. */
export const DECLINE_ANSWERS: Readonly<Record<string, DeclineAnswer>> = {
  generic_decline: d('card_declined', 'generic_decline', '05', null, null),
  do_not_honor: d('card_declined', 'do_not_honor', '05', null, null),
  call_issuer: d('card_declined', 'call_issuer', '01', null, null),
  insufficient_funds: d('card_declined', 'insufficient_funds', '51', 'try_again_later', null, 'Your card has insufficient funds.'),
  card_velocity_exceeded: d('card_declined', 'card_velocity_exceeded', '61', 'try_again_later', null, 'Your card was declined for making repeated attempts too frequently or exceeding its amount limit.'),
  withdrawal_count_limit_exceeded: d('card_declined', 'withdrawal_count_limit_exceeded', '65', 'try_again_later', null),
  issuer_not_available: d('card_declined', 'issuer_not_available', '91', 'try_again_later', '02'),
  processing_error: d('processing_error', 'processing_error', '96', 'try_again_later', '02', 'An error occurred while processing your card. Try again in a little bit.'),
  try_again_later: d('card_declined', 'try_again_later', '19', 'try_again_later', '02'),
  expired_card: d('expired_card', 'expired_card', '54', 'confirm_card_data', null, 'Your card has expired.', 'exp_month'),
  incorrect_cvc: d('incorrect_cvc', 'incorrect_cvc', 'N7', 'confirm_card_data', null, "Your card's security code is incorrect.", 'cvc'),
  restricted_card: d('card_declined', 'restricted_card', '62', null, null),
  authentication_required: d('authentication_required', 'authentication_required', '1A', null, null, 'Your card was declined. This transaction requires authentication.'),
  lost_card: d('card_declined', 'lost_card', '41', 'do_not_try_again', '03'),
  stolen_card: d('card_declined', 'stolen_card', '43', 'do_not_try_again', '03'),
  fraudulent: d('card_declined', 'fraudulent', '59', 'do_not_try_again', '03'),
  pickup_card: d('card_declined', 'pickup_card', '04', 'do_not_try_again', '03'),
  incorrect_number: d('incorrect_number', 'incorrect_number', '14', 'do_not_try_again', '03', 'Your card number is incorrect.', 'number'),
  invalid_account: d('card_declined', 'invalid_account', '46', 'do_not_try_again', '03'),
  transaction_not_allowed: d('card_declined', 'transaction_not_allowed', '57', 'do_not_try_again', '03'),
  revocation_of_authorization: d('card_declined', 'revocation_of_authorization', 'R1', 'do_not_try_again', '21'),
  revocation_of_all_authorizations: d('card_declined', 'revocation_of_all_authorizations', 'R3', 'do_not_try_again', '21'),
  stop_payment_order: d('card_declined', 'stop_payment_order', 'R0', 'do_not_try_again', '21'),
  highest_risk_level: d('card_declined', 'highest_risk_level', null, 'do_not_try_again', null),
};

/** The answer for any decline code; an unknown code is a plain card_declined with that decline_code. */
export function declineAnswer(code: string): DeclineAnswer {
  return DECLINE_ANSWERS[code] ?? d('card_declined', code, null, null, null);
}
