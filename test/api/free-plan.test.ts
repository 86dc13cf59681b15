// Issue 17, item 5: the first steps as README tells them. A paid subscription needs the free plan
// (where a downgrade or a cancel leads) to exist first, and the free plan is created without
// prices — `"prices": []` is no longer required.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, card, CARDS, type TestService } from '../helpers/service.ts';
import { problemOf } from './helpers.ts';

describe('the free plan, first', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
  });
  after(() => t?.close());

  test('a paid subscription before the free plan is 409 no_free_plan saying what to do; the free plan needs no prices; a paid plan still does', async () => {
    const pro = await t.api('POST', '/v1/plans', { id: 'pro', name: 'Pro', prices: [{ currency: 'EUR', interval: 'month', amount: 2900 }] });
    assert.equal(pro.status, 201, JSON.stringify(pro.body));
    const acc = await t.api('POST', '/v1/accounts', { name: 'Acme', email: 'billing@acme.example', locale: 'fr-FR', domain_zone: 'fr', currency: 'EUR' });
    assert.equal((await t.api('PUT', `/v1/accounts/${acc.body.id}/payment-method`, card(CARDS.ok))).status, 200);
    const early = await t.api('POST', '/v1/subscriptions', { account_id: acc.body.id, plan_id: 'pro', interval: 'month' });
    problemOf(early, 409, 'no_free_plan');
    assert.match(early.body.detail, /free: true/);

    problemOf(await t.api('POST', '/v1/plans', { id: 'lite', name: 'Lite' }), 400, 'no_price');
    // A price the gateway would refuse to charge (Stripe: at least €0.50, ¥50) would fail every renewal.
    const tiny = await t.api('POST', '/v1/plans', { id: 'tiny', name: 'Tiny', prices: [{ currency: 'EUR', interval: 'year', amount: 4900 }, { currency: 'JPY', interval: 'month', amount: 49 }] });
    problemOf(tiny, 400, 'price_below_minimum');
    assert.deepEqual(tiny.body.errors.map((e: { field: string }) => e.field), ['/prices/1/amount']);
    assert.ok(!(await t.api('GET', '/v1/plans')).body.data.some((p: { id: string }) => p.id === 'tiny'), 'nothing created');
    const free = await t.api('POST', '/v1/plans', { id: 'free', name: 'Free', free: true });
    assert.equal(free.status, 201, JSON.stringify(free.body));
    assert.deepEqual([free.body.free, free.body.prices], [true, []]);

    const sub = await t.api('POST', '/v1/subscriptions', { account_id: acc.body.id, plan_id: 'pro', interval: 'month' });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    assert.equal(sub.body.status, 'active');
  });
});
