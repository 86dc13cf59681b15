// Issue 18 item 5, a backup card, end to end through the API with the test clock: the main card's
// decline that says it will not work soon charges the backup at once and the receipt names it;
// without consent nothing is saved or charged; the backup's own decline sends the invoice back to
// waiting for the customer; after the policy's number of failures the next slot is the backup's;
// replacing the main card keeps the backup; a removed backup is never charged.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, card, CARDS, type TestService } from '../helpers/service.ts';
import { charges, latestInvoice, portalToken, problemOf } from './helpers.ts';

describe('backup card (issue 18 item 5)', () => {
  let t: TestService;
  const acc: Record<string, string> = {};
  const backupId: Record<string, string> = {};
  const en = { locale: 'en-US', domain_zone: 'com', time_zone: 'UTC' };
  const path = (id: string) => `/v1/accounts/${id}/backup-payment-method`;

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    acc.expired = await subscribedAccount(t, { ...en, later: CARDS.expired });
    acc.noConsent = await subscribedAccount(t, { ...en, later: CARDS.lost });
    acc.removed = await subscribedAccount(t, { ...en, later: CARDS.lost });
    acc.backupDeclines = await subscribedAccount(t, { ...en, later: CARDS.stolen });
    acc.afterFailures = await subscribedAccount(t, { ...en, later: CARDS.insufficient_funds });
  });
  after(() => t?.close());

  test('saving needs consent: 400 consent_required, nothing saved', async () => {
    const tok = await portalToken(t, acc.noConsent);
    for (const body of [card(CARDS.ok), { ...card(CARDS.ok), consent: false }]) {
      const r = await t.api('PUT', path(acc.noConsent), body, tok);
      problemOf(r, 400, 'consent_required');
    }
    problemOf(await t.api('GET', path(acc.noConsent), undefined, tok), 404, 'not_found');
  });

  test('saved with consent (customer token): both cards are shown with their role; replacing the main card keeps the backup', async () => {
    const tok = await portalToken(t, acc.expired);
    const r = await t.api('PUT', path(acc.expired), { ...card(CARDS.ok), consent: true }, tok);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.role, 'backup');
    assert.equal(r.body.last4, '4242');
    assert.equal(r.body.attempt, null, 'nothing is past due: nothing charged');
    assert.match(r.body.consent_text, /main card fails/);
    backupId.expired = r.body.id;
    const main = await t.api('GET', `/v1/accounts/${acc.expired}/payment-method`, undefined, tok);
    assert.equal(main.body.last4, '0069', 'the main card is unchanged');
    // The customer replaces the main card (still one that fails): the backup stays.
    assert.equal((await t.api('PUT', `/v1/accounts/${acc.expired}/payment-method`, card(CARDS.expired), tok)).status, 200);
    const again = await t.api('GET', path(acc.expired), undefined, tok);
    assert.equal(again.status, 200);
    assert.equal(again.body.id, backupId.expired);
    // Another customer's token sees nothing.
    problemOf(await t.api('GET', path(acc.noConsent), undefined, tok), 404, 'not_found');
  });

  test('a removed backup is gone (DELETE 204, GET 404)', async () => {
    const tok = await portalToken(t, acc.removed);
    assert.equal((await t.api('PUT', path(acc.removed), { ...card(CARDS.ok), consent: true }, tok)).status, 200);
    const del = await t.api('DELETE', path(acc.removed), undefined, tok);
    assert.equal(del.status, 204);
    problemOf(await t.api('GET', path(acc.removed), undefined, tok), 404, 'not_found');
  });

  test('operator saves backups for the other accounts', async () => {
    for (const [k, n] of [['backupDeclines', CARDS.insufficient_funds], ['afterFailures', CARDS.ok]] as const) {
      const r = await t.api('PUT', path(acc[k]), { ...card(n), consent: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      backupId[k] = r.body.id;
    }
  });

  test('the renewal: an expired main card → the backup is charged at once, the invoice is paid and the receipt names the backup', async () => {
    await t.advance(31);
    const inv = await latestInvoice(t, acc.expired);
    assert.equal(inv.status, 'paid', JSON.stringify(inv));
    assert.deepEqual(inv.attempts.map((a: any) => [a.outcome, a.reason, a.payment_method_id === backupId.expired]), [
      ['declined', 'card_expired_or_inactive', false],
      ['succeeded', null, true],
    ]);
    const tl = (await t.api('GET', `/v1/accounts/${acc.expired}/timeline`)).body;
    const paid = tl.events.find((e: any) => e.type === 'invoice.paid' && e.data.invoice_id === inv.id);
    assert.deepEqual(paid.data.paid_with, { payment_method_id: backupId.expired, brand: 'visa', last4: '4242', role: 'backup' });
    const list = (await t.api('GET', `/v1/notifications?account_id=${acc.expired}`)).body.data as { id: string; template: string }[];
    const receipt = list.find((m) => m.template === 'retry_succeeded');
    assert.ok(receipt, JSON.stringify(list.map((m) => m.template)));
    const full = (await t.api('GET', `/v1/notifications/${receipt.id}`)).body;
    assert.match(full.body_text, /backup card Visa •••• 4242/);
  });

  test('no backup (refused without consent, or removed): the lost card is not retried and nothing else is charged', async () => {
    for (const k of ['noConsent', 'removed']) {
      const inv = await latestInvoice(t, acc[k]);
      assert.equal(inv.status, 'past_due', k);
      assert.equal(inv.attempts.length, 1, k);
      assert.equal((await charges(t, acc[k])).length, 1, `${k}: the first period only`);
    }
  });

  test("the backup's own decline: tried once, then the invoice waits for the customer", async () => {
    const inv = await latestInvoice(t, acc.backupDeclines);
    assert.equal(inv.status, 'past_due');
    assert.deepEqual(inv.attempts.map((a: any) => [a.reason, a.payment_method_id === backupId.backupDeclines]), [
      ['declined_by_bank', false],
      ['insufficient_funds', true],
    ]);
    const sub = (await t.api('GET', `/v1/accounts/${acc.backupDeclines}/subscription`)).body;
    assert.equal(sub.next_retry_at, null);
    assert.equal(sub.next_retry_why, 'waiting_for_customer');
  });

  test('after backup_after_failures (2) failures of the main card, its next slot charges the backup', async () => {
    // The renewal (Feb 28) and the day-1 retry failed on the main card; the day-3 slot (now) was the backup's.
    const inv = await latestInvoice(t, acc.afterFailures);
    assert.equal(inv.status, 'paid', JSON.stringify(inv));
    assert.deepEqual(inv.attempts.map((a: any) => [a.outcome, a.reason, a.payment_method_id === backupId.afterFailures]), [
      ['declined', 'insufficient_funds', false],
      ['declined', 'insufficient_funds', false],
      ['succeeded', null, true],
    ]);
    const tl = (await t.api('GET', `/v1/accounts/${acc.afterFailures}/timeline`)).body;
    assert.ok(tl.events.some((e: any) => e.type === 'dunning.retry_planned' && e.data.why === 'backup_card'), 'the plan said the backup was next');
    await t.advance(5);
    // Days later the declined backup of the other account was never charged again.
    const other = await latestInvoice(t, acc.backupDeclines);
    assert.equal(other.attempts.length, 2);
  });

  test('a backup saved (with consent) while the main card waits for the customer is charged at once: `attempt` in the answer', async () => {
    const tok = await portalToken(t, acc.noConsent);
    const r = await t.api('PUT', path(acc.noConsent), { ...card(CARDS.ok), consent: true }, tok);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.attempt, { outcome: 'succeeded', reason: null });
    const inv = await latestInvoice(t, acc.noConsent);
    assert.equal(inv.status, 'paid');
    assert.equal(inv.attempts.at(-1)!.payment_method_id, r.body.id);
  });

  test("the gateway's hosted page with purpose backup: refused without consent; with it, the card is saved as the backup and charged at once", async () => {
    const id = await subscribedAccount(t, { ...en, later: CARDS.lost });
    await t.advance(31);
    assert.equal((await latestInvoice(t, id)).status, 'past_due');
    problemOf(await t.api('POST', `/v1/accounts/${id}/card-setup-sessions`, { purpose: 'backup' }), 400, 'consent_required');
    const r = await t.api('POST', `/v1/accounts/${id}/card-setup-sessions`, { purpose: 'backup', consent: true, return_url: 'https://app.example.com/billing' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    // The customer types the card on the hosted page (as a browser would).
    const typed = await fetch(r.body.url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ number: CARDS.ok, expiry: '12/34', cvc: '123' }).toString() });
    assert.equal(typed.status, 303);
    const ret = await fetch(typed.headers.get('location')!, { redirect: 'manual' });
    assert.equal(ret.headers.get('location'), 'https://app.example.com/billing?card_setup=paid');
    const b = (await t.api('GET', path(id))).body;
    assert.equal(b.last4, '4242');
    assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).body.last4, '9987', 'the main card is unchanged');
    const inv = await latestInvoice(t, id);
    assert.equal(inv.status, 'paid');
    assert.equal(inv.attempts.at(-1)!.payment_method_id, b.id);
  });
});
