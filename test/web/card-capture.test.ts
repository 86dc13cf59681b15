// Issue 14 part 2 in Chromium: card capture that never touches a card number at renewd. A past-due
// customer signs in from a portal-session URL, presses "Update card", is sent to the sandbox's
// hosted card page (the gateway's stand-in), first types a declining card (the error shows on the
// hosted page, nothing changes at renewd), then a good one, and comes back to Billing information:
// the invoice is paid, the receipt e-mail is in the outbox. In two locales. Then the proof: no
// request Chromium sent to renewd (URLs and bodies), no line renewd logged (level trace) and no
// row of any table of its database contains the card numbers or CVCs typed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { audit, launchBrowser, screenshot, type Tab, closeBrowserSuite, tabOpener } from './browser.ts';
import { i18n } from '../../src/web/i18n/index.ts';
import { checkoutTexts } from '../../src/sandbox/checkout-page.ts';

// CVCs no other part of a test would produce (4 digits, as Amex's; the sandbox takes 3 or 4).
const CVC_DECLINED = '8461';
const CVC_GOOD = '7392';
const TYPED = [CARDS.generic, CARDS.ok, CVC_DECLINED, CVC_GOOD];

describe('hosted card capture in Chromium', () => {
  let t: TestService;
  let browser: Browser;
  const tabs: Tab[] = [];
  const tab = tabOpener(tabs, () => ({ browser, t }));
  const logs: string[] = [];
  /** What Chromium sent to renewd's origin: method, URL and body of every request. */
  const toRenewd: string[] = [];

  before(async () => {
    const stream = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    t = await startTestService({ logger: { level: 'trace', stream } });
    await createPlans(t);
    browser = await launchBrowser();
  });
  after(() => closeBrowserSuite(tabs, browser, t));

  /** An account whose renewal failed with insufficient funds: past due, in grace. */
  async function pastDue(a: Parameters<typeof subscribedAccount>[1]) {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds, ...a });
    await t.advance(31);
    assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'past_due');
    return id;
  }

  /** Signs in with the URL of a portal session the integrator's backend created. */
  async function signIn(x: Tab, id: string) {
    const r = await t.api('POST', `/v1/accounts/${id}/portal-sessions`, {});
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const u = new URL(r.body.url as string);
    x.page.on('request', (req) => {
      if (req.url().startsWith(t.url)) toRenewd.push(`${req.method()} ${req.url()} ${req.postData() ?? ''}`);
    });
    await x.page.goto(`${t.url}${u.pathname}${u.search}`);
    assert.equal(new URL(x.page.url()).search, '', 'the token left the address bar');
  }

  for (const locale of [
    { tag: 'fr-FR', zone: 'fr', tz: 'Europe/Paris', lang: 'fr' },
    { tag: 'en-GB', zone: 'uk', tz: 'Europe/London', lang: 'en' },
  ]) {
    test(`a past-due customer replaces the card on the hosted page and the invoice is paid (${locale.tag})`, async () => {
      const id = await pastDue({ locale: locale.tag, domain_zone: locale.zone, time_zone: locale.tz });
      const l = i18n(locale.tag, locale.tz);
      const gw = checkoutTexts(locale.tag).t;
      const x = await tab({ locale: locale.tag });
      const { page } = x;
      await signIn(x, id);

      // Billing information: the current card and one button; no card field on renewd's page.
      const billing = page.locator('#billing');
      assert.match(await page.locator('#current-card').innerText(), /9995/);
      assert.equal(await page.locator('input[autocomplete^="cc-"]').count(), 0, 'no card field at renewd');
      await billing.getByRole('button', { name: l.t('billing.update') }).click();

      // The gateway's hosted page, in the account's language.
      await page.waitForURL(`${t.sandboxUrl}/checkout/**`);
      assert.equal(await page.locator('html').getAttribute('lang'), locale.lang);
      const a = await audit(page);
      assert.deepEqual([a.contrast, a.unlabeled], [[], []], 'the hosted page: contrast and labels');
      await screenshot(page, `card-capture-hosted-${locale.lang}`);

      // A declining card: refused at setup, the error on the hosted page, nothing changed at renewd.
      await page.getByLabel(gw.number).fill(CARDS.generic);
      await page.getByLabel(gw.expiry).fill('12 / 34');
      await page.getByLabel(gw.cvc).fill(CVC_DECLINED);
      await page.getByRole('button', { name: gw.save }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.ok((await alert.innerText()).includes(gw.why.declined), await alert.innerText());
      assert.ok(page.url().startsWith(`${t.sandboxUrl}/checkout/`), 'still on the hosted page');
      let inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
      assert.equal(inv.status, 'past_due');
      assert.equal((await t.api('GET', `/v1/accounts/${id}/payment-method`)).body.last4, '9995');
      await screenshot(page, `card-capture-declined-${locale.lang}`);

      // The customer tries again with a good card: back on Billing information, paid.
      await page.getByLabel(gw.number).fill(CARDS.ok);
      await page.getByLabel(gw.expiry).fill('12 / 34');
      await page.getByLabel(gw.cvc).fill(CVC_GOOD);
      await page.getByRole('button', { name: gw.save }).click();
      await page.waitForURL(`${t.url}/portal#billing`);
      const flash = page.locator('#flash');
      await flash.waitFor();
      const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
      assert.equal(sub.status, 'active');
      assert.equal(await flash.innerText(), l.t('result.paid', { date: l.date(sub.current_period_end) }));
      assert.match(await page.locator('#current-card').innerText(), /4242/);
      assert.equal(await page.locator('html').getAttribute('lang'), locale.lang);
      inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
      assert.equal(inv.status, 'paid');
      assert.equal(inv.attempts.at(-1).trigger, 'payment_method_updated');
      // The receipt, in the account's language, is in the outbox.
      const mails = (await t.api('GET', `/v1/notifications?account_id=${id}`)).body.data as { template: string; locale: string }[];
      assert.ok(mails.some((m) => m.template === 'retry_succeeded' && m.locale === locale.tag), JSON.stringify(mails.map((m) => [m.template, m.locale])));
      await screenshot(page, `card-capture-paid-${locale.lang}`);

      // The gateway's return address opened again (from history): nothing changes, and it says so.
      const attempts = inv.attempts.length;
      const returnUrl = toRenewd.map((r) => r.split(' ')[1]).find((u) => u.includes('/portal/billing/return?'))!;
      await page.goto(returnUrl);
      await page.locator('#flash').waitFor();
      assert.equal(await page.locator('#flash').innerText(), l.t('setup.replay'));
      inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data[0];
      assert.equal(inv.attempts.length, attempts, 'no new attempt');
      toRenewd.splice(0, toRenewd.length, ...toRenewd.filter((r) => !r.includes('/portal/billing/return?')));
    });
  }

  test('neither the requests to renewd, its logs nor its database hold a card number or CVC', async () => {
    assert.ok(toRenewd.length > 10, 'the browser tests above ran');
    assert.ok(toRenewd.some((r) => r.startsWith('POST') && r.includes('/portal/billing/setup')), 'Update card was posted to renewd');
    assert.ok(logs.length > 10, 'renewd logged at level trace');
    const tables = await t.svc.ctx.db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
    assert.ok(tables.some((x) => x.table_name === 'card_setup_sessions'));
    let dump = '';
    for (const { table_name } of tables) {
      const rows = await t.svc.ctx.db.query<{ r: string }>(`SELECT t::text AS r FROM "${table_name}" t`);
      dump += rows.map((x) => x.r).join('\n');
    }
    assert.ok(dump.includes('4242'), 'the saved card (last4) is in the dump');
    const found = (text: string) => TYPED.filter((s) => new RegExp(`(?<![0-9])${s}(?![0-9])`).test(text));
    assert.deepEqual(found(toRenewd.join('\n')), [], 'requests to renewd');
    assert.deepEqual(found(logs.join('')), [], 'renewd logs');
    assert.deepEqual(found(dump), [], 'renewd database');
  });
});
