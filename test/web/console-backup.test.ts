// The customer's backup card on the console's account page (plain HTTP, the console's session and
// CSRF token, like the plan change in console-pages.test.ts): shown beside the main card with the
// recorded consent, or "No backup card"; the operator's "Remove backup card" is the same engine
// command as DELETE …/backup-payment-method, its outcome the page's flash.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, ADMIN_KEY, type TestService } from '../helpers/service.ts';
import { formClient } from '../helpers/forms.ts';
import { problemOf } from '../api/helpers.ts';
import { when } from '../../src/web/console/format.ts';

describe('console: the customer’s backup card on the account page', () => {
  let t: TestService;
  let cookie = '';
  before(async () => {
    t = await startTestService();
    await createPlans(t);
    const ok = await signIn(ADMIN_KEY);
    assert.equal(ok.status, 303);
    cookie = ok.cookie;
  });
  after(() => t?.close());

  const { get, post, csrfOf, signIn } = formClient(() => t.url);
  const backupPath = (id: string) => `/v1/accounts/${id}/backup-payment-method`;
  const page = async (id: string) => {
    const r = await get(`/console/accounts/${id}`, cookie);
    assert.equal(r.status, 200);
    return r.text();
  };
  /** The backup card's line (<dd id="backup-card">), as text. */
  const backupLine = (p: string) => /<dd id="backup-card">([\s\S]*?)<\/dd>/.exec(p)?.[1]?.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim() ?? null;
  const removeForm = /<form method="post" action="\/console\/accounts\/[^"]+\/backup\/remove"[^>]*><input type="hidden" name="_csrf" value="[^"]+">/;
  const flashOf = (p: string) => /class="flash[^"]*"[^>]*>([\s\S]*?)<\//.exec(p)?.[1] ?? null;

  test('an account without a backup card: "No backup card", no Remove button', async () => {
    const id = await subscribedAccount(t);
    const p = await page(id);
    assert.equal(backupLine(p), 'No backup card');
    assert.doesNotMatch(p, removeForm);
    assert.doesNotMatch(p, /Remove backup card/);
    assert.match(p, /Visa ···· 4242 \(exp\. 12\/2030\)/, 'the main card, in the same words as the backup');
  });

  test('saved with consent: brand, last 4, expiry and the consent beside the main card; removed from the console like the API’s DELETE', async () => {
    const id = await subscribedAccount(t);
    const none = await subscribedAccount(t);
    const saved = await t.api('PUT', backupPath(id), { type: 'card', card: { number: '5555555555554444', exp_month: 11, exp_year: 2031, cvc: '123' }, consent: true });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    let p = await page(id);
    const line = backupLine(p);
    assert.equal(line, `Mastercard ···· 4444 (exp. 11/2031) Consent given ${when(saved.body.consent_at)}: ${saved.body.consent_text}`);
    assert.match(saved.body.consent_text, /main card fails/);
    assert.match(p, /Visa ···· 4242 \(exp\. 12\/2030\)/, 'the main card stays');
    assert.match(p, removeForm);
    assert.match(p, /Backup card saved with the customer's consent/, 'the timeline tells it');

    // Without the CSRF token (or a wrong one) nothing changes.
    assert.equal((await post(`/console/accounts/${id}/backup/remove`, {}, cookie)).status, 403);
    assert.equal((await post(`/console/accounts/${id}/backup/remove`, { _csrf: 'wrong' }, cookie)).status, 403);
    assert.equal((await t.api('GET', backupPath(id))).status, 200);
    // Signed out: nothing changes either.
    assert.equal((await post(`/console/accounts/${id}/backup/remove`, { _csrf: await csrfOf(await get(`/console/accounts/${id}`, cookie)) })).status, 401);
    assert.equal((await t.api('GET', backupPath(id))).status, 200);

    const r = await post(`/console/accounts/${id}/backup/remove`, { _csrf: await csrfOf(await get(`/console/accounts/${id}`, cookie)) }, cookie);
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), `/console/accounts/${id}`);
    p = await page(id);
    assert.match(flashOf(p) ?? '', /Backup card removed: it will not be charged again\./);
    assert.equal(backupLine(p), 'No backup card');
    assert.doesNotMatch(p, removeForm);
    assert.match(p, /Backup card removed: it is never charged again/, 'the timeline tells it');
    // The API answers as for an account that never had one; the main card is untouched.
    const after = await t.api('GET', backupPath(id));
    const never = await t.api('GET', backupPath(none));
    problemOf(after, 404, 'not_found');
    problemOf(never, 404, 'not_found');
    assert.equal(after.body.detail, never.body.detail);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).body.last4, '4242');

    // A second press (another tab): nothing to remove, said so.
    const again = await post(`/console/accounts/${id}/backup/remove`, { _csrf: await csrfOf(await get(`/console/accounts/${id}`, cookie)) }, cookie);
    assert.equal(again.status, 303);
    assert.match(flashOf(await page(id)) ?? '', /No backup card to remove: nothing changed\./);
  });
});
