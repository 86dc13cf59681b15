// Issue 19 with a cancel: the renewal's charge waits out the gateway's 429 (nothing was made under
// its key) when the customer cancels. The cancel closes that attempt unsent ('not_made'): after the
// wait nothing is charged, the invoice is void, the account on the free plan, and verify holds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, type TestService } from '../helpers/service.ts';
import { portalToken } from './helpers.ts';

let t: TestService;
before(async () => {
  t = await startTestService();
  await createPlans(t);
});
after(() => t?.close());

test('a cancel while the renewal waits out a 429 closes that attempt unsent: after the wait nothing is charged, and verify holds', async () => {
  const id = await subscribedAccount(t);
  const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
  const chargedBefore = (await t.sandbox('GET', '/_sandbox/charges')).body.data.length;
  // The renewal's charge is rate-limited (Retry-After 60 s, longer than the adapter waits inline).
  assert.equal((await t.sandbox('POST', '/_sandbox/faults', { rateLimits: { next: 1000, chargesOnly: true, retryAfterS: 60 } })).status, 200);
  await t.advanceTo(new Date(Date.parse(sub.current_period_end) + 60_000));
  const renewal = async () => ((await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data as any[]).find((i) => i.kind === 'renewal');
  const waiting = await renewal();
  assert.ok(waiting, 'the renewal invoice is open');
  assert.deepEqual(waiting.attempts.map((a: { outcome: string }) => a.outcome), ['pending']);
  // The customer cancels in that wait; then the gateway takes requests again and time passes.
  const c = await t.api('POST', `/v1/accounts/${id}/subscription/cancel`, { at: 'period_end' }, await portalToken(t, id));
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.equal((await t.sandbox('DELETE', '/_sandbox/faults')).status, 200);
  await t.advance(1);
  const after = await renewal();
  assert.equal(after.status, 'void');
  assert.deepEqual(after.attempts.map((a: { outcome: string }) => a.outcome), ['not_made']);
  assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'canceled');
  assert.equal((await t.sandbox('GET', '/_sandbox/charges')).body.data.length, chargedBefore, 'nothing charged after the cancel');
  const { verifyInvariants } = await import('../../src/engine/verify.ts');
  const charges = (await t.sandbox('GET', '/_sandbox/charges')).body.data;
  assert.deepEqual((await verifyInvariants(t.svc.ctx.db, await t.now(), { charges })).violations, []);
});
