// Issue 19 through the API: the gateway rate-limits the scheduled retry of a renewal in grace (its
// 429s carry a Retry-After longer than the adapter waits inline, so it gives up at once): the
// attempt waits, nothing is counted or e-mailed; the customer presses Retry: that same attempt is
// made now with its key, and the invoice is paid — no second attempt.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { latestInvoice, portalToken, scriptNextCharges, templates } from './helpers.ts';

let t: TestService;
before(async () => {
  t = await startTestService();
  await createPlans(t);
});
after(() => t?.close());

test("a rate-limited scheduled retry waits uncounted; the customer's Retry makes that same attempt now", async () => {
  const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
  await t.advance(31);
  const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
  assert.equal(sub.status, 'past_due');
  const mailsBefore = (await templates(t, id)).length;
  const before = (await latestInvoice(t, id)).attempts.length;
  // The gateway rate-limits every charge (Retry-After 60 s) when the scheduled retry comes.
  assert.equal((await t.sandbox('POST', '/_sandbox/faults', { rateLimits: { next: 1000, chargesOnly: true, retryAfterS: 60 } })).status, 200);
  await t.advanceTo(sub.next_retry_at);
  const inv = await latestInvoice(t, id);
  assert.deepEqual(inv.attempts.map((a: { outcome: string }) => a.outcome), [...Array(before).fill('declined'), 'pending'], 'the retry waits; nothing else was made');
  const [row] = await t.svc.ctx.db.query<{ raw_code: string; n: number }>(`SELECT raw_code, (SELECT count(*) FROM payment_attempts WHERE invoice_id = $1)::int AS n FROM payment_attempts WHERE invoice_id = $1 AND number = $2`, [inv.id, before + 1]);
  assert.deepEqual(row, { raw_code: 'rate_limited', n: before + 1 });
  assert.equal((await templates(t, id)).length, mailsBefore, 'nothing to tell the customer');
  assert.equal(inv.retry.available, true, 'Retry is offered: the waiting attempt is not in flight');
  // The gateway takes requests again; the customer presses Retry (the card now goes through).
  assert.equal((await t.sandbox('DELETE', '/_sandbox/faults')).status, 200);
  await scriptNextCharges(t, id, 'succeed');
  const r = await t.api('POST', `/v1/invoices/${inv.id}/retry`, undefined, await portalToken(t, id));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.outcome, 'succeeded');
  const paid = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data.find((i: { id: string }) => i.id === inv.id);
  assert.equal(paid.status, 'paid');
  assert.deepEqual(paid.attempts.map((a: { outcome: string; trigger: string }) => [a.outcome, a.trigger]), [...Array(before).fill(['declined', 'scheduled']), ['succeeded', 'scheduled']], 'the same attempt, made now: no second one');
});
