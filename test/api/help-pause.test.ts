// Issue 18 item 3, end to end with the test clock: a customer's help request on a past-due invoice
// pauses the downgrade (up to the policy's help_pause_days); the operator's answer restarts the
// clock with the time that was left, shown in the answer e-mail and GET …/subscription.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { latestInvoice, portalToken, templates } from './helpers.ts';

const DAY = 86_400_000;

describe('A help request pauses the downgrade clock', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
    await createPlans(t);
  });
  after(() => t?.close());

  const now = async () => (await t.now()).getTime();
  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;

  test('asked with a day left, answered three days later: one more day from the answer, then the downgrade', async () => {
    const A = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    const inv = (await latestInvoice(t, A)).id;
    const s0 = await sub(A);
    assert.equal(s0.status, 'past_due');
    assert.equal(s0.downgrade_paused_at, null);
    const graceEnd = new Date(s0.grace_ends_at).getTime();
    await t.advanceTo(new Date(graceEnd - DAY));
    const asked = await now();
    const r = await t.api('POST', `/v1/invoices/${inv}/help-requests`, { message: 'My salary comes on Friday, can you wait?' }, await portalToken(t, A));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const paused = await sub(A);
    assert.equal(new Date(paused.downgrade_paused_at).getTime(), asked);
    assert.equal(new Date(paused.grace_ends_at).getTime(), graceEnd + 7 * DAY, 'the downgrade if nobody answers: grace + the 7-day cap');
    // Past the original grace end: still in grace, the downgrade waits for the answer.
    await t.advanceTo(new Date(asked + 3 * DAY));
    assert.equal((await sub(A)).status, 'past_due');
    assert.equal((await t.api('GET', `/v1/accounts/${A}/access`)).body.paid, true);
    const answeredAt = await now();
    const ans = await t.api('POST', `/v1/help-requests/${r.body.id}/answer`, { answer: 'Of course: we will wait.' });
    assert.equal(ans.status, 200, JSON.stringify(ans.body));
    const resumed = await sub(A);
    assert.equal(resumed.downgrade_paused_at, null);
    assert.equal(new Date(resumed.grace_ends_at).getTime(), answeredAt + DAY, 'the day that was left, counted from the answer');
    const tl = (await t.api('GET', `/v1/accounts/${A}/timeline`)).body.events.map((e: any) => e.type);
    assert.ok(tl.includes('dunning.downgrade_paused') && tl.includes('dunning.downgrade_resumed'), tl.join(' '));
    const mails = (await t.api('GET', `/v1/notifications?account_id=${A}`)).body.data;
    assert.ok(mails.some((m: any) => m.template === 'help_request_received'));
    assert.ok(mails.some((m: any) => m.template === 'help_request_answered'));
    await t.advanceTo(new Date(answeredAt + DAY - 60_000));
    assert.equal((await sub(A)).status, 'past_due');
    await t.advanceTo(new Date(answeredAt + DAY + 60_000));
    assert.equal((await sub(A)).status, 'downgraded');
    assert.ok((await templates(t, A)).includes('downgraded'));
  });

  test('nobody answers: the downgrade comes at the cap; a second request in the same grace gets only what is left', async () => {
    const B = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    const tok = await portalToken(t, B);
    const inv = (await latestInvoice(t, B)).id;
    const graceEnd = new Date((await sub(B)).grace_ends_at).getTime();
    const r1 = await t.api('POST', `/v1/invoices/${inv}/help-requests`, { message: 'first' }, tok);
    await t.advance(2);
    await t.api('POST', `/v1/help-requests/${r1.body.id}/close`);
    const afterFirst = new Date((await sub(B)).grace_ends_at).getTime();
    assert.ok(Math.abs(afterFirst - (graceEnd + 2 * DAY)) < 60_000, `${afterFirst - graceEnd}`);
    const r2 = await t.api('POST', `/v1/invoices/${inv}/help-requests`, { message: 'second' }, await portalToken(t, B));
    assert.equal(r2.status, 201, JSON.stringify(r2.body));
    const s2 = await sub(B);
    assert.ok(Math.abs(new Date(s2.grace_ends_at).getTime() - (graceEnd + 7 * DAY)) < 60_000, `the cap counts both requests: ${JSON.stringify(s2)} ${new Date(graceEnd).toISOString()}`);
    await t.advanceTo(new Date(graceEnd + 7 * DAY + 60_000));
    assert.equal((await sub(B)).status, 'downgraded');
  });

  test('help_pause_days is policy: validated, 0 turns the pause off', async () => {
    const bad = await t.api('PUT', '/v1/dunning-policy', { help_pause_days: 31 });
    assert.equal(bad.status, 400);
    assert.equal((await t.api('PUT', '/v1/dunning-policy', { help_pause_days: 0 })).body.help_pause_days, 0);
    const C = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    const before = (await sub(C)).grace_ends_at;
    await t.api('POST', `/v1/invoices/${(await latestInvoice(t, C)).id}/help-requests`, { message: 'help' }, await portalToken(t, C));
    assert.equal((await sub(C)).grace_ends_at, before);
    assert.equal((await t.api('PUT', '/v1/dunning-policy', { help_pause_days: 7 })).body.help_pause_days, 7);
  });
});
