import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, FINAL_ACTIONS, applyCaps, automaticAttempts, dueReminder, effectiveClass, graceEndsAt, nextReminderAt, pauseGrace, reminderTimes, mergePolicy, planRetry, retryAvailability, retryDateRefusal, validatePolicy, type AttemptView, type DunningPolicy } from '../../src/core/dunning.ts';
import { DECLINE_REASONS, PM_TYPES, RETRY_CLASSES } from '../../src/core/types.ts';
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

/** A past-due invoice whose Retry is available, 30 hours after its first attempt (each test changes what it states). */
function availabilityInput(over: Partial<Parameters<typeof retryAvailability>[0]> = {}): Parameters<typeof retryAvailability>[0] {
  return {
    policy: DEFAULT_POLICY,
    invoice_status: 'past_due',
    domain_zone: 'fr',
    payment_method: { id: 'pm_1', type: 'card' as const },
    in_flight: false,
    manual_retries_last_24h: 0,
    card_attempts: [],
    attempts: [att(0)],
    now: at(30),
    ...over,
  };
}

test('Retry availability: each rule', () => {
  const base = availabilityInput();
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

// ---- The policy's validation, field by field (PUT /v1/dunning-policy and the console's form) ----
// Each field: just inside its bounds accepted, just outside refused, the boundary as intended; the
// error names the field and says what is allowed, in the words the operator reads.

const policyErrors = (o: object) => validatePolicy(mergePolicy(DEFAULT_POLICY, o as any));
const refusal = (field: string, message: string) => [{ field, message }];

test('policy validation: each number field has its bounds, the field named and the rule said', () => {
  const GRACE = 'must be a whole number of days from 1 to 60';
  const ATTEMPTS = 'must be from 1 to 20';
  const VISA = "must be from 1 to 20 (Visa's limit)";
  const MASTERCARD = "must be from 1 to 10 (Mastercard's limit)";
  const MANUAL = 'must be from 0 to 50';
  const HELP = 'must be a whole number of days from 0 (off) to 30';
  // A one-day grace leaves room only for retries and reminders within that day.
  const shortGrace = { retry_schedule: [0.5], technical_retry_hours: [2, 8], reminder_days: [0.5] };
  const cases: [string, object, { field: string; message: string }[]][] = [
    ['grace 1 day', { grace_days: 1, ...shortGrace }, []],
    ['grace 60 days', { grace_days: 60 }, []],
    ['grace 61 days', { grace_days: 61 }, refusal('grace_days', GRACE)],
    ['grace 2.5 days (and the lists are not checked against a grace that is not a number of days)', { grace_days: 2.5 }, refusal('grace_days', GRACE)],
    ['grace "14"', { grace_days: '14' }, refusal('grace_days', GRACE)],
    ['1 automatic attempt', { max_automatic_attempts: 1 }, []],
    ['20 automatic attempts', { max_automatic_attempts: 20 }, []],
    ['0 automatic attempts', { max_automatic_attempts: 0 }, refusal('max_automatic_attempts', ATTEMPTS)],
    ['21 automatic attempts', { max_automatic_attempts: 21 }, refusal('max_automatic_attempts', ATTEMPTS)],
    ['1.5 automatic attempts', { max_automatic_attempts: 1.5 }, refusal('max_automatic_attempts', ATTEMPTS)],
    ['cap 1 attempt / 30 d', { caps: { attempts_per_card_30d: 1 } }, []],
    ['cap 20 attempts / 30 d', { caps: { attempts_per_card_30d: 20 } }, []],
    ['cap 0 attempts / 30 d', { caps: { attempts_per_card_30d: 0 } }, refusal('caps.attempts_per_card_30d', VISA)],
    ['cap 21 attempts / 30 d', { caps: { attempts_per_card_30d: 21 } }, refusal('caps.attempts_per_card_30d', VISA)],
    ['cap 2.5 attempts / 30 d', { caps: { attempts_per_card_30d: 2.5 } }, refusal('caps.attempts_per_card_30d', VISA)],
    ['cap 1 decline / 24 h', { caps: { declines_per_card_24h: 1 } }, []],
    ['cap 10 declines / 24 h', { caps: { declines_per_card_24h: 10 } }, []],
    ['cap 0 declines / 24 h', { caps: { declines_per_card_24h: 0 } }, refusal('caps.declines_per_card_24h', MASTERCARD)],
    ['cap 11 declines / 24 h', { caps: { declines_per_card_24h: 11 } }, refusal('caps.declines_per_card_24h', MASTERCARD)],
    ['cap 2.5 declines / 24 h', { caps: { declines_per_card_24h: 2.5 } }, refusal('caps.declines_per_card_24h', MASTERCARD)],
    ['0 manual retries a day (Retry off by count)', { manual_retry: { max_per_day: 0 } }, []],
    ['50 manual retries a day', { manual_retry: { max_per_day: 50 } }, []],
    ['-1 manual retries a day', { manual_retry: { max_per_day: -1 } }, refusal('manual_retry.max_per_day', MANUAL)],
    ['51 manual retries a day', { manual_retry: { max_per_day: 51 } }, refusal('manual_retry.max_per_day', MANUAL)],
    ['1.5 manual retries a day', { manual_retry: { max_per_day: 1.5 } }, refusal('manual_retry.max_per_day', MANUAL)],
    ['Retry enabled "yes"', { manual_retry: { enabled: 'yes' } }, refusal('manual_retry.enabled', 'must be true or false')],
    ['Retry disabled', { manual_retry: { enabled: false } }, []],
    ['help pause 0 days (off)', { help_pause_days: 0 }, []],
    ['help pause 30 days', { help_pause_days: 30 }, []],
    ['help pause -1 days', { help_pause_days: -1 }, refusal('help_pause_days', HELP)],
    ['help pause 31 days', { help_pause_days: 31 }, refusal('help_pause_days', HELP)],
    ['help pause 0.5 days', { help_pause_days: 0.5 }, refusal('help_pause_days', HELP)],
    ['backup card after 1 failure', { backup_after_failures: 1 }, []],
    ['backup card after 20 failures', { backup_after_failures: 20 }, []],
    ['backup card after 0 failures', { backup_after_failures: 0 }, refusal('backup_after_failures', ATTEMPTS)],
    ['backup card after 21 failures', { backup_after_failures: 21 }, refusal('backup_after_failures', ATTEMPTS)],
    ['backup card after 1.5 failures', { backup_after_failures: 1.5 }, refusal('backup_after_failures', ATTEMPTS)],
    ['final action cancel', { final_action: 'cancel' }, refusal('final_action', 'must be "downgrade"')],
  ];
  for (const [name, o, want] of cases) assert.deepEqual(policyErrors(o), want, name);
});

test('policy validation: the day and hour lists are increasing, positive, inside grace, at most 50 items', () => {
  const cases: [string, object, { field: string; message: string }[]][] = [
    ['not a list', { retry_schedule: 'daily' }, refusal('retry_schedule', 'must be a list of numbers')],
    ['reminders not a list', { reminder_days: 7 }, refusal('reminder_days', 'must be a list of numbers')],
    ['51 hours', { technical_retry_hours: Array.from({ length: 51 }, (_, i) => (i + 1) / 10) }, refusal('technical_retry_hours', 'must have at most 50 items')],
    ['a retry at 0 days', { retry_schedule: [0, 3] }, refusal('retry_schedule[0]', 'must be a positive number of days')],
    ['a retry at NaN days', { retry_schedule: [NaN] }, refusal('retry_schedule[0]', 'must be a positive number of days')],
    ['a retry at "3" days', { retry_schedule: ['3'] }, refusal('retry_schedule[0]', 'must be a positive number of days')],
    ['a quick retry at -2 hours', { technical_retry_hours: [-2] }, refusal('technical_retry_hours[0]', 'must be a positive number of hours')],
    // A retry at the grace end is no retry: the downgrade comes first.
    ['a retry at exactly the grace end', { retry_schedule: [1, 14] }, refusal('retry_schedule[1]', '14 days is beyond the grace period (14 days)')],
    ['a retry just before the grace end', { retry_schedule: [1, 13.9] }, []],
    ['a quick retry at exactly the grace end', { technical_retry_hours: [2, 336] }, refusal('technical_retry_hours[1]', '336 hours is beyond the grace period (14 days)')],
    ['a quick retry just before the grace end', { technical_retry_hours: [2, 335] }, []],
    ['a reminder at exactly the grace end', { reminder_days: [14] }, refusal('reminder_days[0]', '14 days is beyond the grace period (14 days)')],
    ['the same day twice', { retry_schedule: [3, 3] }, refusal('retry_schedule[1]', 'must be in increasing order')],
    ['a day going back', { retry_schedule: [3, 2] }, refusal('retry_schedule[1]', 'must be in increasing order')],
    // A bad item is named once, as not a number: not also as out of order.
    ['a null after a day', { retry_schedule: [3, null] }, refusal('retry_schedule[1]', 'must be a positive number of days')],
    // Reminders are a set of days before the grace end: any order, each day once.
    ['reminders in any order', { reminder_days: [2, 7] }, []],
    ['the same reminder twice', { reminder_days: [7, 7] }, refusal('reminder_days[1]', 'must be in increasing order')],
    ['no reminders', { reminder_days: [] }, []],
  ];
  for (const [name, o, want] of cases) assert.deepEqual(policyErrors(o), want, name);
});

test('policy validation: decline rules name a known reason and class; Retry exclusions are known payment methods and domain zones', () => {
  const zone = (z: unknown) => `"${z}" is not a domain zone (e.g. "fr", "com")`;
  const cases: [string, object, { field: string; message: string }[]][] = [
    ['a known reason and class', { decline_rules: { insufficient_funds: 'customer', issuer_unavailable: 'later' } }, []],
    ['an unknown reason', { decline_rules: { no_such_reason: 'soon' } }, refusal('decline_rules.no_such_reason', `unknown decline reason "no_such_reason"; known: ${DECLINE_REASONS.join(', ')}`)],
    ['an unknown class', { decline_rules: { insufficient_funds: 'sometimes' } }, refusal('decline_rules.insufficient_funds', `unknown retry class "sometimes"; known: ${RETRY_CLASSES.join(', ')}`)],
    ['a known payment method', { manual_retry: { disabled_payment_methods: ['sepa_debit'] } }, []],
    ['an unknown payment method', { manual_retry: { disabled_payment_methods: ['cheque'] } }, refusal('manual_retry.disabled_payment_methods', `unknown payment method type "cheque"; known: ${PM_TYPES.join(', ')}`)],
    ['10 payment methods', { manual_retry: { disabled_payment_methods: Array(10).fill('card') } }, []],
    ['11 payment methods', { manual_retry: { disabled_payment_methods: Array(11).fill('card') } }, refusal('manual_retry.disabled_payment_methods', 'must have at most 10 items')],
    ['500 zones', { manual_retry: { disabled_domain_zones: Array.from({ length: 500 }, (_, i) => `z${i}`) } }, []],
    ['501 zones', { manual_retry: { disabled_domain_zones: Array.from({ length: 501 }, (_, i) => `z${i}`) } }, refusal('manual_retry.disabled_domain_zones', 'must have at most 500 items')],
    ['zones in lower case, digits, hyphens, up to 63', { manual_retry: { disabled_domain_zones: ['fr', 'xn--p1ai', 'a'.repeat(63)] } }, []],
    ['a zone in capitals', { manual_retry: { disabled_domain_zones: ['FR'] } }, refusal('manual_retry.disabled_domain_zones', zone('FR'))],
    ['a zone of 64', { manual_retry: { disabled_domain_zones: ['a'.repeat(64)] } }, refusal('manual_retry.disabled_domain_zones', zone('a'.repeat(64)))],
    ['a zone with a dot before', { manual_retry: { disabled_domain_zones: ['.fr'] } }, refusal('manual_retry.disabled_domain_zones', zone('.fr'))],
    ['a zone with a dot after', { manual_retry: { disabled_domain_zones: ['fr.'] } }, refusal('manual_retry.disabled_domain_zones', zone('fr.'))],
    ['a zone that is a number', { manual_retry: { disabled_domain_zones: [33] } }, refusal('manual_retry.disabled_domain_zones', zone(33))],
  ];
  for (const [name, o, want] of cases) assert.deepEqual(policyErrors(o), want, name);
  // A policy without its Retry settings is refused by name, not by a crash.
  assert.deepEqual(validatePolicy({ ...DEFAULT_POLICY, manual_retry: undefined } as unknown as DunningPolicy), refusal('manual_retry.enabled', 'must be true or false'));
  // Without its exclusion lists (an override that removes them), each is named: Retry availability reads them as lists.
  assert.deepEqual(validatePolicy({ ...DEFAULT_POLICY, manual_retry: { enabled: true, max_per_day: 3 } } as unknown as DunningPolicy), [
    { field: 'manual_retry.disabled_domain_zones', message: 'must be a list of domain zones' },
    { field: 'manual_retry.disabled_payment_methods', message: 'must be a list of payment method types' },
  ]);
  assert.deepEqual(policyErrors({ manual_retry: { disabled_domain_zones: 'fr', disabled_payment_methods: 'card' } }).map((e) => e.field), ['manual_retry.disabled_domain_zones', 'manual_retry.disabled_payment_methods']);
  // The final actions the API's schema offers are exactly those validation accepts.
  assert.ok(FINAL_ACTIONS.length > 0);
  for (const a of FINAL_ACTIONS) assert.deepEqual(policyErrors({ final_action: a }), [], a);
  // Without its caps, both caps are named.
  assert.deepEqual(validatePolicy({ ...DEFAULT_POLICY, caps: undefined } as unknown as DunningPolicy).map((e) => e.field), ['caps.attempts_per_card_30d', 'caps.declines_per_card_24h']);
});

test('mergePolicy skips missing layers (no plan override, no zone override)', () => {
  assert.deepEqual(mergePolicy(DEFAULT_POLICY, null, undefined), DEFAULT_POLICY);
  assert.deepEqual(mergePolicy(DEFAULT_POLICY, undefined, { grace_days: 21 }, null), { ...DEFAULT_POLICY, grace_days: 21 });
});

// ---- The planners: each rule a mutation of dunning.ts showed no test stated ----

const G14 = new Date(t0.getTime() + 14 * DAY);
const planBase = { policy: DEFAULT_POLICY, failed_at: t0, grace_ends_at: G14, current_payment_method_id: 'pm_1' as string | null, card_attempts: [] as { at: Date; outcome: 'declined' | 'succeeded' }[] };
const technical = { retry_class: 'soon' as const, reason: 'issuer_unavailable' as const };

test('retry plan: the quick retries follow consecutive technical declines, then the day schedule; each plan says why', () => {
  const plan = (attempts: AttemptView[], over: object = {}) => planRetry({ ...planBase, attempts, ...over });
  assert.deepEqual(plan([att(0)], { current_payment_method_id: null }), { at: null, why: 'no_payment_method' });
  assert.deepEqual(plan([att(0)]), { at: at(24), why: 'scheduled_retry' });
  assert.deepEqual(plan([att(0, technical)]), { at: at(2), why: 'technical_retry' });
  assert.deepEqual(plan([att(0, technical), att(2, technical)]), { at: at(10), why: 'technical_retry' });
  // The quick retries used up: the next day of the schedule.
  assert.deepEqual(plan([att(0, technical), att(2, technical), att(10, technical)]), { at: at(24), why: 'scheduled_retry' });
  // Only the technical declines in a row at the end count: a funds decline before them starts the streak again.
  assert.deepEqual(plan([att(0), att(24, technical)]), { at: at(26), why: 'technical_retry' });
  // A retry due exactly at the grace end is not made: the downgrade comes first.
  assert.deepEqual(plan([att(0)], { grace_ends_at: at(24) }), { at: null, why: 'grace_ends_first' });
  assert.deepEqual(plan([att(0)], { grace_ends_at: new Date(at(24).getTime() + 1) }), { at: at(24), why: 'scheduled_retry' });
});

test('retry plan: the network advice (retry after) delays the retry, never brings it forward; the caps delay it', () => {
  const plan = (attempts: AttemptView[], over: object = {}) => planRetry({ ...planBase, attempts, ...over });
  assert.deepEqual(plan([att(0, { not_before: at(30) })]), { at: at(30), why: 'network_advice_delay' });
  assert.deepEqual(plan([att(0, { not_before: at(12) })]), { at: at(24), why: 'scheduled_retry' });
  assert.deepEqual(plan([att(0, { not_before: at(24) })]), { at: at(24), why: 'scheduled_retry' });
  // Two declines on the card in 24 h with a cap of 2: the retry waits until the older one is 24 h old.
  const p = mergePolicy(DEFAULT_POLICY, { caps: { declines_per_card_24h: 2 } });
  const card_attempts = [at(4), at(20)].map((a) => ({ at: a, outcome: 'declined' as const }));
  assert.deepEqual(plan([att(20)], { policy: p, card_attempts }), { at: new Date(at(28).getTime() + 1), why: 'network_cap_delay' });
});

test('retry plan: a new card is tried at once (from the last attempt on the old one); an attempt given back to an incident is planned again', () => {
  const plan = (attempts: AttemptView[], over: object = {}) => planRetry({ ...planBase, attempts, ...over });
  const old = { payment_method_id: 'pm_old' };
  assert.deepEqual(plan([att(0, old), att(24, old)], { current_payment_method_id: 'pm_2' }), { at: at(24), why: 'scheduled_retry' });
  // The gateway was down, not the card: the attempt does not count, and the retry it stood for is due again.
  const lost = att(0, { ...technical, incident_id: 'inc_1' });
  assert.deepEqual(plan([lost]), { at: at(0), why: 'scheduled_retry' });
  assert.equal(automaticAttempts(DEFAULT_POLICY, [lost]), 0);
  // Only a decline is given back: an attempt of unknown outcome (the gateway may have charged) counts.
  assert.equal(automaticAttempts(DEFAULT_POLICY, [att(0, { ...technical, incident_id: 'inc_1', outcome: 'unknown' })]), 1);
});

test('automatic attempts: the customer\'s own Retry does not use an automatic attempt; policy rules apply to declines only', () => {
  const p = mergePolicy(DEFAULT_POLICY, { max_automatic_attempts: 2 });
  const attempts = [att(0, { trigger: 'initial' }), att(5, { trigger: 'customer_retry' })];
  assert.equal(automaticAttempts(p, attempts), 1);
  assert.equal(planRetry({ ...planBase, policy: p, attempts }).why, 'scheduled_retry');
  assert.equal(planRetry({ ...planBase, policy: p, attempts: [...attempts, att(24)] }).why, 'max_attempts_reached');
  // An attempt with no decline class (it succeeded, or is pending) has none whatever the rules say of its reason.
  const strict = mergePolicy(DEFAULT_POLICY, { decline_rules: { insufficient_funds: 'customer' } });
  assert.equal(effectiveClass(strict, { retry_class: null, reason: 'insufficient_funds' }), null);
  assert.equal(effectiveClass(strict, { retry_class: 'later', reason: 'insufficient_funds' }), 'customer');
});

test('a chosen day: not when nothing will be tried automatically, not at or before the last attempt, not before the network advice on this card', () => {
  const plan = (attempts: AttemptView[], chosen_at: Date, over: object = {}) => planRetry({ ...planBase, attempts, chosen_at, ...over });
  assert.deepEqual(plan([att(0)], at(30)), { at: at(30), why: 'customer_chosen' });
  // Nothing automatic: the chosen day changes nothing.
  assert.deepEqual(plan([att(0)], at(30), { policy: mergePolicy(DEFAULT_POLICY, { max_automatic_attempts: 1 }) }), { at: null, why: 'max_attempts_reached' });
  assert.deepEqual(plan([att(0, { retry_class: 'never', reason: 'declined_by_bank' })], at(30)), { at: null, why: 'card_refused_permanently' });
  assert.deepEqual(plan([att(0, { retry_class: 'customer', reason: 'card_expired_or_inactive' })], at(30)), { at: null, why: 'waiting_for_customer' });
  assert.deepEqual(plan([att(0)], at(30), { current_payment_method_id: null }), { at: null, why: 'no_payment_method' });
  // Made already: the chosen instant is the last attempt's; the schedule carries on.
  assert.deepEqual(plan([att(0), att(30)], at(30)), { at: at(72), why: 'scheduled_retry' });
  // The network's "retry after" on this card: a day before it is not kept; on it, it is.
  assert.deepEqual(plan([att(0, { not_before: at(48) })], at(30)), { at: at(48), why: 'network_advice_delay' });
  assert.deepEqual(plan([att(0, { not_before: at(48) })], at(48)), { at: at(48), why: 'customer_chosen' });
  // The advice was about the old card: the new one is not held by it.
  assert.deepEqual(plan([att(0, { payment_method_id: 'pm_old', not_before: at(48) })], at(30), { current_payment_method_id: 'pm_2' }), { at: at(30), why: 'customer_chosen' });
});

test('caps: the windows are half-open, (t − 30 days, t] and (t − 24 h, t]; only failures count against the 24 h cap; any order of history', () => {
  const one = mergePolicy(DEFAULT_POLICY, { caps: { attempts_per_card_30d: 1, declines_per_card_24h: 10 } });
  const h = (x: number, outcome: 'declined' | 'succeeded' = 'succeeded') => ({ at: at(x), outcome });
  const t30 = at(30 * 24);
  // An attempt exactly 30 days old no longer counts; 1 ms younger, it does.
  assert.equal(applyCaps(one, [h(0)], t30).getTime(), t30.getTime());
  assert.equal(applyCaps(one, [h(0)], new Date(t30.getTime() - 1)).getTime(), t30.getTime() + 1);
  // An attempt at the very instant counts; an attempt after it, or older than the window, does not.
  assert.equal(applyCaps(one, [h(0)], at(0)).getTime(), t30.getTime() + 1);
  assert.equal(applyCaps(one, [h(10)], at(0)).getTime(), at(0).getTime());
  assert.equal(applyCaps(one, [h(-31 * 24)], at(0)).getTime(), at(0).getTime());
  const dec1 = mergePolicy(DEFAULT_POLICY, { caps: { attempts_per_card_30d: 20, declines_per_card_24h: 1 } });
  // A success is no decline.
  assert.equal(applyCaps(dec1, [h(0)], at(1)).getTime(), at(1).getTime());
  assert.equal(applyCaps(dec1, [h(0, 'declined')], at(1)).getTime(), at(24).getTime() + 1);
  // A decline exactly 24 h old no longer counts; 1 ms younger, at the instant, it does; after it, or older, not.
  assert.equal(applyCaps(dec1, [h(0, 'declined')], at(24)).getTime(), at(24).getTime());
  assert.equal(applyCaps(dec1, [h(0, 'declined')], new Date(at(24).getTime() - 1)).getTime(), at(24).getTime() + 1);
  assert.equal(applyCaps(dec1, [h(0, 'declined')], at(0)).getTime(), at(24).getTime() + 1);
  assert.equal(applyCaps(dec1, [h(5, 'declined')], at(0)).getTime(), at(0).getTime());
  assert.equal(applyCaps(dec1, [h(-25, 'declined')], at(0)).getTime(), at(0).getTime());
  // The history in any order: the window that matters is that of the newest attempts.
  const two30 = mergePolicy(DEFAULT_POLICY, { caps: { attempts_per_card_30d: 2, declines_per_card_24h: 10 } });
  assert.equal(applyCaps(two30, [h(48), h(0), h(24)], at(49)).getTime(), at(24 + 30 * 24).getTime() + 1);
  const two24 = mergePolicy(DEFAULT_POLICY, { caps: { attempts_per_card_30d: 20, declines_per_card_24h: 2 } });
  assert.equal(applyCaps(two24, [h(20, 'declined'), h(2, 'declined'), h(10, 'declined')], at(21)).getTime(), at(34).getTime() + 1);
});

test('reminders: latest-days first whatever the policy\'s order; a reminder is not sent twice, nor one due at the failure; once one went, none older', () => {
  const p = mergePolicy(DEFAULT_POLICY, { reminder_days: [2, 7] });
  assert.deepEqual(reminderTimes(p, G14, 'UTC').map((r) => r.days), [7, 2]);
  const r7 = new Date(G14.getTime() - 7 * DAY);
  const r2 = new Date(G14.getTime() - 2 * DAY);
  const due = (sent: number[], now: Date, failed = t0) => dueReminder(p, G14, 'UTC', sent, failed, now);
  assert.deepEqual(due([], new Date(r7.getTime() + HOUR)), { days: 7, at: r7 });
  assert.equal(due([7], new Date(r7.getTime() + HOUR)), null);
  assert.deepEqual(due([7], new Date(r2.getTime() + HOUR)), { days: 2, at: r2 });
  assert.equal(due([7, 2], new Date(r2.getTime() + HOUR)), null);
  // Both due and none sent: only the latest goes out.
  assert.deepEqual(due([], new Date(r2.getTime() + HOUR)), { days: 2, at: r2 });
  // A reminder due at the instant of the failure is not sent (the failure's own mail said it).
  assert.equal(due([], new Date(r7.getTime() + HOUR), r7), null);
  const next = (sent: number[], now: Date, ge = G14) => nextReminderAt(p, ge, 'UTC', sent, t0, now);
  assert.equal(next([], t0)?.getTime(), r7.getTime());
  // A reminder due now is the due one, not the next one.
  assert.equal(next([7], r2), null);
  assert.equal(next([], new Date(r7.getTime() + HOUR))?.getTime(), r2.getTime());
  // Grace extended (a help request) after both went: no reminder again.
  const later = new Date(G14.getTime() + 7 * DAY);
  assert.equal(next([7, 2], new Date(r2.getTime() + HOUR), later), null);
  assert.equal(next([2], new Date(r2.getTime() + HOUR), later), null);
});

test('Retry availability: Retry turned off by the policy; a new card is offered even after the old one was refused for good', () => {
  const base = availabilityInput({ payment_method: { id: 'pm_2', type: 'card' }, attempts: [att(0, { retry_class: 'never', reason: 'declined_by_bank' })] });
  assert.deepEqual(retryAvailability(base), { available: true, reason: null });
  assert.deepEqual(retryAvailability({ ...base, attempts: [] }), { available: true, reason: null });
  assert.deepEqual(retryAvailability({ ...base, policy: mergePolicy(DEFAULT_POLICY, { manual_retry: { enabled: false } }) }), { available: false, reason: 'manual_retry_disabled' });
});

test('a chosen day is refused when collection stopped, before the network advice on this card, beyond the caps', () => {
  const base = { ...planBase, attempts: [att(0)], invoice_status: 'past_due', collecting: true, now: at(1) };
  assert.equal(retryDateRefusal(base, at(30)), null);
  assert.equal(retryDateRefusal({ ...base, collecting: false }, at(30)), 'invoice_not_past_due');
  assert.equal(retryDateRefusal({ ...base, invoice_status: 'paid' }, at(30)), 'invoice_not_past_due');
  assert.equal(retryDateRefusal({ ...base, current_payment_method_id: null }, at(30)), 'no_automatic_retry');
  const advised = { ...base, attempts: [att(0, { not_before: at(48) })] };
  assert.equal(retryDateRefusal(advised, at(30)), 'network_advice');
  assert.equal(retryDateRefusal(advised, at(48)), null);
  const oldCard = { ...base, attempts: [att(0, { payment_method_id: 'pm_old', not_before: at(48) })], current_payment_method_id: 'pm_2' };
  assert.equal(retryDateRefusal(oldCard, at(30)), null);
  const full = Array.from({ length: 8 }, (_, i) => ({ at: at(10 + i), outcome: 'declined' as const }));
  assert.equal(retryDateRefusal({ ...base, card_attempts: full }, at(30)), 'network_cap');
  assert.equal(retryDateRefusal({ ...base, card_attempts: full }, new Date(at(34).getTime() + 1)), null);
});

test('a help request pauses grace once, and only before it ends', () => {
  const p = { grace_ends_at: G14, grace_paused_at: null, grace_pause_ms: 0, grace_pause_hold_ms: 0 };
  const before = new Date(G14.getTime() - 1);
  assert.deepEqual(pauseGrace(p, DEFAULT_POLICY, before), { grace_ends_at: new Date(G14.getTime() + 7 * DAY), grace_paused_at: before, grace_pause_ms: 0, grace_pause_hold_ms: 7 * DAY });
  assert.equal(pauseGrace(p, DEFAULT_POLICY, G14), null);
  assert.equal(pauseGrace({ ...p, grace_paused_at: at(0) }, DEFAULT_POLICY, at(1)), null);
});
