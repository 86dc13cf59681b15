import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, applyCaps, graceEndsAt, reminderTimes, mergePolicy, planRetry, retryAvailability, validatePolicy, type AttemptView } from '../../src/core/dunning.ts';
import { DAY, HOUR } from '../../src/core/time.ts';

const t0 = new Date('2026-03-01T10:00:00Z');
const at = (h: number) => new Date(t0.getTime() + h * HOUR);
const att = (h: number, over: Partial<AttemptView> = {}): AttemptView => ({
  at: at(h),
  trigger: 'scheduled',
  outcome: 'declined',
  retry_class: 'later',
  reason: 'insufficient_funds',
  not_before: null,
  payment_method_id: 'pm_1',
  ...over,
});

test('the default policy is valid and makes several attempts inside 14 days', () => {
  assert.deepEqual(validatePolicy(DEFAULT_POLICY), []);
  assert.equal(DEFAULT_POLICY.grace_days, 14);
  assert.ok(DEFAULT_POLICY.retry_schedule.length + 1 >= 5);
  assert.ok(DEFAULT_POLICY.retry_schedule.every((d) => d < 14));
  // Front-loaded: most retries within the first 10 days.
  assert.ok(DEFAULT_POLICY.retry_schedule.filter((d) => d <= 10).length >= 4);
});

test('validation refuses a schedule beyond grace, negative days, unknown codes, caps above the networks', () => {
  const bad = (o: object) => validatePolicy(mergePolicy(DEFAULT_POLICY, o as any)).map((e) => e.field);
  assert.ok(bad({ retry_schedule: [1, 20] }).includes('retry_schedule[1]'));
  assert.ok(bad({ retry_schedule: [-1] }).includes('retry_schedule[0]'));
  assert.ok(bad({ retry_schedule: [3, 2] }).includes('retry_schedule[1]'));
  assert.ok(bad({ reminder_days: [0] }).length > 0);
  assert.ok(bad({ grace_days: 0 }).includes('grace_days'));
  assert.ok(bad({ grace_days: 2.5 }).includes('grace_days'));
  assert.ok(bad({ decline_rules: { no_such_reason: 'soon' } }).includes('decline_rules.no_such_reason'));
  assert.ok(bad({ decline_rules: { insufficient_funds: 'sometimes' } }).includes('decline_rules.insufficient_funds'));
  assert.ok(bad({ caps: { attempts_per_card_30d: 21 } }).includes('caps.attempts_per_card_30d'));
  assert.ok(bad({ caps: { declines_per_card_24h: 11 } }).includes('caps.declines_per_card_24h'));
  assert.ok(bad({ manual_retry: { disabled_payment_methods: ['cheque'] } }).includes('manual_retry.disabled_payment_methods'));
  assert.ok(bad({ manual_retry: { max_per_day: -1 } }).includes('manual_retry.max_per_day'));
});

test('validation bounds the lists as the API schema does, for callers that skip it (the console)', () => {
  const bad = (o: object) => validatePolicy(mergePolicy(DEFAULT_POLICY, o as any)).map((e) => e.field);
  assert.deepEqual(bad({ technical_retry_hours: Array.from({ length: 51 }, (_, i) => (i + 1) / 10) }), ['technical_retry_hours']);
  assert.deepEqual(bad({ technical_retry_hours: Array.from({ length: 50 }, (_, i) => (i + 1) / 10) }), []);
  assert.deepEqual(bad({ manual_retry: { disabled_domain_zones: Array.from({ length: 501 }, (_, i) => `z${i}`) } }), ['manual_retry.disabled_domain_zones']);
  assert.deepEqual(bad({ manual_retry: { disabled_payment_methods: Array(11).fill('card') } }), ['manual_retry.disabled_payment_methods']);
});

test('overrides merge field by field (plan, then zone)', () => {
  const p = mergePolicy(DEFAULT_POLICY, { grace_days: 21 }, { manual_retry: { disabled_domain_zones: ['ru'] } });
  assert.equal(p.grace_days, 21);
  assert.deepEqual(p.manual_retry.disabled_domain_zones, ['ru']);
  assert.equal(p.manual_retry.max_per_day, 3);
});

test('a policy rule can turn a decline into wait-for-customer, but never loosen a network hard stop', () => {
  const grace = new Date(t0.getTime() + 14 * DAY);
  const base = { failed_at: t0, grace_ends_at: grace, current_payment_method_id: 'pm_1', card_attempts: [] };
  const strict = mergePolicy(DEFAULT_POLICY, { decline_rules: { insufficient_funds: 'customer' } });
  assert.equal(planRetry({ ...base, policy: strict, attempts: [att(0)] }).why, 'waiting_for_customer');
  const loose = mergePolicy(DEFAULT_POLICY, { decline_rules: { declined_by_bank: 'later' } });
  assert.equal(planRetry({ ...base, policy: loose, attempts: [att(0, { retry_class: 'never', reason: 'declined_by_bank' })] }).why, 'card_refused_permanently');
});

test('caps push the next attempt out of a full window', () => {
  const p = mergePolicy(DEFAULT_POLICY, { caps: { attempts_per_card_30d: 3, declines_per_card_24h: 2 } });
  const hist = [0, 1, 2].map((h) => ({ at: at(h), outcome: 'declined' as const }));
  // Two declines in 24 h: the next is allowed 24 h after the second-newest one.
  assert.equal(applyCaps(p, hist.slice(0, 2), at(3)).getTime(), at(0).getTime() + DAY + 1);
  // Three attempts in 30 days: the next waits until the oldest leaves the window.
  assert.equal(applyCaps(p, hist, at(3)).getTime(), at(0).getTime() + 30 * DAY + 1);
});

test('no retry planned past the grace end', () => {
  const grace = new Date(t0.getTime() + 2 * DAY);
  const r = planRetry({ policy: DEFAULT_POLICY, failed_at: t0, grace_ends_at: grace, attempts: [att(0), att(24)], current_payment_method_id: 'pm_1', card_attempts: [] });
  assert.deepEqual(r, { at: null, why: 'grace_ends_first' });
});

test('Retry availability: each rule', () => {
  const base = {
    policy: DEFAULT_POLICY,
    invoice_status: 'past_due',
    domain_zone: 'fr',
    payment_method: { id: 'pm_1', type: 'card' as const },
    in_flight: false,
    manual_retries_last_24h: 0,
    card_attempts: [],
    attempts: [att(0)],
    now: at(30),
  };
  assert.equal(retryAvailability(base).available, true);
  assert.equal(retryAvailability({ ...base, invoice_status: 'paid' }).reason, 'invoice_not_past_due');
  assert.equal(retryAvailability({ ...base, policy: mergePolicy(DEFAULT_POLICY, { manual_retry: { disabled_domain_zones: ['fr'] } }) }).reason, 'domain_zone_excluded');
  assert.equal(retryAvailability({ ...base, payment_method: { id: 'pm_1', type: 'sepa_debit' }, policy: mergePolicy(DEFAULT_POLICY, { manual_retry: { disabled_payment_methods: ['sepa_debit'] } }) }).reason, 'payment_method_excluded');
  assert.equal(retryAvailability({ ...base, in_flight: true }).reason, 'attempt_in_flight');
  assert.equal(retryAvailability({ ...base, manual_retries_last_24h: 3 }).reason, 'rate_limited');
  assert.equal(retryAvailability({ ...base, attempts: [att(0, { retry_class: 'never', reason: 'declined_by_bank' })] }).reason, 'needs_new_payment_method');
  assert.equal(retryAvailability({ ...base, attempts: [att(0, { retry_class: 'customer', reason: 'card_expired_or_inactive' })] }).reason, 'needs_new_payment_method');
  // Authentication needed: the customer is present, so Retry (with authentication) is offered.
  assert.equal(retryAvailability({ ...base, attempts: [att(0, { retry_class: 'customer', reason: 'authentication_required', outcome: 'requires_action' })] }).available, true);
  const full = Array.from({ length: 15 }, (_, i) => ({ at: at(-i * 24), outcome: 'declined' as const }));
  assert.equal(retryAvailability({ ...base, card_attempts: full }).reason, 'network_cap');
  assert.equal(retryAvailability({ ...base, payment_method: null }).reason, 'no_payment_method');
});

// Grace is 14 days of the account's calendar: across a DST change it is 14 × 24 h ± 1 h of real time.
test('grace ends 14 local days after the period end, across a DST change (same wall-clock time)', () => {
  const cases: { zone: string; end: string; graceEnd: string }[] = [
    // Paris springs forward on 2026-03-29: 09:00 CET (08:00Z) → 09:00 CEST (07:00Z), 335 h later.
    { zone: 'Europe/Paris', end: '2026-03-20T08:00:00Z', graceEnd: '2026-04-03T07:00:00Z' },
    // Paris falls back on 2026-10-25: 09:00 CEST (07:00Z) → 09:00 CET (08:00Z), 337 h later.
    { zone: 'Europe/Paris', end: '2026-10-20T07:00:00Z', graceEnd: '2026-11-03T08:00:00Z' },
    // New York springs forward on 2026-03-08 (a different date from Europe's).
    { zone: 'America/New_York', end: '2026-03-01T14:00:00Z', graceEnd: '2026-03-15T13:00:00Z' },
    // No DST: exactly 14 × 24 h.
    { zone: 'Asia/Tokyo', end: '2026-03-20T00:00:00Z', graceEnd: '2026-04-03T00:00:00Z' },
  ];
  for (const c of cases) {
    const end = graceEndsAt(new Date(c.end), DEFAULT_POLICY, c.zone);
    assert.equal(end.toISOString(), new Date(c.graceEnd).toISOString(), `${c.zone} from ${c.end}`);
  }
  // The reminders count local days back from the grace end too (3 days before, 1 day before).
  const ge = graceEndsAt(new Date('2026-03-20T08:00:00Z'), DEFAULT_POLICY, 'Europe/Paris');
  for (const r of reminderTimes(DEFAULT_POLICY, ge, 'Europe/Paris')) {
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(r.at);
    assert.equal(local, '09:00', `reminder ${r.days} days before grace end at 09:00 Paris time`);
  }
});
