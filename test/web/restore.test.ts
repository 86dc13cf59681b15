// Issue 15 item 3 in Chromium: a downgraded customer follows the downgrade e-mail's link to the
// Restore section, presses "Restore Pro" with the card that failed (declined: the reason, still on
// the free plan, sent to Billing information), changes the card, presses it again and has Pro back,
// a new period from today. In the account's language, with no request leaving the service.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { launchBrowser, openPortal, screenshot, type Tab, closeBrowserSuite, tabOpener, updateCardOnHostedPage } from './browser.ts';
import { i18n } from '../../src/web/i18n/index.ts';

describe('Restore after a downgrade, in Chromium', () => {
  let t: TestService;
  let browser: Browser;
  const tabs: Tab[] = [];
  const tab = tabOpener(tabs, () => ({ browser, t }));

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    const r = await t.api('POST', '/v1/plans', { id: 'business', name: 'Business', prices: [{ currency: 'EUR', interval: 'month', amount: 7900 }] });
    assert.equal(r.status, 201);
    browser = await launchBrowser();
  });
  after(() => closeBrowserSuite(tabs, browser, t));

  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;

  test('downgraded: Restore Pro is declined with the reason, then a new card restores it (fr-FR)', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31); // the renewal fails
    await t.advance(15); // grace ended: the free plan
    assert.deepEqual([(await sub(id)).status, (await sub(id)).plan_id], ['downgraded', 'free']);
    const fr = i18n('fr-FR', 'Europe/Paris');

    // The downgrade e-mail's link leads to the Restore section of the pages.
    const [mail] = await t.svc.ctx.db.query<{ body_text: string; body_html: string }>(`SELECT body_text, body_html FROM notifications WHERE account_id = $1 AND template = 'downgraded'`, [id]);
    // (its own no-login link: opened in the browser, it lands signed in on /portal#restore)
    const link = /\/portal\/links\/rl_[A-Za-z0-9_-]{32}/.exec(mail.body_text)?.[0];
    assert.ok(link, 'a no-login link in the text part');
    assert.ok(mail.body_html.includes(`${link}"`), 'the same link in the HTML part');

    const x = await tab();
    const { page } = x;
    await page.goto(`${t.url}${link}`);
    await page.waitForURL(`${t.url}/portal#restore`);
    const restore = page.getByRole('region', { name: fr.t('restore.heading') });
    await restore.waitFor();
    const button = restore.getByRole('button', { name: fr.t('restore.button', { plan: 'Pro' }) });
    assert.equal(await button.count(), 1);
    const text = await restore.innerText();
    assert.ok(text.includes(fr.t('restore.offer', { plan: 'Pro', price: fr.t('sub.per.month', { amount: fr.money(2900, 'EUR') }) })), text);
    assert.match(text, /9995/); // the saved card it will charge
    // The other paid plans and prices, in the account's currency.
    assert.equal(await restore.getByRole('button', { name: fr.t('restore.buy', { plan: 'Business', price: fr.t('sub.per.month', { amount: fr.money(7900, 'EUR') }) }) }).count(), 1);
    assert.equal(await restore.getByRole('button', { name: fr.t('restore.buy', { plan: 'Pro', price: fr.t('sub.per.year', { amount: fr.money(29000, 'EUR') }) }) }).count(), 1);
    await screenshot(page, 'portal-restore-offer');

    // With the card that failed: declined, the reason, still on the free plan, pointed at Billing information.
    await button.click();
    const flash = page.locator('#flash');
    await flash.waitFor();
    assert.equal(await flash.innerText(), fr.t('result.restore.declined', { reason: fr.t('because.insufficient_funds') }));
    assert.equal(new URL(page.url()).hash, '#billing');
    let s = await sub(id);
    assert.deepEqual([s.status, s.plan_id], ['downgraded', 'free']);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/access`)).body.paid, false);
    await screenshot(page, 'portal-restore-declined');

    // A new card in Billing information (nothing is charged: no invoice is due), then Restore again.
    await updateCardOnHostedPage(page, t, 'fr-FR', CARDS.ok);
    await page.locator('#flash').waitFor();
    assert.equal(await page.locator('#flash').innerText(), fr.t('result.card.saved'));
    const now = await t.now();
    await page.getByRole('region', { name: fr.t('restore.heading') }).getByRole('button', { name: fr.t('restore.button', { plan: 'Pro' }) }).click();
    await page.locator('#flash').waitFor();
    s = await sub(id);
    assert.deepEqual([s.status, s.plan_id, s.interval], ['active', 'pro', 'month']);
    assert.equal(s.current_period_start, now.toISOString(), 'the new period starts at the purchase, not at the old period end');
    assert.equal(await page.locator('#flash').innerText(), fr.t('result.restore.paid', { plan: 'Pro', date: fr.date(s.current_period_end) }));
    // The plan is back: no Restore section any more, the subscription shows Pro, active.
    assert.equal(await page.getByRole('region', { name: fr.t('restore.heading') }).count(), 0);
    const panel = await page.locator('#subscription').innerText();
    assert.ok(panel.includes('Pro') && panel.includes(fr.t('sub.status.active')), panel);
    assert.ok(!(await page.content()).includes(CARDS.ok));
    await screenshot(page, 'portal-restored');
  });

  test('no saved card: the section says to add one first and offers no button (en-US)', async () => {
    const acc = await t.api('POST', '/v1/accounts', { name: 'N', email: 'n@example.com', locale: 'en-US', domain_zone: 'com', currency: 'EUR' });
    const en = i18n('en-US');
    const x = await tab();
    await openPortal(x, t, acc.body.id);
    const restore = x.page.getByRole('region', { name: en.t('restore.heading') });
    await restore.waitFor();
    assert.ok((await restore.innerText()).includes(en.t('restore.noCard')));
    assert.equal(await restore.getByRole('button').count(), 0);
  });
});
