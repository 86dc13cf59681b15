import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_INCIDENT_POLICY, decideIncidents, incidentCovering, incidentWindows, minOpenMinutes, opensIncident, reopensOf, scopesOf, shareRises, spreadRetryAt, validateIncidentPolicy, type IncidentPolicy } from '../../src/core/incidents.ts';
import { DEFAULT_POLICY, automaticAttempts, capsAllowNow, givenBack, mergePolicy, planRetry, validatePolicy, type AttemptView } from '../../src/core/dunning.ts';
import { step, toView, type BillingState, type ChargeOutcome, type Effect, type IncidentRef } from '../../src/core/machine.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import { PERIOD_END, activeState } from '../helpers/billing-state.ts';

const P: IncidentPolicy = DEFAULT_INCIDENT_POLICY;
let seq = 0;
const ctx = { newId: (p: string) => `${p}_${++seq}` };

test('an incident opens at min_declines and ratio × the baseline rate, and closes once the window falls back below', () => {
  // 24 h of baseline = 96 windows of 15 min: 96 technical failures a day predict 1 per window.
  assert.equal(opensIncident(P, { window: 19, baseline: 0 }), false, 'below min_declines');
  assert.equal(opensIncident(P, { window: 20, baseline: 0 }), true);
  assert.equal(opensIncident(P, { window: 20, baseline: 96 * 4 }), true, '20 ≥ 5 × 4, at the edge');
  assert.equal(opensIncident(P, { window: 20, baseline: 96 * 5 }), false, 'a busy baseline: 20 < 5 × 5');
  assert.equal(opensIncident({ ...P, enabled: false }, { window: 1000, baseline: 0 }), false);
  const open = [{ id: 'inc_1', scope: 'gateway', opened_at: new Date(0) }];
  const d = decideIncidents(P, [{ scope: 'gateway', window: 50, baseline: 0 }, { scope: 'brand:visa', window: 30, baseline: 0 }, { scope: 'brand:amex', window: 3, baseline: 0 }], open);
  assert.deepEqual(d, { open: [], close: [] }, 'an open scope is not opened twice; no brand beside the gateway');
  const brandOnly = decideIncidents(P, [{ scope: 'gateway', window: 30, baseline: 96 * 10 }, { scope: 'brand:visa', window: 30, baseline: 0 }], []);
  assert.deepEqual(brandOnly, { open: [{ scope: 'brand:visa', technical_declines: 30, baseline: 0, reopens: 0 }], close: [] }, 'one brand spikes, the gateway as a whole does not');
  assert.deepEqual(decideIncidents(P, [{ scope: 'gateway', window: 30, baseline: 0 }, { scope: 'brand:visa', window: 30, baseline: 0 }], []).open.map((o) => o.scope), ['gateway']);
  assert.deepEqual(decideIncidents(P, [{ scope: 'gateway', window: 19, baseline: 0 }], open), { open: [], close: ['inc_1'] });
  assert.deepEqual(decideIncidents(P, [], open), { open: [], close: ['inc_1'] }, 'no failure at all: closed');
  assert.deepEqual(decideIncidents({ ...P, enabled: false }, [{ scope: 'gateway', window: 99, baseline: 0 }], open), { open: [], close: ['inc_1'] }, 'disabled: every incident closes');
});

test('property: decideIncidents never opens a scope twice nor below min_declines, and closes exactly the open scopes below it', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ scope: fc.constantFrom('gateway', 'brand:visa', 'brand:mastercard', 'brand:amex'), window: fc.nat(100), baseline: fc.nat(10_000) }), { maxLength: 4 }),
      fc.subarray(['gateway', 'brand:visa', 'brand:mastercard']),
      (raw, openScopes) => {
        const counts = [...new Map(raw.map((c) => [c.scope, c])).values()];
        const open = openScopes.map((scope, i) => ({ id: `inc_${i}`, scope, opened_at: new Date(0) }));
        const d = decideIncidents(P, counts, open);
        if (openScopes.includes('gateway') || d.open.some((o) => o.scope === 'gateway')) assert.ok(d.open.every((o) => o.scope === 'gateway'));
        for (const o of d.open) {
          assert.ok(!openScopes.includes(o.scope));
          assert.ok(o.technical_declines >= P.min_declines);
        }
        for (const i of open) {
          const c = counts.find((x) => x.scope === i.scope);
          assert.equal(d.close.includes(i.id), !c || c.window < P.min_declines);
        }
      },
    ),
  );
});

test('incidentCovering: the gateway covers every card, a brand only its cards', () => {
  const open = [{ id: 'i1', scope: 'brand:visa', opened_at: new Date(0) }];
  assert.equal(incidentCovering(open, { brand: 'visa' })?.id, 'i1');
  assert.equal(incidentCovering(open, { brand: 'mastercard' }), null);
  assert.equal(incidentCovering(open, null), null);
  assert.equal(incidentCovering([...open, { id: 'g', scope: 'gateway', opened_at: new Date(0) }], { brand: 'amex' })?.id, 'g');
});

test('property: the spread instant is deterministic and within [closed_at, closed_at + spread)', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 1440 }), fc.integer({ min: 0, max: 4e12 }), (id, minutes, t) => {
      const at = spreadRetryAt(id, new Date(t), minutes).getTime();
      assert.equal(at, spreadRetryAt(id, new Date(t), minutes).getTime());
      assert.ok(at >= t && (minutes === 0 ? at === t : at < t + minutes * 60_000));
    }),
  );
  // 200 subscriptions over an hour: no minute holds more than a handful.
  const perMinute = new Map<number, number>();
  for (let i = 0; i < 200; i++) {
    const m = Math.floor((spreadRetryAt(`sub_${i}`, new Date(0), 60).getTime()) / 60_000);
    perMinute.set(m, (perMinute.get(m) ?? 0) + 1);
  }
  assert.ok(perMinute.size > 40 && Math.max(...perMinute.values()) <= 12, JSON.stringify([...perMinute]));
});

test('the incident thresholds are policy data: validated, merged per member', () => {
  assert.deepEqual(validatePolicy(DEFAULT_POLICY), []);
  const bad = (o: object) => validatePolicy(mergePolicy(DEFAULT_POLICY, { incidents: o } as any)).map((e) => e.field);
  assert.deepEqual(bad({ window_minutes: 0 }), ['incidents.window_minutes']);
  assert.deepEqual(bad({ min_declines: 1.5 }), ['incidents.min_declines']);
  assert.deepEqual(bad({ ratio: 0.5 }), ['incidents.ratio']);
  assert.deepEqual(bad({ enabled: 'yes' }), ['incidents.enabled']);
  assert.deepEqual(bad({ window_minutes: 120, baseline_hours: 1 }), ['incidents.baseline_hours']);
  assert.deepEqual(bad({ spread_minutes: -1 }), ['incidents.spread_minutes']);
  const merged = mergePolicy(DEFAULT_POLICY, { incidents: { min_declines: 5 } });
  assert.equal(merged.incidents.min_declines, 5);
  assert.equal(merged.incidents.window_minutes, DEFAULT_INCIDENT_POLICY.window_minutes);
});

// ---- The machine under incidents ----

const technical: ChargeOutcome = { outcome: 'declined', reason: 'issuer_unavailable', retry_class: 'soon', raw_code: 'issuer_not_available', network_code: null, advice_code: null, gateway_ref: null, retry_after_ms: null };
const funds: ChargeOutcome = { ...technical, reason: 'insufficient_funds', retry_class: 'later', raw_code: 'insufficient_funds' };
const ok: ChargeOutcome = { ...technical, outcome: 'succeeded', reason: null, retry_class: null, raw_code: null };

const charges = (effects: Effect[]) => effects.filter((e) => e.type === 'charge');
const emails = (effects: Effect[]) => effects.filter((e) => e.type === 'email').map((e) => (e as { template: string }).template);

/** The renewal at PERIOD_END, declined technically, with `incident` open (or not) at the answer. */
function pastDue(incident: IncidentRef | null): { state: BillingState; effects: Effect[] } {
  let s = activeState();
  const r1 = step(s, { type: 'tick' }, PERIOD_END, ctx);
  const att = (charges(r1.effects)[0] as { attempt: { id: string } }).attempt;
  s = { ...r1.state, incident };
  const r2 = step(s, { type: 'charge_result', attempt_id: att.id, result: technical }, PERIOD_END, ctx);
  return { state: r2.state, effects: r2.effects };
}

const INCIDENT: IncidentRef = { id: 'inc_1', scope: 'gateway', opened_at: new Date(PERIOD_END.getTime() - 10 * 60_000) };

test('during an incident: a technical failure sends no "payment failed" mail and plans no retry; a later card decline sends it', () => {
  const { state, effects } = pastDue(INCIDENT);
  assert.equal(state.subscription.status, 'past_due');
  assert.deepEqual(emails(effects), []);
  assert.ok(effects.some((e) => e.type === 'event' && e.event_type === 'dunning.failure_mail_withheld'));
  assert.equal(state.subscription.next_retry_at, null);
  assert.equal(state.subscription.next_retry_why, 'incident');
  // Without an incident the same failure mails the customer.
  assert.deepEqual(emails(pastDue(null).effects), ['renewal_failed']);
  // Closed: the retry is made at its spread instant; its decline is the card's: the mail goes now.
  const closedAt = new Date(PERIOD_END.getTime() + 2 * HOUR);
  const c = step({ ...state, incident: null }, { type: 'incident_closed', incident: { ...INCIDENT, closed_at: closedAt } }, closedAt, ctx);
  assert.equal(c.state.subscription.next_retry_why, 'incident_recovery');
  const at = c.state.subscription.next_retry_at!;
  assert.equal(at.getTime(), spreadRetryAt('sub_1', closedAt, 60).getTime());
  const early = step(c.state, { type: 'tick' }, new Date(at.getTime() - 1), ctx);
  assert.deepEqual(charges(early.effects), [], 'never before its spread instant');
  const t = step(c.state, { type: 'tick' }, at, ctx);
  const a = (charges(t.effects)[0] as { attempt: { id: string } }).attempt;
  assert.ok(a);
  const d = step(t.state, { type: 'charge_result', attempt_id: a.id, result: funds }, at, ctx);
  assert.deepEqual(emails(d.effects), ['renewal_failed']);
});

test('property: while an incident covers the card no attempt is made and nothing is downgraded, whatever the time', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 24 * 40 }), { minLength: 1, maxLength: 20 }), (moves) => {
      let { state } = pastDue(INCIDENT);
      let now = PERIOD_END;
      for (const h of moves) {
        now = new Date(now.getTime() + h * HOUR);
        const r = step(state, { type: 'tick' }, now, ctx);
        assert.deepEqual(charges(r.effects), []);
        assert.equal(r.state.subscription.status, 'past_due');
        assert.ok(r.state.subscription.next_action_at!.getTime() > now.getTime());
        state = { ...r.state, incident: INCIDENT };
      }
    }),
  );
});

test('property: a closed incident never shortens grace, extends it by its length plus the spread, and its retry stays within the caps and before grace ends', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 20 * 24 * 60 }), // incident length, minutes
      fc.integer({ min: 0, max: 10 * 24 * 60 }), // close after the failure, minutes
      fc.integer({ min: 0, max: 240 }), // spread minutes
      fc.boolean(),
      (lengthMin, closeAfterMin, spread, wasCovered) => {
        const policy = mergePolicy(DEFAULT_POLICY, { incidents: { spread_minutes: spread } });
        const base = pastDue(wasCovered ? INCIDENT : null).state;
        const state: BillingState = { ...base, policy, incident: null };
        const closedAt = new Date(PERIOD_END.getTime() + closeAfterMin * 60_000);
        const inc = { id: 'inc_9', scope: 'gateway', opened_at: new Date(closedAt.getTime() - lengthMin * 60_000), closed_at: closedAt };
        const before = state.subscription.grace_ends_at!;
        const r = step(state, { type: 'incident_closed', incident: inc }, closedAt, ctx);
        const after = r.state.subscription.grace_ends_at;
        if (closedAt.getTime() <= PERIOD_END.getTime()) {
          assert.equal(after?.getTime(), before.getTime(), 'failed after the incident closed: not affected');
          return;
        }
        if (r.state.subscription.status !== 'past_due') return; // grace over before the close without an incident hold: downgraded
        assert.ok(after!.getTime() >= before.getTime(), 'never shortened');
        assert.equal(after!.getTime() - before.getTime(), lengthMin * 60_000 + spread * 60_000);
        const sub = r.state.subscription;
        if (sub.next_retry_at) {
          assert.ok(sub.next_retry_at.getTime() >= closedAt.getTime() || sub.next_retry_why !== 'incident_recovery');
          assert.ok(sub.next_retry_at.getTime() < after!.getTime());
          assert.ok(capsAllowNow(policy, r.state.card_attempts, sub.next_retry_at));
        }
        // Applied to a state that already had it applied, the machine extends again: the engine applies it once per incident (incident_subscriptions).
        const automatic = r.state.attempts.filter((a) => a.trigger === 'scheduled' || a.trigger === 'initial').length;
        assert.ok(automatic <= policy.max_automatic_attempts);
      },
    ),
  );
});

test('grace that ends during an incident is held (no downgrade), then runs on, extended, once it closes', () => {
  let { state } = pastDue(INCIDENT);
  const graceEnd = state.subscription.grace_ends_at!;
  const r = step({ ...state, incident: INCIDENT }, { type: 'tick' }, graceEnd, ctx);
  assert.equal(r.state.subscription.status, 'past_due');
  assert.equal(r.state.subscription.next_action, 'end_grace');
  const closedAt = new Date(graceEnd.getTime() + DAY);
  const c = step({ ...r.state, incident: null }, { type: 'incident_closed', incident: { ...INCIDENT, closed_at: closedAt } }, closedAt, ctx);
  assert.equal(c.state.subscription.status, 'past_due');
  assert.ok(c.state.subscription.grace_ends_at!.getTime() > closedAt.getTime());
  const at = c.state.subscription.next_retry_at!;
  const t = step(c.state, { type: 'tick' }, at, ctx);
  const a = (charges(t.effects)[0] as { attempt: { id: string } }).attempt;
  const paid = step(t.state, { type: 'charge_result', attempt_id: a.id, result: ok }, at, ctx);
  assert.equal(paid.state.subscription.status, 'active');
});

test('property: incidents opening and closing at random never shorten grace, never charge while open, never exceed the caps or the attempts per invoice', () => {
  type Op = { k: 'move'; minutes: number } | { k: 'answer'; r: 'technical' | 'funds' | 'ok' } | { k: 'open' } | { k: 'close' };
  const op = fc.oneof(
    { arbitrary: fc.record({ k: fc.constant('move' as const), minutes: fc.integer({ min: 1, max: 6 * 24 * 60 }) }), weight: 4 },
    { arbitrary: fc.record({ k: fc.constant('answer' as const), r: fc.constantFrom('technical' as const, 'funds' as const, 'ok' as const) }), weight: 4 },
    fc.constant({ k: 'open' as const }),
    fc.constant({ k: 'close' as const }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 0, max: 120 }), (ops: Op[], spread) => {
      const policy = mergePolicy(DEFAULT_POLICY, { incidents: { spread_minutes: spread } });
      let state: BillingState = { ...activeState({ policy }), incident: null };
      let now = PERIOD_END;
      let queue: string[] = [];
      let incident: IncidentRef | null = null;
      let n = 0;
      // As loadStates reads them: an attempt belongs to an incident whose window had begun when it
      // was made and which had not closed yet.
      const spans: { id: string; from: number; to: number }[] = [];
      const windowMs = policy.incidents.window_minutes * 60_000;
      const inIncident = (at: Date) => spans.find((x) => at.getTime() >= x.from && at.getTime() < x.to)?.id ?? null;
      const apply = (ev: Parameters<typeof step>[1]) => {
        const before = state;
        const loaded = { ...state, attempts: state.attempts.map((a) => ({ ...a, incident_id: inIncident(a.created_at) })) };
        const r = step({ ...loaded, incident }, ev, now, ctx);
        const g0 = before.subscription.grace_ends_at;
        const g1 = r.state.subscription.grace_ends_at;
        // Within one invoice's grace (same invoice still past due), grace only ever moves later.
        if (g0 && g1 && before.invoice && r.state.invoice?.id === before.invoice.id) assert.ok(g1.getTime() >= g0.getTime(), 'grace never shortened');
        for (const e of r.effects) {
          if (e.type !== 'charge') continue;
          const sched = e.attempt.trigger === 'scheduled' && before.subscription.status === 'past_due';
          if (sched) assert.equal(incident, null, 'no scheduled retry while an incident covers the card');
          queue.push(e.attempt.id);
        }
        // Technical failures in an incident are given back; every other automatic attempt counts.
        const automatic = automaticAttempts(policy, r.state.attempts.map((a) => toView({ ...a, incident_id: inIncident(a.created_at) })));
        assert.ok(automatic <= policy.max_automatic_attempts, 'attempts per invoice');
        // Given back or not, every attempt made counts in the caps (checked below) and only technical
        // failures are ever given back.
        for (const a of r.state.attempts) if (inIncident(a.created_at) && givenBack(policy, toView({ ...a, incident_id: 'x' }))) assert.equal(a.retry_class, 'soon');
        const t = now.getTime();
        const in30 = r.state.card_attempts.filter((c) => c.at.getTime() > t - 30 * DAY).length;
        assert.ok(in30 <= policy.caps.attempts_per_card_30d, 'Visa cap');
        if (incident && ev.type === 'tick') assert.ok(before.subscription.status !== 'past_due' || r.state.subscription.status === 'past_due' || r.state.subscription.status === 'active', 'no downgrade while an incident is open');
        state = r.state;
      };
      for (const o of ops) {
        if (o.k === 'move') {
          now = new Date(now.getTime() + o.minutes * 60_000);
          apply({ type: 'tick' });
        } else if (o.k === 'answer') {
          const id = queue.shift();
          if (id) apply({ type: 'charge_result', attempt_id: id, result: o.r === 'technical' ? technical : o.r === 'funds' ? funds : ok });
        } else if (o.k === 'open') {
          if (!incident) {
            incident = { id: `inc_p${++n}`, scope: 'gateway', opened_at: now };
            spans.push({ id: incident.id, from: now.getTime() - windowMs, to: Infinity });
          }
        } else if (incident) {
          const closed = { ...incident, closed_at: now };
          spans[spans.length - 1].to = now.getTime();
          incident = null;
          apply({ type: 'incident_closed', incident: closed });
        }
      }
    }),
    { numRuns: 300 },
  );
});

// Found by the recovery benchmark: a billing day charges in one batch, so technical failures jump
// with the attempts at that hour (20 or more at one instant against a 24-hour average) though
// nothing is down. Their share among the attempts has to rise too.
test('a batch with the usual share of technical failures opens nothing; a window where most attempts fail so does', () => {
  const batch = { window: 30, baseline: 200, window_attempts: 600, baseline_attempts: 4000 }; // 5 % both
  assert.equal(opensIncident(P, { window: 30, baseline: 200 }), true, 'by the counts alone it would open');
  assert.equal(shareRises(P, batch), false);
  assert.equal(opensIncident(P, batch), false);
  assert.equal(opensIncident(P, { ...batch, window_attempts: 40 }), true, '75 % of the window failing technically');
  // With no technical failure before, the baseline share is taken as 2 %: 5 × 2 % = 10 % needed.
  assert.equal(shareRises(P, { window: 20, baseline: 0, window_attempts: 100, baseline_attempts: 0 }), true);
  assert.equal(shareRises(P, { window: 20, baseline: 0, window_attempts: 1000, baseline_attempts: 500 }), false);
  // A population where a third already fails technically: at most half of the window is asked for.
  assert.equal(shareRises(P, { window: 45, baseline: 300, window_attempts: 50, baseline_attempts: 900 }), true);
  assert.equal(shareRises(P, { window: 20, baseline: 300, window_attempts: 50, baseline_attempts: 900 }), false);
});

// Issue #18: "a customer never loses the paid plan because our PSP or their bank was down". A
// technical failure in an incident (or in the window that revealed it) is given back: it does not
// count against the invoice's automatic attempts, and the slot it used is planned again.
test('a technical failure in an incident is given back: not counted, its slot planned again; a card decline in the same time still counts', () => {
  const policy = mergePolicy(DEFAULT_POLICY, { max_automatic_attempts: 2, retry_schedule: [1, 5], technical_retry_hours: [] });
  const failed_at = PERIOD_END;
  const day1 = new Date(PERIOD_END.getTime() + DAY);
  const view = (over: Partial<AttemptView>): AttemptView => ({ at: failed_at, trigger: 'initial', outcome: 'declined', retry_class: 'later', reason: 'insufficient_funds', not_before: null, payment_method_id: 'pm_1', ...over });
  const renewal = view({});
  const outage = view({ at: day1, trigger: 'scheduled', retry_class: 'soon', reason: 'issuer_unavailable' });
  const plan = (attempts: AttemptView[]) =>
    planRetry({ policy, failed_at, grace_ends_at: new Date(PERIOD_END.getTime() + 14 * DAY), attempts, current_payment_method_id: 'pm_1', card_attempts: attempts.map((a) => ({ at: a.at, outcome: a.outcome })) });
  // Counted, the outage's failure used the last attempt.
  assert.deepEqual(plan([renewal, outage]), { at: null, why: 'max_attempts_reached' });
  // Given back: the day-1 slot it used is planned again (due now; after the incident, incidentPlan spreads it).
  const back = { ...outage, incident_id: 'inc_1' };
  assert.equal(givenBack(policy, back), true);
  assert.equal(automaticAttempts(policy, [renewal, back]), 1);
  assert.deepEqual(plan([renewal, back]), { at: day1, why: 'scheduled_retry' });
  // A card decline made during the incident is the card's: it counts.
  const cardDecline = { ...outage, retry_class: 'later' as const, reason: 'insufficient_funds' as const, incident_id: 'inc_1' };
  assert.equal(givenBack(policy, cardDecline), false);
  assert.deepEqual(plan([renewal, cardDecline]), { at: null, why: 'max_attempts_reached' });
  // A policy that treats the reason as a card decline ('later') does not give it back either.
  const strict = mergePolicy(policy, { decline_rules: { issuer_unavailable: 'later' } });
  assert.equal(givenBack(strict, back), false);
  // The renewal charge itself, failed in an outage: the card counts as not yet tried for the invoice.
  const firstBack = view({ retry_class: 'soon', reason: 'issuer_unavailable', incident_id: 'inc_1' });
  assert.equal(automaticAttempts(policy, [firstBack]), 0);
  assert.deepEqual(plan([firstBack]), { at: failed_at, why: 'scheduled_retry' });
});

// Found by the recovery benchmark: renewals whose answer came (after a 503 outage) in the very
// minute the incident closed were held with nothing to wake them: the close is applied only to
// invoices that failed before it, and the next thing due was a reminder three weeks later.
test('a retry held by an incident is looked at again every detection window: once no incident covers the card, the retry is planned', () => {
  const { state } = pastDue(INCIDENT);
  assert.equal(state.subscription.next_retry_why, 'incident');
  const window = DEFAULT_POLICY.incidents.window_minutes * 60_000;
  assert.equal(state.subscription.next_action_at?.getTime(), PERIOD_END.getTime() + window);
  // Still open: held again, looked at again one window later.
  const still = step({ ...state, incident: INCIDENT }, { type: 'tick' }, state.subscription.next_action_at!, ctx);
  assert.deepEqual(charges(still.effects), []);
  assert.equal(still.state.subscription.next_action_at?.getTime(), PERIOD_END.getTime() + 2 * window);
  // Closed (and the close not applied to this invoice): the schedule takes over.
  const at = still.state.subscription.next_action_at!;
  const woken = step({ ...still.state, incident: null }, { type: 'tick' }, at, ctx);
  assert.notEqual(woken.state.subscription.next_retry_why, 'incident');
  assert.ok(woken.state.subscription.next_retry_at, 'a retry is planned');
  assert.ok(woken.state.subscription.next_retry_at!.getTime() < woken.state.subscription.grace_ends_at!.getTime());
});

// Found by the recovery benchmark's issuer outage: an issuer's declines leave the window while
// renewd holds its attempts, so the window emptied and the incident closed with the issuer still
// down; the spread retries failed and reopened it: 17 incidents and 355 retries in a 6-hour outage.
test('an incident stays open at least one window, doubled each time its scope reopens right after a close', () => {
  const t0 = new Date('2026-03-01T09:00:00Z');
  const at = (m: number) => new Date(t0.getTime() + m * 60_000);
  assert.deepEqual([0, 1, 2, 3, 6, 7, 40].map((k) => minOpenMinutes(P, k)), [15, 30, 60, 120, 960, 1440, 1440], 'doubling, at most the baseline (24 h)');
  const open = [{ id: 'i', scope: 'gateway', opened_at: t0, reopens: 0 }];
  // The window empties at +5 min (renewd holds its attempts): still open until +15.
  assert.deepEqual(decideIncidents(P, [], open, at(5)).close, []);
  assert.deepEqual(decideIncidents(P, [{ scope: 'gateway', window: 3, baseline: 0 }], open, at(14.99)).close, []);
  assert.deepEqual(decideIncidents(P, [], open, at(15)).close, ['i']);
  assert.deepEqual(decideIncidents(P, [{ scope: 'gateway', window: 20, baseline: 0 }], open, at(15)).close, [], 'failures still coming: open');
  // Closed at +15, the spread retries fail and it reopens at +20: a reopening, held 30 minutes.
  const recent = [{ scope: 'gateway', closed_at: at(15), reopens: 0 }];
  assert.deepEqual(decideIncidents(P, [{ scope: 'gateway', window: 25, baseline: 0 }], [], at(20), recent).open, [{ scope: 'gateway', technical_declines: 25, baseline: 0, reopens: 1 }]);
  const again = [{ id: 'j', scope: 'gateway', opened_at: at(20), reopens: 1 }];
  assert.deepEqual(decideIncidents(P, [], again, at(49)).close, []);
  assert.deepEqual(decideIncidents(P, [], again, at(50)).close, ['j']);
  // Only right after a close of the same scope (within that one's least open time) is it a reopening.
  assert.equal(reopensOf(P, 'gateway', recent, at(29.99)), 1);
  assert.equal(reopensOf(P, 'gateway', recent, at(30)), 0);
  assert.equal(reopensOf(P, 'brand:visa', recent, at(16)), 0, 'another scope');
  assert.equal(reopensOf(P, 'gateway', [...recent, { scope: 'gateway', closed_at: at(10), reopens: 5 }], at(16)), 1, 'the latest close counts');
  // Disabled: every incident closes at once, held or not.
  assert.deepEqual(decideIncidents({ ...P, enabled: false }, [], open, at(1)).close, ['i']);
});

test('property: with the clock, decideIncidents closes exactly the open scopes below min_declines whose least open time has passed', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ scope: fc.constantFrom('gateway', 'brand:visa', 'brand:mastercard'), window: fc.nat(60), baseline: fc.nat(10_000) }), { maxLength: 3 }),
      fc.array(fc.record({ scope: fc.constantFrom('gateway', 'brand:visa', 'brand:mastercard'), ageMinutes: fc.integer({ min: 0, max: 3000 }), reopens: fc.nat(10) }), { maxLength: 3 }),
      (raw, rawOpen) => {
        const now = new Date('2026-03-01T12:00:00Z');
        const counts = [...new Map(raw.map((c) => [c.scope, c])).values()];
        const open = [...new Map(rawOpen.map((o) => [o.scope, o])).values()].map((o, i) => ({ id: `inc_${i}`, scope: o.scope, opened_at: new Date(now.getTime() - o.ageMinutes * 60_000), reopens: o.reopens }));
        const d = decideIncidents(P, counts, open, now);
        for (const i of open) {
          const c = counts.find((x) => x.scope === i.scope);
          const below = !c || c.window < P.min_declines;
          const served = now.getTime() - i.opened_at.getTime() >= minOpenMinutes(P, i.reopens) * 60_000;
          assert.equal(d.close.includes(i.id), below && served);
        }
      },
    ),
  );
});

// ---- validateIncidentPolicy: each bound, the field named and the message the operator reads ----

test('validateIncidentPolicy: each field accepted at its bounds, refused just outside, with its field and message', () => {
  const W = { field: 'incidents.window_minutes', message: 'must be a whole number of minutes from 1 to 1440' };
  const B = { field: 'incidents.baseline_hours', message: 'must be a whole number of hours from 1 to 720' };
  const LONGER = { field: 'incidents.baseline_hours', message: 'must be longer than the window' };
  const M = { field: 'incidents.min_declines', message: 'must be a whole number from 1 to 1000000' };
  const R = { field: 'incidents.ratio', message: 'must be a number from 1 to 1000' };
  const S = { field: 'incidents.spread_minutes', message: 'must be a whole number of minutes from 0 to 1440' };
  const E = { field: 'incidents.enabled', message: 'must be true or false' };
  const cases: [string, Partial<Record<keyof IncidentPolicy, unknown>>, { field: string; message: string }[]][] = [
    ['the defaults', {}, []],
    ['enabled false', { enabled: false }, []],
    ['enabled not a boolean', { enabled: 'yes' }, [E]],
    ['enabled missing', { enabled: undefined }, [E]],
    ['a window of 1 minute', { window_minutes: 1 }, []],
    ['a window of 1440 minutes (a day)', { window_minutes: 1440, baseline_hours: 25 }, []],
    ['a window of 0', { window_minutes: 0 }, [W]],
    ['a window of 1441', { window_minutes: 1441, baseline_hours: 720 }, [W]],
    ['a window of 1.5', { window_minutes: 1.5 }, [W]],
    ['a window as a string', { window_minutes: '15' }, [W]],
    ['a baseline of 1 hour (window 15 min)', { baseline_hours: 1 }, []],
    ['a baseline of 720 hours', { baseline_hours: 720 }, []],
    ['a baseline of 0', { baseline_hours: 0 }, [B]],
    ['a baseline of 721', { baseline_hours: 721 }, [B]],
    ['a baseline of 1.5', { baseline_hours: 1.5 }, [B]],
    ['a baseline equal to the window', { window_minutes: 60, baseline_hours: 1 }, [LONGER]],
    ['a baseline one minute longer than the window', { window_minutes: 59, baseline_hours: 1 }, []],
    ['a baseline shorter than the window', { window_minutes: 1440, baseline_hours: 1 }, [LONGER]],
    ['a bad window: the baseline is not compared with it', { window_minutes: 'x', baseline_hours: 1 }, [W]],
    ['min_declines 1', { min_declines: 1 }, []],
    ['min_declines 1000000', { min_declines: 1_000_000 }, []],
    ['min_declines 0', { min_declines: 0 }, [M]],
    ['min_declines 1000001', { min_declines: 1_000_001 }, [M]],
    ['min_declines 1.5', { min_declines: 1.5 }, [M]],
    ['ratio 1', { ratio: 1 }, []],
    ['ratio 1000', { ratio: 1000 }, []],
    ['ratio 2.5 (need not be whole)', { ratio: 2.5 }, []],
    ['ratio 0.99', { ratio: 0.99 }, [R]],
    ['ratio 1000.5', { ratio: 1000.5 }, [R]],
    ['ratio NaN', { ratio: NaN }, [R]],
    ['ratio Infinity', { ratio: Infinity }, [R]],
    ['ratio as a string', { ratio: '5' }, [R]],
    ['spread 0 (retry all at the close)', { spread_minutes: 0 }, []],
    ['spread 1440', { spread_minutes: 1440 }, []],
    ['spread -1', { spread_minutes: -1 }, [S]],
    ['spread 1441', { spread_minutes: 1441 }, [S]],
    ['spread 1.5', { spread_minutes: 1.5 }, [S]],
  ];
  for (const [name, o, want] of cases) assert.deepEqual(validateIncidentPolicy({ ...P, ...o } as IncidentPolicy), want, name);
  // Not an object: one error naming the whole section, nothing read from it.
  for (const v of [undefined, null, 5, 'on', true]) assert.deepEqual(validateIncidentPolicy(v as unknown as IncidentPolicy), [{ field: 'incidents', message: 'must be an object' }], String(v));
  // Every field wrong at once: every one named, in the order of the form.
  assert.deepEqual(
    validateIncidentPolicy({ enabled: 1, window_minutes: 0, baseline_hours: 0, min_declines: 0, ratio: 0, spread_minutes: -1 } as unknown as IncidentPolicy).map((e) => e.field),
    ['incidents.enabled', 'incidents.window_minutes', 'incidents.baseline_hours', 'incidents.min_declines', 'incidents.ratio', 'incidents.spread_minutes'],
  );
});

test('shareRises: counted only when both shares are known; the baseline share at least 2 %, the share asked for at most half', () => {
  // Without both denominators the share is not counted: the counts alone decide.
  assert.equal(shareRises(P, { window: 1, baseline: 0, window_attempts: 1000, baseline_attempts: undefined }), true, 'no baseline attempts counted');
  assert.equal(shareRises(P, { window: 20, baseline: 0, window_attempts: undefined, baseline_attempts: 1000 }), true, 'no window attempts counted');
  // Between the floor and the cap: ratio × the baseline share, the bound itself enough.
  const Q = { ...P, ratio: 4 };
  assert.equal(shareRises(Q, { window: 25, baseline: 1, window_attempts: 100, baseline_attempts: 16 }), true, '25 % ≥ 4 × 6.25 %, at the edge');
  assert.equal(shareRises(Q, { window: 24, baseline: 1, window_attempts: 100, baseline_attempts: 16 }), false, '24 % < 25 %');
  // Below the floor: a baseline share of 1/64 is taken as 2 %, so 5 × 2 % = 10 %.
  assert.equal(shareRises(P, { window: 10, baseline: 1, window_attempts: 100, baseline_attempts: 64 }), true, '10 %, at the floor');
  assert.equal(shareRises(P, { window: 9, baseline: 1, window_attempts: 100, baseline_attempts: 64 }), false, '9 % < 10 %');
  // The cap: half the window failing so is always enough.
  assert.equal(shareRises(P, { window: 50, baseline: 300, window_attempts: 100, baseline_attempts: 900 }), true, '50 %, at the cap');
  assert.equal(shareRises(P, { window: 49, baseline: 300, window_attempts: 100, baseline_attempts: 900 }), false, '49 %');
});

test('reopensOf: the latest close of the scope counts, whatever the order of the list', () => {
  const t0 = new Date('2026-03-01T09:00:00Z');
  const at = (m: number) => new Date(t0.getTime() + m * 60_000);
  const older = { scope: 'gateway', closed_at: at(0), reopens: 0 };
  const latest = { scope: 'gateway', closed_at: at(15), reopens: 3 };
  // The latest (reopened 3 times) holds 15 × 8 = 120 minutes: at +20 a new one is its 4th reopening.
  // The older one alone (15 minutes, 20 ago) would make it a fresh incident.
  assert.equal(reopensOf(P, 'gateway', [older, latest], at(20)), 4, 'oldest first');
  assert.equal(reopensOf(P, 'gateway', [latest, older], at(20)), 4, 'latest first');
  assert.equal(reopensOf(P, 'gateway', [older, latest, { ...older, closed_at: at(5) }], at(20)), 4, 'latest in the middle');
  assert.equal(reopensOf(P, 'gateway', [], at(20)), 0, 'never closed');
});

test('incidentWindows: the window is the last window_minutes, the baseline the baseline_hours before it', () => {
  const now = new Date('2026-03-01T09:00:00Z');
  assert.deepEqual(incidentWindows(P, now), { window_from: new Date('2026-03-01T08:45:00Z'), baseline_from: new Date('2026-02-28T08:45:00Z') });
  assert.deepEqual(incidentWindows({ ...P, window_minutes: 60, baseline_hours: 2 }, now), { window_from: new Date('2026-03-01T08:00:00Z'), baseline_from: new Date('2026-03-01T06:00:00Z') });
});

test('scopesOf: a card of a known brand counts in the gateway and its brand; any other only in the gateway', () => {
  assert.deepEqual(scopesOf({ brand: 'visa' }), ['gateway', 'brand:visa']);
  assert.deepEqual(scopesOf({ brand: null }), ['gateway']);
  assert.deepEqual(scopesOf(null), ['gateway']);
  // So the gateway's incident covers an invoice with no card, or a card of unknown brand.
  const gateway = [{ id: 'g', scope: 'gateway', opened_at: new Date(0) }];
  assert.equal(incidentCovering(gateway, null)?.id, 'g');
  assert.equal(incidentCovering(gateway, { brand: null })?.id, 'g');
});

test('spreadRetryAt: the offset is a fixed function of every character of the id (stable across versions: a deploy does not move the held retries)', () => {
  // FNV-1a over the id's characters, murmur3's finalizer, scaled to the spread.
  assert.equal(spreadRetryAt('sub_1', new Date(0), 60).getTime(), 1_193_424);
  assert.equal(spreadRetryAt('sub_2', new Date(0), 60).getTime(), 3_425_856);
  assert.equal(spreadRetryAt('a', new Date(0), 60).getTime(), 372_694);
  const t = new Date('2026-03-01T09:00:00Z');
  assert.equal(spreadRetryAt('sub_1', t, 0).getTime(), t.getTime(), 'no spread: at the close');
  assert.equal(spreadRetryAt('sub_1', t, -5).getTime(), t.getTime(), 'a negative spread is none');
});
