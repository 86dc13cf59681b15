// Issue 18 item 5, the backup card's rules (core/backup.ts) and the machine with a backup: unit
// cases, then fast-check properties over random declines, customer actions and time: the backup is
// never charged without consent, never beyond its per-card caps or the invoice's automatic
// attempts, never twice for one invoice (so never again after its own 'never' decline), and only
// after the main card failed on that invoice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { step, type AttemptState, type BillingState, type ChargeOutcome, type MachineEvent } from '../../src/core/machine.ts';
import { DEFAULT_POLICY, mergePolicy, validatePolicy, type DunningPolicy } from '../../src/core/dunning.ts';
import { backupUsable, planWithBackup, primaryGivesUp, sameCard, type BackupCard } from '../../src/core/backup.ts';
import type { AttemptOutcome, DeclineReason, RetryClass } from '../../src/core/types.ts';
import type { AttemptView } from '../../src/core/dunning.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import { PERIOD_END, T0, activeState, backupCard, card } from '../helpers/billing-state.ts';

let seq = 0;
const ctx = { newId: (p: string) => `${p}_${++seq}` };

const ANSWERS: Record<string, { outcome: ChargeOutcome['outcome']; reason: DeclineReason | null; retry_class: RetryClass | null }> = {
  ok: { outcome: 'succeeded', reason: null, retry_class: null },
  funds: { outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later' },
  technical: { outcome: 'declined', reason: 'issuer_unavailable', retry_class: 'soon' },
  expired: { outcome: 'declined', reason: 'card_expired_or_inactive', retry_class: 'customer' },
  lost: { outcome: 'declined', reason: 'declined_by_bank', retry_class: 'never' },
  auth: { outcome: 'requires_action', reason: 'authentication_required', retry_class: 'customer' },
};
type Answer = keyof typeof ANSWERS;
const answer = (a: Answer): ChargeOutcome => ({ ...ANSWERS[a], raw_code: null, network_code: null, advice_code: null, gateway_ref: 'pi_x', retry_after_ms: null });

/** Runs the renewal at PERIOD_END with `first` as the main card's answer; returns the step after that answer. */
function renewAndDecline(s: BillingState, first: Answer) {
  const r1 = step(s, { type: 'tick' }, PERIOD_END, ctx);
  const charge = r1.effects.find((e) => e.type === 'charge')!;
  assert.ok(charge && charge.type === 'charge');
  assert.equal(charge.attempt.payment_method_id, 'pm_1', 'the renewal charges the main card');
  return step(r1.state, { type: 'charge_result', attempt_id: charge.attempt.id, result: answer(first) }, PERIOD_END, ctx);
}
const charges = (r: ReturnType<typeof step>) => r.effects.flatMap((e) => (e.type === 'charge' ? [e.attempt] : []));

test('a lost or expired main card: the backup (with consent) is charged at once; paid, the event and the receipt name it', () => {
  for (const a of ['lost', 'expired'] as const) {
    const r = renewAndDecline({ ...activeState(), backup: backupCard() }, a);
    const [c] = charges(r);
    assert.ok(c, a);
    assert.equal(c.payment_method_id, 'pm_b');
    assert.equal(c.trigger, 'scheduled');
    const paid = step(r.state, { type: 'charge_result', attempt_id: c.id, result: answer('ok') }, PERIOD_END, ctx);
    assert.equal(paid.state.subscription.status, 'active');
    const ev = paid.effects.find((e) => e.type === 'event' && e.event_type === 'invoice.paid');
    assert.deepEqual(ev?.type === 'event' && ev.data.paid_with, { payment_method_id: 'pm_b', brand: 'visa', last4: '1881', role: 'backup' });
    const mail = paid.effects.find((e) => e.type === 'email');
    assert.ok(mail?.type === 'email' && mail.data.paid_with, 'the receipt e-mail carries the card that paid');
  }
});

test('no consent, the main card saved again as the backup, authentication, or a first funds decline: the backup is not charged at once', () => {
  assert.equal(charges(renewAndDecline({ ...activeState(), backup: backupCard('pm_b', null) }, 'lost')).length, 0, 'no consent');
  const twin = { ...backupCard(), payment_method: card('pm_b') }; // same brand, last 4 and expiry as pm_1
  assert.equal(charges(renewAndDecline({ ...activeState(), backup: twin }, 'lost')).length, 0, 'the same card');
  assert.equal(charges(renewAndDecline({ ...activeState(), backup: backupCard() }, 'auth')).length, 0, 'authentication needs the customer');
  const funds = renewAndDecline({ ...activeState(), backup: backupCard() }, 'funds');
  assert.equal(charges(funds).length, 0, 'one funds decline (< backup_after_failures 2)');
  assert.equal(funds.state.subscription.next_retry_why, 'scheduled_retry');
});

test("the backup's own decline: waiting for the customer, never the backup again for this invoice", () => {
  const r = renewAndDecline({ ...activeState(), backup: backupCard() }, 'lost');
  const [c] = charges(r);
  const d = step(r.state, { type: 'charge_result', attempt_id: c.id, result: answer('lost') }, PERIOD_END, ctx);
  assert.equal(charges(d).length, 0);
  assert.equal(d.state.subscription.next_retry_at, null);
  assert.equal(d.state.subscription.next_retry_why, 'waiting_for_customer');
  // The backup asking for authentication is its decline too: no e-mail asks the customer to authenticate it.
  const r2 = renewAndDecline({ ...activeState(), backup: backupCard() }, 'lost');
  const auth = step(r2.state, { type: 'charge_result', attempt_id: charges(r2)[0].id, result: answer('auth') }, PERIOD_END, ctx);
  assert.equal(auth.effects.filter((e) => e.type === 'email').length, 0);
  assert.equal(auth.state.subscription.next_retry_why, 'waiting_for_customer');
});

test("the backup's caps: a backup at its 24-hour decline cap is charged only once the window allows", () => {
  const policy = mergePolicy(DEFAULT_POLICY, { caps: { declines_per_card_24h: 1 } });
  const b = { ...backupCard(), card_attempts: [{ at: new Date(PERIOD_END.getTime() - 2 * HOUR), outcome: 'declined' as AttemptOutcome }] };
  const r = renewAndDecline({ ...activeState({ policy }), backup: b }, 'lost');
  assert.equal(charges(r).length, 0);
  assert.equal(r.state.subscription.next_retry_why, 'backup_card');
  assert.equal(r.state.subscription.next_retry_at?.getTime(), PERIOD_END.getTime() - 2 * HOUR + DAY + 1);
});

test('backup_after_failures is validated and planWithBackup follows it', () => {
  assert.deepEqual(validatePolicy(DEFAULT_POLICY), []);
  for (const bad of [0, 21, 1.5]) assert.equal(validatePolicy({ ...DEFAULT_POLICY, backup_after_failures: bad })[0]?.field, 'backup_after_failures');
  const view = (outcome: AttemptOutcome, at: Date) => ({ at, trigger: 'scheduled' as const, outcome, retry_class: 'later' as const, reason: 'insufficient_funds' as const, not_before: null, payment_method_id: 'pm_1' });
  const attempts = [view('declined', PERIOD_END)];
  assert.equal(primaryGivesUp(DEFAULT_POLICY, attempts, 'pm_1'), null);
  assert.equal(primaryGivesUp({ ...DEFAULT_POLICY, backup_after_failures: 1 }, attempts, 'pm_1'), 'next_slot');
  const slot = new Date(PERIOD_END.getTime() + DAY);
  const p = planWithBackup({ policy: { ...DEFAULT_POLICY, backup_after_failures: 1 }, attempts, primary_id: 'pm_1', backup: backupCard(), primary_plan: { at: slot, why: 'scheduled_retry' }, grace_ends_at: new Date(PERIOD_END.getTime() + 14 * DAY), now: PERIOD_END });
  assert.deepEqual(p, { at: slot, why: 'backup_card', backup: true });
});

// ---- properties ----

type Op =
  | { k: 'tick' }
  | { k: 'move'; hours: number }
  | { k: 'answer'; a: Answer }
  | { k: 'card' }
  | { k: 'retry' }
  | { k: 'backup'; consent: boolean }
  | { k: 'remove_backup' };

interface Charge {
  at: number;
  invoice: string;
  pm: string;
  trigger: string;
  consented: boolean;
  outcome: string;
}

function run(ops: Op[], policy: DunningPolicy, history: number[], backupConsent: boolean) {
  let s: BillingState = { ...activeState({ policy }), backup: backupCard('pm_b1', backupConsent ? T0 : null) };
  let now = T0;
  let cards = 1;
  let backups = 1;
  const queue: AttemptState[] = [];
  const ledger: Charge[] = history.map((h) => ({ at: PERIOD_END.getTime() - h * HOUR, invoice: 'old', pm: 'pm_b1', trigger: 'scheduled', consented: true, outcome: 'declined' }));
  const violations: string[] = [];
  const historyOf = (pm: string) =>
    ledger.filter((c) => c.pm === pm && c.at > now.getTime() - 30 * DAY).map((c) => ({ at: new Date(c.at), outcome: (c.outcome || 'pending') as AttemptOutcome }));
  const apply = (ev: MachineEvent) => {
    // As the store loads it: each card's own recent attempts.
    s = { ...s, card_attempts: s.payment_method ? historyOf(s.payment_method.id) : [], backup: s.backup && { ...s.backup, card_attempts: historyOf(s.backup.payment_method.id) } };
    const r = step(s, ev, now, ctx);
    for (const e of r.effects) {
      if (e.type !== 'charge') continue;
      const a = e.attempt;
      const b = s.backup;
      const onBackup = !!b && a.payment_method_id === b.payment_method.id;
      if (onBackup) {
        if (!b.consent_at) violations.push(`backup charged without consent at ${now.toISOString()}`);
        const prior = ledger.filter((c) => c.pm === a.payment_method_id);
        const in30 = prior.filter((c) => c.at > now.getTime() - 30 * DAY && c.at <= now.getTime()).length;
        const dec24 = prior.filter((c) => c.outcome !== 'succeeded' && c.at > now.getTime() - DAY && c.at <= now.getTime()).length;
        if (in30 >= policy.caps.attempts_per_card_30d) violations.push(`backup beyond the 30-day cap (${in30})`);
        if (dec24 >= policy.caps.declines_per_card_24h) violations.push(`backup beyond the 24-hour cap (${dec24})`);
        if (prior.some((c) => c.invoice === a.invoice_id)) violations.push(`backup ${a.payment_method_id} charged twice for ${a.invoice_id}`);
        const primaryFailed = ledger.some((c) => c.invoice === a.invoice_id && c.pm !== a.payment_method_id && (c.outcome === 'declined' || c.outcome === 'requires_action'));
        if (!primaryFailed) violations.push('backup charged before the main card failed on the invoice');
      }
      ledger.push({ at: now.getTime(), invoice: a.invoice_id, pm: a.payment_method_id!, trigger: a.trigger, consented: !!b?.consent_at, outcome: '' });
      queue.push(a);
    }
    const automatic = new Map<string, number>();
    for (const c of ledger) if (c.invoice !== 'old' && (c.trigger === 'scheduled' || c.trigger === 'initial')) automatic.set(c.invoice, (automatic.get(c.invoice) ?? 0) + 1);
    for (const [inv, n] of automatic) if (n > policy.max_automatic_attempts) violations.push(`${n} automatic attempts on ${inv}`);
    s = r.state;
  };
  for (const op of ops) {
    switch (op.k) {
      case 'tick': {
        const at = s.subscription.next_action_at;
        if (at && at.getTime() > now.getTime()) now = at;
        apply({ type: 'tick' });
        break;
      }
      case 'move':
        now = new Date(now.getTime() + op.hours * HOUR);
        apply({ type: 'tick' });
        break;
      case 'answer': {
        const a = queue.shift();
        if (!a) break;
        const rec = [...ledger].reverse().find((c) => c.invoice === a.invoice_id && c.pm === a.payment_method_id && !c.outcome);
        if (rec) rec.outcome = ANSWERS[op.a].outcome;
        apply({ type: 'charge_result', attempt_id: a.id, result: answer(op.a) });
        break;
      }
      case 'card':
        s = { ...s, payment_method: card(`pm_${++cards}`) };
        apply({ type: 'payment_method_updated' });
        break;
      case 'retry':
        apply({ type: 'retry_requested', trigger: 'customer_retry' });
        break;
      case 'backup':
        s = { ...s, backup: backupCard(`pm_b${++backups}`, op.consent ? now : null) };
        apply({ type: 'backup_card_updated' });
        break;
      case 'remove_backup':
        s = { ...s, backup: null };
        apply({ type: 'backup_card_updated' });
        break;
    }
  }
  return { violations, ledger };
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant({ k: 'tick' as const }), weight: 5 },
  { arbitrary: fc.record({ k: fc.constant('move' as const), hours: fc.integer({ min: 1, max: 72 }) }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('answer' as const), a: fc.constantFrom<Answer>(...(Object.keys(ANSWERS) as Answer[])) }), weight: 5 },
  fc.constant({ k: 'card' as const }),
  fc.constant({ k: 'retry' as const }),
  fc.record({ k: fc.constant('backup' as const), consent: fc.boolean() }),
  fc.constant({ k: 'remove_backup' as const }),
);
const policyArb = fc.record({
  backup_after_failures: fc.integer({ min: 1, max: 4 }),
  max_automatic_attempts: fc.integer({ min: 1, max: 8 }),
  caps: fc.record({ attempts_per_card_30d: fc.integer({ min: 1, max: 6 }), declines_per_card_24h: fc.integer({ min: 1, max: 3 }) }),
}).map((o) => mergePolicy(DEFAULT_POLICY, o));

test('property: the backup is never charged without consent, beyond its caps or the automatic attempts, twice for an invoice, or before the main card failed', () => {
  let runsWithBackupCharges = 0;
  fc.assert(
    fc.property(
      fc.array(opArb, { minLength: 1, maxLength: 80 }),
      policyArb,
      fc.array(fc.integer({ min: 1, max: 24 * 40 }), { maxLength: 8 }),
      fc.boolean(),
      (ops, policy, history, consent) => {
        // The renewal first (the state's next action is the period end): every run collects an invoice.
        const { violations, ledger } = run([{ k: 'tick' }, ...ops], policy, history, consent);
        assert.deepEqual(violations, []);
        if (ledger.some((c) => c.invoice !== 'old' && c.pm.startsWith('pm_b'))) runsWithBackupCharges++;
      },
    ),
    { numRuns: 1000 },
  );
  // The runs do reach the backup (the property is not vacuous).
  assert.ok(runsWithBackupCharges > 50, `${runsWithBackupCharges} runs charged a backup`);
});

test('property: with consent and a main card that is lost, the backup is charged at once whenever its caps allow', () => {
  fc.assert(
    fc.property(policyArb, (policy) => {
      const r = renewAndDecline({ ...activeState({ policy }), backup: backupCard() }, 'lost');
      const [c] = charges(r);
      assert.ok(policy.max_automatic_attempts === 1 ? !c : c?.payment_method_id === 'pm_b');
    }),
    { numRuns: 100 },
  );
});

// ---- the rules one by one (core/backup.ts) ----

const attemptOn = (payment_method_id: string | null, o: Partial<AttemptView> = {}): AttemptView => ({ at: PERIOD_END, trigger: 'scheduled', outcome: 'declined', retry_class: 'later', reason: 'insufficient_funds', not_before: null, payment_method_id, ...o });
const ONE = { ...DEFAULT_POLICY, backup_after_failures: 1 };

test("primaryGivesUp: only the main card's own failures on this invoice count", () => {
  assert.equal(primaryGivesUp(DEFAULT_POLICY, [], 'pm_1'), null, 'no attempt yet');
  // An old card's lost-card decline is not the main card's.
  assert.equal(primaryGivesUp(ONE, [attemptOn('pm_0', { retry_class: 'never', reason: 'declined_by_bank' })], 'pm_1'), null, 'another card');
  // An attempt whose answer is not a failure (unknown, pending) is not one.
  assert.equal(primaryGivesUp(ONE, [attemptOn('pm_1', { outcome: 'unknown', retry_class: null, reason: null })], 'pm_1'), null, 'outcome unknown');
  // A technical failure given back to an incident (the gateway or bank was down) is not the card's.
  const givenBackOne = attemptOn('pm_1', { retry_class: 'soon', reason: 'issuer_unavailable', incident_id: 'inc_1' });
  assert.equal(primaryGivesUp(ONE, [givenBackOne], 'pm_1'), null, 'given back to an incident');
  assert.equal(primaryGivesUp(ONE, [{ ...givenBackOne, incident_id: null }], 'pm_1'), 'next_slot', 'the same failure outside an incident counts');
});

test('a requires_action answer or an authentication decline of the main card does not call for the backup at once; it still counts as a failure', () => {
  // Authentication needs the customer on-session: the backup would not answer it better.
  const action = attemptOn('pm_1', { outcome: 'requires_action', retry_class: 'customer', reason: 'declined_by_bank' });
  assert.equal(primaryGivesUp(DEFAULT_POLICY, [action], 'pm_1'), null, 'requires_action, whatever the reason');
  assert.equal(primaryGivesUp(ONE, [action], 'pm_1'), 'next_slot', 'counted toward backup_after_failures');
  const authDecline = attemptOn('pm_1', { outcome: 'declined', retry_class: 'customer', reason: 'authentication_required' });
  assert.equal(primaryGivesUp(DEFAULT_POLICY, [authDecline], 'pm_1'), null, 'declined for authentication');
  assert.equal(primaryGivesUp(DEFAULT_POLICY, [attemptOn('pm_1', { retry_class: 'customer', reason: 'card_expired_or_inactive' })], 'pm_1'), 'now', 'an expired card: at once');
});

test('the backup is never the same card saved twice (brand, last 4 and expiry), and a card whose last 4 are unknown is never taken for another', () => {
  const c = { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030 };
  assert.equal(sameCard(c, { ...c }), true);
  assert.equal(sameCard(c, { ...c, brand: 'mastercard' }), false, 'another brand');
  assert.equal(sameCard(c, { ...c, last4: '1881' }), false, 'other last 4');
  assert.equal(sameCard(c, { ...c, exp_month: 11 }), false, 'another expiry month (a reissued card)');
  assert.equal(sameCard(c, { ...c, exp_year: 2031 }), false, 'another expiry year');
  assert.equal(sameCard({ ...c, last4: null }, { ...c, last4: null }), false, 'no last 4: nothing says it is the same card');
  const b = backupCard();
  assert.equal(backupUsable(b, 'pm_1', c), true);
  assert.equal(backupUsable(b, 'pm_1', { ...c, last4: '1881' }), false, 'the main card saved again as the backup');
});

test('the backup is charged only behind a main card: none, no backup; nor without consent, nor when it is the main card itself', () => {
  assert.equal(backupUsable(backupCard(), null), false, 'no main card');
  assert.equal(backupUsable(backupCard('pm_1'), 'pm_1'), false, 'the main card itself');
  assert.equal(backupUsable(backupCard('pm_b', null), 'pm_1'), false, 'no consent');
  assert.equal(backupUsable(null, 'pm_1'), false);
  assert.equal(backupUsable(backupCard(), 'pm_1'), true);
});

test("planWithBackup: the backup's decline waits for the customer (not the backup again); a later main-card attempt brings the main card's plan back; never at or after the grace end", () => {
  const grace = new Date(PERIOD_END.getTime() + 14 * DAY);
  const slot = new Date(PERIOD_END.getTime() + DAY);
  const primary_plan = { at: slot, why: 'scheduled_retry' as const };
  const lost = attemptOn('pm_1', { retry_class: 'never', reason: 'declined_by_bank' });
  const onBackup = attemptOn('pm_b', { at: new Date(PERIOD_END.getTime() + 1000) });
  const base = { policy: DEFAULT_POLICY, primary_id: 'pm_1', backup: backupCard(), primary_plan, grace_ends_at: grace, now: PERIOD_END };
  assert.deepEqual(planWithBackup({ ...base, attempts: [lost, onBackup] }), { at: null, why: 'waiting_for_customer', backup: false });
  // The customer pressed Retry on the main card after that: its plan applies again.
  const retry = attemptOn('pm_1', { at: new Date(PERIOD_END.getTime() + HOUR), trigger: 'customer_retry' });
  assert.deepEqual(planWithBackup({ ...base, attempts: [lost, onBackup, retry] }), { ...primary_plan, backup: false });
  // A lost main card at the grace end itself: too late for the backup (the invoice is downgraded).
  assert.deepEqual(planWithBackup({ ...base, attempts: [lost], now: grace }), { ...primary_plan, backup: false }, 'at the grace end');
  const justBefore = new Date(grace.getTime() - 1);
  assert.deepEqual(planWithBackup({ ...base, attempts: [lost], now: justBefore }), { at: justBefore, why: 'backup_card', backup: true }, '1 ms before it');
});

// ---- a backup card saved while past due (backup_card_updated), and which card an answer is about ----
const saved = (s: BillingState, b = backupCard()): BillingState => ({ ...s, backup: b });
const updated = (s: BillingState, now = PERIOD_END) => step(s, { type: 'backup_card_updated' }, now, ctx);

test('a backup saved with consent while the main card is refused for good is charged at once (scheduled); the attempt counts on the backup\'s own history', () => {
  const lost = renewAndDecline(activeState(), 'lost').state;
  const now = new Date(PERIOD_END.getTime() + HOUR);
  const r = updated(saved(lost), now);
  const [c] = charges(r);
  assert.deepEqual([c?.payment_method_id, c?.trigger, c?.invoice_id], ['pm_b', 'scheduled', lost.invoice!.id]);
  assert.deepEqual(r.state.backup?.card_attempts, [{ at: now, outcome: 'pending' }]);
  assert.deepEqual(r.state.card_attempts, lost.card_attempts, "the main card's history is not the backup's");
});

test('a backup saved while its caps hold it back is planned for when they allow (backup_card), not charged now', () => {
  const policy = mergePolicy(DEFAULT_POLICY, { caps: { declines_per_card_24h: 1 } });
  const lost = renewAndDecline(activeState({ policy }), 'lost').state;
  const b = { ...backupCard(), card_attempts: [{ at: new Date(PERIOD_END.getTime() - 2 * HOUR), outcome: 'declined' as AttemptOutcome }] };
  const r = updated(saved(lost, b));
  assert.deepEqual(charges(r), []);
  assert.deepEqual([r.state.subscription.next_retry_why, r.state.subscription.next_retry_at?.getTime(), r.state.subscription.next_action], ['backup_card', PERIOD_END.getTime() - 2 * HOUR + DAY + 1, 'retry']);
});

test('a backup saved without consent when the main card\'s retry is due: no charge on either card from the save; the retry stays the next action', () => {
  const funds = renewAndDecline(activeState(), 'funds').state;
  const due = funds.subscription.next_retry_at!;
  const r = updated(saved(funds, backupCard('pm_b', null)), due);
  assert.deepEqual(charges(r), []);
  assert.deepEqual([r.state.subscription.next_action, r.state.subscription.next_retry_at, r.state.subscription.next_retry_why], ['retry', due, 'scheduled_retry']);
});

test('a backup saved when nothing is being collected changes nothing: active, past due with no invoice or no grace end, an attempt in flight, auto-renew off', () => {
  const lost = renewAndDecline(activeState(), 'lost').state;
  const flying = step(saved(renewAndDecline(activeState(), 'funds').state), { type: 'retry_requested', trigger: 'customer_retry' }, PERIOD_END, ctx).state;
  const cases: [string, BillingState][] = [
    ['active', saved(activeState())],
    ['past due, no invoice', saved({ ...lost, invoice: null })],
    ['past due, no grace end', saved({ ...lost, subscription: { ...lost.subscription, grace_ends_at: null } })],
    ['an attempt in flight', flying],
    ['auto-renew off', saved({ ...lost, subscription: { ...lost.subscription, auto_renew: false } })],
  ];
  for (const [name, s] of cases) {
    const r = updated(s);
    assert.deepEqual([name, r.effects, r.state.subscription], [name, [], s.subscription]);
  }
});

test('with a backup saved, the main card asking for authentication on a retry still sends the authentication mail; the main card paying names no backup', () => {
  const funds = saved(renewAndDecline(activeState(), 'funds').state, backupCard('pm_b', null));
  const due = funds.subscription.next_retry_at!;
  const retry = step(funds, { type: 'tick' }, due, ctx);
  const [c] = charges(retry);
  assert.equal(c.payment_method_id, 'pm_1');
  const auth = step(retry.state, { type: 'charge_result', attempt_id: c.id, result: answer('auth') }, due, ctx);
  assert.deepEqual(auth.effects.flatMap((e) => (e.type === 'email' ? [[e.template, e.dedupe_key]] : [])), [['authentication_required', `authentication_required:${c.id}`]]);
  const paid = step(retry.state, { type: 'charge_result', attempt_id: c.id, result: answer('ok') }, due, ctx);
  const ev = paid.effects.find((e) => e.type === 'event' && e.event_type === 'invoice.paid');
  assert.ok(ev?.type === 'event');
  assert.equal('paid_with' in ev.data, false);
});
