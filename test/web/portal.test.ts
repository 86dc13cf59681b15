// Issue 7 in Chromium: the customer's Subscription area. A customer in grace replaces the card (on
// the gateway's hosted card page, issue 14) and
// sees the plan renewed; presses Retry and sees the result; in an excluded domain zone, or after
// the presses allowed per day, sees why Retry is unavailable; requests help and later reads the operator's answer. In the account's
// language, with no request leaving the service.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { launchBrowser, openPortal, screenshot, signInConsole, type Tab, closeBrowserSuite, tabOpener, updateCardOnHostedPage } from './browser.ts';
import { checkoutTexts } from '../../src/sandbox/checkout-page.ts';
import { i18n } from '../../src/web/i18n/index.ts';

describe('customer pages in Chromium', () => {
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

  /** An account whose renewal failed with insufficient funds: in grace, 14 days of access left. */
  async function inGrace(a: Parameters<typeof subscribedAccount>[1] = {}) {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds, ...a });
    await t.advance(31);
    const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
    assert.equal(sub.status, 'past_due');
    return id;
  }

  test('a customer in grace replaces the card and sees the plan renewed (fr-FR)', async () => {
    const id = await inGrace();
    const fr = i18n('fr-FR', 'Europe/Paris');
    const { page } = await tab();
    await openPortal(tabs[tabs.length - 1], t, id);

    // The grace banner says what failed, why, until when access lasts and how many days are left.
    const banner = page.getByRole('region', { name: fr.t('grace.title') });
    await banner.waitFor();
    const text = await banner.innerText();
    assert.match(text, new RegExp(fr.t('because.insufficient_funds')));
    assert.match(text, /il vous reste \d+ jours/);
    const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
    assert.ok(text.includes(fr.date(sub.grace_ends_at)), `grace end ${fr.date(sub.grace_ends_at)} in: ${text}`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
    // Money in the account's locale (29,00 €).
    assert.ok((await page.locator('#history').innerText()).includes(fr.money(2900, 'EUR')));
    await screenshot(page, 'portal-grace-banner');

    // Billing information: a good card on the gateway's hosted page; the past-due renewal is paid at once.
    await updateCardOnHostedPage(page, t, 'fr-FR', CARDS.ok);
    const flash = page.locator('#flash');
    await flash.waitFor();
    const after = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
    assert.equal(after.status, 'active');
    assert.equal(await flash.innerText(), fr.t('result.paid', { date: fr.date(after.current_period_end) }));
    assert.equal(await page.getByRole('region', { name: fr.t('grace.title') }).count(), 0, 'no grace banner once paid');
    assert.match(await page.locator('#current-card').innerText(), /4242/);
    // The card number is never echoed back.
    assert.ok(!(await page.content()).includes(CARDS.ok));
    const last = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
    assert.equal(last.status, 'paid');
    assert.equal(last.attempts.at(-1).trigger, 'payment_method_updated');
    await screenshot(page, 'portal-card-renewed');
  });

  test('a bad expiry on the hosted card page is refused there and nothing changes at renewd (en-GB)', async () => {
    const id = await inGrace({ locale: 'en-GB', domain_zone: 'uk', currency: 'EUR', time_zone: 'Europe/London' });
    const gw = checkoutTexts('en-GB').t;
    const x = await tab();
    await openPortal(x, t, id);
    const before = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0].attempts.length;
    await updateCardOnHostedPage(x.page, t, 'en-GB', '4242 4242 4242 4242', { expiry: '13/30' });
    assert.ok(x.page.url().startsWith(`${t.sandboxUrl}/checkout/`), 'still on the hosted page');
    await x.page.getByRole('alert').waitFor();
    assert.equal(await x.page.getByLabel(gw.expiry).getAttribute('aria-invalid'), 'true');
    assert.equal(await x.page.getByLabel(gw.number).inputValue(), '', 'the card number is not put back into the form');
    assert.equal((await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0].attempts.length, before);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).body.last4, '9995');
    await screenshot(x.page, 'portal-card-invalid');
  });

  test('a customer presses Retry and sees the result (de-DE)', async () => {
    const id = await inGrace({ locale: 'de-DE', domain_zone: 'de', time_zone: 'Europe/Berlin' });
    const de = i18n('de-DE', 'Europe/Berlin');
    const x = await tab();
    await openPortal(x, t, id);
    const { page } = x;

    // The card still has no funds: the result says so, in German.
    await page.getByRole('button', { name: de.t('retry.button') }).click();
    await page.locator('#flash').waitFor();
    assert.equal(await page.locator('#flash').innerText(), de.t('result.retry.declined', { reason: de.t('because.insufficient_funds') }));
    let inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
    assert.equal(inv.attempts.at(-1).trigger, 'customer_retry');
    assert.equal(inv.attempts.at(-1).outcome, 'declined');
    // The attempt is in the purchase history, with why it was made.
    assert.ok((await page.locator(`#inv-${inv.id}`).innerText()).includes(de.t('trigger.customer_retry')));
    await screenshot(page, 'portal-retry-declined');

    // Funds are back: the next press pays the invoice.
    const s = await t.sandbox('POST', '/_sandbox/scripts', { target: { account_id: id }, steps: ['succeed'] });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    await page.getByRole('button', { name: de.t('retry.button') }).click();
    await page.locator('#flash').waitFor();
    const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
    assert.equal(sub.status, 'active');
    assert.equal(await page.locator('#flash').innerText(), de.t('result.paid', { date: de.date(sub.current_period_end) }));
    inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
    assert.equal(inv.status, 'paid');
    assert.equal(await page.getByRole('button', { name: de.t('retry.button') }).count(), 0);
    await screenshot(page, 'portal-retry-paid');
  });

  test('Retry is rate-limited: after the presses allowed per day the page says why; each result is e-mailed too (pt-PT)', async () => {
    const put = await t.api('PUT', '/v1/dunning-policy', { manual_retry: { max_per_day: 1 } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    try {
      const id = await inGrace({ locale: 'pt-PT', domain_zone: 'pt', time_zone: 'Europe/Lisbon' });
      const pt = i18n('pt-PT', 'Europe/Lisbon');
      const x = await tab();
      await openPortal(x, t, id);
      await x.page.getByRole('button', { name: pt.t('retry.button') }).click();
      await x.page.locator('#flash').waitFor();
      assert.equal(await x.page.locator('#flash').innerText(), pt.t('result.retry.declined', { reason: pt.t('because.insufficient_funds') }));
      const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
      assert.deepEqual(inv.retry, { available: false, reason: 'rate_limited' });
      assert.equal(await x.page.locator(`#retry-${inv.id}`).innerText(), `${pt.t('retry.unavailable')} ${pt.t('retry.unavailable.rate_limited')}`);
      assert.equal(await x.page.getByRole('button', { name: pt.t('retry.button') }).count(), 0, 'no Retry button until tomorrow');
      // The result of the press is e-mailed as well, in Portuguese.
      const mails = (await t.api('GET', `/v1/notifications?account_id=${id}`)).body.data as { template: string; locale: string }[];
      assert.ok(mails.some((m) => m.template === 'retry_failed' && m.locale.startsWith('pt')), JSON.stringify(mails.map((m) => m.template)));
      await screenshot(x.page, 'portal-retry-rate-limited');
    } finally {
      assert.equal((await t.api('PUT', '/v1/dunning-policy', {})).status, 200);
    }
  });

  test('in an excluded domain zone the page says why Retry is unavailable (es-ES)', async () => {
    const put = await t.api('PUT', '/v1/dunning-policy', { manual_retry: { disabled_domain_zones: ['es'] } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    try {
      const id = await inGrace({ locale: 'es-ES', domain_zone: 'es', time_zone: 'Europe/Madrid' });
      const es = i18n('es-ES', 'Europe/Madrid');
      const x = await tab();
      await openPortal(x, t, id);
      const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
      assert.deepEqual(inv.retry, { available: false, reason: 'domain_zone_excluded' });
      const why = x.page.locator(`#retry-${inv.id}`);
      assert.equal(await why.innerText(), `${es.t('retry.unavailable')} ${es.t('retry.unavailable.domain_zone_excluded')}`);
      assert.equal(await x.page.getByRole('button', { name: es.t('retry.button') }).count(), 0, 'no Retry button');
      // The way out is still there: Billing information.
      assert.ok(await x.page.getByRole('button', { name: es.t('billing.update') }).isVisible());
      await screenshot(x.page, 'portal-retry-unavailable-zone');
    } finally {
      assert.equal((await t.api('PUT', '/v1/dunning-policy', {})).status, 200);
    }
  });

  test('a customer requests help, the operator answers, the customer reads the answer (it-IT)', async () => {
    const id = await inGrace({ locale: 'it-IT', domain_zone: 'it', time_zone: 'Europe/Rome' });
    const it = i18n('it-IT', 'Europe/Rome');
    const customer = await tab();
    await openPortal(customer, t, id);
    const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];

    const help = customer.page.locator(`#help-${inv.id}`);
    await help.locator('summary').click();
    await help.getByLabel(it.t('help.message')).fill('Ho ricaricato il conto ieri, perché il pagamento non è riuscito?');
    await help.getByRole('button', { name: it.t('help.send') }).click();
    await customer.page.locator('#flash').waitFor();
    assert.equal(await customer.page.locator('#flash').innerText(), it.t('result.help.sent'));
    assert.ok((await customer.page.locator('#help').innerText()).includes(it.t('help.status.open')));

    // The operator sees it (with the invoice's decline reasons) and answers.
    const op = await tab();
    await signInConsole(op, t);
    await op.page.getByRole('link', { name: 'Help requests' }).click();
    const item = op.page.locator('article', { hasText: 'Ho ricaricato il conto ieri' });
    await item.waitFor();
    assert.match(await item.innerText(), /Insufficient funds/);
    // An empty answer is refused next to its box.
    await item.getByRole('button', { name: 'Send answer' }).click();
    await op.page.getByRole('alert').waitFor();
    const box = op.page.locator('article', { hasText: 'Ho ricaricato il conto ieri' }).getByLabel('Answer');
    assert.equal(await box.getAttribute('aria-invalid'), 'true');
    assert.match(await op.page.locator(`#${await box.getAttribute('aria-describedby')}`).innerText(), /Write an answer first/);
    await item.getByLabel('Answer').fill('Il prossimo tentativo è programmato: nessuna azione necessaria.');
    await item.getByRole('button', { name: 'Send answer' }).click();
    await op.page.locator('#flash').waitFor();
    assert.match(await op.page.locator('#flash').innerText(), /Answer sent/);
    await screenshot(op.page, 'console-help-answered');
    const list = (await t.api('GET', `/v1/help-requests?account_id=${id}`)).body.data;
    assert.equal(list[0].status, 'answered');

    // The customer reloads the page and reads the answer.
    await customer.page.reload();
    const section = await customer.page.locator('#help').innerText();
    assert.ok(section.includes(it.t('help.status.answered')));
    assert.ok(section.includes('Il prossimo tentativo è programmato: nessuna azione necessaria.'));
    await screenshot(customer.page, 'portal-help-answered');

    // The operator closes it: it leaves the open list, and the customer sees it closed.
    await op.page.getByRole('link', { name: 'Help requests' }).click();
    await op.page.getByRole('navigation', { name: 'Filter by status' }).getByRole('link', { name: 'answered', exact: true }).click();
    await op.page.waitForURL(/status=answered/);
    const answered = op.page.locator('article', { hasText: 'Ho ricaricato il conto ieri' });
    await answered.getByRole('button', { name: 'Close request' }).click();
    await op.page.locator('#flash').waitFor();
    assert.match(await op.page.locator('#flash').innerText(), /Help request closed/);
    assert.equal(await op.page.locator('article', { hasText: 'Ho ricaricato il conto ieri' }).count(), 0, 'no longer among the open ones');
    assert.equal((await t.api('GET', `/v1/help-requests?account_id=${id}`)).body.data[0].status, 'closed');
    await customer.page.reload();
    assert.ok((await customer.page.locator('#help').innerText()).includes(it.t('help.status.closed')));
    await screenshot(op.page, 'console-help-closed');
  });

  test('at phone width (375 px) the page fits and keeps every control', async () => {
    const id = await inGrace({ locale: 'pl-PL', domain_zone: 'pl', time_zone: 'Europe/Warsaw' });
    const pl = i18n('pl-PL', 'Europe/Warsaw');
    const x = await tab({ width: 375, height: 812 });
    await openPortal(x, t, id);
    const width = await x.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `page is ${width}px wide`);
    assert.ok(await x.page.getByRole('button', { name: pl.t('retry.button') }).isVisible());
    assert.match(await x.page.getByRole('region', { name: pl.t('grace.title') }).innerText(), /zostało \d+ dni|zostały \d+ dni/);
    // Keyboard: the skip link is the first stop and shows up when focused.
    await x.page.keyboard.press('Tab');
    assert.equal(await x.page.evaluate(() => document.activeElement?.textContent), pl.t('skip'));
    await screenshot(x.page, 'portal-phone');
  });
});
