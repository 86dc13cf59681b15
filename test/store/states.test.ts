// What the store hands the state machine, on both engines: loadStates's billing state of each
// subscription (its mapped row with nulls and defaults, the plan by invoice kind, the scheduled and
// the free plan, primary and backup card by role with each card's own attempt history, the dunning
// policy by scope default < plan < zone, an open incident only where the policy enables them), and
// loadPlans / loadPolicies / policyFor, which callers use to pass plans and policies in.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { insertAccount, insertAttempt, insertCard, insertInvoice, insertSubscription } from '../helpers/store-rows.ts';
import { loadPlans, loadPolicies, loadStates, policyFor } from '../../src/store/billing.ts';
import { DEFAULT_POLICY, mergePolicy, type PolicyOverride } from '../../src/core/dunning.ts';
import type { Queryable } from '../../src/store/db.ts';
import { DAY } from '../../src/core/time.ts';

const now = new Date('2026-03-20T09:00:00Z');
const ago = (days: number) => new Date(now.getTime() - days * DAY);
const START = new Date('2026-03-01T09:00:00Z');
const END = new Date('2026-04-01T09:00:00Z');
const LAST_START = new Date('2026-02-01T09:00:00Z');
const CONSENT = new Date('2026-01-15T10:00:00Z');

const PLANS = {
  free: { id: 'free', name: 'Free', free: true, archived: false, prices: [] },
  pro: { id: 'pro', name: 'Pro', free: false, archived: false, prices: [{ currency: 'EUR', interval: 'month', amount: 2900 }] },
  team: { id: 'team', name: 'Team', free: false, archived: false, prices: [{ currency: 'EUR', interval: 'month', amount: 9900 }] },
  old: { id: 'old', name: 'Old', free: false, archived: true, prices: [] },
};
const POLICIES: Record<string, PolicyOverride> = {
  default: { grace_days: 10, help_pause_days: 5, backup_after_failures: 3 },
  'plan:pro': { help_pause_days: 6, backup_after_failures: 4 },
  'plan:team': { help_pause_days: 9 },
  'zone:de': { backup_after_failures: 1, incidents: { enabled: false } as PolicyOverride['incidents'] },
};
const policy = (plan: string, zone: string) => mergePolicy(DEFAULT_POLICY, POLICIES.default, POLICIES[`plan:${plan}`], POLICIES[`zone:${zone}`]);

/** A card as loadStates maps it (role and consent stay out of the payment method). */
const cardOf = (id: string, account: string, created_at = ago(90)) => ({
  id, account_id: account, type: 'card', gateway_ref: 'pm_x', brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030, status: 'active', created_at,
});

/** A subscription as loadStates maps a `SELECT *` row of one inserted by insertSubscription. */
const subscriptionOf = (id: string, account: string, o: Record<string, unknown> = {}) => ({
  id, account_id: account, plan_id: 'pro', interval: 'month', auto_renew: true, status: 'active',
  billing_anchor: START, period_index: 0, current_period_start: START, current_period_end: END,
  grace_ends_at: null, next_action_at: END, next_action: 'renew', next_retry_at: null, next_retry_why: null,
  scheduled_plan_id: null, scheduled_interval: null, grace_paused_at: null, grace_pause_ms: 0, grace_pause_hold_ms: 0,
  chosen_retry_at: null, version: 0, ...o,
});

async function seed(q: Queryable) {
  await q.query(`INSERT INTO plans (id, name, free, archived_at) VALUES ('free', 'Free', true, NULL), ('pro', 'Pro', false, NULL), ('team', 'Team', false, NULL), ('old', 'Old', false, $1)`, [ago(60)]);
  await q.query(`INSERT INTO plan_prices VALUES ('pro', 'EUR', 'month', 2900), ('team', 'EUR', 'month', 9900)`);
  for (const [scope, p] of Object.entries(POLICIES)) await q.query(`INSERT INTO dunning_policies (scope, policy, updated_at) VALUES ($1, $2, $3)`, [scope, JSON.stringify(p), ago(60)]);
  const base = { start: START, end: END, next_action_at: END, next_action: 'renew' };
  // a: primary then backup card, each with its own attempts on an invoice already paid; a scheduled change; a paused grace.
  await insertAccount(q, 'acct_a', { created_at: ago(90) });
  await insertCard(q, 'pm_a', 'acct_a', { created_at: ago(90), role: 'primary' });
  await insertCard(q, 'pm_ab', 'acct_a', { created_at: ago(90), role: 'backup', consent_at: CONSENT });
  await insertSubscription(q, 'sub_a', 'acct_a', { ...base, scheduled: { plan: 'team', interval: 'year' }, grace_pause_ms: 5000, grace_pause_hold_ms: 7000 });
  await insertInvoice(q, 'inv_a_paid', 'acct_a', 'sub_a', { start: LAST_START, end: START, status: 'paid', paid_at: ago(2) });
  await insertAttempt(q, 'att_a1', { invoice: 'inv_a_paid', account: 'acct_a', card: 'pm_a', number: 1, outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later', at: ago(3) });
  await insertAttempt(q, 'att_a2', { invoice: 'inv_a_paid', account: 'acct_a', card: 'pm_ab', number: 2, outcome: 'succeeded', at: ago(2) });
  // b: no card; an open purchase of the team plan, two reminders sent.
  await insertAccount(q, 'acct_b', { created_at: ago(90) });
  await insertSubscription(q, 'sub_b', 'acct_b', base);
  await insertInvoice(q, 'inv_b', 'acct_b', 'sub_b', { plan: 'team', amount: 9900, start: START, end: END, status: 'open', kind: 'purchase', reminders_sent: [1, 3] });
  // c: a card stored without a role; a past-due proration to the team plan with one attempt.
  await insertAccount(q, 'acct_c', { created_at: ago(90) });
  await insertCard(q, 'pm_c', 'acct_c', { created_at: ago(90) });
  await insertSubscription(q, 'sub_c', 'acct_c', { ...base, status: 'past_due' });
  await insertInvoice(q, 'inv_c', 'acct_c', 'sub_c', { plan: 'team', amount: 7000, start: START, end: END, status: 'past_due', kind: 'proration', failed_at: ago(1) });
  await insertAttempt(q, 'att_c1', { invoice: 'inv_c', account: 'acct_c', card: 'pm_c', number: 1, outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later', at: ago(1) });
  // d: zone de (incidents off there); a past-due renewal with no attempt yet.
  await insertAccount(q, 'acct_d', { zone: 'de', created_at: ago(90) });
  await insertCard(q, 'pm_d', 'acct_d', { created_at: ago(90) });
  await insertSubscription(q, 'sub_d', 'acct_d', { ...base, status: 'past_due' });
  await insertInvoice(q, 'inv_d', 'acct_d', 'sub_d', { start: START, end: END, status: 'past_due' });
  // e: the backup card added before the primary one.
  await insertAccount(q, 'acct_e', { created_at: ago(90) });
  await insertCard(q, 'pm_eb', 'acct_e', { created_at: ago(90), role: 'backup', consent_at: CONSENT });
  await insertCard(q, 'pm_e', 'acct_e', { created_at: ago(90), role: 'primary' });
  await insertSubscription(q, 'sub_e', 'acct_e', base);
}

for (const engine of ENGINES) {
  describe(`billing states loaded for the machine on ${engine}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDatabase(engine);
      await seed(t.db);
    });
    after(() => t.drop());

    const load = async (ids: string[], cache?: Parameters<typeof loadStates>[3]) => {
      const rows = await t.db.query('SELECT * FROM subscriptions WHERE id = ANY($1) ORDER BY id', [ids]);
      return Object.fromEntries((await loadStates(t.db, rows, now, cache)).map((s) => [s.subscription.id, s]));
    };

    test('loadPlans gives every plan with its prices, free flag and archived flag (true only for an archived plan)', async () => {
      const plans = await loadPlans(t.db);
      assert.deepEqual(Object.fromEntries([...plans].sort(([a], [b]) => a.localeCompare(b))), { free: PLANS.free, old: PLANS.old, pro: PLANS.pro, team: PLANS.team });
    });

    test('loadPolicies gives each stored policy by its scope, as an object', async () => {
      assert.deepEqual(Object.fromEntries(await loadPolicies(t.db)), POLICIES);
    });

    test('policyFor merges default < plan:<id> < zone:<zone>, each override only where it applies', () => {
      const all = new Map(Object.entries(POLICIES));
      const de = policyFor(all, 'pro', 'de');
      assert.deepEqual([de.grace_days, de.help_pause_days, de.backup_after_failures, de.incidents.enabled], [10, 6, 1, false]);
      const fr = policyFor(all, 'team', 'fr');
      assert.deepEqual([fr.grace_days, fr.help_pause_days, fr.backup_after_failures, fr.incidents.enabled], [10, 9, 3, true]);
      assert.deepEqual(policyFor(all, 'pro', 'fr'), policy('pro', 'fr'));
      assert.deepEqual(policyFor(new Map(), 'pro', 'de'), DEFAULT_POLICY);
    });

    test('loadStates of no subscriptions is an empty list, without asking the database', async () => {
      const refuses: Queryable = { query: () => Promise.reject(new Error('no query expected')) };
      assert.deepEqual(await loadStates(refuses, [], now), []);
    });

    test('the subscription is mapped whole: a scheduled change, the paused grace in ms; nulls and 0 where nothing is set', async () => {
      const s = await load(['sub_a', 'sub_d']);
      assert.deepEqual(s.sub_a.subscription, subscriptionOf('sub_a', 'acct_a', { scheduled_plan_id: 'team', scheduled_interval: 'year', grace_pause_ms: 5000, grace_pause_hold_ms: 7000 }));
      assert.deepEqual(s.sub_d.subscription, subscriptionOf('sub_d', 'acct_d', { status: 'past_due' }));
    });

    test('no invoice being collected: no invoice, no attempts, no invoice plan; a scheduled plan is given whole, the free plan by id', async () => {
      const { sub_a: a } = await load(['sub_a']);
      assert.equal(a.invoice, null);
      assert.deepEqual(a.attempts, []);
      assert.deepEqual(a.plan, PLANS.pro);
      assert.equal(a.invoice_plan, null);
      assert.deepEqual(a.scheduled_plan, PLANS.team);
      assert.equal(a.free_plan_id, 'free');
      assert.deepEqual(a.policy, policy('pro', 'fr'));
      assert.equal(a.incident, null);
    });

    test('a purchase invoice: the plan is the one being bought, its policy applies; the invoice is mapped whole with its reminders; no card: no history, no backup', async () => {
      const { sub_b: b } = await load(['sub_b']);
      assert.deepEqual(b.invoice, {
        id: 'inv_b', account_id: 'acct_b', subscription_id: 'sub_b', plan_id: 'team', amount: 9900, currency: 'EUR', period_start: START, period_end: END,
        status: 'open', created_at: START, paid_at: null, kind: 'purchase', interval: 'month', failed_at: null, reminders_sent: [1, 3],
      });
      assert.deepEqual(b.plan, PLANS.team);
      assert.equal(b.invoice_plan, null);
      assert.equal(b.scheduled_plan, null);
      assert.deepEqual(b.policy, policy('team', 'fr'));
      assert.deepEqual(b.attempts, [], 'an invoice with no attempt yet');
      assert.equal(b.payment_method, null);
      assert.deepEqual(b.card_attempts, []);
      assert.equal(b.backup, null);
    });

    test("a proration invoice: the plan stays the subscription's, the invoice's plan is given as invoice_plan and its policy applies", async () => {
      const { sub_c: c } = await load(['sub_c']);
      assert.deepEqual(c.plan, PLANS.pro);
      assert.deepEqual(c.invoice_plan, PLANS.team);
      assert.deepEqual(c.policy, policy('team', 'fr'));
      assert.deepEqual(c.attempts.map((x) => [x.id, x.outcome, x.payment_method_id]), [['att_c1', 'declined', 'pm_c']]);
      assert.deepEqual(c.card_attempts, [{ at: ago(1), outcome: 'declined' }]);
    });

    test('a renewal invoice: no invoice plan; a card stored without a role is the primary one; the zone policy overrides the plan one', async () => {
      const { sub_d: d } = await load(['sub_d']);
      assert.equal(d.invoice?.id, 'inv_d');
      assert.deepEqual(d.invoice?.reminders_sent, []);
      assert.deepEqual(d.plan, PLANS.pro);
      assert.equal(d.invoice_plan, null);
      assert.deepEqual(d.payment_method, cardOf('pm_d', 'acct_d'));
      assert.equal(d.backup, null);
      assert.deepEqual(d.card_attempts, []);
      assert.deepEqual(d.policy, policy('pro', 'de'));
    });

    test('the backup card comes with its consent and its own attempt history, apart from the primary card and its history', async () => {
      const { sub_a: a } = await load(['sub_a']);
      assert.deepEqual(a.payment_method, cardOf('pm_a', 'acct_a'));
      assert.deepEqual(a.card_attempts, [{ at: ago(3), outcome: 'declined' }]);
      assert.deepEqual(a.backup, { payment_method: cardOf('pm_ab', 'acct_a'), consent_at: CONSENT, card_attempts: [{ at: ago(2), outcome: 'succeeded' }] });
    });

    test('primary and backup are told apart by role, whichever card was added first', async () => {
      const { sub_e: e } = await load(['sub_e']);
      assert.deepEqual(e.payment_method, cardOf('pm_e', 'acct_e'));
      assert.deepEqual(e.backup, { payment_method: cardOf('pm_eb', 'acct_e'), consent_at: CONSENT, card_attempts: [] });
      assert.deepEqual(e.card_attempts, []);
    });

    test('the primary card is chosen by role, not by the order the database returns the cards in (here a plain scan: primary, then backup)', async () => {
      const [a] = await t.db.tx(async (q) => {
        // Without indexes the cards come back in the order they were stored, the backup last.
        for (const knob of ['enable_indexscan', 'enable_bitmapscan', 'enable_indexonlyscan']) await q.query(`SET LOCAL ${knob} = off`);
        return loadStates(q, await q.query('SELECT * FROM subscriptions WHERE id = $1', ['sub_a']), now);
      });
      assert.deepEqual(a.payment_method, cardOf('pm_a', 'acct_a'));
      assert.deepEqual(a.card_attempts, [{ at: ago(3), outcome: 'declined' }]);
      assert.equal(a.backup?.payment_method.id, 'pm_ab');
    });

    test('a driver that returns JSON columns as text gives the same states (each part is parsed)', async () => {
      const ids = ['sub_a', 'sub_b', 'sub_c', 'sub_d', 'sub_e'];
      const asText: Queryable = {
        async query<T>(sql: string, params?: unknown[]) {
          const rows = await t.db.query<Record<string, unknown>>(sql, params);
          return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v]))) as T[];
        },
      };
      const rows = await t.db.query('SELECT * FROM subscriptions WHERE id = ANY($1) ORDER BY id', [ids]);
      assert.deepEqual(await loadStates(asText, rows, now), await loadStates(t.db, rows, now));
    });

    test('plans and policies passed in by the caller give the same states as those loaded with them', async () => {
      const ids = ['sub_a', 'sub_b', 'sub_c', 'sub_d', 'sub_e'];
      const cached = await load(ids, { plans: await loadPlans(t.db), policies: await loadPolicies(t.db) });
      assert.deepEqual(cached, await load(ids));
    });

    test('with no free plan, the free plan id is the subscription\'s own plan', async () => {
      const plans = await loadPlans(t.db);
      plans.delete('free');
      const { sub_a: a } = await load(['sub_a'], { plans });
      assert.equal(a.free_plan_id, 'pro');
    });

    test('an open incident is handed over only where the policy enables incidents (not in zone de)', async () => {
      await t.db.query(`INSERT INTO incidents (id, scope, opened_at, technical_declines, baseline) VALUES ('inc_g', 'gateway', $1, 5, 0)`, [ago(1)]);
      try {
        const s = await load(['sub_a', 'sub_d']);
        assert.deepEqual(s.sub_a.incident, { id: 'inc_g', scope: 'gateway', opened_at: ago(1) });
        assert.equal(s.sub_d.incident, null);
      } finally {
        await t.db.query(`DELETE FROM incidents WHERE id = 'inc_g'`);
      }
    });
  });
}
