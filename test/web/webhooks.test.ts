// Issue 7 in Chromium: the console's webhooks page. The operator registers an endpoint (with
// inline validation errors first), copies the signing secret shown once, a renewal event reaches a
// receiver started here (signed: the receiver checks the signature with that secret), and the
// console shows the delivery; disabling the endpoint stops deliveries, enabling resumes them.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, type TestService } from '../helpers/service.ts';
import { verifySignature } from '../../src/notify/signing.ts';
import { launchBrowser, newTab, screenshot, signInConsole, type Tab, closeBrowserSuite } from './browser.ts';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The test clock when it arrived (the signature's timestamp is checked against it). */
  at: Date;
}

describe('console webhooks in Chromium', () => {
  let t: TestService;
  let browser: Browser;
  let receiver: Server;
  let receiverUrl: string;
  const received: Received[] = [];
  const tabs: Tab[] = [];

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    browser = await launchBrowser();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        // The receiver checks t= against its own (real) clock, as every verifier does.
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: new Date() });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/renewd`;
  });
  after(async () => {
    try {
      await closeBrowserSuite(tabs, browser, t);
    } finally {
      await new Promise((resolve) => receiver?.close(resolve));
    }
  });

  test('the operator registers an endpoint, a signed renewal event is delivered, the console shows the delivery', async () => {
    const accountId = await subscribedAccount(t);
    const x = await newTab(browser, t);
    tabs.push(x);
    const { page } = x;
    await signInConsole(x, t);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.waitForURL(`${t.url}/console/webhooks`);
    assert.match(await page.getByRole('region', { name: 'Endpoints', exact: true }).innerText(), /No endpoint yet/);

    // Invalid: not an http(s) URL, and no event type. Both refused next to their fields; nothing saved.
    await page.getByLabel('Endpoint URL').fill('ftp://example.com/hooks');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('alert').waitFor();
    const url = page.getByLabel('Endpoint URL');
    assert.equal(await url.getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#wh-url-error').innerText(), /Only http and https/);
    assert.match(await page.locator('#wh-event_types-error').innerText(), /at least one event type/);
    assert.equal(await url.inputValue(), 'ftp://example.com/hooks', 'the form keeps what was typed');
    // A malformed event type.
    await url.fill(receiverUrl);
    await page.getByLabel('Other event types').fill('subscription.renewed, Renewals!');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.locator('#wh-event_types-error').innerText(), /"Renewals!" is not an event type/);
    assert.equal(await page.getByLabel('Endpoint URL').getAttribute('aria-invalid'), null);
    assert.deepEqual((await t.api('GET', '/v1/webhook-endpoints')).body.data, []);
    await screenshot(page, 'console-webhooks-error');

    // Valid: exact type plus a group (keyboard: the checkbox is toggled with Space).
    await page.getByLabel('Other event types').fill('subscription.renewed');
    await page.getByLabel(/Invoices \(created/).focus();
    await page.keyboard.press('Space');
    await page.getByLabel('Description (optional)').fill('Billing mirror');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.locator('#flash').waitFor();
    assert.match(await page.locator('#flash').innerText(), /Endpoint added/);
    const secret = await page.getByLabel('Secret', { exact: true }).inputValue();
    assert.match(secret, /^whsec_/);
    const eps = (await t.api('GET', '/v1/webhook-endpoints')).body.data;
    assert.equal(eps.length, 1);
    assert.equal(eps[0].url, receiverUrl);
    assert.deepEqual(eps[0].event_types, ['invoice.*', 'subscription.renewed']);
    // The secret is shown once only.
    await page.reload();
    assert.equal(await page.getByLabel('Secret', { exact: true }).count(), 0);

    // A month on (the console's test-clock control): the renewal is charged and its events are delivered.
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByLabel('Advance by (days)').fill('31');
    await page.getByRole('button', { name: 'Advance time' }).click();
    await page.locator('#flash').waitFor();
    assert.match(await page.locator('#flash').innerText(), /Test clock advanced by 31 days/);
    const renewed = received.filter((r) => JSON.parse(r.body).type === 'subscription.renewed');
    assert.equal(renewed.length, 1, 'one subscription.renewed delivered');
    const r = renewed[0];
    const payload = JSON.parse(r.body);
    assert.equal(payload.data.account_id, accountId);
    assert.equal(r.headers['renewd-event-id'], payload.id);
    assert.ok(verifySignature(secret, String(r.headers['renewd-signature']), r.body, r.at), 'signed with the secret the console showed');
    assert.ok(!verifySignature('whsec_wrong', String(r.headers['renewd-signature']), r.body, r.at));
    assert.ok(received.some((x) => JSON.parse(x.body).type === 'invoice.paid'), 'the invoice.* group is delivered too');
    assert.ok(!received.some((x) => /^payment_attempt\./.test(JSON.parse(x.body).type)), 'types not subscribed to are not sent');

    // The console shows the deliveries, succeeded with the receiver's answer.
    await page.getByRole('link', { name: 'Webhooks' }).click();
    const deliveries = page.getByRole('region', { name: 'Table: webhook deliveries' });
    const row = deliveries.getByRole('row').filter({ hasText: 'subscription.renewed' });
    assert.equal(await row.count(), 1);
    const text = await row.innerText();
    assert.match(text, /succeeded/);
    assert.match(text, /HTTP 200/);
    assert.ok(text.includes(payload.id), 'the event id the receiver got');
    await screenshot(page, 'console-webhooks-delivered');
    // One endpoint's deliveries.
    await page.getByRole('region', { name: 'Table: webhook endpoints' }).getByRole('link', { name: /^Deliveries/ }).click();
    await page.waitForURL(/endpoint=we_/);
    assert.match(await page.locator('#del-title').innerText(), new RegExp(`Deliveries to ${receiverUrl.replace(/[.]/g, '\\.')}`));
    assert.equal(await page.getByRole('region', { name: 'Table: webhook deliveries' }).getByRole('row').filter({ hasText: 'subscription.renewed' }).count(), 1);

    // Disable: the next renewal sends nothing; enable: later events flow again.
    const endpoints = page.getByRole('region', { name: 'Table: webhook endpoints' });
    await endpoints.getByRole('button', { name: /^Disable/ }).click();
    await page.locator('#flash').waitFor();
    assert.match(await page.locator('#flash').innerText(), /disabled/);
    assert.match(await endpoints.innerText(), /disabled by the operator/);
    const before = received.length;
    await t.advance(31);
    assert.equal(received.length, before, 'nothing is sent to a disabled endpoint');
    await endpoints.getByRole('button', { name: /^Enable/ }).click();
    await page.locator('#flash').waitFor();
    assert.match(await page.locator('#flash').innerText(), /enabled/);
    assert.equal((await t.api('GET', `/v1/webhook-endpoints/${eps[0].id}`)).body.status, 'enabled');
    await t.advance(31);
    assert.ok(received.length > before, 'deliveries resume once enabled');
    await page.reload();
    await screenshot(page, 'console-webhooks-reenabled');
  });
});
