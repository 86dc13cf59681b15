// Issue 7 in Chromium: accessible and usable on a phone. Every page of the customer area and the
// console (with accounts in grace, recovered, downgraded; a help request; a webhook endpoint) is
// audited as rendered: text contrast at WCAG AA, every control named, no sideways scrolling at
// 375 px; and the main paths work from the keyboard alone.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, ADMIN_KEY, card, type TestService } from '../helpers/service.ts';
import { i18n } from '../../src/web/i18n/index.ts';
import { audit, launchBrowser, openPortal, screenshot, signInConsole, type Tab, closeBrowserSuite, tabOpener } from './browser.ts';

describe('accessibility and phone width in Chromium', () => {
  let t: TestService;
  let browser: Browser;
  const tabs: Tab[] = [];
  const tab = tabOpener(tabs, () => ({ browser, t }));
  let grace: string;
  let needsCustomer: string;
  let downgraded: string;
  let recovered: string;

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    browser = await launchBrowser();
    downgraded = await subscribedAccount(t, { later: CARDS.expired, locale: 'es-ES', domain_zone: 'es', time_zone: 'Europe/Madrid' });
    recovered = await subscribedAccount(t, { later: CARDS.insufficient_funds, locale: 'de-DE', domain_zone: 'de', time_zone: 'Europe/Berlin' });
    await t.advance(31);
    assert.equal((await t.api('PUT', `/v1/accounts/${recovered}/payment-method`, card(CARDS.ok))).status, 200);
    await t.advance(15);
    grace = await subscribedAccount(t, { later: CARDS.insufficient_funds, locale: 'en-GB', domain_zone: 'uk', time_zone: 'Europe/London' });
    needsCustomer = await subscribedAccount(t, { later: CARDS.auth_always, locale: 'pt-PT', domain_zone: 'pt', time_zone: 'Europe/Lisbon' });
    // A receiver that is not there: its deliveries fail, are retried, and the endpoint ends disabled.
    assert.equal((await t.api('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hooks', event_types: ['subscription.*'] })).status, 201);
    await t.advance(31);
    for (const [id, status] of [[grace, 'past_due'], [needsCustomer, 'past_due'], [downgraded, 'downgraded'], [recovered, 'active']] as const)
      assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, status, id);
    // A backup card with its consent, shown on the console's account page with its Remove button.
    assert.equal((await t.api('PUT', `/v1/accounts/${recovered}/backup-payment-method`, { ...card(CARDS.ok, 2031), consent: true })).status, 200);
    const inv = (await t.api('GET', `/v1/accounts/${grace}/invoices`)).body.data[0];
    assert.equal((await t.api('POST', `/v1/invoices/${inv.id}/help-requests`, { message: 'Why did my payment fail?' })).status, 201);
  });
  after(() => closeBrowserSuite(tabs, browser, t));

  async function check(page: Page, name: string, width: number) {
    const a = await audit(page);
    assert.deepEqual(a.contrast, [], `${name}: text below AA contrast`);
    assert.deepEqual(a.unlabeled, [], `${name}: controls without a name`);
    assert.ok(a.scrollWidth <= width, `${name}: the page is ${a.scrollWidth}px wide in a ${width}px window`);
    await screenshot(page, `a11y-${name}-${width}`);
  }

  for (const width of [1100, 375]) {
    test(`customer pages at ${width} px: contrast, labels, no sideways scrolling`, async () => {
      for (const [id, name, locale] of [
        [grace, 'portal-grace', 'en-GB'],
        [needsCustomer, 'portal-needs-customer', 'pt-PT'],
        [downgraded, 'portal-downgraded', 'es-ES'],
        [recovered, 'portal-recovered', 'de-DE'],
      ] as const) {
        const x = await tab({ width, height: 800 });
        await openPortal(x, t, id);
        // In the account's language, declared for screen readers.
        assert.equal(await x.page.locator('html').getAttribute('lang'), i18n(locale).lang);
        assert.equal(await x.page.locator('h2').first().innerText(), i18n(locale).t(name === 'portal-downgraded' ? 'downgraded.title' : name === 'portal-recovered' ? 'sub.heading' : 'grace.title'));
        // With every "Request help" box open, so its form is audited too.
        for (const d of await x.page.locator('details').all()) await d.locator('summary').click();
        await check(x.page, name, width);
      }
    });

    test(`console pages at ${width} px: contrast, labels, no sideways scrolling`, async () => {
      const x = await tab({ width, height: 800 });
      await signInConsole(x, t);
      for (const [path, name] of [
        ['/console', 'dashboard'],
        ['/console/accounts', 'accounts'],
        [`/console/accounts/${grace}`, 'account'],
        [`/console/accounts/${recovered}`, 'account-backup'],
        ['/console/help', 'help'],
        ['/console/outbox', 'outbox'],
        ['/console/policy', 'policy'],
        ['/console/policy/backtest', 'policy-backtest'],
        ['/console/webhooks', 'webhooks'],
        ['/console/keys', 'keys'],
      ]) {
        await x.page.goto(`${t.url}${path}`);
        await check(x.page, `console-${name}`, width);
        if (name === 'dashboard' && width >= 1100) {
          // Each table fits inside its frame (its last column, Rate, is not cut off by the border);
          // on a phone a wide table scrolls inside its frame instead.
          const tables = await x.page.locator('.table-wrap').evaluateAll((ws) => ws.map((w) => ({ name: w.getAttribute('aria-label'), scroll: w.scrollWidth, box: w.clientWidth, right: Math.max(...[...w.querySelectorAll('th, td')].map((c) => c.getBoundingClientRect().right)) - w.getBoundingClientRect().right })));
          assert.ok(tables.length >= 2, `dashboard tables: ${JSON.stringify(tables)}`);
          for (const tb of tables) assert.ok(tb.scroll <= tb.box && tb.right <= 0, `${tb.name}: ${tb.scroll}px of table in a ${tb.box}px frame (${tb.right}px past its border)`);
        }
      }
      // The receiver that was not there: its endpoint was disabled, and its deliveries wait.
      await x.page.goto(`${t.url}/console/webhooks`);
      assert.match(await x.page.getByRole('region', { name: 'Table: webhook endpoints' }).innerText(), /disabled[\s\S]*every delivery failed since/);
      assert.match(await x.page.getByRole('region', { name: 'Table: webhook deliveries' }).innerText(), /held while the endpoint is disabled/);
      // The policy form with its errors shown.
      await x.page.goto(`${t.url}/console/policy`);
      await x.page.getByLabel('Grace period (days)').fill('0');
      await x.page.getByRole('button', { name: 'Save the policy' }).click();
      await x.page.getByRole('alert').waitFor();
      await check(x.page, 'console-policy-error', width);
      // The backtest with its comparison (estimates, or the causes too thin to estimate).
      await x.page.goto(`${t.url}/console/policy/backtest`);
      await x.page.getByRole('button', { name: 'Run the backtest' }).click();
      await x.page.locator('#bt-table').waitFor();
      await x.page.waitForLoadState('load'); // its style sheet too, before the width is measured
      await check(x.page, 'console-policy-backtest-result', width);
    });
  }

  test('keyboard only: the customer reaches Retry and hears the result; the operator signs in', async () => {
    const en = i18n('en-GB', 'Europe/London');
    const x = await tab();
    await openPortal(x, t, grace);
    const { page } = x;
    // Tab through the page until the Retry button has the focus, then press Enter.
    let found = false;
    for (let i = 0; i < 60 && !found; i++) {
      await page.keyboard.press('Tab');
      found = (await page.evaluate('document.activeElement && document.activeElement.textContent')) === en.t('retry.button');
    }
    assert.ok(found, 'Retry is reachable with Tab');
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    assert.notEqual(outline, 'none', 'the focused control shows a focus ring');
    await screenshot(page, 'keyboard-retry-focused');
    await page.keyboard.press('Enter');
    await page.locator('#flash').waitFor();
    // The result takes the focus, so a screen reader reads it at once.
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'flash');
    assert.equal(await page.locator('#flash').innerText(), en.t('result.retry.declined', { reason: en.t('because.insufficient_funds') }));
    await screenshot(page, 'keyboard-retry-result');

    const op = await tab();
    await op.page.goto(`${t.url}/console`);
    await op.page.keyboard.press('Tab'); // skip link
    let inKey = false;
    for (let i = 0; i < 20 && !inKey; i++) {
      await op.page.keyboard.press('Tab');
      inKey = (await op.page.evaluate('document.activeElement && document.activeElement.id')) === 'admin-key';
    }
    assert.ok(inKey, 'the key field is reachable with Tab');
    await op.page.keyboard.type(ADMIN_KEY);
    await op.page.keyboard.press('Enter');
    await op.page.waitForURL(`${t.url}/console`);
    assert.match(await op.page.locator('h1').innerText(), /Dashboard/);
    await screenshot(op.page, 'keyboard-console-signed-in');
  });
});
