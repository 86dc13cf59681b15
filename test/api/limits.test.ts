// Issue 5, abuse limits: payment-method changes, refused cards (card testing), help requests and
// portal sessions are counted per account in the database (so every process sees the same
// counts), in windows of the service clock; over the limit: 429 rate_limited with Retry-After.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, card, CARDS, type TestService } from '../helpers/service.ts';
import { buildServer } from '../../src/http/server.ts';
import { RATE_LIMITS } from '../../src/engine/limits.ts';
import { latestInvoice, portalToken, problemOf } from './helpers.ts';

describe('abuse limits', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
    await createPlans(t);
  });
  after(() => t?.close());

  const advanceHours = async (hours: number) => assert.equal((await t.api('POST', '/v1/test-clock/advance', { hours })).status, 200);

  function assertLimited(r: { status: number; body: any; headers: Headers }, limit: string) {
    problemOf(r, 429, 'rate_limited');
    assert.equal(r.body.limit, limit);
    const after = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(after) && after > 0 && after <= 24 * 3600, `Retry-After ${r.headers.get('retry-after')}`);
    assert.equal(r.body.retry_after, after);
  }

  test(`payment-method changes: ${RATE_LIMITS.paymentMethodChanges.limit} an hour per account, then 429 with Retry-After; the window passes`, async () => {
    const id = await subscribedAccount(t);
    const tok = await portalToken(t, id, 1440);
    const cards = ['4242424242424242', '5555555555554444', '4000056655665556', '2223003122003222', '5200828282828210'];
    for (const n of cards) {
      const r = await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(n), tok);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const sixth = await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok), tok);
    assertLimited(sixth, 'payment_method_changes');
    assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`, undefined, tok)).body.last4, '8210'); // unchanged
    // The operator is not limited.
    assert.equal((await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok))).status, 200);
    // Another account has its own budget.
    const other = await subscribedAccount(t);
    assert.equal((await t.api('PUT', `/v1/accounts/${other}/payment-method`, card(CARDS.ok), await portalToken(t, other))).status, 200);
    // Another process on the same database sees the same count.
    const second = await buildServer(t.svc.ctx);
    try {
      const r = await second.inject({ method: 'PUT', url: `/v1/accounts/${id}/payment-method`, headers: { authorization: `Bearer ${tok}` }, payload: card(CARDS.ok) });
      assert.equal(r.statusCode, 429);
    } finally {
      await second.close();
    }
    await advanceHours(Number(sixth.headers.get('retry-after')) / 3600 + 0.001);
    assert.equal((await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok), tok)).status, 200);
  });

  test(`card testing: after ${RATE_LIMITS.rejectedCards.limit} refused cards in an hour, further changes wait (429)`, async () => {
    const id = await subscribedAccount(t);
    const tok = await portalToken(t, id, 1440);
    for (const n of [CARDS.incorrect_cvc, CARDS.incorrect_number, CARDS.incorrect_cvc]) {
      const r = await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(n), tok);
      problemOf(r, 402, 'card_rejected');
    }
    // Even a good card waits now: the account looks like it is being used to test cards.
    assertLimited(await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok), tok), 'rejected_cards');
    const rows = await t.svc.ctx.db.query<{ key: string; count: number }>("SELECT key, count FROM rate_counters WHERE key LIKE '%' || $1", [id]);
    const counts = Object.fromEntries(rows.map((r) => [r.key.split(':')[0], r.count]));
    assert.deepEqual([counts.payment_method_changes, counts.rejected_cards], [3, 3]); // the refused 4th took nothing
    await advanceHours(1);
    assert.equal((await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok), tok)).status, 200);
  });

  test(`help requests: ${RATE_LIMITS.helpRequests.limit} a day per account from customers`, async () => {
    const id = await subscribedAccount(t);
    const tok = await portalToken(t, id);
    const inv = (await latestInvoice(t, id)).id;
    for (let i = 0; i < RATE_LIMITS.helpRequests.limit; i++)
      assert.equal((await t.api('POST', `/v1/invoices/${inv}/help-requests`, { message: `help #${i}` }, tok)).status, 201);
    assertLimited(await t.api('POST', `/v1/invoices/${inv}/help-requests`, { message: 'help again' }, tok), 'help_requests');
    assert.equal((await t.api('POST', `/v1/invoices/${inv}/help-requests`, { message: 'operator on behalf of the customer' })).status, 201);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/help-requests`)).body.data.length, RATE_LIMITS.helpRequests.limit + 1);
  });

  test(`portal sessions: ${RATE_LIMITS.portalSessions.limit} an hour per account`, async () => {
    const id = await subscribedAccount(t);
    for (let i = 0; i < RATE_LIMITS.portalSessions.limit; i++) assert.equal((await t.api('POST', `/v1/accounts/${id}/portal-sessions`, {})).status, 201);
    assertLimited(await t.api('POST', `/v1/accounts/${id}/portal-sessions`, {}), 'portal_sessions');
    const other = await subscribedAccount(t);
    assert.equal((await t.api('POST', `/v1/accounts/${other}/portal-sessions`, {})).status, 201);
  });
});
