// Issue 14 part 3 in Chromium, in two languages: a renewal declined with authentication_required →
// the customer signs in (portal session) → opens /portal/invoices/<id>/authenticate → Authenticate
// the payment → the sandbox issuer's page → Complete → back: paid, receipt in the outbox; and →
// Fail → the reason shown, and they can try again. No request leaves the service and the sandbox
// PSP (the issuer's page); no CSP violation (form-action allows the gateway's origin only).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { launchBrowser, screenshot, closeBrowserSuite, type Tab } from './browser.ts';
import { portalToken, templates, latestInvoice } from '../api/helpers.ts';
import { i18n } from '../../src/web/i18n/index.ts';

describe('3-D Secure in the customer pages (Chromium)', () => {
  let t: TestService;
  let browser: Browser;
  const tabs: Tab[] = [];

  before(async () => {
    t = await startTestService({ config: { sandboxEvents: true } });
    await createPlans(t);
    browser = await launchBrowser();
  });
  after(() => closeBrowserSuite(tabs, browser, t));

  /** A tab whose requests may go to the service and to the sandbox PSP (the issuer's page) only. */
  async function tab(locale: string): Promise<Tab> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale });
    const x: Tab = { context, page: await context.newPage(), external: [], errors: [] };
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(t.url) || url.startsWith(t.sandboxUrl) || url.startsWith('data:')) return route.continue();
      x.external.push(url);
      return route.abort();
    });
    x.page.on('console', (m) => {
      if (m.type() === 'error') x.errors.push(m.text());
    });
    x.page.on('pageerror', (e) => x.errors.push(e.message));
    tabs.push(x);
    return x;
  }

  async function needsAuthentication(locale: string, zone: string, tz: string) {
    const id = await subscribedAccount(t, { later: CARDS.auth_always, locale, domain_zone: zone, time_zone: tz });
    await t.advance(31);
    const inv = await latestInvoice(t, id);
    assert.equal(inv.status, 'past_due');
    assert.equal(inv.attempts.at(-1).reason, 'authentication_required');
    return { id, invoiceId: inv.id };
  }

  /** Signed in with a portal-session URL (POST /v1/accounts/{id}/portal-sessions), then on the authenticate page. */
  async function openAuthenticate(x: Tab, id: string, invoiceId: string) {
    const token = await portalToken(t, id);
    await x.page.goto(`${t.url}/portal?token=${encodeURIComponent(token)}`);
    await x.page.goto(`${t.url}/portal/invoices/${invoiceId}/authenticate`);
  }

  test('fr-FR: Authenticate → the issuer page → Complete → paid, receipt e-mailed', async () => {
    const fr = i18n('fr-FR', 'Europe/Paris');
    const { id, invoiceId } = await needsAuthentication('fr-FR', 'fr', 'Europe/Paris');
    const x = await tab('fr-FR');
    // Purchase history offers it too.
    const token = await portalToken(t, id);
    await x.page.goto(`${t.url}/portal?token=${encodeURIComponent(token)}`);
    const link = x.page.locator(`#inv-${invoiceId}`).getByRole('link', { name: fr.t('auth.button') });
    await link.waitFor();
    await link.click();
    await x.page.waitForURL(`${t.url}/portal/invoices/${invoiceId}/authenticate`);
    const text = await x.page.locator('main').innerText();
    assert.ok(text.includes(fr.money(2900, 'EUR')), text);
    assert.ok(text.includes(fr.t('because.authentication_required')), text);
    assert.equal(await x.page.locator('html').getAttribute('lang'), 'fr');
    // GET never acts: no new attempt.
    assert.equal((await latestInvoice(t, id)).attempts.length, 1);
    await screenshot(x.page, 'portal-authenticate-fr');
    await x.page.getByRole('button', { name: fr.t('auth.button') }).click();
    await x.page.waitForURL((u) => u.toString().startsWith(`${t.sandboxUrl}/_sandbox/3ds/`));
    await x.page.getByRole('button', { name: 'Complete authentication' }).click();
    await x.page.waitForURL((u) => u.toString().startsWith(`${t.url}/portal#inv-`));
    const flash = x.page.locator('#flash');
    await flash.waitFor();
    const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
    assert.equal(sub.status, 'active');
    assert.equal((await flash.innerText()).trim(), fr.t('result.paid', { date: fr.date(sub.current_period_end) }));
    assert.equal((await latestInvoice(t, id)).status, 'paid');
    assert.ok((await templates(t, id)).includes('retry_succeeded'), 'the receipt is in the outbox');
    assert.equal(await x.page.locator(`#inv-${invoiceId}`).getByRole('link', { name: fr.t('auth.button') }).count(), 0);
    await screenshot(x.page, 'portal-authenticated-fr');
    assert.equal((await latestInvoice(t, id)).attempts.at(-1).outcome, 'succeeded');
  });

  test('de-DE: Authenticate → Fail → the reason is shown; trying again completes', async () => {
    const de = i18n('de-DE', 'Europe/Berlin');
    const { id, invoiceId } = await needsAuthentication('de-DE', 'de', 'Europe/Berlin');
    const x = await tab('de-DE');
    await openAuthenticate(x, id, invoiceId);
    await x.page.getByRole('button', { name: de.t('auth.button') }).click();
    await x.page.waitForURL((u) => u.toString().startsWith(`${t.sandboxUrl}/_sandbox/3ds/`));
    await x.page.getByRole('button', { name: 'Fail authentication' }).click();
    await x.page.waitForURL((u) => u.toString().startsWith(`${t.url}/portal#inv-`));
    const flash = x.page.locator('#flash');
    await flash.waitFor();
    assert.equal((await flash.innerText()).trim(), de.t('result.auth.failed', { reason: de.t('because.authentication_failed') }));
    const inv = await latestInvoice(t, id);
    assert.equal(inv.status, 'past_due');
    assert.equal(inv.attempts.at(-1).trigger, 'customer_authentication');
    assert.equal(inv.attempts.at(-1).reason, 'authentication_required');
    // The history shows the failed attempt and offers to authenticate again.
    const item = x.page.locator(`#inv-${invoiceId}`);
    assert.ok((await item.innerText()).includes(de.t('trigger.customer_authentication')));
    await screenshot(x.page, 'portal-authentication-failed-de');
    await item.getByRole('link', { name: de.t('auth.button') }).click();
    await x.page.getByRole('button', { name: de.t('auth.button') }).click();
    await x.page.waitForURL((u) => u.toString().startsWith(`${t.sandboxUrl}/_sandbox/3ds/`));
    await x.page.getByRole('button', { name: 'Complete authentication' }).click();
    await x.page.waitForURL((u) => u.toString().startsWith(`${t.url}/portal#inv-`));
    await x.page.locator('#flash').waitFor();
    assert.equal((await latestInvoice(t, id)).status, 'paid');
    assert.ok((await templates(t, id)).includes('retry_succeeded'));
    // Going back to the bank's return address again (a replay, later) changes nothing and says so.
    const pi = (await t.svc.ctx.db.query<{ gateway_ref: string }>(`SELECT gateway_ref FROM payment_attempts WHERE invoice_id = $1 ORDER BY number DESC LIMIT 1`, [invoiceId]))[0].gateway_ref;
    const attemptsBefore = (await latestInvoice(t, id)).attempts.length;
    await t.api('POST', '/v1/test-clock/advance', { hours: 0.25 });
    await x.page.goto(`${t.url}/portal/authenticate/return?payment_intent=${pi}&redirect_status=succeeded`);
    await x.page.locator('#flash').waitFor();
    assert.equal((await x.page.locator('#flash').innerText()).trim(), de.t('result.auth.already'));
    assert.equal((await latestInvoice(t, id)).attempts.length, attemptsBefore);
    // A made-up PaymentIntent: a clear message, nothing changes.
    await x.page.goto(`${t.url}/portal/authenticate/return?payment_intent=pi_forged&redirect_status=succeeded`);
    await x.page.locator('#flash').waitFor();
    assert.equal((await x.page.locator('#flash').innerText()).trim(), de.t('result.auth.mismatch'));
  });

  test("another account's PaymentIntent on the return address: mismatch, nothing changes", async () => {
    const victim = await needsAuthentication('fr-FR', 'fr', 'Europe/Paris');
    const started = await t.api('POST', `/v1/invoices/${victim.invoiceId}/authentication-sessions`);
    assert.equal(started.status, 201);
    const pi = (await t.svc.ctx.db.query<{ gateway_ref: string }>(`SELECT gateway_ref FROM payment_attempts WHERE id = $1`, [started.body.attempt_id]))[0].gateway_ref;
    const other = await subscribedAccount(t, { locale: 'fr-FR' });
    const x = await tab('fr-FR');
    const token = await portalToken(t, other);
    await x.page.goto(`${t.url}/portal?token=${encodeURIComponent(token)}`);
    await x.page.goto(`${t.url}/portal/authenticate/return?payment_intent=${pi}`);
    await x.page.locator('#flash').waitFor();
    assert.equal((await x.page.locator('#flash').innerText()).trim(), i18n('fr-FR').t('result.auth.mismatch'));
    assert.equal((await latestInvoice(t, victim.id)).attempts.at(-1).outcome, 'pending');
  });
});
