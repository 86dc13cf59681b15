// Plan change, end to end through HTTP, the sandbox PSP and the test clock:
// PATCH /v1/accounts/{id}/subscription {"plan_id", "interval"?}. A dearer plan applies at once with a
// prorated charge (a decline changes nothing); a cheaper one waits for the period end, where the
// renewal charges its price; in grace the past-due invoice is replaced and grace never moves.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { charges, portalToken, problemOf, scriptNextCharges } from '../api/helpers.ts';
import { prorate } from '../../src/core/proration.ts';
import { verifyInvariants } from '../../src/engine/verify.ts';

describe('plan change (PGlite)', () => {
  let t: TestService;
  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
  const invoices = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data as any[];
  const mails = async (id: string) =>
    (await t.svc.ctx.db.query<{ template: string }>('SELECT template FROM notifications WHERE account_id = $1 ORDER BY created_at, id', [id])).map((r) => r.template);

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    for (const p of [
      { id: 'biz', name: 'Business', prices: [{ currency: 'EUR', interval: 'month', amount: 7900 }, { currency: 'EUR', interval: 'year', amount: 79000 }] },
      { id: 'lite', name: 'Lite', prices: [{ currency: 'EUR', interval: 'month', amount: 900 }] },
      { id: 'usd_only', name: 'US', prices: [{ currency: 'USD', interval: 'month', amount: 100 }] },
    ]) {
      const r = await t.api('POST', '/v1/plans', p);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });
  after(() => t.close());

  test('to a dearer plan: at once, the prorated rest of the period charged; the next renewal charges the new price', async () => {
    const id = await subscribedAccount(t);
    await t.advance(10);
    const s0 = await sub(id);
    const now = await t.now();
    const expected = prorate({ oldAmount: 2900, newAmount: 7900, periodStart: new Date(s0.current_period_start), periodEnd: new Date(s0.current_period_end), at: now });
    const r = await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'biz' }, await portalToken(t, id));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.status, r.body.plan_id, r.body.current_period_end, r.body.scheduled_change], ['active', 'biz', s0.current_period_end, null]);
    assert.deepEqual([r.body.attempt.outcome, r.body.attempt.amount], ['succeeded', expected.charge]);
    assert.ok(expected.charge > 0 && expected.charge < 7900 - 2900);
    const paid = await charges(t, id);
    assert.deepEqual(paid.map((c) => c.amount), [2900, expected.charge]);
    const [inv] = await invoices(id);
    assert.deepEqual([inv.kind, inv.status, inv.plan_id, inv.amount], ['proration', 'paid', 'biz', expected.charge]);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/access`)).body.plan_id, 'biz');
    assert.ok((await mails(id)).includes('plan_changed'));
    await t.advance(25); // past Feb 28
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900, expected.charge, 7900]);
    assert.deepEqual([(await sub(id)).plan_id, (await sub(id)).status], ['biz', 'active']);
    const v = await verifyInvariants(t.svc.ctx.db, await t.now());
    assert.deepEqual(v.violations, []);
  });

  test('to a dearer plan, declined: the answer names the reason and nothing changes', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(3);
    const s0 = await sub(id);
    const r = await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'biz' }, await portalToken(t, id));
    problemOf(r, 402, 'payment_failed');
    assert.equal(r.body.reason, 'insufficient_funds');
    const s1 = await sub(id);
    assert.deepEqual(s1, s0);
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900]);
    const [inv] = await invoices(id);
    assert.deepEqual([inv.kind, inv.status], ['proration', 'void']);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/access`)).body.plan_id, 'pro');
  });

  test('to a cheaper plan: scheduled for the period end, cancellable, applied by the renewal at the new price', async () => {
    const id = await subscribedAccount(t);
    await t.advance(5);
    const tok = await portalToken(t, id);
    const s0 = await sub(id);
    const r = await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'lite' }, tok);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.plan_id, r.body.attempt], ['pro', null]);
    assert.deepEqual(r.body.scheduled_change, { plan_id: 'lite', interval: 'month', at: s0.current_period_end });
    assert.deepEqual((await sub(id)).scheduled_change, r.body.scheduled_change);
    // Back to the current plan: the scheduled change is gone; again: the same plan is refused.
    const u = await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'pro' }, tok);
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.equal(u.body.scheduled_change, null);
    problemOf(await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'pro' }, tok), 409, 'same_plan');
    assert.equal((await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'lite' }, tok)).status, 200);
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900]);
    await t.advance(32);
    const s1 = await sub(id);
    assert.deepEqual([s1.status, s1.plan_id, s1.scheduled_change], ['active', 'lite', null]);
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900, 900]);
    assert.ok(new Date(s1.current_period_start).getTime() === new Date(s0.current_period_end).getTime());
  });

  test('to another interval: at the period end; the yearly period starts where the monthly one ends', async () => {
    const id = await subscribedAccount(t);
    const s0 = await sub(id);
    const r = await t.api('PATCH', `/v1/accounts/${id}/subscription`, { interval: 'year' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.scheduled_change, { plan_id: 'pro', interval: 'year', at: s0.current_period_end });
    await t.advance(32);
    const s1 = await sub(id);
    assert.deepEqual([s1.plan_id, s1.interval, s1.current_period_start], ['pro', 'year', s0.current_period_end]);
    assert.equal(new Date(s1.current_period_end).getUTCFullYear(), new Date(s0.current_period_end).getUTCFullYear() + 1);
    assert.deepEqual((await charges(t, id)).map((c) => c.amount).slice(-1), [29000]);
  });

  test('in grace: at once, the past-due invoice replaced for the same period; a decline keeps the same grace_ends_at', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    const s0 = await sub(id);
    assert.equal(s0.status, 'past_due');
    const [old] = await invoices(id);
    const r = await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'lite' }, await portalToken(t, id));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.status, r.body.plan_id, r.body.grace_ends_at], ['past_due', 'lite', s0.grace_ends_at]);
    assert.deepEqual([r.body.attempt.outcome, r.body.attempt.reason, r.body.attempt.amount], ['declined', 'insufficient_funds', 900]);
    const all = await invoices(id);
    const prev = all.find((x) => x.id === old.id);
    const inv = all.find((x) => x.id === r.body.attempt.invoice_id);
    assert.equal(prev.status, 'void');
    assert.deepEqual([inv.status, inv.plan_id, inv.amount, inv.period_start, inv.period_end], ['past_due', 'lite', 900, old.period_start, old.period_end]);
    // The card recovers: the new invoice is collected at the new price, for the same period.
    await scriptNextCharges(t, id, 'succeed', 5);
    await t.advance(3);
    const s1 = await sub(id);
    assert.deepEqual([s1.status, s1.plan_id, s1.current_period_start, s1.current_period_end], ['active', 'lite', old.period_start, old.period_end]);
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900, 900]);
  });

  test('bad input changes nothing', async () => {
    const id = await subscribedAccount(t);
    const other = await subscribedAccount(t);
    const tok = await portalToken(t, id);
    const s0 = await sub(id);
    problemOf(await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'nope' }, tok), 404, 'unknown_plan');
    problemOf(await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'free' }, tok), 400, 'free_plan');
    problemOf(await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'usd_only' }, tok), 400, 'no_price');
    problemOf(await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'lite', interval: 'year' }, tok), 400, 'no_price');
    problemOf(await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'pro', interval: 'month' }, tok), 409, 'same_plan');
    problemOf(await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'biz', auto_renew: true }, tok), 400, 'validation_error');
    assert.equal((await t.api('PATCH', `/v1/accounts/${other}/subscription`, { plan_id: 'biz' }, tok)).status, 404);
    assert.deepEqual(await sub(id), s0);
    assert.equal((await sub(other)).plan_id, 'pro');
    // A pending cancel, then a canceled subscription: resume or buy instead.
    assert.equal((await t.api('POST', `/v1/accounts/${id}/subscription/cancel`, { at: 'period_end' }, tok)).status, 200);
    problemOf(await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'biz' }, tok), 409, 'cancel_pending');
    assert.equal((await t.api('POST', `/v1/accounts/${id}/subscription/cancel`, { at: 'now' }, tok)).status, 200);
    problemOf(await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'biz' }, tok), 409, 'not_subscribed');
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900]);
  });

  test('renewd verify finds nothing wrong after all of it', async () => {
    const report = await verifyInvariants(t.svc.ctx.db, await t.now());
    assert.deepEqual(report.violations, []);
  });
});
