// Issue 14 in Chromium: the customer's way back from an e-mail. A renewal fails → the e-mail's
// "update my card" link, taken from the outbox, opens the pages signed in at Billing information
// (clicked from a mail client: a cross-site navigation, the anchor kept, the token gone from the
// address bar); an expired link offers "Send me a new link" → a new e-mail in the outbox whose link
// works; the operator's console revokes a customer's links. In two locales.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { EMAIL_LINK as LINK, launchBrowser, linkFromOutbox as linkFromOutboxOf, screenshot, signInConsole, type Tab, closeBrowserSuite, tabOpener } from './browser.ts';
import { i18n } from '../../src/web/i18n/index.ts';
import { CATALOGS } from '../../src/notify/templates.ts';

describe('e-mail links in Chromium', () => {
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

  const linkFromOutbox = (accountId: string, template: string, label: string) => linkFromOutboxOf(t, accountId, template, label);

  /** Clicks the link in a page of another site, as from a webmail (a cross-site navigation). */
  async function clickFromMail(x: Tab, path: string, label: string) {
    await x.page.goto('about:blank'); // another site's page (an opaque origin), not ours
    await x.page.setContent(`<!doctype html><p><a href="${t.url}${path}">${label}</a></p>`);
    const hop = x.page.waitForResponse((r) => r.url() === `${t.url}${path}`);
    await x.page.getByRole('link', { name: label }).click();
    // A cross-site click: the SameSite=Strict cookie rides only on a same-site navigation, so the
    // link answers a same-site page that continues to the landing (not an HTTP redirect).
    const r = await hop;
    assert.equal(r.status(), 200);
    assert.equal(r.headers()['cache-control'], 'no-store');
  }

  for (const c of [
    { locale: 'fr-FR', zone: 'fr', tz: 'Europe/Paris' },
    { locale: 'de-DE', zone: 'de', tz: 'Europe/Berlin' },
  ]) {
    test(`renewal fails → the e-mail's card link opens the pages signed in at Billing information; an expired link sends a new one (${c.locale})`, async () => {
      const lang = c.locale.slice(0, 2) as keyof typeof CATALOGS;
      const mailText = CATALOGS[lang];
      const ui = i18n(c.locale, c.tz);
      const id = await subscribedAccount(t, { later: CARDS.insufficient_funds, locale: c.locale, domain_zone: c.zone, time_zone: c.tz });
      await t.advance(31);
      const billing = await linkFromOutbox(id, 'renewal_failed', mailText['email.link.billing']);

      const x = await tab({ locale: c.locale });
      await clickFromMail(x, billing, mailText['email.link.billing']);
      await x.page.waitForURL(`${t.url}/portal#billing`);
      assert.equal(new URL(x.page.url()).pathname, '/portal', 'the token left the address bar');
      await x.page.getByRole('heading', { name: ui.t('billing.heading') }).waitFor();
      assert.equal(await x.page.locator('html').getAttribute('lang'), lang);
      assert.equal(await x.page.evaluate(() => location.hash), '#billing');
      await screenshot(x.page, `links-billing-${lang}`);
      // The same link again (people click twice): still signed in at the same place.
      await x.page.goto(`${t.url}${billing}`);
      await x.page.waitForURL(`${t.url}/portal#billing`);

      // Past grace end + 7 days the link is dead: the page offers a new one, in the account's language.
      await t.advance(22);
      const y = await tab({ locale: 'en-US' });
      await y.page.goto(`${t.url}${billing}`);
      await y.page.getByRole('heading', { name: ui.t('link.dead.title') }).waitFor();
      await screenshot(y.page, `links-expired-${lang}`);
      const before = (await t.api('GET', `/v1/notifications?account_id=${id}`)).body.data.length;
      await y.page.getByRole('button', { name: ui.t('link.dead.send') }).click();
      await y.page.getByRole('heading', { name: i18n('en').t('link.sent.title') }).waitFor();
      const after = (await t.api('GET', `/v1/notifications?account_id=${id}`)).body.data;
      assert.equal(after.length, before + 1);
      const fresh = await linkFromOutbox(id, 'access_link', mailText['email.link.billing']);
      assert.notEqual(fresh, billing);
      await clickFromMail(y, fresh, mailText['email.link.billing']);
      await y.page.waitForURL(`${t.url}/portal#billing`);
      await y.page.getByRole('heading', { name: ui.t('billing.heading') }).waitFor();
    });
  }

  test('the pages without a session offer to e-mail a link; the operator revokes links from the console', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds, locale: 'en-GB', domain_zone: 'uk', time_zone: 'Europe/London' });
    const email = `revoke-${id}@acme.example`;
    await t.svc.ctx.db.query('UPDATE accounts SET email = $2 WHERE id = $1', [id, email]);
    const x = await tab({ locale: 'en-GB' });
    await x.page.goto(`${t.url}/portal`);
    const en = i18n('en-GB');
    await x.page.getByLabel(en.t('link.signin.email')).fill(email);
    await x.page.getByRole('button', { name: en.t('link.signin.send') }).click();
    await x.page.getByText(en.t('link.sent.body')).waitFor();
    const link = await linkFromOutbox(id, 'access_link', CATALOGS.en['email.link.portal']);
    await x.page.goto(`${t.url}${link}`);
    await x.page.waitForURL(`${t.url}/portal#subscription`);

    const op = await tab();
    await signInConsole(op, t);
    await op.page.goto(`${t.url}/console/accounts/${id}`);
    await op.page.getByRole('button', { name: 'Revoke links and sessions' }).click();
    await op.page.locator('#flash').waitFor();
    assert.match(await op.page.locator('#flash').innerText(), /Revoked [1-9]\d* e-mail link\(s\) and 1 active portal session\(s\)/);
    // The customer's open page is signed out, and the link now offers a new one.
    await x.page.reload();
    await x.page.getByRole('heading', { name: en.t('link.signin.title') }).waitFor();
    await x.page.goto(`${t.url}${link}`);
    await x.page.getByRole('button', { name: en.t('link.dead.send') }).waitFor();
  });
});
