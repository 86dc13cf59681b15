// Issue 5, Request help: a customer asks about a failed invoice; the request carries the invoice,
// its attempts and the decline reasons; the customer is e-mailed an acknowledgement; operators
// list, answer (e-mailed) and close requests.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { latestInvoice, portalToken, problemOf, templates } from './helpers.ts';

describe('Request help', () => {
  let t: TestService;
  let A: string, tokA: string, invA: string, helpId: string;

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    A = await subscribedAccount(t, { later: CARDS.insufficient_funds, locale: 'de-DE', domain_zone: 'de' });
    await t.advance(31);
    tokA = await portalToken(t, A);
    invA = (await latestInvoice(t, A)).id;
  });
  after(() => t?.close());

  test('a customer requests help about a past-due invoice: 201 {id}, snapshot, acknowledgement e-mail, event', async () => {
    const r = await t.api('POST', `/v1/invoices/${invA}/help-requests`, { message: 'Why was my card declined? I have money on it.' }, tokA);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.match(r.body.id, /^help_/);
    helpId = r.body.id;

    const h = (await t.api('GET', `/v1/help-requests/${helpId}`, undefined, tokA)).body;
    assert.equal(h.status, 'open');
    assert.equal(h.account_id, A);
    assert.equal(h.invoice_id, invA);
    assert.equal(h.message, 'Why was my card declined? I have money on it.');
    assert.equal(h.answer, null);
    const c = h.context;
    assert.equal(c.requested_by, 'customer');
    assert.equal(c.invoice.id, invA);
    assert.equal(c.invoice.status, 'past_due');
    assert.equal(c.invoice.amount, 2900);
    assert.equal(c.payment_method.last4, '9995');
    assert.ok(c.attempts.length >= 2, JSON.stringify(c.attempts));
    for (const a of c.attempts) {
      assert.equal(a.outcome, 'declined');
      assert.equal(a.reason, 'insufficient_funds');
      assert.equal(a.network_code, '51');
    }
    assert.deepEqual(c.decline_reasons, ['insufficient_funds']);
    assert.deepEqual(c.retry, { available: true, reason: null });

    const mails = await templates(t, A);
    assert.equal(mails.filter((m) => m === 'help_request_received').length, 1);
    const tl = (await t.api('GET', `/v1/accounts/${A}/timeline`)).body;
    const ev = tl.events.find((e: any) => e.type === 'help_request.created');
    assert.ok(ev, 'event help_request.created');
    assert.equal(ev.data.help_request_id, helpId);
    assert.equal(ev.invoice_id, invA);
  });

  test('the message is 1 to 5000 characters (not blank), and nothing else', async () => {
    for (const body of [{ message: '' }, { message: '   \n ' }, { message: 'x'.repeat(5001) }, {}, { message: 42 }, { message: 'hi', extra: true }]) {
      problemOf(await t.api('POST', `/v1/invoices/${invA}/help-requests`, body, tokA), 400, 'validation_error');
    }
    const long = await t.api('POST', `/v1/invoices/${invA}/help-requests`, { message: 'y'.repeat(5000) }, tokA);
    assert.equal(long.status, 201);
    problemOf(await t.api('POST', '/v1/invoices/inv_nope/help-requests', { message: 'hello' }, tokA), 404, 'not_found');
  });

  test('the operator sees open requests, answers (e-mailed) and closes them', async () => {
    const open = await t.api('GET', '/v1/help-requests?status=open');
    assert.equal(open.status, 200);
    assert.ok(open.body.data.some((h: any) => h.id === helpId));
    assert.ok(open.body.data.every((h: any) => h.status === 'open'));

    const ans = await t.api('POST', `/v1/help-requests/${helpId}/answer`, { answer: 'Your bank answered "insufficient funds". Press Retry once the money is there.' });
    assert.equal(ans.status, 200, JSON.stringify(ans.body));
    assert.equal(ans.body.status, 'answered');
    assert.ok(ans.body.answered_at);
    assert.equal((await templates(t, A)).filter((m) => m === 'help_request_answered').length, 1);
    const answered = (await t.api('GET', '/v1/help-requests?status=answered')).body.data;
    assert.deepEqual(answered.map((h: any) => h.id), [helpId]);
    // The customer sees the answer.
    const mine = (await t.api('GET', `/v1/accounts/${A}/help-requests`, undefined, tokA)).body.data;
    assert.equal(mine.find((h: any) => h.id === helpId).answer, 'Your bank answered "insufficient funds". Press Retry once the money is there.');

    const closed = await t.api('POST', `/v1/help-requests/${helpId}/close`);
    assert.equal(closed.status, 200);
    assert.equal(closed.body.status, 'closed');
    assert.ok(closed.body.closed_at);
    assert.equal((await t.api('POST', `/v1/help-requests/${helpId}/close`)).status, 200); // closing twice: no change
    problemOf(await t.api('POST', `/v1/help-requests/${helpId}/answer`, { answer: 'late' }), 409, 'conflict');
    assert.deepEqual((await t.api('GET', '/v1/help-requests?status=closed')).body.data.map((h: any) => h.id), [helpId]);
    const tl = (await t.api('GET', `/v1/accounts/${A}/timeline`)).body.events.map((e: any) => e.type);
    assert.ok(tl.includes('help_request.answered') && tl.includes('help_request.closed'));
  });

  test('a customer lists only their own requests and cannot answer, close or see the queue', async () => {
    const mine = await t.api('GET', `/v1/accounts/${A}/help-requests`, undefined, tokA);
    assert.equal(mine.status, 200);
    assert.ok(mine.body.data.length >= 2);
    assert.ok(mine.body.data.every((h: any) => h.account_id === A));
    problemOf(await t.api('GET', '/v1/help-requests?status=open', undefined, tokA), 403, 'forbidden');
    problemOf(await t.api('POST', `/v1/help-requests/${helpId}/answer`, { answer: 'self-service' }, tokA), 403, 'forbidden');
    problemOf(await t.api('POST', `/v1/help-requests/${helpId}/close`, undefined, tokA), 403, 'forbidden');
    problemOf(await t.api('GET', '/v1/help-requests?status=pending'), 400, 'validation_error');
  });

  test('an operator may open a request for the customer, about a paid invoice too', async () => {
    const paid = (await t.api('GET', `/v1/accounts/${A}/invoices`)).body.data.find((i: any) => i.status === 'paid');
    const r = await t.api('POST', `/v1/invoices/${paid.id}/help-requests`, { message: 'Customer called about the first invoice.' });
    assert.equal(r.status, 201);
    const h = (await t.api('GET', `/v1/help-requests/${r.body.id}`)).body;
    assert.equal(h.context.requested_by, 'operator');
    assert.equal(h.context.invoice.status, 'paid');
    assert.deepEqual(h.context.decline_reasons, []);
    assert.deepEqual(h.context.retry, { available: false, reason: 'invoice_not_past_due' });
  });
});
