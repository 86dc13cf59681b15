// Issue 18 item 5 in Chromium: the customer's Billing information has a "Backup card" part. Without
// ticking the consent box nothing opens; with it, the card is typed on the gateway's hosted page and
// saved as the backup (the main card stays); a past-due invoice whose main card was lost is paid by
// it at once; "Remove the backup card" removes it. In two locales; the page passes the audit.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { audit, closeBrowserSuite, launchBrowser, openPortal, screenshot, tabOpener, type Tab } from './browser.ts';
import { i18n } from '../../src/web/i18n/index.ts';
import { checkoutTexts } from '../../src/sandbox/checkout-page.ts';

describe('backup card on the customer pages (Chromium)', () => {
  let t: TestService;
  let browser: Browser;
  const tabs: Tab[] = [];
  const tab = tabOpener(tabs, () => ({ browser, t }));

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    browser = await launchBrowser();
  });
  after(() => closeBrowserSuite(tabs, browser, t));

  for (const locale of [
    { tag: 'en-GB', zone: 'uk', tz: 'Europe/London' },
    { tag: 'de-DE', zone: 'de', tz: 'Europe/Berlin' },
  ]) {
    test(`consent, the hosted page, paid by the backup, removed (${locale.tag})`, async () => {
      const id = await subscribedAccount(t, { locale: locale.tag, domain_zone: locale.zone, time_zone: locale.tz, later: CARDS.lost });
      await t.advance(31);
      assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'past_due');
      const l = i18n(locale.tag, locale.tz);
      const gw = checkoutTexts(locale.tag).t;
      const x = await tab({ locale: locale.tag });
      const { page } = x;
      await openPortal(x, t, id);
      const billing = page.locator('#billing');
      assert.equal(await page.locator('#backup-card-line').innerText(), l.t('backup.none'));

      // No consent: the page says why and nothing opens.
      await billing.getByRole('button', { name: l.t('backup.add') }).click();
      await page.waitForLoadState();
      assert.ok(page.url().startsWith(t.url), page.url());
      assert.match(await page.locator('body').innerText(), new RegExp(l.t('backup.consentRequired').slice(0, 30).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.equal((await t.api('GET', `/v1/accounts/${id}/backup-payment-method`)).status, 404);

      // With consent: the gateway's hosted page, then back; the backup pays the invoice at once.
      await page.getByLabel(l.t('backup.consent')).check();
      const a = await audit(page);
      assert.deepEqual([a.contrast, a.unlabeled], [[], []], 'contrast and labels');
      await screenshot(page, `backup-card-${locale.tag}`);
      await billing.getByRole('button', { name: l.t('backup.add') }).click();
      await page.waitForURL(`${t.sandboxUrl}/checkout/**`);
      await page.getByLabel(gw.number).fill(CARDS.ok);
      await page.getByLabel(gw.expiry).fill('12 / 34');
      await page.getByLabel(gw.cvc).fill('123');
      await page.getByRole('button', { name: gw.save }).click();
      await page.waitForURL(`${t.url}/portal**`);
      assert.match(await page.locator('#backup-card-line').innerText(), /4242/);
      assert.match(await page.locator('#current-card').innerText(), /9987/, 'the main card stays');
      const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
      assert.equal(inv.status, 'paid');

      // Remove it.
      await billing.getByRole('button', { name: l.t('backup.remove') }).click();
      await page.waitForLoadState();
      assert.equal(await page.locator('#backup-card-line').innerText(), l.t('backup.none'));
      assert.equal((await t.api('GET', `/v1/accounts/${id}/backup-payment-method`)).status, 404);
    });
  }
});
