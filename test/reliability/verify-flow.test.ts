// The invariant checker on a store written by the real service (no hand-made rows): purchases,
// renewals, declines of every kind, recoveries by a new card and by Retry, auto-renew off, a
// downgrade and a new purchase after it, over three months of test clock. Zero violations, and
// the sandbox's list of money moved agrees with the store.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, card, CARDS, type TestService } from '../helpers/service.ts';
import { verifyInvariants } from '../../src/engine/verify.ts';

describe('invariants after months of real flows', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService({ engine: 'pglite' });
    await createPlans(t);
  });
  after(() => t.close());

  test('zero violations, gateway included', async () => {
    const ok = await subscribedAccount(t);
    const yearly = await subscribedAccount(t, { interval: 'year' });
    const funds = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    const lost = await subscribedAccount(t, { later: CARDS.lost });
    const expired = await subscribedAccount(t, { later: CARDS.expired, currency: 'USD', locale: 'en-US', time_zone: 'America/New_York', domain_zone: 'com' });
    const auth = await subscribedAccount(t, { later: CARDS.auth_always, locale: 'de-DE', domain_zone: 'de' });
    const tech = await subscribedAccount(t, { later: CARDS.processing_error, currency: 'JPY', locale: 'ja-JP', time_zone: 'Asia/Tokyo', domain_zone: 'jp' });
    const off = await subscribedAccount(t);
    assert.equal((await t.api('PATCH', `/v1/accounts/${off}/subscription`, { auto_renew: false })).status, 200);

    await t.advance(33); // renewals: some paid, the rest in grace
    // Recoveries: a new card (immediate retry), and Retry after authentication.
    assert.equal((await t.api('PUT', `/v1/accounts/${expired}/payment-method`, card(CARDS.ok))).status, 200);
    const authInv = (await t.api('GET', `/v1/accounts/${auth}/invoices`)).body.data.find((i: any) => i.status === 'past_due');
    assert.ok(authInv);
    await t.api('POST', `/v1/invoices/${authInv.id}/retry`);
    await t.advance(20); // grace ends: funds, lost, auth, tech are downgraded
    // A new purchase after the downgrade restores the plan, with a good card.
    assert.equal((await t.api('PUT', `/v1/accounts/${lost}/payment-method`, card(CARDS.ok))).status, 200);
    assert.equal((await t.api('POST', '/v1/subscriptions', { account_id: lost, plan_id: 'pro', interval: 'month' })).status, 201);
    await t.advance(45);

    const status = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status;
    assert.equal(await status(ok), 'active');
    assert.equal(await status(yearly), 'active');
    assert.equal(await status(funds), 'downgraded');
    assert.equal(await status(expired), 'active');
    assert.equal(await status(off), 'canceled');
    assert.equal(await status(lost), 'active');
    void tech;

    const charges = (await t.sandbox('GET', '/_sandbox/charges')).body.data;
    const report = await verifyInvariants(t.svc.ctx.db, await t.now(), { charges });
    assert.deepEqual(report.violations, []);
    assert.ok(report.checked.paid_invoices >= 15, JSON.stringify(report.checked));
    assert.equal(report.checked.gateway_charges, report.checked.paid_invoices);
    assert.ok(report.checked.downgrades >= 3);
    assert.ok(report.checked.past_due_starts >= 5);
  });
});
