// Issue 7: the demo data set (what `npm start` loads) makes the console and the customer area
// interesting at first sight: accounts in grace for different reasons, recovered, downgraded, help
// requests open and answered. Seeded here through the real engine on the test clock, then looked at
// in Chromium.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, type TestService } from '../helpers/service.ts';
import { seedDemo } from '../../src/engine/seed.ts';
import { accountsInGrace, recoveryTotals, subscriptionsByStatus } from '../../src/store/stats.ts';
import { i18n } from '../../src/web/i18n/index.ts';
import { launchBrowser, newTab, openPortal, screenshot, signInConsole, type Tab, closeBrowserSuite } from './browser.ts';

describe('the demo data in Chromium', () => {
  let t: TestService;
  let browser: Browser;
  let ids: Map<string, string>;
  const tabs: Tab[] = [];

  before(async () => {
    t = await startTestService();
    ids = await seedDemo(t.svc.ctx);
    browser = await launchBrowser();
  });
  after(() => closeBrowserSuite(tabs, browser, t));

  test('accounts in grace for different reasons, recovered, downgraded; help requests open and answered', async () => {
    const db = t.svc.ctx.db;
    const grace = await accountsInGrace(db);
    assert.ok(grace.length >= 3, `${grace.length} accounts in grace`);
    assert.ok(new Set(grace.map((g) => g.last_reason)).size >= 3, 'in grace for at least 3 different reasons');
    const recovered = (await recoveryTotals(db)).reduce((a, r) => a + r.recovered_count, 0);
    assert.ok(recovered >= 2, `${recovered} renewals recovered`);
    const downgraded = (await subscriptionsByStatus(db)).find((s) => s.status === 'downgraded')?.count ?? 0;
    assert.ok(downgraded >= 2, `${downgraded} accounts downgraded`);
    const help = (await t.api('GET', '/v1/help-requests')).body.data as { status: string }[];
    assert.ok(help.some((h) => h.status === 'open') && help.some((h) => h.status === 'answered'), 'help requests open and answered');

    const x = await newTab(browser, t);
    tabs.push(x);
    await signInConsole(x, t);
    const { page } = x;
    const inGrace = await page.getByRole('region', { name: 'Accounts in grace' }).innerText();
    assert.match(inGrace, /Hooli GmbH/);
    assert.match(await page.getByRole('region', { name: 'Recovery rate by decline reason' }).innerText(), /[1-9]\d*%/);
    assert.match(await page.locator('.kpi', { hasText: 'Open help requests' }).innerText(), /[1-9]/);
    await screenshot(page, 'demo-console-dashboard');
    await page.getByRole('link', { name: 'Help requests' }).first().click();
    assert.match(await page.locator('main').innerText(), /Unsere Bank sagt/);
    await screenshot(page, 'demo-console-help');

    // An account's timeline: every event in words (no raw event data), and what happens next.
    await page.goto(`${t.url}/console/accounts/${ids.get('Kwiaciarnia Nowak')}`);
    const timeline = await page.getByRole('region', { name: 'Timeline' }).innerText();
    assert.match(timeline, /Next: reminder e-mail/);
    assert.match(timeline, /Help requested by the customer \(Authentication required\)/);
    assert.match(timeline, /Attempt #1 requires action/);
    assert.ok(!timeline.includes('{"'), `raw event data in the timeline: ${timeline}`);
    await screenshot(page, 'demo-console-account');
  });

  test('a customer in grace, and one whose help request was answered, in their languages', async () => {
    const de = i18n('de-DE', 'Europe/Berlin');
    const x = await newTab(browser, t);
    tabs.push(x);
    await openPortal(x, t, ids.get('Hooli GmbH')!);
    const banner = await x.page.getByRole('region', { name: de.t('grace.title') }).innerText();
    assert.ok(banner.includes(de.t('because.declined_by_bank')), banner);
    await screenshot(x.page, 'demo-portal-grace-de');

    const pl = i18n('pl-PL', 'Europe/Warsaw');
    const y = await newTab(browser, t, { width: 375, height: 812 });
    tabs.push(y);
    await openPortal(y, t, ids.get('Kwiaciarnia Nowak')!);
    const help = await y.page.locator('#help').innerText();
    assert.ok(help.includes(pl.t('help.status.answered')), help);
    assert.match(help, /Wysłaliśmy link/);
    await screenshot(y.page, 'demo-portal-answered-pl-phone');
  });
});
