// Issue 14, the whole way back, in Chromium and from the e-mail in the outbox, as a customer with
// no knowledge of renewd would take it:
// - a renewal fails → the e-mail's "update my card" link → Billing information, signed in →
//   "Update card" → the gateway's hosted page (the sandbox's, as Stripe Checkout) → back: the invoice
//   is paid, the receipt e-mail is in the outbox (fr-FR);
// - a renewal needs authentication → the e-mail's "authenticate the payment" link → the
//   authenticate page → the issuer's page → Complete → paid, receipt (de-DE); → Fail → the reason is
//   shown and the e-mail's link still works to try again (en-GB).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { latestInvoice, templates } from '../api/helpers.ts';
import { authenticateOnIssuerPage, launchBrowser, linkFromOutbox, screenshot, updateCardOnHostedPage, type Tab, closeBrowserSuite, tabOpener } from './browser.ts';
import { i18n } from '../../src/web/i18n/index.ts';
import { CATALOGS } from '../../src/notify/templates.ts';

describe('the way back from the e-mail, in Chromium', () => {
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

  const linkIn = async (accountId: string, template: string, label: string) => `${t.url}${await linkFromOutbox(t, accountId, template, label)}`;

  test('fr-FR: renewal fails → e-mail link → Billing information → the hosted card page → paid, receipt', async () => {
    const ui = i18n('fr-FR', 'Europe/Paris');
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds, locale: 'fr-FR', domain_zone: 'fr', time_zone: 'Europe/Paris' });
    await t.advance(31);
    const inv = await latestInvoice(t, id);
    assert.equal(inv.status, 'past_due');
    const link = await linkIn(id, 'renewal_failed', CATALOGS.fr['email.link.billing']);
    const x = await tab({ locale: 'fr-FR' });
    await x.page.goto(link);
    await x.page.waitForURL(`${t.url}/portal#billing`);
    await x.page.getByRole('heading', { name: ui.t('billing.heading') }).waitFor();
    await updateCardOnHostedPage(x.page, t, 'fr-FR', CARDS.ok);
    await x.page.waitForURL((u) => u.toString().startsWith(`${t.url}/portal`));
    const flash = x.page.locator('#flash');
    await flash.waitFor();
    const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
    assert.equal(sub.status, 'active');
    assert.equal((await latestInvoice(t, id)).status, 'paid');
    assert.match(await flash.innerText(), new RegExp(ui.date(sub.current_period_end)));
    assert.ok((await templates(t, id)).includes('retry_succeeded'), 'the receipt is in the outbox');
    assert.ok(!(await x.page.content()).includes(CARDS.ok), 'no card number on renewd’s page');
    await screenshot(x.page, 'journey-card-fr');
    assert.deepEqual(x.external, []);
  });

  test('de-DE: authentication required → e-mail link → authenticate → Complete → paid, receipt', async () => {
    const ui = i18n('de-DE', 'Europe/Berlin');
    const id = await subscribedAccount(t, { later: CARDS.auth_always, locale: 'de-DE', domain_zone: 'de', time_zone: 'Europe/Berlin' });
    await t.advance(31);
    const inv = await latestInvoice(t, id);
    assert.equal(inv.attempts.at(-1).reason, 'authentication_required');
    const link = await linkIn(id, 'authentication_required', CATALOGS.de['email.link.authenticate']);
    const x = await tab({ locale: 'de-DE' });
    await x.page.goto(link);
    await x.page.waitForURL(`${t.url}/portal/invoices/${inv.id}/authenticate`);
    assert.equal((await latestInvoice(t, id)).attempts.length, inv.attempts.length, 'opening the link acts on nothing');
    await authenticateOnIssuerPage(x.page, t, 'de-DE', 'Complete');
    assert.equal((await latestInvoice(t, id)).status, 'paid');
    assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'active');
    assert.ok((await templates(t, id)).includes('retry_succeeded'), 'the receipt is in the outbox');
    await screenshot(x.page, 'journey-authenticated-de');
  });

  test('en-GB: authentication fails → the reason is shown; the e-mail link still leads to a second try', async () => {
    const ui = i18n('en-GB', 'Europe/London');
    const id = await subscribedAccount(t, { later: CARDS.auth_always, locale: 'en-GB', domain_zone: 'uk', time_zone: 'Europe/London' });
    await t.advance(31);
    const inv = await latestInvoice(t, id);
    const link = await linkIn(id, 'authentication_required', CATALOGS.en['email.link.authenticate']);
    const x = await tab({ locale: 'en-GB' });
    await x.page.goto(link);
    await authenticateOnIssuerPage(x.page, t, 'en-GB', 'Fail');
    assert.equal((await x.page.locator('#flash').innerText()).trim(), ui.t('result.auth.failed', { reason: ui.t('because.authentication_failed') }));
    assert.equal((await latestInvoice(t, id)).status, 'past_due');
    // The same e-mail link, clicked again: the authenticate page, and this time it completes.
    await x.page.goto(link);
    await x.page.waitForURL(`${t.url}/portal/invoices/${inv.id}/authenticate`);
    await authenticateOnIssuerPage(x.page, t, 'en-GB', 'Complete');
    assert.equal((await latestInvoice(t, id)).status, 'paid');
  });
});
