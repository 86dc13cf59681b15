// Issue 15 in Chromium: cancel and resume in the customer's Subscription area. A customer in grace
// cancels and collection stops (invoice void, free plan); an active customer cancels at the period
// end, sees until when the plan lasts, and resumes; the operator's account page shows the pending
// cancel. In the account's language, with no request leaving the service.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { launchBrowser, openPortal, screenshot, signInConsole, type Tab, closeBrowserSuite, tabOpener } from './browser.ts';
import { i18n } from '../../src/web/i18n/index.ts';

describe('cancel and resume in the customer pages (Chromium)', () => {
  let t: TestService;
  let browser: Browser;
  const tabs: Tab[] = [];
  const tab = tabOpener(tabs, () => ({ browser, t }));
  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    browser = await launchBrowser();
  });
  after(() => closeBrowserSuite(tabs, browser, t));

  test('in grace: Cancel stops collection at once, the invoice is void and the account is on the free plan (fr-FR)', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    assert.equal((await sub(id)).status, 'past_due');
    const fr = i18n('fr-FR', 'Europe/Paris');
    const x = await tab();
    await openPortal(x, t, id);
    const { page } = x;
    // Nothing happens until the customer opens the choice and presses its button (a confirm step).
    await page.getByText(fr.t('cancel.summary')).click();
    assert.ok((await page.locator('#cancel').innerText()).includes(fr.t('cancel.explain.past_due')));
    await screenshot(page, 'portal-cancel-grace-confirm');
    await page.getByRole('button', { name: fr.t('cancel.pastDue') }).click();
    const flash = page.locator('#flash');
    await flash.waitFor();
    assert.equal(await flash.innerText(), fr.t('result.cancel.now'));
    const s = await sub(id);
    assert.deepEqual([s.status, s.plan_id, s.next_action_at], ['canceled', 'free', null]);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0].status, 'void');
    assert.equal(await page.getByRole('region', { name: fr.t('grace.title') }).count(), 0, 'no grace banner after the cancel');
    assert.ok((await page.locator('#subscription').innerText()).includes(fr.t('sub.status.canceled')));
    assert.equal(await page.getByText(fr.t('cancel.summary')).count(), 0, 'nothing left to cancel');
    assert.equal(await page.getByRole('button', { name: fr.t('retry.button') }).count(), 0, 'no Retry on the voided invoice');
    await screenshot(page, 'portal-cancel-grace-done');
  });

  test('active: cancel at the period end, then Resume (de); the console shows the pending cancel', async () => {
    const id = await subscribedAccount(t, { locale: 'de-DE', domain_zone: 'de', time_zone: 'Europe/Berlin' });
    const de = i18n('de-DE', 'Europe/Berlin');
    const x = await tab();
    await openPortal(x, t, id);
    const { page } = x;
    const end = (await sub(id)).current_period_end;
    await page.getByText(de.t('cancel.summary')).click();
    await page.getByRole('button', { name: de.t('cancel.atPeriodEnd') }).click();
    await page.locator('#flash').waitFor();
    assert.equal(await page.locator('#flash').innerText(), de.t('result.cancel.scheduled', { date: de.date(end) }));
    const s = await sub(id);
    assert.deepEqual([s.status, s.plan_id, s.cancel_at_period_end, s.cancel_at], ['active', 'pro', true, end]);
    assert.ok((await page.locator('#subscription').innerText()).includes(de.t('sub.ends', { date: de.date(end) })));
    await screenshot(page, 'portal-cancel-scheduled');

    // The operator sees it on the account page.
    const op = await tab();
    await signInConsole(op, t);
    await op.page.goto(`${t.url}/console/accounts/${id}`);
    const facts = await op.page.getByRole('region', { name: 'Account and subscription' }).innerText();
    assert.match(facts, /Cancel\s+pending/);
    assert.match(await op.page.locator('body').innerText(), /Cancel scheduled by the customer/);

    await page.getByRole('button', { name: de.t('resume.button') }).click();
    await page.locator('#flash').waitFor();
    assert.equal(await page.locator('#flash').innerText(), de.t('result.resume.done', { date: de.date(end) }));
    const r = await sub(id);
    assert.deepEqual([r.auto_renew, r.cancel_at_period_end], [true, false]);
    assert.equal(await page.getByRole('button', { name: de.t('resume.button') }).count(), 0);
    assert.equal(await page.getByText(de.t('cancel.summary')).count(), 1);
  });

  test('the operator cancels an account in grace from the console: collection stops', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    assert.equal((await sub(id)).status, 'past_due');
    const op = await tab();
    await signInConsole(op, t);
    await op.page.goto(`${t.url}/console/accounts/${id}`);
    await op.page.getByRole('button', { name: 'Cancel now (stop collection, free plan)' }).click();
    await op.page.getByText('Canceled: collection stopped, the account is on the free plan.').waitFor();
    const s = await sub(id);
    assert.deepEqual([s.status, s.plan_id, s.next_action_at], ['canceled', 'free', null]);
    assert.match(await op.page.locator('body').innerText(), /Canceled by the operator: collection stopped/);
    assert.equal(await op.page.getByRole('button', { name: /Cancel now/ }).count(), 0);
  });

  test('active: cancel now moves to the free plan at once (en-GB)', async () => {
    const id = await subscribedAccount(t, { locale: 'en-GB', domain_zone: 'uk', time_zone: 'Europe/London' });
    const en = i18n('en-GB', 'Europe/London');
    const x = await tab();
    await openPortal(x, t, id);
    await x.page.getByText(en.t('cancel.summary')).click();
    await x.page.getByRole('button', { name: en.t('cancel.now'), exact: true }).click();
    await x.page.locator('#flash').waitFor();
    assert.equal(await x.page.locator('#flash').innerText(), en.t('result.cancel.now'));
    assert.deepEqual([(await sub(id)).status, (await t.api('GET', `/v1/accounts/${id}/access`)).body.paid], ['canceled', false]);
  });
});
