// Archived plans (issue 15, bad input: "an unknown, free, archived or other-currency plan"):
// POST /v1/plans/{id}/archive (operator only). An archived plan is no longer bought, restored or
// changed to (409 plan_archived, nothing changes) and portal tokens no longer see it; subscriptions
// already on it keep renewing at its price, and a change to it scheduled before it was archived
// still applies at the period end.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, card, CARDS, type TestService } from '../helpers/service.ts';
import { charges, portalToken, problemOf } from './helpers.ts';
import { verifyInvariants } from '../../src/engine/verify.ts';

describe('archived plans (PGlite)', () => {
  let t: TestService;
  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
  const snapshot = async () =>
    (await t.svc.ctx.db.query<any>(
      `SELECT (SELECT json_agg(s ORDER BY id) FROM subscriptions s) AS subs, (SELECT count(*) FROM invoices)::int AS invoices, (SELECT count(*) FROM payment_attempts)::int AS attempts`,
    ))[0];
  const freshAccount = async () => {
    const a = await t.api('POST', '/v1/accounts', { name: 'Acme', email: 'billing@acme.example', locale: 'fr-FR', domain_zone: 'fr', currency: 'EUR', time_zone: 'Europe/Paris' });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal((await t.api('PUT', `/v1/accounts/${a.body.id}/payment-method`, card(CARDS.ok))).status, 200);
    return a.body.id as string;
  };

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    for (const p of [
      { id: 'gold', name: 'Gold', prices: [{ currency: 'EUR', interval: 'month', amount: 4900 }] },
      { id: 'lite', name: 'Lite', prices: [{ currency: 'EUR', interval: 'month', amount: 900 }] },
      { id: 'old', name: 'Old', prices: [{ currency: 'EUR', interval: 'month', amount: 1500 }] },
    ]) {
      const r = await t.api('POST', '/v1/plans', p);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });
  after(() => t?.close());

  test('archive: operator only, 404 unknown, 409 for the free plan, idempotent; portal tokens no longer see it', async () => {
    const id = await subscribedAccount(t);
    const tk = await portalToken(t, id);
    problemOf(await t.api('POST', '/v1/plans/nope/archive'), 404, 'unknown_plan');
    problemOf(await t.api('POST', '/v1/plans/free/archive'), 409, 'free_plan_not_archivable');
    problemOf(await t.api('POST', '/v1/plans/old/archive', undefined, tk), 403, 'forbidden');
    problemOf(await t.api('POST', '/v1/plans/old/archive', undefined, null), 401, 'unauthorized');
    for (let i = 0; i < 2; i++) {
      const r = await t.api('POST', '/v1/plans/old/archive');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual([r.body.id, r.body.archived], ['old', true]);
    }
    const [{ archived_at }] = await t.svc.ctx.db.query<{ archived_at: Date }>(`SELECT archived_at FROM plans WHERE id = 'old'`);
    assert.ok(archived_at);
    const all = (await t.api('GET', '/v1/plans')).body.data as any[];
    assert.deepEqual(all.map((p) => [p.id, p.archived]).sort(), [['free', false], ['gold', false], ['lite', false], ['old', true], ['pro', false]]);
    const mine = (await t.api('GET', '/v1/plans', undefined, tk)).body.data as any[];
    assert.deepEqual(mine.map((p) => p.id).sort(), ['free', 'gold', 'lite', 'pro']);
    assert.ok(mine.every((p) => !('archived' in p)));
    assert.deepEqual((await t.svc.ctx.commands.plansFor(id)).map((p) => p.id).sort(), ['free', 'gold', 'lite', 'pro']);
  });

  test('buying an archived plan (operator or the customer): 409 plan_archived, nothing changes', async () => {
    const id = await freshAccount();
    const before = await snapshot();
    for (const token of [undefined, await portalToken(t, id)]) {
      const r = await t.api('POST', '/v1/subscriptions', { account_id: id, plan_id: 'old', interval: 'month' }, token);
      problemOf(r, 409, 'plan_archived');
      assert.equal(r.body.errors[0].field, 'plan_id');
    }
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(await charges(t, id), []);
  });

  test('changing to an archived plan: 409 plan_archived, nothing changes', async () => {
    const id = await subscribedAccount(t);
    const before = await snapshot();
    for (const token of [undefined, await portalToken(t, id)]) problemOf(await t.api('PATCH', `/v1/accounts/${id}/subscription`, { plan_id: 'old' }, token), 409, 'plan_archived');
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900]);
    assert.equal((await sub(id)).plan_id, 'pro');
  });

  test('a subscription on a plan archived later keeps renewing at its price; a change to it scheduled before still applies', async () => {
    const onGold = await subscribedAccount(t);
    const r = await t.api('PATCH', `/v1/accounts/${onGold}/subscription`, { plan_id: 'gold' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.plan_id, 'gold');
    const toLite = await subscribedAccount(t);
    const s = await t.api('PATCH', `/v1/accounts/${toLite}/subscription`, { plan_id: 'lite' });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.equal(s.body.scheduled_change.plan_id, 'lite');
    for (const p of ['gold', 'lite']) assert.equal((await t.api('POST', `/v1/plans/${p}/archive`)).status, 200);
    // The customer on gold may still keep it (the same plan again is same_plan, not plan_archived) but not buy lite now.
    problemOf(await t.api('PATCH', `/v1/accounts/${onGold}/subscription`, { plan_id: 'gold' }), 409, 'same_plan');
    problemOf(await t.api('PATCH', `/v1/accounts/${onGold}/subscription`, { plan_id: 'lite' }), 409, 'plan_archived');
    const paidGold = (await charges(t, onGold)).length;
    await t.advance(32);
    const g = await sub(onGold);
    assert.deepEqual([g.status, g.plan_id], ['active', 'gold']);
    const gc = await charges(t, onGold);
    assert.deepEqual(gc.slice(paidGold).map((c) => c.amount), [4900]);
    const l = await sub(toLite);
    assert.deepEqual([l.status, l.plan_id, l.scheduled_change], ['active', 'lite', null]);
    assert.deepEqual((await charges(t, toLite)).map((c) => c.amount), [2900, 900]);
    assert.deepEqual((await verifyInvariants(t.svc.ctx.db, await t.now())).violations, []);
  });

  test('unarchive: on offer again, bought as before', async () => {
    const r = await t.api('POST', '/v1/plans/old/unarchive');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.archived, false);
    problemOf(await t.api('POST', '/v1/plans/nope/unarchive'), 404, 'unknown_plan');
    const id = await freshAccount();
    const b = await t.api('POST', '/v1/subscriptions', { account_id: id, plan_id: 'old', interval: 'month' }, await portalToken(t, id));
    assert.equal(b.status, 201, JSON.stringify(b.body));
    assert.deepEqual([b.body.status, b.body.plan_id], ['active', 'old']);
  });
});
