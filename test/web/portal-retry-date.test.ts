// Issue 18 items 3 and 4 in Chromium: in grace, the customer chooses the day of the next attempt
// in Purchase history ("Choose when we try again", a date input, CSRF like every portal form); the
// banner shows the planned day; a day after grace is refused in the customer's words; a waiting
// help request shows the paused downgrade.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { launchBrowser, openPortal, screenshot, type Tab, closeBrowserSuite, tabOpener } from './browser.ts';
import { i18n } from '../../src/web/i18n/index.ts';

const DAY = 86_400_000;
const parisDay = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));

describe('"Choose when we try again" in the customer pages (Chromium)', () => {
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

  test('fr-FR: a day in grace is planned and shown; a day after grace is refused; a help request shows the paused downgrade', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    const fr = i18n('fr-FR', 'Europe/Paris');
    const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0].id;
    const now = (await t.now()).getTime();
    const x = await tab();
    await openPortal(x, t, id);
    const { page } = x;
    await page.getByText(fr.t('retryDate.heading')).click();
    const input = page.getByLabel(fr.t('retryDate.label'));
    // Refused: after grace (the browser's own min/max are bypassed to reach the server's check).
    await input.evaluate((el: HTMLInputElement) => el.removeAttribute('max'));
    await input.fill(parisDay(now + 40 * DAY));
    await page.getByRole('button', { name: fr.t('retryDate.button') }).click();
    await page.locator('#flash').waitFor();
    assert.equal(await page.locator('#flash').innerText(), fr.t('retryDate.no.grace'));
    assert.notEqual((await sub(id)).next_retry_why, 'customer_chosen');
    // The form stays open on its refusal, the field marked.
    assert.equal(await page.getByLabel(fr.t('retryDate.label')).getAttribute('aria-invalid'), 'true');
    // A day in grace: planned, said in the flash and the banner.
    await page.getByLabel(fr.t('retryDate.label')).fill(parisDay(now + 5 * DAY));
    await page.getByRole('button', { name: fr.t('retryDate.button') }).click();
    await page.locator('#flash').waitFor();
    const s = await sub(id);
    assert.equal(s.next_retry_why, 'customer_chosen');
    const planned = fr.t('retryDate.planned', { date: fr.dateTime(s.next_retry_at) });
    assert.equal(await page.locator('#flash').innerText(), planned);
    assert.ok((await page.locator('#grace').innerText()).includes(planned));
    await screenshot(page, 'portal-retry-date-planned');
    // A help request: the banner says the downgrade is paused.
    assert.equal((await t.api('POST', `/v1/invoices/${inv}/help-requests`, { message: 'Salary on Friday' })).status, 201);
    await page.reload();
    const paused = await sub(id);
    assert.ok(paused.downgrade_paused_at);
    assert.equal(await page.locator('#grace-paused').innerText(), fr.t('grace.paused', { date: fr.date(paused.grace_ends_at) }));
  });
});
