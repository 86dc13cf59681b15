import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DECLINE_RULES, TECHNICAL_REASONS, classifyDecline, declineCodeMeaning, isTechnicalReason, type DeclineRule } from '../../src/core/declines.ts';
import type { DeclineReason, RawDecline, RetryClass } from '../../src/core/types.ts';

const H = 3_600_000;
const D = 24 * H;

// Written by hand from payments-facts.md §1–2 and the brief, independently of the table: what a
// decline carrying only this one code must classify as. [reason, retry class, retry_after_ms]
type E = [DeclineReason, RetryClass, number | null];
const EXPECTED: Record<string, E> = {
  'stripe:insufficient_funds': ['insufficient_funds', 'later', null],
  'stripe:card_velocity_exceeded': ['credit_limit', 'later', null],
  'stripe:withdrawal_count_limit_exceeded': ['credit_limit', 'later', null],
  'stripe:expired_card': ['card_expired_or_inactive', 'customer', null],
  'stripe:invalid_expiry_month': ['card_expired_or_inactive', 'customer', null],
  'stripe:invalid_expiry_year': ['card_expired_or_inactive', 'customer', null],
  'stripe:new_account_information_available': ['card_expired_or_inactive', 'customer', null],
  'stripe:restricted_card': ['card_expired_or_inactive', 'later', null],
  'stripe:issuer_not_available': ['issuer_unavailable', 'soon', null],
  'stripe:processing_error': ['payment_system_failure', 'soon', null],
  'stripe:reenter_transaction': ['payment_system_failure', 'soon', null],
  'stripe:try_again_later': ['declined_by_bank', 'soon', null],
  'stripe:authentication_required': ['authentication_required', 'customer', null],
  'stripe:payment_intent_authentication_failure': ['authentication_required', 'customer', null],
  'stripe:incorrect_cvc': ['declined_by_bank', 'customer', null],
  'stripe:invalid_cvc': ['declined_by_bank', 'customer', null],
  'stripe:incorrect_zip': ['declined_by_bank', 'customer', null],
  'stripe:card_not_supported': ['declined_by_bank', 'customer', null],
  'stripe:currency_not_supported': ['declined_by_bank', 'customer', null],
  'stripe:resource_missing': ['declined_by_bank', 'customer', null],
  'stripe:payment_method_unexpected_state': ['declined_by_bank', 'customer', null],
  'stripe:card_decline_rate_limit_exceeded': ['declined_by_bank', 'later', D],
  'stripe:lost_card': ['declined_by_bank', 'never', null],
  'stripe:stolen_card': ['declined_by_bank', 'never', null],
  'stripe:fraudulent': ['declined_by_bank', 'never', null],
  'stripe:pickup_card': ['declined_by_bank', 'never', null],
  'stripe:incorrect_number': ['declined_by_bank', 'never', null],
  'stripe:invalid_number': ['declined_by_bank', 'never', null],
  'stripe:invalid_account': ['declined_by_bank', 'never', null],
  'stripe:revocation_of_authorization': ['declined_by_bank', 'never', null],
  'stripe:revocation_of_all_authorizations': ['declined_by_bank', 'never', null],
  'stripe:stop_payment_order': ['declined_by_bank', 'never', null],
  'stripe:transaction_not_allowed': ['declined_by_bank', 'never', null],
  'stripe:not_permitted': ['declined_by_bank', 'never', null],
  'stripe:security_violation': ['declined_by_bank', 'never', null],
  'stripe:highest_risk_level': ['declined_by_bank', 'never', null],
  'stripe:merchant_blacklist': ['declined_by_bank', 'never', null],
  'stripe:do_not_honor': ['declined_by_bank', 'later', null],
  'stripe:generic_decline': ['declined_by_bank', 'later', null],
  'stripe:call_issuer': ['declined_by_bank', 'later', null],
  'stripe:card_declined': ['declined_by_bank', 'later', null],
  'iso8583:05': ['declined_by_bank', 'later', null],
  'iso8583:04': ['declined_by_bank', 'never', null],
  'iso8583:07': ['declined_by_bank', 'never', null],
  'iso8583:14': ['card_expired_or_inactive', 'never', null],
  'iso8583:15': ['declined_by_bank', 'never', null],
  'iso8583:41': ['declined_by_bank', 'never', null],
  'iso8583:43': ['declined_by_bank', 'never', null],
  'iso8583:46': ['card_expired_or_inactive', 'never', null],
  'iso8583:51': ['insufficient_funds', 'later', null],
  'iso8583:54': ['card_expired_or_inactive', 'customer', null],
  'iso8583:57': ['declined_by_bank', 'never', null],
  'iso8583:61': ['credit_limit', 'later', null],
  'iso8583:62': ['card_expired_or_inactive', 'later', null],
  'iso8583:65': ['credit_limit', 'later', null],
  'iso8583:78': ['card_expired_or_inactive', 'later', null],
  'iso8583:91': ['issuer_unavailable', 'soon', null],
  'iso8583:96': ['payment_system_failure', 'soon', null],
  'iso8583:N7': ['declined_by_bank', 'customer', null],
  'iso8583:1A': ['authentication_required', 'customer', null],
  'iso8583:R0': ['declined_by_bank', 'never', null],
  'iso8583:R1': ['declined_by_bank', 'never', null],
  'iso8583:R3': ['declined_by_bank', 'never', null],
  // Advice codes alone modify the unknown-decline fallback (declined_by_bank / later).
  'mastercard_advice:01': ['declined_by_bank', 'customer', null],
  'mastercard_advice:02': ['declined_by_bank', 'later', null],
  'mastercard_advice:03': ['declined_by_bank', 'never', null],
  'mastercard_advice:21': ['declined_by_bank', 'never', null],
  'mastercard_advice:24': ['declined_by_bank', 'later', 1 * H],
  'mastercard_advice:25': ['declined_by_bank', 'later', 24 * H],
  'mastercard_advice:26': ['declined_by_bank', 'later', 2 * D],
  'mastercard_advice:27': ['declined_by_bank', 'later', 4 * D],
  'mastercard_advice:28': ['declined_by_bank', 'later', 6 * D],
  'mastercard_advice:29': ['declined_by_bank', 'later', 8 * D],
  'mastercard_advice:30': ['declined_by_bank', 'later', 10 * D],
  'stripe_advice:do_not_try_again': ['declined_by_bank', 'never', null],
  'stripe_advice:try_again_later': ['declined_by_bank', 'later', null],
  'stripe_advice:confirm_card_data': ['declined_by_bank', 'customer', null],
};

function rawFor(r: DeclineRule): RawDecline {
  switch (r.source) {
    case 'stripe':
      return { code: 'card_declined', decline_code: r.code };
    case 'iso8583':
      return { network_decline_code: r.code };
    case 'mastercard_advice':
      return { network_advice_code: r.code };
    case 'stripe_advice':
      return { advice_code: r.code };
  }
}

test('the table and the hand-written expectations list the same codes', () => {
  const ids = DECLINE_RULES.map((r) => `${r.source}:${r.code}`);
  assert.equal(new Set(ids).size, ids.length, 'no duplicate rows');
  assert.deepEqual([...ids].sort(), Object.keys(EXPECTED).sort());
});

for (const r of DECLINE_RULES) {
  const id = `${r.source}:${r.code}`;
  test(`row ${id} (${r.meaning})`, () => {
    const want = EXPECTED[id];
    assert.ok(want, `no expectation written for ${id}`);
    const got = classifyDecline(rawFor(r));
    assert.deepEqual([got.reason, got.retry_class, got.retry_after_ms], want);
    assert.ok(got.rule.includes(id) || (r.reason === null && r.retry_class === null && r.retry_after_ms === null), `rule names the row: ${got.rule}`);
    if (r.source === 'stripe') {
      // Stripe puts some codes in `code` (expired_card, incorrect_cvc, processing_error…): same answer.
      const viaCode = classifyDecline({ code: r.code });
      assert.deepEqual([viaCode.reason, viaCode.retry_class, viaCode.retry_after_ms], want);
    }
  });
}

test('the codes the brief names, spelled as the gateway sends them', () => {
  const c = (raw: RawDecline) => {
    const r = classifyDecline(raw);
    return `${r.reason}/${r.retry_class}`;
  };
  assert.equal(c({ code: 'card_declined', decline_code: 'insufficient_funds', network_decline_code: '51' }), 'insufficient_funds/later');
  assert.equal(c({ code: 'expired_card', network_decline_code: '54' }), 'card_expired_or_inactive/customer');
  assert.equal(c({ code: 'authentication_required', decline_code: 'authentication_required', network_decline_code: '1A' }), 'authentication_required/customer');
  assert.equal(c({ code: 'card_declined', decline_code: 'lost_card', network_decline_code: '41' }), 'declined_by_bank/never');
  assert.equal(c({ network_decline_code: '1a' }), 'authentication_required/customer');
  assert.equal(c({ network_decline_code: '5' }), 'declined_by_bank/later');
  // A network code sent as one digit is the two-character code: 4 is 04 (pick up card, never
  // retried), not an unknown code retried later; an advice code 3 is MAC 03, a hard stop.
  assert.equal(c({ network_decline_code: '4' }), 'declined_by_bank/never');
  assert.equal(c({ decline_code: 'insufficient_funds', network_advice_code: ' 3 ' }), 'insufficient_funds/never');
  assert.equal(c({ network_decline_code: 'r1' }), 'declined_by_bank/never');
});

test('unknown codes fall back to declined_by_bank / later', () => {
  const r = classifyDecline({ code: 'card_declined', decline_code: 'something_new', network_decline_code: 'Z9' });
  assert.deepEqual([r.reason, r.retry_class, r.retry_after_ms], ['declined_by_bank', 'later', null]);
  assert.equal(classifyDecline({ code: 'brand_new' }).rule, 'fallback:unknown');
  assert.equal(classifyDecline({}).retry_class, 'later');
});

test('precedence: Mastercard MAC 03 / 21 are hard stops over any retryable code', () => {
  for (const mac of ['03', '21']) {
    const r = classifyDecline({ code: 'card_declined', decline_code: 'insufficient_funds', network_decline_code: '51', network_advice_code: mac });
    assert.equal(r.retry_class, 'never');
    assert.equal(r.reason, 'insufficient_funds', 'the reason still comes from the codes');
    assert.equal(r.retry_after_ms, null);
    assert.match(r.rule, new RegExp(`^mastercard_advice:${mac}`));
  }
  // Even a technical decline.
  assert.equal(classifyDecline({ code: 'processing_error', network_advice_code: '03' }).retry_class, 'never');
});

test('a hard stop names itself first, then the row that gave the reason', () => {
  assert.equal(
    classifyDecline({ decline_code: 'insufficient_funds', network_advice_code: '03', advice_code: 'do_not_try_again' }).rule,
    'mastercard_advice:03+stripe_advice:do_not_try_again+stripe:insufficient_funds',
  );
  assert.equal(classifyDecline({ advice_code: 'do_not_try_again' }).rule, 'stripe_advice:do_not_try_again+fallback:unknown');
});

test('precedence: Stripe advice do_not_try_again is a hard stop', () => {
  const r = classifyDecline({ code: 'card_declined', decline_code: 'generic_decline', advice_code: 'do_not_try_again' });
  assert.equal(r.retry_class, 'never');
  assert.equal(r.reason, 'declined_by_bank');
  // and wins over a MAC retry-after
  assert.equal(classifyDecline({ decline_code: 'insufficient_funds', advice_code: 'do_not_try_again', network_advice_code: '26' }).retry_after_ms, null);
});

test('precedence: a never-retry network code wins over a softer Stripe code', () => {
  const r = classifyDecline({ code: 'card_declined', decline_code: 'insufficient_funds', network_decline_code: 'R1' });
  assert.deepEqual([r.reason, r.retry_class], ['declined_by_bank', 'never']);
  assert.equal(r.rule, 'iso8583:R1');
});

test('precedence: a specific ISO code beats a generic Stripe code; a specific Stripe code beats the ISO code', () => {
  const a = classifyDecline({ code: 'card_declined', decline_code: 'generic_decline', network_decline_code: '91' });
  assert.deepEqual([a.reason, a.retry_class, a.rule], ['issuer_unavailable', 'soon', 'iso8583:91']);
  const b = classifyDecline({ code: 'card_declined', decline_code: 'do_not_honor', network_decline_code: '05' });
  assert.deepEqual([b.reason, b.retry_class, b.rule], ['declined_by_bank', 'later', 'stripe:do_not_honor']);
  const c = classifyDecline({ code: 'card_declined', decline_code: 'card_velocity_exceeded', network_decline_code: '51' });
  assert.deepEqual([c.reason, c.rule], ['credit_limit', 'stripe:card_velocity_exceeded']);
  // decline_code is read before code
  const d = classifyDecline({ code: 'card_declined', decline_code: 'expired_card' });
  assert.equal(d.rule, 'stripe:expired_card');
});

test('precedence: every generic Stripe decline gives way to a specific network code', () => {
  // do_not_honor, generic_decline, call_issuer and card_declined say nothing about why: the ISO code does.
  for (const decline_code of ['do_not_honor', 'generic_decline', 'call_issuer', 'card_declined']) {
    const funds = classifyDecline({ code: 'card_declined', decline_code, network_decline_code: '51' });
    assert.deepEqual([funds.reason, funds.retry_class, funds.rule], ['insufficient_funds', 'later', 'iso8583:51'], decline_code);
    const down = classifyDecline({ decline_code, network_decline_code: '91' });
    assert.deepEqual([down.reason, down.retry_class, down.rule], ['issuer_unavailable', 'soon', 'iso8583:91'], decline_code);
  }
});

test('precedence: Mastercard MAC 24–30 set retry_after_ms on retryable declines only', () => {
  const r = classifyDecline({ code: 'card_declined', decline_code: 'insufficient_funds', network_decline_code: '51', network_advice_code: '27' });
  assert.deepEqual([r.reason, r.retry_class, r.retry_after_ms], ['insufficient_funds', 'later', 4 * D]);
  assert.equal(r.rule, 'stripe:insufficient_funds+mastercard_advice:27');
  const soon = classifyDecline({ code: 'issuer_not_available', network_advice_code: '24' });
  assert.deepEqual([soon.retry_class, soon.retry_after_ms], ['soon', H]);
  // needs the customer: no automatic retry, so no retry time
  assert.equal(classifyDecline({ code: 'expired_card', network_advice_code: '30' }).retry_after_ms, null);
  // a decline never retried carries no retry time, even when the network advises one
  const lost = classifyDecline({ decline_code: 'lost_card', network_advice_code: '26' });
  assert.deepEqual([lost.retry_class, lost.retry_after_ms, lost.rule], ['never', null, 'stripe:lost_card']);
  assert.equal(classifyDecline({ network_decline_code: 'R1', network_advice_code: '30' }).retry_after_ms, null);
  // the larger of a row's own wait and the MAC wins
  assert.equal(classifyDecline({ code: 'card_decline_rate_limit_exceeded', network_advice_code: '24' }).retry_after_ms, D);
  assert.equal(classifyDecline({ code: 'card_decline_rate_limit_exceeded', network_advice_code: '26' }).retry_after_ms, 2 * D);
});

test('modifiers: MAC 01 and confirm_card_data wait for new card data but never soften a hard decline', () => {
  assert.equal(classifyDecline({ decline_code: 'insufficient_funds', network_advice_code: '01' }).retry_class, 'customer');
  assert.equal(classifyDecline({ decline_code: 'generic_decline', advice_code: 'confirm_card_data' }).retry_class, 'customer');
  assert.equal(classifyDecline({ decline_code: 'lost_card', network_advice_code: '01' }).retry_class, 'never');
  assert.equal(classifyDecline({ decline_code: 'insufficient_funds', network_advice_code: '02' }).retry_class, 'later');
  // a technical decline (retried soon) needs the new card data too: MAC 01 is about the card
  const soon = classifyDecline({ code: 'processing_error', network_advice_code: '01' });
  assert.deepEqual([soon.reason, soon.retry_class, soon.rule], ['payment_system_failure', 'customer', 'stripe:processing_error+mastercard_advice:01']);
  assert.equal(classifyDecline({ network_decline_code: '91', advice_code: 'confirm_card_data' }).retry_class, 'customer');
});

test('technical reasons: the ones every code of which is retried soon (bank or payment system unreachable), read from the table', () => {
  assert.deepEqual([...TECHNICAL_REASONS].sort(), ['issuer_unavailable', 'payment_system_failure']);
  // A gateway 5xx settled as not charged (engine/engine.ts notChargedResult) classifies as processing_error: technical.
  assert.ok(isTechnicalReason(classifyDecline({ code: 'processing_error' }).reason));
  assert.ok(isTechnicalReason(classifyDecline({ network_decline_code: '91' }).reason));
  // declined_by_bank is soon for try_again_later but later for do_not_honor: a card decline, not technical.
  for (const r of ['declined_by_bank', 'insufficient_funds', 'card_expired_or_inactive', 'authentication_required', 'credit_limit', null, undefined, 'nonsense']) assert.equal(isTechnicalReason(r), false, String(r));
});

test('the operator is told what every code renewd knows means; an unknown code has no meaning', () => {
  // The console's timeline shows it beside the raw code of an attempt (web/console/account.ts).
  const field = { stripe: 'code', iso8583: 'network', mastercard_advice: 'advice', stripe_advice: 'advice' } as const;
  for (const r of DECLINE_RULES) {
    const m = declineCodeMeaning(field[r.source], r.code);
    assert.ok(m && m.trim().length > 0 && m !== r.code, `${r.source}:${r.code} is explained`);
  }
  // Codes are read as classifyDecline reads them: a Stripe code in any case, a one-digit network code.
  assert.equal(declineCodeMeaning('code', ' Insufficient_Funds '), declineCodeMeaning('code', 'insufficient_funds'));
  assert.match(declineCodeMeaning('network', '5') ?? '', /do not honor/);
  assert.match(declineCodeMeaning('network', 'r1') ?? '', /revocation/);
  // The attempt keeps one advice code, a Mastercard one or Stripe's.
  assert.match(declineCodeMeaning('advice', '26') ?? '', /2 days/);
  assert.match(declineCodeMeaning('advice', 'confirm_card_data') ?? '', /card data/);
  // Each field is read from its own list: 51 is an ISO code, not a Stripe one; insufficient_funds is no network code.
  assert.equal(declineCodeMeaning('code', '51'), null);
  assert.equal(declineCodeMeaning('network', 'insufficient_funds'), null);
  assert.equal(declineCodeMeaning('advice', '51'), null);
  for (const unknown of ['something_new', '', null, undefined]) {
    assert.equal(declineCodeMeaning('code', unknown), null, String(unknown));
    assert.equal(declineCodeMeaning('network', unknown), null, String(unknown));
    assert.equal(declineCodeMeaning('advice', unknown), null, String(unknown));
  }
});
