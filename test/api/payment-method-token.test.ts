// Issue 16 item 6: a payment method token the gateway refuses (no such payment method or token)
// is the customer's input: a 400 problem with the gateway's reason and code, never a 500, and the
// saved payment method stays as it was.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, type TestService } from '../helpers/service.ts';
import { portalToken, problemOf } from './helpers.ts';

describe('PUT payment-method with a token the gateway refuses', () => {
  let t: TestService;
  let acc: string;
  before(async () => {
    t = await startTestService();
    await createPlans(t);
    acc = await subscribedAccount(t);
  });
  after(() => t?.close());

  for (const [who, token] of [['operator', 'pm_nope'], ['customer', 'pm_nope'], ['customer', 'tok_nope']] as const) {
    test(`${who}, ${token}: 400 payment_method_refused naming the gateway's reason; nothing changes`, async () => {
      const auth = who === 'customer' ? await portalToken(t, acc) : undefined;
      const before = (await t.api('GET', `/v1/accounts/${acc}/payment-method`)).body;
      const r = await t.api('PUT', `/v1/accounts/${acc}/payment-method`, { type: 'card', token }, auth, { 'idempotency-key': `${who}-${token}` });
      problemOf(r, 400, 'payment_method_refused');
      assert.equal(r.body.gateway_code, 'resource_missing');
      assert.match(r.body.detail, new RegExp(`No such .*${token}`));
      assert.deepEqual(r.body.errors.map((e: { field: string }) => e.field), ['token']);
      assert.deepEqual((await t.api('GET', `/v1/accounts/${acc}/payment-method`)).body, before);
    });
  }

  test('a good token still saves', async () => {
    const r = await t.api('PUT', `/v1/accounts/${acc}/payment-method`, { type: 'card', token: 'pm_card_mastercard' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.last4, '4444');
  });
});
