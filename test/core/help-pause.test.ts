// Issue 18 item 3: a help request pauses the downgrade clock (core/dunning.ts pauseGrace /
// resumeGrace, core/machine.ts help_requested / help_answered).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { step, type BillingState, type MachineEvent } from '../../src/core/machine.ts';
import { DEFAULT_POLICY, mergePolicy, pauseGrace, resumeGrace, type GracePause } from '../../src/core/dunning.ts';
import { DAY, HOUR } from '../../src/core/time.ts';
import { PERIOD_END, activeState, FUNDS_DECLINED, pastDueState } from '../helpers/billing-state.ts';

let seq = 0;
const ctx = { newId: (p: string) => `${p}_${++seq}` };
const declined = FUNDS_DECLINED;

/** Past due after the renewal of Feb 28 09:00 UTC was declined: grace ends Mar 14 09:00 UTC. */
function pastDue(policy = DEFAULT_POLICY): { s: BillingState; now: Date } {
  return { s: pastDueState(activeState({ policy })), now: PERIOD_END };
}

/** Runs the clock (ticks, every charge declined) to `until`, applying `events` at their times. */
function run(s: BillingState, from: Date, until: Date, events: { at: number; ev: MachineEvent }[]) {
  let now = from;
  const queue = [...events].sort((a, b) => a.at - b.at);
  let downgradedAt: number | null = null;
  const apply = (ev: MachineEvent) => {
    const r = step(s, ev, now, ctx);
    s = r.state;
    for (const e of r.effects) {
      if (e.type === 'event' && e.event_type === 'subscription.downgraded') downgradedAt = now.getTime();
      if (e.type === 'charge') apply({ type: 'charge_result', attempt_id: e.attempt.id, result: declined });
    }
  };
  for (let i = 0; i < 500; i++) {
    const next = s.subscription.next_action_at?.getTime() ?? Infinity;
    const ev = queue[0];
    const t = Math.min(next, ev?.at ?? Infinity);
    if (t === Infinity || t > until.getTime()) break;
    now = new Date(Math.max(now.getTime(), t));
    if (ev && ev.at <= next) {
      queue.shift();
      apply(ev.ev);
    } else apply({ type: 'tick' });
  }
  return { s, downgradedAt };
}

test('a help request pauses the downgrade; the answer restarts the clock with the time that was left', () => {
  const { s, now } = pastDue();
  const graceEnd = s.subscription.grace_ends_at!.getTime();
  const inv = s.invoice!.id;
  const asked = graceEnd - DAY; // one day left when the customer asks
  const answered = asked + 3 * DAY;
  const paused = step(s, { type: 'help_requested', invoice_id: inv }, new Date(asked), ctx);
  assert.equal(paused.state.subscription.grace_paused_at!.getTime(), asked);
  assert.equal(paused.state.subscription.grace_ends_at!.getTime(), graceEnd + 7 * DAY, 'held for the whole cap while nobody answers');
  assert.ok(paused.effects.some((e) => e.type === 'event' && e.event_type === 'dunning.downgrade_paused'));
  const resumed = step(paused.state, { type: 'help_answered', invoice_id: inv }, new Date(answered), ctx);
  assert.equal(resumed.state.subscription.grace_paused_at, null);
  assert.equal(resumed.state.subscription.grace_ends_at!.getTime(), answered + DAY, 'the day that was left, from the answer');
  assert.equal(resumed.state.subscription.grace_pause_ms, 3 * DAY);
  const ev = resumed.effects.find((e) => e.type === 'event' && e.event_type === 'dunning.downgrade_resumed') as any;
  assert.equal(ev.data.remaining_ms, DAY);
  // Through the clock: downgraded exactly one day after the answer.
  const end = run(s, now, new Date(graceEnd + 30 * DAY), [
    { at: asked, ev: { type: 'help_requested', invoice_id: inv } },
    { at: answered, ev: { type: 'help_answered', invoice_id: inv } },
  ]);
  assert.equal(end.downgradedAt, answered + DAY);
});

test('nobody answers: the downgrade comes at the cap; a pause of 0 days pauses nothing; reminders say it is paused', () => {
  const { s, now } = pastDue();
  const graceEnd = s.subscription.grace_ends_at!.getTime();
  const inv = s.invoice!.id;
  const end = run(s, now, new Date(graceEnd + 30 * DAY), [{ at: now.getTime() + 5 * DAY, ev: { type: 'help_requested', invoice_id: inv } }]);
  assert.equal(end.downgradedAt, graceEnd + 7 * DAY);
  const off = pastDue(mergePolicy(DEFAULT_POLICY, { help_pause_days: 0 }));
  const r = step(off.s, { type: 'help_requested', invoice_id: off.s.invoice!.id }, new Date(off.now.getTime() + DAY), ctx);
  assert.equal(r.state.subscription.grace_ends_at!.getTime(), off.s.subscription.grace_ends_at!.getTime());
  assert.ok(r.effects.some((e) => e.type === 'event' && e.event_type === 'dunning.downgrade_not_paused'));
  // The 2-days-before reminder sent while paused carries the pause.
  const paused = step(s, { type: 'help_requested', invoice_id: inv }, new Date(graceEnd - 3 * DAY), ctx).state;
  let st = paused;
  let mail: any = null;
  for (let t = graceEnd - 3 * DAY; t < graceEnd + 7 * DAY && !mail; t += HOUR) {
    const r2 = step(st, { type: 'tick' }, new Date(t), ctx);
    st = r2.state;
    mail = r2.effects.find((e) => e.type === 'email' && e.template === 'grace_ending') ?? null;
    for (const e of r2.effects) if (e.type === 'charge') st = step(st, { type: 'charge_result', attempt_id: e.attempt.id, result: declined }, new Date(t), ctx).state;
  }
  assert.ok(mail, 'a reminder went out during the pause');
  assert.equal(mail.data.downgrade_paused, true);
});

test('a help request on another invoice, or outside grace, pauses nothing', () => {
  const { s, now } = pastDue();
  const r = step(s, { type: 'help_requested', invoice_id: 'inv_other' }, new Date(now.getTime() + DAY), ctx);
  assert.equal(r.state.subscription.grace_paused_at ?? null, null);
  const active = activeState();
  const r2 = step(active, { type: 'help_requested', invoice_id: 'inv_x' }, now, ctx);
  assert.equal(r2.state.subscription.grace_ends_at, null);
  assert.equal(r2.effects.length, 0);
});

const pauseArb = fc.record({
  cap: fc.integer({ min: 0, max: 30 }),
  // Alternating help requested / answered, at increasing offsets (hours) from the failure.
  steps: fc.array(fc.integer({ min: 0, max: 24 * 12 }), { maxLength: 12 }),
  end: fc.integer({ min: 0, max: 24 * 60 }),
});

test('property: a help request never shortens grace, and the pauses never add more than the cap', () => {
  fc.assert(
    fc.property(pauseArb, ({ cap, steps, end }) => {
      const policy = mergePolicy(DEFAULT_POLICY, { help_pause_days: cap });
      const base = new Date('2026-03-14T09:00:00Z');
      let p: GracePause = { grace_ends_at: base, grace_paused_at: null, grace_pause_ms: 0, grace_pause_hold_ms: 0 };
      let t = new Date('2026-02-28T09:00:00Z').getTime();
      let ended = false;
      steps.forEach((h, i) => {
        if (ended) return;
        t += h * HOUR;
        if (t >= p.grace_ends_at.getTime()) return void (ended = true); // downgraded: nothing pauses any more
        const before = p.grace_ends_at.getTime();
        const next = i % 2 === 0 ? pauseGrace(p, policy, new Date(t)) : resumeGrace(p, new Date(t));
        if (!next) return;
        // Never shorter than grace without the requests; never longer than grace + cap.
        assert.ok(next.grace_ends_at.getTime() >= base.getTime(), 'grace shortened');
        assert.ok(next.grace_ends_at.getTime() <= base.getTime() + cap * DAY, 'paused beyond the cap');
        assert.ok(next.grace_pause_ms + next.grace_pause_hold_ms <= cap * DAY);
        // An answer never ends grace before it is given, nor earlier than before the pause.
        if (i % 2 === 1) assert.ok(next.grace_ends_at.getTime() > t && next.grace_ends_at.getTime() <= before);
        else assert.ok(next.grace_ends_at.getTime() >= before);
        p = next;
      });
      const final = resumeGrace(p, new Date(t + end * HOUR)) ?? p;
      assert.ok(final.grace_ends_at.getTime() >= base.getTime() && final.grace_ends_at.getTime() <= base.getTime() + cap * DAY);
    }),
    { seed: Number(process.env.FC_SEED ?? 20261201), numRuns: Number(process.env.FC_RUNS ?? 500) },
  );
});

test('property (machine): with help requests at random times, the downgrade is never earlier than without them, never later than grace + cap', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10 }), fc.array(fc.integer({ min: 1, max: 24 * 8 }), { maxLength: 8 }), (cap, gaps) => {
      const policy = mergePolicy(DEFAULT_POLICY, { help_pause_days: cap });
      const { s, now } = pastDue(policy);
      const graceEnd = s.subscription.grace_ends_at!.getTime();
      const inv = s.invoice!.id;
      let t = now.getTime();
      const events = gaps.map((g, i) => ({ at: (t += g * HOUR), ev: { type: i % 2 === 0 ? 'help_requested' : 'help_answered', invoice_id: inv } as MachineEvent }));
      const without = run(s, now, new Date(graceEnd + 60 * DAY), []);
      const withHelp = run(s, now, new Date(graceEnd + 60 * DAY), events);
      assert.equal(without.downgradedAt, graceEnd);
      assert.ok(withHelp.downgradedAt! >= graceEnd, 'downgraded earlier than grace');
      assert.ok(withHelp.downgradedAt! <= graceEnd + cap * DAY, 'paused beyond the cap');
    }),
    { seed: Number(process.env.FC_SEED ?? 20261201), numRuns: Number(process.env.FC_RUNS ?? 200) },
  );
});

// ---- what a help request and its answer record, exactly ----
const evs = (r: ReturnType<typeof step>) => r.effects.flatMap((e) => (e.type === 'event' ? [{ type: e.event_type, data: e.data }] : []));
const at = (days: number) => new Date(PERIOD_END.getTime() + days * DAY);
const help = (s: BillingState, id: string, when: Date, kind: 'help_requested' | 'help_answered' = 'help_requested') => step(s, { type: kind, invoice_id: s.invoice?.id ?? 'inv_pd', help_request_id: id }, when, ctx);

test('a help request pauses the downgrade: downgrade_paused names the invoice, the request, the new and previous grace end and the most the pause can hold', () => {
  const r = help(pastDueState(), 'h1', at(1));
  assert.deepEqual(evs(r), [{ type: 'dunning.downgrade_paused', data: { invoice_id: 'inv_pd', help_request_id: 'h1', grace_ends_at: at(21), previous_grace_ends_at: at(14), at_most_ms: 7 * DAY } }]);
});

test('a second help request while one waits changes nothing (no event): the downgrade is already paused', () => {
  const paused = help(pastDueState(), 'h1', at(1)).state;
  const r = help(paused, 'h2', at(2));
  assert.deepEqual([r.effects, r.state.subscription], [[], paused.subscription]);
});

test('a help request at the very end of grace is too late: nothing is paused and nothing is said', () => {
  const s = pastDueState();
  const r = help(s, 'h1', s.subscription.grace_ends_at!);
  assert.deepEqual([r.effects, r.state.subscription], [[], s.subscription]);
});

test('a help request that cannot pause says why: pause_off when the policy allows no pause, pause_used_up once the cap is spent', () => {
  const off = pastDueState(activeState({ policy: mergePolicy(DEFAULT_POLICY, { help_pause_days: 0 }) }));
  assert.deepEqual(evs(help(off, 'h1', at(1))), [{ type: 'dunning.downgrade_not_paused', data: { invoice_id: 'inv_pd', help_request_id: 'h1', why: 'pause_off', grace_ends_at: at(14) } }]);
  // The 7-day cap spent in two waits (3 then 4 days): grace ends 7 days later, and no more pause.
  let s = help(pastDueState(), 'h1', at(1)).state;
  s = help(s, 'h1', at(4), 'help_answered').state;
  s = help(s, 'h2', at(5)).state;
  s = help(s, 'h2', at(9), 'help_answered').state;
  assert.deepEqual(evs(help(s, 'h3', at(10))), [{ type: 'dunning.downgrade_not_paused', data: { invoice_id: 'inv_pd', help_request_id: 'h3', why: 'pause_used_up', grace_ends_at: at(21) } }]);
});

test('the answer resumes the clock: downgrade_resumed with the invoice, the request, the new grace end, what this wait added and the time left', () => {
  const first = help(help(pastDueState(), 'h1', at(1)).state, 'h1', at(3), 'help_answered');
  assert.deepEqual(evs(first), [{ type: 'dunning.downgrade_resumed', data: { invoice_id: 'inv_pd', help_request_id: 'h1', grace_ends_at: at(16), paused_ms: 2 * DAY, remaining_ms: 13 * DAY } }]);
  // A second wait of one day: paused_ms is that wait alone, not the total.
  const second = help(help(first.state, 'h2', at(4)).state, 'h2', at(5), 'help_answered');
  assert.deepEqual(evs(second), [{ type: 'dunning.downgrade_resumed', data: { invoice_id: 'inv_pd', help_request_id: 'h2', grace_ends_at: at(17), paused_ms: DAY, remaining_ms: 12 * DAY } }]);
});

test('an answer when no invoice is left to collect (auto-renew off, the invoice gone) resumes the clock with no invoice named', () => {
  const paused = help(pastDueState(), 'h1', at(1)).state;
  const s: BillingState = { ...paused, invoice: null, subscription: { ...paused.subscription, auto_renew: false } };
  const r = step(s, { type: 'help_answered', invoice_id: 'inv_pd', help_request_id: 'h1' }, at(3), ctx);
  assert.deepEqual(evs(r), [{ type: 'dunning.downgrade_resumed', data: { invoice_id: null, help_request_id: 'h1', grace_ends_at: at(16), paused_ms: 2 * DAY, remaining_ms: 13 * DAY } }]);
});
