// Issue 15, item 1: cancel, end to end through HTTP, the sandbox PSP and the test clock. The two
// failures seen before: a customer in grace who cancelled (or turned auto-renew off) was still
// charged when the card recovered, and still got attempts and "days left" reminders when it kept
// failing. Now a cancel during grace stops collection at once: invoice void, free plan, one e-mail.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { charges, portalToken, problemOf, scriptNextCharges } from '../api/helpers.ts';
import { verifyInvariants } from '../../src/engine/verify.ts';

describe('cancel (PGlite)', () => {
  let t: TestService;
  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
  const invoices = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data as any[];
  const attempts = async (id: string) => (await t.svc.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM payment_attempts WHERE account_id = $1', [id]))[0].n;
  const mails = async (id: string) =>
    (await t.svc.ctx.db.query<{ template: string }>('SELECT template FROM notifications WHERE account_id = $1 ORDER BY created_at, id', [id])).map((r) => r.template);

  before(async () => {
    t = await startTestService();
    await createPlans(t);
  });
  after(() => t.close());

  /** An account whose renewal (Feb 28) failed: past due, in grace. */
  async function pastDue() {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    return id;
  }

  test('recovering card after a cancel during grace: no charge at all, invoice void, free plan (cancel and auto_renew:false alike)', async () => {
    const viaCancel = await pastDue();
    const viaSwitch = await pastDue();
    await t.advance(31); // Feb 28 renewal declines
    for (const id of [viaCancel, viaSwitch]) assert.equal((await sub(id)).status, 'past_due');
    const before = { cancel: await attempts(viaCancel), sw: await attempts(viaSwitch) };
    // From now on the card would work: any attempt would take the money.
    await scriptNextCharges(t, viaCancel, 'succeed', 50);
    await scriptNextCharges(t, viaSwitch, 'succeed', 50);

    const tok = await portalToken(t, viaCancel);
    const r = await t.api('POST', `/v1/accounts/${viaCancel}/subscription/cancel`, undefined, tok);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.status, r.body.plan_id, r.body.auto_renew, r.body.grace_ends_at, r.body.next_retry_at], ['canceled', 'free', false, null, null]);
    const p = await t.api('PATCH', `/v1/accounts/${viaSwitch}/subscription`, { auto_renew: false }, await portalToken(t, viaSwitch));
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.deepEqual([p.body.status, p.body.plan_id], ['canceled', 'free']);

    await t.advance(40); // past every retry, reminder and the end of grace
    for (const [id, n] of [[viaCancel, before.cancel], [viaSwitch, before.sw]] as const) {
      assert.equal(await attempts(id), n, 'no attempt after the cancel');
      const paid = await charges(t, id);
      assert.equal(paid.length, 1, 'only the first purchase was ever charged');
      const s = await sub(id);
      assert.deepEqual([s.status, s.plan_id, s.next_action_at], ['canceled', 'free', null]);
      const [inv] = await invoices(id);
      assert.equal(inv.status, 'void');
      assert.equal(inv.retry.available, false);
      const access = (await t.api('GET', `/v1/accounts/${id}/access`)).body;
      assert.deepEqual([access.paid, access.reason], [false, 'free']);
      const m = await mails(id);
      assert.equal(m.filter((x) => x === 'subscription_canceled').length, 1, m.join());
      assert.equal(m[m.length - 1], 'subscription_canceled', `nothing after the confirmation: ${m.join()}`);
      assert.ok(!m.includes('grace_ending') && !m.includes('retry_succeeded') && !m.includes('downgraded'), m.join());
    }
    // Retry on the voided invoice is refused and makes no attempt.
    const [inv] = await invoices(viaCancel);
    problemOf(await t.api('POST', `/v1/invoices/${inv.id}/retry`, undefined, await portalToken(t, viaCancel)), 409, 'retry_unavailable');
    assert.equal(await attempts(viaCancel), before.cancel);
  });

  test('failing card after a cancel during grace: zero further attempts and no reminders; a new card charges nothing', async () => {
    const id = await pastDue();
    await t.advance(31);
    assert.equal((await sub(id)).status, 'past_due');
    await t.advance(2); // one scheduled retry may have run: the count is taken at the cancel
    const n = await attempts(id);
    const mailsBefore = (await mails(id)).length;
    const r = await t.api('POST', `/v1/accounts/${id}/subscription/cancel`, { at: 'period_end' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'canceled', 'past due: any cancel takes effect at once');
    // A new card after the cancel is only saved: no attempt.
    const pm = await t.api('PUT', `/v1/accounts/${id}/payment-method`, { type: 'card', card: { number: CARDS.ok, exp_month: 12, exp_year: 2030, cvc: '123' } });
    assert.equal(pm.status, 200, JSON.stringify(pm.body));
    assert.equal(pm.body.attempt, null);
    await t.advance(40);
    assert.equal(await attempts(id), n);
    assert.deepEqual((await mails(id)).slice(mailsBefore), ['subscription_canceled']);
    assert.equal((await charges(t, id)).length, 1);
    const events = (await t.svc.ctx.db.query<{ type: string }>('SELECT type FROM events WHERE account_id = $1 ORDER BY id', [id])).map((e) => e.type);
    const at = events.indexOf('subscription.canceled');
    assert.ok(at > 0 && events.indexOf('invoice.voided') > 0, events.join());
    assert.ok(!events.slice(at).some((e) => e.startsWith('payment_attempt.') || e === 'dunning.reminder_sent'), events.slice(at).join());
  });

  test('a subscription left past due with auto-renew off (before this fix) is ended on its next look, never charged', async () => {
    const id = await pastDue();
    await t.advance(31);
    assert.equal((await sub(id)).status, 'past_due');
    await t.svc.ctx.db.query('UPDATE subscriptions SET auto_renew = false, version = version + 1 WHERE account_id = $1', [id]);
    await scriptNextCharges(t, id, 'succeed', 20);
    const n = await attempts(id);
    await t.advance(20);
    assert.equal(await attempts(id), n);
    assert.equal((await charges(t, id)).length, 1);
    const s = await sub(id);
    assert.deepEqual([s.status, s.plan_id], ['canceled', 'free']);
    assert.equal((await invoices(id))[0].status, 'void');
  });

  test('period-end cancel keeps access to the period end and never renews; resume undoes it before then', async () => {
    const id = await subscribedAccount(t);
    const tok = await portalToken(t, id);
    const s0 = await sub(id);
    assert.deepEqual([s0.status, s0.cancel_at_period_end, s0.cancel_at], ['active', false, null]);

    const c = await t.api('POST', `/v1/accounts/${id}/subscription/cancel`, { at: 'period_end' }, tok);
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.deepEqual([c.body.status, c.body.plan_id, c.body.auto_renew, c.body.cancel_at_period_end, c.body.cancel_at], ['active', 'pro', false, true, s0.current_period_end]);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/access`)).body.paid, true);
    // Twice is harmless (no second e-mail).
    assert.equal((await t.api('POST', `/v1/accounts/${id}/subscription/cancel`, {}, tok)).status, 200);
    assert.deepEqual((await mails(id)).filter((m) => m === 'subscription_canceled'), ['subscription_canceled']);

    const r = await t.api('POST', `/v1/accounts/${id}/subscription/resume`, undefined, tok);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.status, r.body.auto_renew, r.body.cancel_at_period_end, r.body.cancel_at], ['active', true, false, null]);
    problemOf(await t.api('POST', `/v1/accounts/${id}/subscription/resume`, undefined, tok), 409, 'no_pending_cancel');

    // Cancel again (default at: period_end) and let the period end: free plan, no renewal charge.
    assert.equal((await t.api('POST', `/v1/accounts/${id}/subscription/cancel`, undefined, tok)).status, 200);
    const paidBefore = (await charges(t, id)).length;
    await t.advanceTo(new Date(new Date(s0.current_period_end).getTime() + 3600_000).toISOString());
    const s1 = await sub(id);
    assert.deepEqual([s1.status, s1.plan_id, s1.cancel_at_period_end], ['canceled', 'free', false]);
    assert.equal((await charges(t, id)).length, paidBefore);
    assert.deepEqual((await t.api('GET', `/v1/accounts/${id}/access`)).body.paid, false);
    const tok2 = await portalToken(t, id); // the first one has expired meanwhile
    problemOf(await t.api('POST', `/v1/accounts/${id}/subscription/resume`, undefined, tok2), 409, 'cancel_took_effect');
    problemOf(await t.api('POST', `/v1/accounts/${id}/subscription/cancel`, { at: 'now' }, tok2), 409, 'already_canceled');
  });

  test('cancel now on an active subscription: the free plan at once', async () => {
    const id = await subscribedAccount(t);
    const r = await t.api('POST', `/v1/accounts/${id}/subscription/cancel`, { at: 'now' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.status, r.body.plan_id, r.body.next_action_at], ['canceled', 'free', null]);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/access`)).body.paid, false);
    assert.deepEqual((await mails(id)).filter((m) => m === 'subscription_canceled'), ['subscription_canceled']);
    const events = (await t.svc.ctx.db.query<{ type: string }>('SELECT type FROM events WHERE account_id = $1 ORDER BY id', [id])).map((e) => e.type);
    assert.ok(events.includes('subscription.canceled'), events.join());
  });

  test('buying again after a cancel: auto-renew on again; the days already paid are not sold twice', async () => {
    // Canceled after its period: the new period starts at the purchase.
    const a = await subscribedAccount(t);
    assert.equal((await t.api('POST', `/v1/accounts/${a}/subscription/cancel`, {})).status, 200);
    await t.advance(35);
    assert.equal((await sub(a)).status, 'canceled');
    const ra = await t.api('POST', '/v1/subscriptions', { account_id: a, plan_id: 'pro', interval: 'month' });
    assert.equal(ra.status, 201, JSON.stringify(ra.body));
    assert.deepEqual([ra.body.status, ra.body.plan_id, ra.body.auto_renew, ra.body.cancel_at_period_end], ['active', 'pro', true, false]);
    assert.ok(Math.abs(new Date(ra.body.current_period_start).getTime() - (await t.now()).getTime()) < 60_000, 'the new period starts at the purchase');

    // Canceled "now" with paid days left, bought again 10 days later: access at once, and the new
    // period (the one charged) starts where the paid one ends.
    const b = await subscribedAccount(t);
    const paidEnd = (await sub(b)).current_period_end;
    assert.equal((await t.api('POST', `/v1/accounts/${b}/subscription/cancel`, { at: 'now' })).status, 200);
    await t.advance(10);
    const paidBefore = (await charges(t, b)).length;
    const rb = await t.api('POST', '/v1/subscriptions', { account_id: b, plan_id: 'pro', interval: 'month' });
    assert.equal(rb.status, 201, JSON.stringify(rb.body));
    assert.deepEqual([rb.body.status, rb.body.auto_renew, rb.body.current_period_start], ['active', true, paidEnd]);
    assert.equal((await t.api('GET', `/v1/accounts/${b}/access`)).body.paid, true);
    assert.equal((await charges(t, b)).length, paidBefore + 1, 'one charge, for the period after the paid one');
  });

  test('bad input changes nothing: unknown at, another account, no subscription, no token', async () => {
    const a = await subscribedAccount(t);
    const b = await subscribedAccount(t);
    const tokA = await portalToken(t, a);
    const before = await sub(b);
    problemOf(await t.api('POST', `/v1/accounts/${b}/subscription/cancel`, { at: 'now' }, tokA), 404, 'not_found');
    problemOf(await t.api('POST', `/v1/accounts/${b}/subscription/resume`, undefined, tokA), 404, 'not_found');
    problemOf(await t.api('POST', `/v1/accounts/${a}/subscription/cancel`, { at: 'later' }, tokA), 400, 'validation_error');
    problemOf(await t.api('POST', `/v1/accounts/${a}/subscription/cancel`, { at: 'now', extra: 1 }, tokA), 400, 'validation_error');
    assert.equal((await t.api('POST', `/v1/accounts/${a}/subscription/cancel`, { at: 'now' }, null)).status, 401);
    assert.deepEqual(await sub(b), before);
    assert.equal((await sub(a)).status, 'active');
    const none = await t.api('POST', '/v1/accounts', { name: 'N', email: 'n@example.com', locale: 'en', domain_zone: 'com', currency: 'EUR' });
    problemOf(await t.api('POST', `/v1/accounts/${none.body.id}/subscription/cancel`, {}), 404, 'not_found');
    problemOf(await t.api('POST', `/v1/accounts/${none.body.id}/subscription/resume`, {}), 404, 'not_found');
  });

  test('renewd verify finds nothing wrong after all of it', async () => {
    const report = await verifyInvariants(t.svc.ctx.db, await t.now());
    assert.deepEqual(report.violations, []);
  });
});
