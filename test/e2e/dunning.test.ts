// Issue 4 end to end, through HTTP, the sandbox PSP and the test clock: every cause of the
// help-desk article (credit limit, expired/inactive card, insufficient funds, issuer unavailable,
// system failure) and authentication required, each recovered by a card update, by the
// customer's Retry, by a scheduled retry — and not recovered: downgraded on day 14 exactly, in the
// account's time zone.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, card, CARDS, type TestService } from '../helpers/service.ts';

const RENEWAL = '2026-02-28T09:00:00.000Z'; // Jan 31 09:00Z anchor, one month later (same instant in these zones)

interface Cause {
  name: string;
  /** Sandbox script outcome that produces it. */
  outcome: string;
  reason: string;
  retry_class: 'soon' | 'later' | 'customer';
  /** The test card that produces it on its own (used for the card-update scenario). */
  card?: string;
}

const CAUSES: Cause[] = [
  { name: 'credit limit reached', outcome: 'card_velocity_exceeded', reason: 'credit_limit', retry_class: 'later', card: CARDS.velocity },
  { name: 'card expired', outcome: 'expired_card', reason: 'card_expired_or_inactive', retry_class: 'customer', card: CARDS.expired },
  { name: 'insufficient funds', outcome: 'insufficient_funds', reason: 'insufficient_funds', retry_class: 'later', card: CARDS.insufficient_funds },
  { name: 'issuing bank unavailable', outcome: 'issuer_not_available', reason: 'issuer_unavailable', retry_class: 'soon' },
  { name: 'payment-system failure', outcome: 'processing_error', reason: 'payment_system_failure', retry_class: 'soon', card: CARDS.processing_error },
  { name: 'authentication required', outcome: 'authentication_required', reason: 'authentication_required', retry_class: 'customer', card: CARDS.auth_always },
];

type Mode = 'card_update' | 'customer_retry' | 'scheduled' | 'none';
const MODES: Mode[] = ['card_update', 'customer_retry', 'scheduled', 'none'];
// The no-recovery accounts live in different zones: New York switches to summer time on Mar 8,
// so its grace (14 local days) ends an hour earlier in UTC than Paris's.
const ZONES: Record<Mode, string> = { card_update: 'Europe/Paris', customer_retry: 'Europe/Paris', scheduled: 'Europe/Paris', none: 'America/New_York' };
const GRACE_END: Record<string, string> = { 'Europe/Paris': '2026-03-14T09:00:00.000Z', 'America/New_York': '2026-03-14T08:00:00.000Z' };

describe('dunning end to end (PGlite)', () => {
  let t: TestService;
  const acct = new Map<string, string>(); // `${cause}/${mode}` → account id
  const key = (c: Cause, m: Mode) => `${c.name}/${m}`;
  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
  const invoices = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data;
  const mails = async (id: string) => (await t.svc.ctx.db.query<any>('SELECT template FROM notifications WHERE account_id = $1 ORDER BY created_at, id', [id])).map((r) => r.template);

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    for (const c of CAUSES) {
      for (const m of MODES) {
        const id = await subscribedAccount(t, { time_zone: ZONES[m], locale: m === 'none' ? 'en-US' : 'fr-FR' });
        acct.set(key(c, m), id);
        // From the renewal on, this account's charges answer with the cause; a later step may succeed.
        const steps = m === 'scheduled' || m === 'customer_retry' ? [{ outcome: c.outcome }, { outcome: 'succeed', forever: true }] : [{ outcome: c.outcome, forever: true }];
        const r = await t.sandbox('POST', '/_sandbox/scripts', { target: { account_id: id }, steps });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
    }
    await t.advanceTo(RENEWAL);
  });
  after(() => t.close());

  test('every failed renewal: past due, access kept until period end + 14 days, reason recorded, customer e-mailed', async () => {
    for (const c of CAUSES) {
      for (const m of MODES) {
        const id = acct.get(key(c, m))!;
        const s = await sub(id);
        assert.equal(s.status, 'past_due', key(c, m));
        assert.equal(s.grace_ends_at, GRACE_END[ZONES[m]], key(c, m));
        const access = (await t.api('GET', `/v1/accounts/${id}/access`)).body;
        assert.deepEqual([access.paid, access.reason, access.until], [true, 'grace', GRACE_END[ZONES[m]]]);
        const [inv] = await invoices(id);
        assert.equal(inv.status, 'past_due');
        assert.equal(inv.attempts[0].reason, c.reason, key(c, m));
        assert.equal(inv.attempts[0].outcome, c.reason === 'authentication_required' ? 'requires_action' : 'declined');
        const m1 = await mails(id);
        assert.ok(m1.includes(c.reason === 'authentication_required' ? 'authentication_required' : 'renewal_failed'), `${key(c, m)}: ${m1}`);
        // Every planned retry is visible and explained.
        if (c.retry_class === 'customer') assert.deepEqual([s.next_retry_at, s.next_retry_why], [null, 'waiting_for_customer']);
        else {
          assert.ok(s.next_retry_at, key(c, m));
          const hours = (Date.parse(s.next_retry_at) - Date.parse(RENEWAL)) / 3_600_000;
          if (c.retry_class === 'soon') assert.equal(s.next_retry_why, 'technical_retry') , assert.ok(hours <= 12, `${key(c, m)} retry in ${hours} h`);
          else assert.ok(hours >= 24, `${key(c, m)} retry in ${hours} h`);
        }
      }
    }
  });

  test('recovery by card update: immediate attempt, paid, renewed from the original period end', async () => {
    for (const c of CAUSES) {
      const id = acct.get(key(c, 'card_update'))!;
      await t.sandbox('POST', '/_sandbox/scripts', { target: { account_id: id }, steps: [{ outcome: 'succeed', forever: true }] });
      const r = await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok));
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.attempt, { outcome: 'succeeded', reason: null }, c.name);
      const s = await sub(id);
      assert.equal(s.status, 'active');
      assert.equal(s.current_period_start, RENEWAL); // no free days
      assert.equal(s.current_period_end, '2026-03-31T08:00:00.000Z');
      assert.equal(s.grace_ends_at, null);
      const [inv] = await invoices(id);
      assert.equal(inv.status, 'paid');
      assert.equal(inv.attempts.at(-1).trigger, 'payment_method_updated');
      assert.ok((await mails(id)).includes('retry_succeeded'));
    }
  });

  test("recovery by the customer's Retry (and Retry refused where a new card is needed)", async () => {
    for (const c of CAUSES) {
      const id = acct.get(key(c, 'customer_retry'))!;
      const [inv] = await invoices(id);
      if (c.reason === 'card_expired_or_inactive') {
        assert.deepEqual(inv.retry, { available: false, reason: 'needs_new_payment_method' });
        const r = await t.api('POST', `/v1/invoices/${inv.id}/retry`);
        assert.equal(r.status, 409);
        assert.equal(r.body.type, 'urn:renewd:problem:retry_unavailable');
        assert.equal(r.body.reason, 'needs_new_payment_method');
        continue;
      }
      assert.deepEqual(inv.retry, { available: true, reason: null }, c.name);
      const r = await t.api('POST', `/v1/invoices/${inv.id}/retry`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.outcome, 'succeeded');
      assert.equal(r.body.invoice_status, 'paid');
      assert.equal((await sub(id)).status, 'active');
      assert.ok((await mails(id)).includes('retry_succeeded'));
    }
  });

  test('recovery by scheduled retries; customer-action declines are never retried blindly', async () => {
    await t.advanceTo('2026-03-13T09:00:00.000Z');
    for (const c of CAUSES) {
      const id = acct.get(key(c, 'scheduled'))!;
      const [inv] = await invoices(id);
      if (c.retry_class === 'customer') {
        assert.equal(inv.status, 'past_due', c.name);
        assert.equal(inv.attempts.length, 1, `${c.name}: no blind retry`);
        continue;
      }
      assert.equal(inv.status, 'paid', c.name);
      assert.equal(inv.attempts.length, 2);
      assert.equal(inv.attempts[1].trigger, 'scheduled');
      const gapH = (Date.parse(inv.attempts[1].at) - Date.parse(inv.attempts[0].at)) / 3_600_000;
      if (c.retry_class === 'soon') assert.equal(gapH, 2, c.name);
      else assert.equal(gapH, 24, c.name);
      assert.equal((await sub(id)).current_period_start, RENEWAL);
    }
  });

  test('no recovery: still in grace a second before day 14 ends, downgraded exactly then (account time zone)', async () => {
    const ny = GRACE_END['America/New_York'];
    await t.advanceTo(new Date(Date.parse(ny) - 1000));
    for (const c of CAUSES) {
      const id = acct.get(key(c, 'none'))!;
      assert.equal((await sub(id)).status, 'past_due', c.name);
      const m = await mails(id);
      assert.equal(m.filter((x) => x === 'grace_ending').length, 2, `${c.name}: reminders 7 and 2 days before: ${m}`);
    }
    await t.advanceTo(ny);
    for (const c of CAUSES) {
      const id = acct.get(key(c, 'none'))!;
      const s = await sub(id);
      assert.equal(s.status, 'downgraded', c.name);
      assert.equal(s.plan_id, 'free');
      assert.deepEqual((await t.api('GET', `/v1/accounts/${id}/access`)).body, { plan_id: 'free', paid: false, reason: 'free', until: null });
      const [inv] = await invoices(id);
      assert.equal(inv.status, 'uncollectible');
      assert.ok((await mails(id)).includes('downgraded'));
      // Several attempts were made for the retryable causes, within the caps.
      if (c.retry_class !== 'customer') assert.ok(inv.attempts.length >= 5, `${c.name}: ${inv.attempts.length} attempts`);
      else assert.equal(inv.attempts.length, 1);
    }
    // Paris accounts of the scheduled group with customer-action declines end an hour later.
    const parisExpired = acct.get(key(CAUSES[1], 'scheduled'))!;
    assert.equal((await sub(parisExpired)).status, 'past_due');
    await t.advanceTo(GRACE_END['Europe/Paris']);
    assert.equal((await sub(parisExpired)).status, 'downgraded');
  });

  test('no attempt after downgrade; a later purchase restores a paid plan', async () => {
    const id = acct.get(key(CAUSES[2], 'none'))!;
    const before = (await invoices(id))[0].attempts.length;
    await t.advance(20);
    assert.equal((await invoices(id))[0].attempts.length, before);
    await t.sandbox('POST', '/_sandbox/scripts', { target: { account_id: id }, steps: [{ outcome: 'succeed', forever: true }] });
    await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok));
    const r = await t.api('POST', '/v1/subscriptions', { account_id: id, plan_id: 'pro', interval: 'month' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.status, 'active');
    assert.equal((await t.api('GET', `/v1/accounts/${id}/access`)).body.reason, 'active');
  });

  test('the timeline shows every event and the next scheduled action', async () => {
    const id = acct.get(key(CAUSES[0], 'card_update'))!;
    const tl = (await t.api('GET', `/v1/accounts/${id}/timeline`)).body;
    const types = tl.events.map((e: any) => e.type).reverse();
    for (const ty of ['invoice.created', 'payment_attempt.started', 'payment_attempt.failed', 'subscription.past_due', 'dunning.retry_planned', 'payment_method.updated', 'invoice.paid', 'subscription.renewed'])
      assert.ok(types.includes(ty), `timeline lacks ${ty}: ${types}`);
    assert.equal(tl.next.action, 'renew');
  });
});

describe('policy and network advice (PGlite)', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
    await createPlans(t);
  });
  after(() => t.close());

  test('a Mastercard advice code delays the retry; changing the policy re-plans pending retries', async () => {
    const id = await subscribedAccount(t);
    await t.sandbox('POST', '/_sandbox/scripts', { target: { account_id: id }, steps: [{ outcome: 'insufficient_funds', network_advice_code: '27', forever: true }] });
    await t.advanceTo(RENEWAL);
    let s = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
    assert.equal(s.status, 'past_due');
    assert.equal(s.next_retry_why, 'network_advice_delay');
    assert.equal(Date.parse(s.next_retry_at) - Date.parse(RENEWAL), 4 * 86_400_000); // MAC 27: 4 days
    const r = await t.api('PUT', '/v1/dunning-policy', { retry_schedule: [6, 9], grace_days: 10, reminder_days: [3] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    s = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
    assert.equal(Date.parse(s.next_retry_at) - Date.parse(RENEWAL), 6 * 86_400_000);
    assert.equal(s.next_retry_why, 'scheduled_retry');
    // Validation: a schedule beyond the grace period is refused with a clear error and changes nothing.
    const bad = await t.api('PUT', '/v1/dunning-policy', { retry_schedule: [6, 12], grace_days: 10 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.type, 'urn:renewd:problem:invalid_policy');
    assert.match(bad.body.detail, /beyond the grace period/);
    assert.deepEqual((await t.api('GET', '/v1/dunning-policy')).body.retry_schedule, [6, 9]);
    const unknown = await t.api('PUT', '/v1/dunning-policy', { decline_rules: { lost_card_maybe: 'soon' } });
    assert.equal(unknown.status, 400);
    // Overrides per domain zone.
    const z = await t.api('PUT', '/v1/dunning-policy/overrides/zone:fr', { manual_retry: { disabled_domain_zones: ['fr'] } });
    assert.equal(z.status, 200);
    const [inv] = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data;
    assert.deepEqual(inv.retry, { available: false, reason: 'domain_zone_excluded' });
  });
});
