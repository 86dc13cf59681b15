// Issue 23 in Chromium: the customer downloads their invoice from Purchase history (it-IT), the
// file is the invoice's PDF (its number inside, the same bytes the API serves), and after a cancel
// in grace the credit note is downloaded the same way. No request leaves the service.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { startTestService, createPlans, subscribedAccount, CARDS, ADMIN_KEY, type TestService } from '../helpers/service.ts';
import { launchBrowser, openPortal, screenshot, type Tab, closeBrowserSuite, tabOpener } from './browser.ts';
import { i18n } from '../../src/web/i18n/index.ts';

describe('invoice documents in the customer pages (Chromium)', () => {
  let t: TestService;
  let browser: Browser;
  const tabs: Tab[] = [];
  const tab = tabOpener(tabs, () => ({ browser, t }));
  const apiPdf = async (path: string) => Buffer.from(await (await fetch(t.url + path, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).arrayBuffer());

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    browser = await launchBrowser();
  });
  after(() => closeBrowserSuite(tabs, browser, t));

  test('Purchase history: download the invoice, then the credit note after a cancel in grace (it-IT)', async () => {
    const id = await subscribedAccount(t, { locale: 'it-IT', domain_zone: 'it', time_zone: 'Europe/Rome', later: CARDS.insufficient_funds });
    await t.advance(31); // the renewal is declined: past due, issued
    const it = i18n('it-IT', 'Europe/Rome');
    const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data.find((i: any) => i.status === 'past_due');
    assert.ok(inv?.number, 'the past-due invoice is issued');
    const x = await tab();
    await openPortal(x, t, id);
    const { page } = x;
    const link = page.getByRole('link', { name: it.t('history.document', { number: inv.number }) });
    await screenshot(page, 'portal-documents');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    assert.equal(download.suggestedFilename(), `${inv.number}.pdf`);
    const bytes = await readFile((await download.path())!);
    assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(bytes.equals(await apiPdf(`/v1/invoices/${inv.id}/pdf`)), 'the page gives the same document as the API');
    const text = execFileSync('pdftotext', ['-', '-'], { input: bytes }).toString('utf8');
    assert.ok(text.includes(inv.number) && text.includes('Fattura'), text);

    // Cancel in grace: the issued invoice is cancelled by a credit note, downloadable beside it.
    await page.getByText(it.t('cancel.summary')).click();
    await page.getByRole('button', { name: it.t('cancel.pastDue') }).click();
    await page.locator('#flash').waitFor();
    const cn = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data.find((i: any) => i.id === inv.id).credit_notes[0];
    assert.ok(cn, 'a credit note');
    const [noteDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: it.t('history.creditNote', { number: cn.number }) }).click()]);
    assert.equal(noteDownload.suggestedFilename(), `${cn.number}.pdf`);
    const note = await readFile((await noteDownload.path())!);
    assert.ok(note.equals(await apiPdf(`/v1/credit-notes/${cn.id}/pdf`)));
    assert.ok(execFileSync('pdftotext', ['-', '-'], { input: note }).toString('utf8').includes('Nota di credito'));
    assert.deepEqual(x.external, [], 'no request left the service');
    assert.deepEqual(x.errors, []);
  });
});
