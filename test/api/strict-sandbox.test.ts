// Issue 19 through the service: its sandbox refuses a declining card when it is saved (as Stripe
// does: the customer learns it now, not at the next renewal), 4000000000000341 is saved and fails
// at the charge; and a paced service (RENEWD_GATEWAY_RATE) takes every request through the pace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, card, CARDS, type TestService } from '../helpers/service.ts';
import { paceBuckets } from '../../src/store/pace.ts';

describe('a service on a sandbox as strict as Stripe, paced', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService({ sandbox: { declineOnAttach: true }, config: { gatewayRate: 50 } });
    await createPlans(t);
  });
  after(() => t?.close());

  const account = async () =>
    (await t.api('POST', '/v1/accounts', { name: 'Strict', email: 'strict@example.test', locale: 'en-GB', domain_zone: 'uk', currency: 'EUR', time_zone: 'Europe/London' })).body.id as string;

  const declining: Array<[string, string, string | null]> = [
    [CARDS.insufficient_funds, 'card_declined', 'insufficient_funds'],
    [CARDS.generic, 'card_declined', 'generic_decline'],
    [CARDS.lost, 'card_declined', 'lost_card'],
    [CARDS.expired, 'expired_card', 'expired_card'],
    [CARDS.processing_error, 'processing_error', 'processing_error'],
    [CARDS.velocity, 'card_declined', 'card_velocity_exceeded'],
  ];
  for (const [number, code, decline_code] of declining) {
    test(`${number} is refused when saved (card_rejected ${code}/${decline_code}); no card on file`, async () => {
      const id = await account();
      const r = await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(number));
      assert.equal(r.status, 402, JSON.stringify(r.body));
      assert.deepEqual([r.body.type, r.body.code, r.body.decline_code], ['urn:renewd:problem:card_rejected', code, decline_code]);
      assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).status, 404);
    });
  }

  test('4000000000000341 is saved, and the first payment fails at the charge', async () => {
    const id = await account();
    const pm = await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.attach_then_fail));
    assert.equal(pm.status, 200);
    assert.equal(pm.body.last4, '0341');
    const sub = await t.api('POST', '/v1/subscriptions', { account_id: id, plan_id: 'pro', interval: 'month' });
    assert.equal(sub.status, 402, JSON.stringify(sub.body));
  });

  test('a good card: saved and charged through the pace; both lanes exist in the database', async () => {
    const id = await account();
    assert.equal((await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok))).status, 200);
    assert.equal((await t.api('POST', '/v1/subscriptions', { account_id: id, plan_id: 'pro', interval: 'month' })).status, 201);
    const buckets = await paceBuckets(t.svc.ctx.db, new Date());
    assert.deepEqual(buckets.map((b) => [b.bucket, b.ceiling]), [['sandbox:billing', 40], ['sandbox:customer', 10]]);
  });
});
