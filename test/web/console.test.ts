// Issue 7 in Chromium: the operator console. Sign-in with the admin key (cookie session, the key
// never in the cookie), the dashboard and its charts, an account's timeline, the test clock, and
// the dunning-policy editor with its inline validation errors.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, ADMIN_KEY, type TestService } from '../helpers/service.ts';
import { launchBrowser, screenshot, signInConsole, type Tab, closeBrowserSuite, tabOpener } from './browser.ts';

describe('operator console in Chromium', () => {
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

  test('sign-in: a wrong key is refused; the right one opens a cookie session that does not hold the key', async () => {
    const x = await tab();
    await x.page.goto(`${t.url}/console/accounts`);
    assert.equal(new URL(x.page.url()).pathname, '/console/login');
    await x.page.getByLabel('Admin key').fill('rk_wrong');
    await x.page.getByRole('button', { name: 'Sign in' }).click();
    await x.page.getByRole('alert').waitFor();
    assert.match(await x.page.getByRole('alert').innerText(), /not valid/);
    assert.equal(await x.page.getByLabel('Admin key').getAttribute('aria-invalid'), 'true');
    await screenshot(x.page, 'console-login-refused');
    await signInConsole(x, t);
    const cookies = await x.context.cookies();
    const session = cookies.find((c) => c.name === 'renewd_console');
    assert.ok(session);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.ok(!cookies.some((c) => c.value.includes(ADMIN_KEY)), 'the admin key is not in any cookie');
    // Sign out ends the session.
    await x.page.getByRole('button', { name: 'Sign out' }).click();
    await x.page.waitForURL(`${t.url}/console/login`);
    await x.page.goto(`${t.url}/console`);
    assert.equal(new URL(x.page.url()).pathname, '/console/login');
  });

  test('dashboard, account timeline and the test clock', async () => {
    // Some history: one account recovered by a new card, one lost after grace, one in grace now.
    const recovered = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    const lost = await subscribedAccount(t, { later: CARDS.expired, locale: 'de-DE', domain_zone: 'de', time_zone: 'Europe/Berlin' });
    await t.advance(31);
    assert.equal((await t.api('PUT', `/v1/accounts/${recovered}/payment-method`, { type: 'card', card: { number: CARDS.ok, exp_month: 12, exp_year: 2030 } })).status, 200);
    await t.advance(15);
    const grace = await subscribedAccount(t, { later: CARDS.processing_error, locale: 'pt-PT', domain_zone: 'pt', time_zone: 'Europe/Lisbon' });
    assert.equal((await t.api('GET', `/v1/accounts/${lost}/subscription`)).body.status, 'downgraded');

    const x = await tab();
    await signInConsole(x, t);
    const { page } = x;
    assert.match(await page.locator('h1').innerText(), /Dashboard/);
    const churn = page.getByRole('img', { name: /involuntary churn per week/ });
    assert.equal(await churn.count(), 1);
    const reasons = await page.getByRole('region', { name: 'Recovery rate by decline reason' }).innerText();
    assert.match(reasons, /Insufficient funds[\s\S]*100%/);
    assert.match(reasons, /Card expired or inactive[\s\S]*0%/);
    assert.match(await page.getByRole('region', { name: 'Success rate by attempt number' }).innerText(), /#1/);
    await screenshot(page, 'console-dashboard');

    // The test clock: 31 days on, the third account's renewal fails and it shows in grace.
    await page.getByLabel('Advance by (days)').fill('31');
    await page.getByRole('button', { name: 'Advance time' }).click();
    await page.locator('#flash').waitFor();
    assert.match(await page.locator('#flash').innerText(), /Test clock advanced by 31 days/);
    assert.equal((await t.api('GET', `/v1/accounts/${grace}/subscription`)).body.status, 'past_due');
    const inGrace = page.getByRole('region', { name: 'Accounts in grace' });
    await inGrace.getByRole('link').first().click();
    await page.waitForURL(/\/console\/accounts\//);

    // The account page: subscription, invoices with attempts, and the timeline with what happens next.
    const timeline = page.getByRole('region', { name: 'Timeline' });
    const text = await timeline.innerText();
    assert.match(text, /Next: (automatic retry|reminder e-mail|grace ends)/);
    assert.match(text, /Renewal failed/);
    const tl = (await t.api('GET', `/v1/accounts/${grace}/timeline`)).body;
    assert.ok(tl.next, 'something is scheduled');
    await screenshot(page, 'console-account');

    // The operator retries the invoice from the account page: the result is shown, the attempt listed.
    await page.getByRole('button', { name: 'Retry now (operator)' }).click();
    await page.locator('#flash').waitFor();
    assert.match(await page.locator('#flash').innerText(), /Operator retry: declined \(Payment-system failure\); invoice is past due/);
    const inv = (await t.api('GET', `/v1/accounts/${grace}/invoices`)).body.data[0];
    assert.equal(inv.attempts.at(-1).trigger, 'operator');
    assert.match(await page.getByRole('region', { name: 'Invoices and attempts' }).innerText(), /operator/);
  });

  test('the operator changes the dunning policy, and sees a validation error for a bad value', async () => {
    const x = await tab();
    await signInConsole(x, t);
    const { page } = x;
    await page.getByRole('link', { name: 'Dunning policy' }).click();
    await page.waitForURL(`${t.url}/console/policy`);

    // A bad value: a 0-day grace period. Refused with the API's message, next to the field.
    await page.getByLabel('Grace period (days)').fill('0');
    await page.getByRole('button', { name: 'Save the policy' }).click();
    await page.getByRole('alert').waitFor();
    const grace = page.getByLabel('Grace period (days)');
    assert.equal(await grace.getAttribute('aria-invalid'), 'true');
    const described = (await grace.getAttribute('aria-describedby')) ?? '';
    const errorId = described.split(' ').find((s) => s.endsWith('-error'));
    assert.ok(errorId);
    assert.match(await page.locator(`#${errorId}`).innerText(), /must be a whole number of days from 1 to 60/);
    assert.equal(await grace.inputValue(), '0', 'the form keeps what was typed');
    // Not saved.
    assert.equal((await t.api('GET', '/v1/dunning-policy')).body.grace_days, 14);
    await screenshot(page, 'console-policy-error');

    // Something that is not a number in a list.
    await grace.fill('10');
    await page.getByLabel('Retry schedule (days after the failure)').fill('1, 3, soon');
    await page.getByRole('button', { name: 'Save the policy' }).click();
    await page.getByRole('alert').waitFor();
    assert.equal(await page.getByLabel('Retry schedule (days after the failure)').getAttribute('aria-invalid'), 'true');
    assert.match(await page.getByRole('alert').innerText(), /"soon" is not a number/);

    // A retry beyond the grace period: the API's range rule, on the list field.
    await page.getByLabel('Retry schedule (days after the failure)').fill('1, 3, 12');
    await page.getByRole('button', { name: 'Save the policy' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /beyond the grace period/);

    // A good policy is saved, and the API reads it back.
    await page.getByLabel('Retry schedule (days after the failure)').fill('1, 3, 6');
    await page.getByLabel('Reminders (days before grace ends)').fill('3');
    await page.getByLabel('Domain zones without Retry').fill('ru, by');
    await page.getByLabel('Insufficient funds').selectOption('soon');
    await page.getByRole('button', { name: 'Save the policy' }).click();
    await page.locator('#flash').waitFor();
    assert.match(await page.locator('#flash').innerText(), /Policy saved/);
    const p = (await t.api('GET', '/v1/dunning-policy')).body;
    assert.equal(p.grace_days, 10);
    assert.deepEqual(p.retry_schedule, [1, 3, 6]);
    assert.deepEqual(p.reminder_days, [3]);
    assert.deepEqual(p.manual_retry.disabled_domain_zones, ['ru', 'by']);
    assert.equal(p.decline_rules.insufficient_funds, 'soon');
    assert.equal(await page.getByLabel('Insufficient funds').inputValue(), 'soon');
    assert.equal(await page.getByLabel('Grace period (days)').inputValue(), '10');
    await screenshot(page, 'console-policy-saved');
    assert.equal((await t.api('PUT', '/v1/dunning-policy', {})).status, 200);
  });

  test('the outbox lists the e-mails', async () => {
    const x = await tab();
    await signInConsole(x, t);
    await x.page.getByRole('link', { name: 'Outbox' }).click();
    await x.page.waitForURL(`${t.url}/console/outbox`);
    const table = await x.page.getByRole('region', { name: 'E-mails' }).innerText();
    assert.match(table, /renewal_failed/);
    await x.page.getByRole('region', { name: 'E-mails' }).getByRole('link').nth(1).click();
    await x.page.waitForURL(/\/console\/outbox\/ntf_/);
    assert.ok((await x.page.locator('pre.body').innerText()).length > 20);
    await screenshot(x.page, 'console-outbox-email');
  });

  test('admin keys: create one (shown once), sign in with it, revoke it, and its console session ends', async () => {
    const x = await tab();
    await signInConsole(x, t);
    await x.page.getByRole('link', { name: 'Admin keys' }).click();
    await x.page.waitForURL(`${t.url}/console/keys`);
    await x.page.getByLabel('Name').fill('night shift');
    await x.page.getByRole('button', { name: 'Create key' }).click();
    const key = (await x.page.locator('#new-key-value').innerText()).trim();
    assert.match(key, /^rk_admin_/);
    await screenshot(x.page, 'console-keys-created');
    // Shown once: the list page never holds it again.
    await x.page.goto(`${t.url}/console/keys`);
    assert.ok(!(await x.page.content()).includes(key));
    assert.match(await x.page.getByRole('region', { name: 'Admin keys' }).innerText(), /night shift[\s\S]*active/);

    // A second operator signs in with the new key…
    const y = await tab();
    await y.page.goto(`${t.url}/console/login`);
    await y.page.getByLabel('Admin key').fill(key);
    await y.page.getByRole('button', { name: 'Sign in' }).click();
    await y.page.waitForURL(`${t.url}/console`);
    // …the first revokes it, and the second is signed out at the next page.
    await x.page.getByRole('button', { name: /Revoke night shift/ }).click();
    await x.page.getByRole('alert').or(x.page.getByRole('status')).first().waitFor();
    assert.match(await x.page.locator('#flash').innerText(), /night shift.*is revoked/);
    await y.page.goto(`${t.url}/console/accounts`);
    assert.equal(new URL(y.page.url()).pathname, '/console/login');
    assert.equal((await t.api('GET', '/v1/accounts', undefined, key)).status, 401);
  });
});
