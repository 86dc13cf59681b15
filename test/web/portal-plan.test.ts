// Plan change in Chromium, in the customer's Subscription area: "Change plan" lists the other paid
// plans with their prices and says when each applies; a dearer plan applies at once with the
// prorated amount shown beforehand and charged; a cheaper one is scheduled for the period end and
// can be undone with "Keep …". In the account's language.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, type TestService } from '../helpers/service.ts';
import { launchBrowser, openPortal, screenshot, signInConsole, type Tab, closeBrowserSuite, tabOpener } from './browser.ts';
import { i18n } from '../../src/web/i18n/index.ts';
import { prorate } from '../../src/core/proration.ts';
import { charges } from '../api/helpers.ts';

describe('plan change in the customer pages (Chromium)', () => {
  let t: TestService;
  let browser: Browser;
  const tabs: Tab[] = [];
  const tab = tabOpener(tabs, () => ({ browser, t }));
  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    for (const p of [
      { id: 'biz', name: 'Business', prices: [{ currency: 'EUR', interval: 'month', amount: 7900 }] },
      { id: 'lite', name: 'Lite', prices: [{ currency: 'EUR', interval: 'month', amount: 900 }] },
    ]) {
      const r = await t.api('POST', '/v1/plans', p);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    browser = await launchBrowser();
  });
  after(() => closeBrowserSuite(tabs, browser, t));

  test('a dearer plan: the prorated amount is shown, then charged, and the plan is changed at once (fr-FR)', async () => {
    const id = await subscribedAccount(t);
    await t.advance(10);
    const fr = i18n('fr-FR', 'Europe/Paris');
    const s0 = await sub(id);
    const expected = prorate({ oldAmount: 2900, newAmount: 7900, periodStart: new Date(s0.current_period_start), periodEnd: new Date(s0.current_period_end), at: await t.now() });
    const x = await tab();
    await openPortal(x, t, id);
    const { page } = x;
    await page.getByText(fr.t('plan.summary')).click();
    const block = await page.locator('#change-plan').innerText();
    assert.ok(block.includes(fr.t('plan.now', { amount: fr.money(expected.charge, 'EUR') })), block);
    assert.ok(block.includes(fr.t('plan.periodEnd', { date: fr.date(s0.current_period_end) })), block);
    assert.ok(block.includes(fr.t('sub.per.year', { amount: fr.money(29000, 'EUR') })), 'the yearly price of the current plan is offered too');
    await screenshot(page, 'portal-plan-choices');
    await page.getByRole('button', { name: fr.t('plan.choose', { plan: 'Business', price: fr.t('sub.per.month', { amount: fr.money(7900, 'EUR') }) }) }).click();
    await page.locator('#flash').waitFor();
    assert.equal(await page.locator('#flash').innerText(), fr.t('result.plan.changed', { plan: 'Business' }));
    assert.equal((await sub(id)).plan_id, 'biz');
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900, expected.charge]);
    assert.ok((await page.locator('#subscription').innerText()).includes('Business'));
  });

  test('a cheaper plan: scheduled for the period end, shown, and undone with Keep (de)', async () => {
    const id = await subscribedAccount(t, { locale: 'de-DE', domain_zone: 'de', time_zone: 'Europe/Berlin' });
    const de = i18n('de-DE', 'Europe/Berlin');
    const end = (await sub(id)).current_period_end;
    const x = await tab();
    await openPortal(x, t, id);
    const { page } = x;
    await page.getByText(de.t('plan.summary')).click();
    await page.getByRole('button', { name: de.t('plan.choose', { plan: 'Lite', price: de.t('sub.per.month', { amount: de.money(900, 'EUR') }) }) }).click();
    await page.locator('#flash').waitFor();
    assert.equal(await page.locator('#flash').innerText(), de.t('result.plan.scheduled', { plan: 'Lite', date: de.date(end) }));
    assert.deepEqual((await sub(id)).scheduled_change, { plan_id: 'lite', interval: 'month', at: end });
    assert.ok((await page.locator('#scheduled-change').innerText()).includes(de.t('plan.scheduled', { plan: 'Lite', date: de.date(end) })));
    await screenshot(page, 'portal-plan-scheduled');
    // The operator sees it on the account page.
    const op = await tab();
    await signInConsole(op, t);
    await op.page.goto(`${t.url}/console/accounts/${id}`);
    assert.match(await op.page.getByRole('region', { name: 'Account and subscription' }).innerText(), /Plan change\s+scheduled: lite \(monthly\)/);
    assert.match(await op.page.locator('body').innerText(), /Plan change scheduled by the customer: pro → lite/);
    await page.getByRole('button', { name: de.t('plan.keep', { plan: 'Pro' }) }).click();
    await page.locator('#flash').waitFor();
    assert.equal(await page.locator('#flash').innerText(), de.t('result.plan.kept', { plan: 'Pro' }));
    const s = await sub(id);
    assert.deepEqual([s.plan_id, s.scheduled_change], ['pro', null]);
    assert.equal(await page.locator('#scheduled-change').count(), 0);
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900]);
  });
});
