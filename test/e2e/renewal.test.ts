// Issue 2 end to end, through HTTP: plans, accounts, cards, subscriptions; a month of test clock
// renews them (invoices paid, periods rolled); bad input is refused and changes nothing.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, card, CARDS, T0, type TestService } from '../helpers/service.ts';
import { ENGINES } from '../helpers/db.ts';

for (const engine of ENGINES) {
  describe(`renewals through the API on ${engine}`, () => {
    let t: TestService;
    before(async () => {
      t = await startTestService({ engine });
      await createPlans(t);
    });
    after(() => t.close());

    test('subscribe charges the first period; a month later the renewal is paid and the period rolls', async () => {
      const id = await subscribedAccount(t);
      let sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
      assert.equal(sub.status, 'active');
      assert.equal(sub.plan_id, 'pro');
      assert.equal(sub.current_period_start, T0);
      assert.equal(sub.current_period_end, '2026-02-28T09:00:00.000Z'); // Jan 31 → Feb 28, Paris time
      assert.deepEqual((await t.api('GET', `/v1/accounts/${id}/access`)).body, { plan_id: 'pro', paid: true, reason: 'active', until: '2026-02-28T09:00:00.000Z' });

      await t.advance(31);
      sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
      assert.equal(sub.status, 'active');
      assert.equal(sub.current_period_start, '2026-02-28T09:00:00.000Z');
      assert.equal(sub.current_period_end, '2026-03-31T08:00:00.000Z'); // month-end anchor back to the 31st (CEST)
      const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data;
      assert.equal(inv.length, 2);
      assert.deepEqual(inv.map((i: any) => i.status), ['paid', 'paid']);
      assert.equal(inv[0].period_start, '2026-02-28T09:00:00.000Z');
      assert.equal(inv[0].attempts.length, 1);
      assert.equal(inv[0].attempts[0].outcome, 'succeeded');
      assert.equal(inv[0].retry.available, false);
      const mails = await t.svc.ctx.db.query<any>('SELECT template FROM notifications WHERE account_id = $1 ORDER BY created_at', [id]);
      assert.deepEqual(mails.map((m) => m.template), ['purchase_succeeded', 'renewal_succeeded'], 'the purchase is a receipt for a start, the renewal for a renewal');
    });

    test('yearly and JPY subscriptions renew with their own amounts', async () => {
      const y = await subscribedAccount(t, { interval: 'year', currency: 'EUR' });
      const j = await subscribedAccount(t, { currency: 'JPY', locale: 'ja-JP', domain_zone: 'jp', time_zone: 'Asia/Tokyo' });
      const yi = (await t.api('GET', `/v1/accounts/${y}/invoices`)).body.data;
      assert.equal(yi[0].amount, 29000);
      const ys = (await t.api('GET', `/v1/accounts/${y}/subscription`)).body;
      assert.equal(new Date(ys.current_period_end).getUTCFullYear() - new Date(ys.current_period_start).getUTCFullYear(), 1);
      const ji = (await t.api('GET', `/v1/accounts/${j}/invoices`)).body.data;
      assert.deepEqual([ji[0].amount, ji[0].currency], [3500, 'JPY']);
    });

    test('auto-renew off: the account moves to the free plan at period end without a charge', async () => {
      const id = await subscribedAccount(t);
      const r = await t.api('PATCH', `/v1/accounts/${id}/subscription`, { auto_renew: false });
      assert.equal(r.status, 200);
      assert.equal(r.body.auto_renew, false);
      await t.advance(32);
      const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
      assert.equal(sub.status, 'canceled');
      assert.equal(sub.plan_id, 'free');
      assert.equal((await t.api('GET', `/v1/accounts/${id}/access`)).body.paid, false);
      assert.equal((await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data.length, 1); // only the purchase
    });

    test('a declined first payment answers 402 and leaves the account on the free plan', async () => {
      const acc = (await t.api('POST', '/v1/accounts', { name: 'B', email: 'b@example.com', locale: 'en', domain_zone: 'com', currency: 'EUR' })).body;
      assert.equal((await t.api('PUT', `/v1/accounts/${acc.id}/payment-method`, card(CARDS.insufficient_funds))).status, 200);
      const r = await t.api('POST', '/v1/subscriptions', { account_id: acc.id, plan_id: 'pro', interval: 'month' });
      assert.equal(r.status, 402);
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(r.body.type, 'urn:renewd:problem:payment_failed');
      assert.equal(r.body.reason, 'insufficient_funds');
      assert.deepEqual((await t.api('GET', `/v1/accounts/${acc.id}/access`)).body.paid, false);
      // A good card then buys the plan.
      await t.api('PUT', `/v1/accounts/${acc.id}/payment-method`, card(CARDS.ok));
      assert.equal((await t.api('POST', '/v1/subscriptions', { account_id: acc.id, plan_id: 'pro', interval: 'month' })).status, 201);
      assert.equal((await t.api('GET', `/v1/accounts/${acc.id}/access`)).body.reason, 'active');
    });

    test('bad input gets a problem+json 4xx and changes nothing', async () => {
      const count = async () =>
        (await t.svc.ctx.db.query<any>(
          `SELECT (SELECT count(*) FROM plans) + (SELECT count(*) FROM accounts) + (SELECT count(*) FROM subscriptions) + (SELECT count(*) FROM payment_methods) + (SELECT count(*) FROM invoices) AS n`,
        ))[0].n;
      const id = await subscribedAccount(t);
      const before = await count();
      const cases: [string, string, unknown, number][] = [
        ['POST', '/v1/plans', { id: 'x', name: 'X', prices: [{ currency: 'EUR', interval: 'month', amount: -5 }] }, 400],
        ['POST', '/v1/plans', { id: 'x', name: 'X', prices: [{ currency: 'XYZ', interval: 'month', amount: 5 }] }, 400],
        ['POST', '/v1/plans', { id: 'x', name: 'X', prices: [{ currency: 'EUR', interval: 'week', amount: 5 }] }, 400],
        ['POST', '/v1/plans', { id: 'pro', name: 'Again', prices: [{ currency: 'EUR', interval: 'month', amount: 500 }] }, 409],
        ['POST', '/v1/plans', { id: 'x', name: 'X', prices: [], extra: 1 }, 400],
        ['POST', '/v1/accounts', { name: 'A', email: 'not-an-email', locale: 'fr', domain_zone: 'fr', currency: 'EUR' }, 400],
        ['POST', '/v1/accounts', { name: 'A', email: 'a@b.c', locale: 'fr', domain_zone: 'fr', currency: 'EUR', time_zone: 'Mars/Olympus' }, 400],
        ['POST', '/v1/accounts', { name: 'A', email: 'a@b.c', locale: 'fr', domain_zone: 'fr', currency: 'EUR', amount: '12' }, 400],
        ['POST', '/v1/accounts', '{"name": "broken json', 400],
        ['PUT', `/v1/accounts/${id}/payment-method`, { type: 'card', card: { number: '4242', exp_month: 12, exp_year: 2030 } }, 400],
        ['PUT', `/v1/accounts/${id}/payment-method`, { type: 'card', card: { number: CARDS.ok, exp_month: 13, exp_year: 2030 } }, 400],
        ['PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.incorrect_number), 402],
        ['PUT', '/v1/accounts/acct_nope/payment-method', card(CARDS.ok), 404],
        ['POST', '/v1/subscriptions', { account_id: id, plan_id: 'pro', interval: 'month' }, 409],
        ['POST', '/v1/subscriptions', { account_id: id, plan_id: 'nope', interval: 'month' }, 404],
        ['POST', '/v1/subscriptions', { account_id: id, plan_id: 'pro', interval: 'month', auto_renew: 'yes' }, 400],
        ['GET', '/v1/accounts/acct_nope/subscription', undefined, 404],
        ['GET', '/v1/accounts/acct_nope/access', undefined, 404],
        ['POST', '/v1/test-clock/advance', { days: -1 }, 400],
        ['POST', '/v1/test-clock/advance', { to: '2020-01-01T00:00:00Z' }, 409],
        ['POST', '/v1/test-clock/advance', { to: 'yesterday' }, 400],
        ['PUT', '/v1/dunning-policy', { retry_schedule: [1, 30] }, 400],
        ['GET', '/v1/no/such/route', undefined, 404],
      ];
      for (const [method, path, body, status] of cases) {
        const r = await t.api(method, path, body);
        assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
        assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, `${method} ${path}`);
        assert.match(r.body.type, /^urn:renewd:problem:/);
        assert.equal(typeof r.body.detail, 'string');
      }
      assert.equal(await count(), before);
      // No key, a wrong key.
      assert.equal((await t.api('GET', `/v1/accounts/${id}`, undefined, null)).status, 401);
      assert.equal((await t.api('GET', `/v1/accounts/${id}`, undefined, 'rk_wrong')).status, 401);
    });

    test('the OpenAPI document lists the contract endpoints', async () => {
      const doc = (await t.api('GET', '/openapi.json', undefined, null)).body;
      assert.equal(doc.openapi, '3.1.0');
      for (const p of ['/v1/plans', '/v1/accounts', '/v1/accounts/{id}/payment-method', '/v1/subscriptions', '/v1/accounts/{id}/subscription', '/v1/accounts/{id}/access', '/v1/accounts/{id}/invoices', '/v1/invoices/{id}/retry', '/v1/dunning-policy', '/v1/test-clock/advance'])
        assert.ok(doc.paths[p], `missing ${p}`);
    });
  });
}
