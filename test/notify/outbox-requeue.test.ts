// Issue 16 item 9: a process without SMTP_URL leaves the outbox's delivery state alone (no
// 'kept'): its e-mails wait as pending and the process with SMTP sends them. E-mails no sender will
// try again ('kept' by earlier versions, 'failed') are re-queued by the operator through the API
// (POST /v1/notifications/{id}/requeue, /v1/notifications/requeue-kept) and the console's outbox
// (in Chromium).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { createMailSender } from '../../src/notify/sender.ts';
import { portalToken, problemOf } from '../api/helpers.ts';
import { launchBrowser, signInConsole, type Tab, closeBrowserSuite, tabOpener } from '../web/browser.ts';
import { startSmtp, type TestSmtp } from './helpers.ts';

describe('outbox without SMTP, and re-queueing kept e-mails', () => {
  let t: TestService;
  let smtp: TestSmtp;
  let browser: Browser;
  let acc: string;
  const tabs: Tab[] = [];
  const tab = tabOpener(tabs, () => ({ browser, t }));
  const rows = () => t.svc.ctx.db.query<{ id: string; status: string; attempts: number }>('SELECT id, status, attempts FROM notifications ORDER BY created_at, id');

  before(async () => {
    [t, smtp] = await Promise.all([startTestService(), startSmtp()]); // this service has no SMTP_URL
    await createPlans(t);
    acc = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31); // a failed renewal: dunning e-mails, and the test clock drains the sender
    browser = await launchBrowser();
  });
  after(async () => {
    await closeBrowserSuite(tabs, browser, t);
    await smtp?.close();
  });

  test('the service without SMTP_URL leaves every e-mail pending, untried', async () => {
    const all = await rows();
    assert.ok(all.length >= 2, 'the scenario writes e-mails');
    assert.deepEqual([...new Set(all.map((r) => r.status))], ['pending']);
    assert.ok(all.every((r) => r.attempts === 0));
  });

  test('API: kept and failed e-mails are re-queued (admin only); sent, pending and unknown ones are refused', async () => {
    const [a, b] = (await rows()).map((r) => r.id);
    await t.svc.ctx.db.query(`UPDATE notifications SET status = 'kept', next_attempt_at = NULL WHERE id = $1`, [a]);
    await t.svc.ctx.db.query(`UPDATE notifications SET status = 'failed', attempts = 12, last_error = '550 mailbox unavailable', next_attempt_at = NULL WHERE id = $1`, [b]);
    problemOf(await t.api('POST', `/v1/notifications/${a}/requeue`, undefined, null), 401, 'unauthorized');
    const tok = await portalToken(t, acc);
    assert.ok([401, 403, 404].includes((await t.api('POST', `/v1/notifications/${a}/requeue`, undefined, tok)).status));
    const r = await t.api('POST', `/v1/notifications/${a}/requeue`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.id, r.body.status, r.body.attempts, r.body.last_error], [a, 'pending', 0, null]);
    const again = await t.api('POST', `/v1/notifications/${a}/requeue`);
    problemOf(again, 409, 'not_requeueable');
    assert.match(again.body.detail, /this e-mail is pending: only kept or failed e-mails are re-queued/);
    problemOf(await t.api('POST', '/v1/notifications/ntf_nope/requeue'), 404, 'not_found');
    assert.equal((await t.api('POST', `/v1/notifications/${b}/requeue`)).body.status, 'pending');
    await t.svc.ctx.db.query(`UPDATE notifications SET status = 'kept', next_attempt_at = NULL WHERE id = $1`, [a]);
    assert.deepEqual((await t.api('POST', '/v1/notifications/requeue-kept')).body, { requeued: 1 });
    assert.deepEqual((await t.api('POST', '/v1/notifications/requeue-kept')).body, { requeued: 0 });
    assert.deepEqual([...new Set((await rows()).map((x) => x.status))], ['pending']);

    // A process with SMTP sends them all, each once.
    const n = (await rows()).length;
    const sender = createMailSender({ db: t.svc.ctx.db, clock: t.svc.ctx.clock, from: 'Billing <billing@renewd.example>', smtpUrl: smtp.url });
    assert.deepEqual(await sender.runOnce(), { sent: n, failed: 0, retrying: 0 });
    assert.equal(smtp.messages.length, n);
    problemOf(await t.api('POST', `/v1/notifications/${a}/requeue`), 409, 'not_requeueable');
  });

  test('console: "Re-queue all kept e-mails" on the outbox, "Re-queue this e-mail" on a kept one', async () => {
    const [a, b] = (await rows()).map((r) => r.id);
    await t.svc.ctx.db.query(`UPDATE notifications SET status = 'kept', next_attempt_at = NULL WHERE id = ANY($1)`, [[a, b]]);
    const x = await tab();
    await signInConsole(x, t);
    const { page } = x;
    await page.goto(`${t.url}/console/outbox/${a}`);
    // The HTML part as the customer sees it, framed and sandboxed (its own CSP: no script, no request).
    const mail = (await t.svc.ctx.db.query<{ subject: string; body_html: string }>('SELECT subject, body_html FROM notifications WHERE id = $1', [a]))[0];
    const framed = page.frameLocator('iframe.mail-html').locator('body');
    await framed.waitFor();
    assert.ok((await framed.innerText()).length > 20, 'the framed e-mail shows its text');
    const direct = await x.page.request.get(`${t.url}/console/outbox/${a}/html`);
    assert.equal(await direct.text(), mail.body_html);
    assert.match(direct.headers()['content-security-policy'], /default-src 'none'.*sandbox/);
    await page.getByRole('button', { name: 'Re-queue this e-mail' }).click();
    await page.locator('#flash').waitFor();
    assert.match(await page.locator('#flash').innerText(), /Re-queued: .* is sent by the next process with SMTP_URL/);
    assert.equal(await page.getByRole('button', { name: 'Re-queue this e-mail' }).count(), 0, 'a pending e-mail has no re-queue button');
    await page.goto(`${t.url}/console/outbox`);
    assert.match(await page.locator('main').innerText(), /1 e-mail was left unsent \(kept\)/);
    await page.getByRole('button', { name: 'Re-queue all kept e-mails' }).click();
    await page.locator('#flash').waitFor();
    assert.match(await page.locator('#flash').innerText(), /1 kept e-mail re-queued/);
    assert.equal(await page.getByRole('button', { name: 'Re-queue all kept e-mails' }).count(), 0);
    const status = new Map((await rows()).map((r) => [r.id, r.status]));
    assert.deepEqual([status.get(a), status.get(b)], ['pending', 'pending']);
  });
});
