// Issue 23: invoice documents through the API (PGlite, sandbox, test clock). An issued invoice
// (paid, or past due) has a number and a PDF in the account's language and currency, the same bytes
// every time and unchanged by a later change of the seller's settings; a purchase voided by its
// decline has neither; a cancel in grace issues a credit note from its own series; another
// account's token gets 404. The PDFs are read back with Debian's pdftotext (poppler-utils).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startTestService, createPlans, subscribedAccount, card, CARDS, ADMIN_KEY, type TestService } from '../helpers/service.ts';
import { portalToken, problemOf } from './helpers.ts';
import { verifyInvariants } from '../../src/engine/verify.ts';

/** The text of a PDF, as pdftotext lays it out (whitespace runs made one space). */
function pdfText(pdf: Buffer): string {
  return execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', '-', '-'], { input: pdf }).toString('utf8').replace(/[ \t\u00a0\u202f]+/g, ' ');
}

describe('invoice documents (PGlite)', () => {
  let t: TestService;
  let year: number;
  const acc: Record<string, string> = {};
  const invoices = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data as any[];
  const getPdf = async (path: string, auth: string = ADMIN_KEY) => {
    const r = await fetch(t.url + path, { headers: { authorization: `Bearer ${auth}` } });
    return { status: r.status, type: r.headers.get('content-type') ?? '', disposition: r.headers.get('content-disposition') ?? '', bytes: Buffer.from(await r.arrayBuffer()) };
  };

  /** The customer's page, signed in through a portal link (the cookie as a browser keeps it). */
  const portalPage = async (accountId: string) => {
    const r = await fetch(`${t.url}/portal?token=${encodeURIComponent(await portalToken(t, accountId))}`, { redirect: 'manual' });
    assert.equal(r.status, 303);
    const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const page = await fetch(`${t.url}/portal`, { headers: { cookie } });
    assert.equal(page.status, 200);
    return { cookie, body: await page.text() };
  };

  before(async () => {
    t = await startTestService({
      config: { documents: { invoicePrefix: 'RNW', creditNotePrefix: 'RNC', seller: { name: 'Renewd SAS', address: '1 rue de la Paix\n75002 Paris', vat_id: 'FR12345678901' }, taxRateBp: 2000 } },
    });
    await createPlans(t);
    year = (await t.now()).getUTCFullYear();
    acc.fr = await subscribedAccount(t); // fr-FR, EUR: the purchase is paid → RNW-…-000001
    acc.pl = await subscribedAccount(t, { locale: 'pl-PL', domain_zone: 'pl', currency: 'EUR', time_zone: 'Europe/Warsaw', later: CARDS.insufficient_funds });
    // A purchase whose charge is declined: void, never issued.
    const a = await t.api('POST', '/v1/accounts', { name: 'Declined', email: 'd@example.com', locale: 'de-DE', domain_zone: 'de', currency: 'EUR', time_zone: 'Europe/Berlin' });
    acc.declined = a.body.id;
    assert.equal((await t.api('PUT', `/v1/accounts/${acc.declined}/payment-method`, card(CARDS.ok))).status, 200);
    assert.equal((await t.api('PUT', `/v1/accounts/${acc.declined}/payment-method`, card(CARDS.generic))).status, 200);
    assert.equal((await t.api('POST', '/v1/subscriptions', { account_id: acc.declined, plan_id: 'pro', interval: 'month' })).status, 402);
  });
  after(() => t?.close());

  test('a paid invoice has a number and a PDF in the account\'s language: seller, buyer, line, tax, paid with the card', async () => {
    const [inv] = await invoices(acc.fr);
    assert.equal(inv.status, 'paid');
    assert.equal(inv.number, `RNW-${year}-000001`);
    assert.equal(inv.document_url, `/v1/invoices/${inv.id}/pdf`);
    assert.deepEqual(inv.credit_notes, []);
    const r = await getPdf(inv.document_url);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/pdf');
    assert.match(r.disposition, new RegExp(`filename="RNW-${year}-000001.pdf"`));
    assert.equal(r.bytes.subarray(0, 5).toString('latin1'), '%PDF-');
    const text = pdfText(r.bytes);
    for (const want of ['Facture', `RNW-${year}-000001`, 'Renewd SAS', '75002 Paris', 'N° TVA : FR12345678901', 'FACTURÉ À', 'Acme', 'billing@acme.example', 'Abonnement Pro (mensuel)', 'Total hors taxes', 'TVA (20 %)', 'Total TTC', '24,17 €', '4,83 €', '29,00 €', 'Payée le', 'Visa •••• 4242'])
      assert.ok(text.includes(want), `the PDF shows ${JSON.stringify(want)}:\n${text}`);
  });

  test('the same bytes every time, and a later change of the seller\'s settings alters no issued invoice', async () => {
    const [inv] = await invoices(acc.fr);
    const first = await getPdf(inv.document_url);
    const again = await getPdf(inv.document_url);
    assert.ok(first.bytes.equals(again.bytes), 'rendered twice, the same bytes');
    const engine = t.svc.ctx.engine as { documents: unknown };
    const saved = engine.documents;
    engine.documents = { invoicePrefix: 'RNW', creditNotePrefix: 'RNC', seller: { name: 'Someone Else Ltd', address: null, vat_id: null }, taxRateBp: 0 };
    try {
      const after = await getPdf(inv.document_url);
      assert.ok(after.bytes.equals(first.bytes), 'the issued invoice keeps the seller and tax rate it was issued with');
    } finally {
      engine.documents = saved;
    }
  });

  test('the customer fetches their own with their portal token; another account\'s is 404', async () => {
    const [inv] = await invoices(acc.fr);
    const own = await getPdf(inv.document_url, await portalToken(t, acc.fr));
    assert.equal(own.status, 200);
    const other = await t.api('GET', inv.document_url, undefined, await portalToken(t, acc.pl));
    problemOf(other, 404, 'not_found');
    problemOf(await t.api('GET', '/v1/invoices/inv_nope/pdf'), 404, 'not_found');
  });

  test('a purchase voided by its decline takes no number and has no document (409 invoice_not_issued)', async () => {
    const [inv] = await invoices(acc.declined);
    assert.equal(inv.status, 'void');
    assert.equal(inv.number, null);
    assert.equal(inv.document_url, null);
    problemOf(await t.api('GET', `/v1/invoices/${inv.id}/pdf`), 409, 'invoice_not_issued');
  });

  test('billing details: the customer sets them in Billing information (CSRF form) or the API; bad input is refused', async () => {
    const portal = await portalPage(acc.fr);
    assert.match(portal.body, /<form method="post" action="\/portal\/billing\/details">/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(portal.body)![1];
    const post = (form: Record<string, string>) =>
      fetch(`${t.url}/portal/billing/details`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: portal.cookie }, body: new URLSearchParams(form).toString() });
    assert.equal((await post({ billing_name: 'Nobody' })).status, 403, 'no CSRF token: refused');
    assert.equal((await t.api('GET', `/v1/accounts/${acc.fr}/billing-details`)).body.name, null);
    const r = await post({ _csrf: csrf, billing_name: 'Acme SAS', billing_address: '5 avenue Foch\r\n75116 Paris', vat_id: 'FR98765432109' });
    assert.equal(r.status, 303);
    assert.deepEqual((await t.api('GET', `/v1/accounts/${acc.fr}/billing-details`, undefined, await portalToken(t, acc.fr))).body, { name: 'Acme SAS', address: '5 avenue Foch\n75116 Paris', vat_id: 'FR98765432109' });
    const page = await (await fetch(`${t.url}/portal`, { headers: { cookie: portal.cookie } })).text();
    assert.match(page, /value="FR98765432109"/);
    problemOf(await t.api('PUT', `/v1/accounts/${acc.fr}/billing-details`, { vat_id: 'FR<script>' }), 400, 'validation_error');
    problemOf(await t.api('PUT', `/v1/accounts/${acc.fr}/billing-details`, { name: 'x' }, await portalToken(t, acc.pl)), 404, 'not_found');
  });

  test('a past-due renewal is issued (the next number, "payment due"); a cancel in grace issues a credit note', async () => {
    await t.advance(32); // fr renews (paid), pl's renewal is declined (past due)
    const pl = (await invoices(acc.pl)).find((i) => i.status === 'past_due');
    assert.ok(pl, 'pl is past due');
    assert.match(pl.number, new RegExp(`^RNW-${year}-00000[2-5]$`));
    const numbers = (await t.svc.ctx.db.query<{ number: string }>(`SELECT number FROM invoices WHERE number IS NOT NULL ORDER BY number_seq`)).map((r) => r.number);
    assert.deepEqual(numbers, [1, 2, 3, 4].map((n) => `RNW-${year}-${String(n).padStart(6, '0')}`), 'fr purchase, pl purchase, then the two renewals; none for the declined purchase');
    const due = pdfText((await getPdf(pl.document_url)).bytes);
    for (const want of ['Faktura', pl.number, 'NABYWCA', 'Subskrypcja Pro (miesięczna)', 'VAT (20%)', 'Płatność należna'])
      assert.ok(due.includes(want), `the PDF shows ${JSON.stringify(want)}:\n${due}`);

    assert.equal((await t.api('POST', `/v1/accounts/${acc.pl}/subscription/cancel`, { at: 'now' })).status, 200);
    const voided = (await invoices(acc.pl)).find((i) => i.id === pl.id);
    assert.equal(voided.status, 'void');
    assert.equal(voided.number, pl.number, 'an issued invoice keeps its number when cancelled');
    assert.equal(voided.credit_notes.length, 1);
    const cn = voided.credit_notes[0];
    assert.deepEqual({ number: cn.number, amount: cn.amount, currency: cn.currency, reason: cn.reason, invoice_id: cn.invoice_id }, { number: `RNC-${year}-000001`, amount: pl.amount, currency: 'EUR', reason: 'canceled', invoice_id: pl.id });
    const one = await t.api('GET', `/v1/credit-notes/${cn.id}`, undefined, await portalToken(t, acc.pl));
    assert.equal(one.status, 200);
    assert.equal(one.body.number, cn.number);
    problemOf(await t.api('GET', `/v1/credit-notes/${cn.id}`, undefined, await portalToken(t, acc.fr)), 404, 'not_found');
    problemOf(await t.api('GET', `/v1/credit-notes/${cn.id}/pdf`, undefined, await portalToken(t, acc.fr)), 404, 'not_found');

    const note = await getPdf(cn.document_url);
    assert.equal(note.status, 200);
    const text = pdfText(note.bytes);
    for (const want of ['Faktura korygująca', cn.number, `Koryguje fakturę ${pl.number}`, 'Subskrypcja została anulowana', 'Kwota korekty', '-29,00'])
      assert.ok(text.includes(want), `the credit note shows ${JSON.stringify(want)}:\n${text}`);
    assert.ok(pdfText((await getPdf(pl.document_url)).bytes).includes(`Anulowana fakturą korygującą ${cn.number}`), 'the invoice names the credit note that cancels it');

    // The pages link them: the customer's purchase history (the customer's own only) and the console.
    const portal = await portalPage(acc.pl);
    assert.match(portal.body, new RegExp(`<a href="/portal/invoices/${pl.id}/pdf" download="${pl.number}.pdf"[^>]*>Faktura ${pl.number} \\(PDF\\)</a>`));
    assert.match(portal.body, new RegExp(`<a href="/portal/credit-notes/${cn.id}/pdf" download="${cn.number}.pdf"[^>]*>Faktura korygująca ${cn.number} \\(PDF\\)</a>`));
    const fromPage = await fetch(`${t.url}/portal/credit-notes/${cn.id}/pdf`, { headers: { cookie: portal.cookie } });
    assert.equal(fromPage.status, 200);
    assert.ok(Buffer.from(await fromPage.arrayBuffer()).equals(note.bytes), 'the page serves the same document as the API');
    const foreign = await fetch(`${t.url}/portal/invoices/${pl.id}/pdf`, { headers: { cookie: (await portalPage(acc.fr)).cookie } });
    assert.equal(foreign.status, 404, "another account's invoice is not found from the customer's pages");
    assert.equal((await fetch(`${t.url}/portal/invoices/${pl.id}/pdf`, { redirect: 'manual' })).headers.get('content-type')?.startsWith('application/pdf'), false, 'no session: no document');

    // Credit notes add up with their invoices, and the series are gapless.
    const report = await verifyInvariants(t.svc.ctx.db, await t.now());
    assert.deepEqual(report.violations, []);
  });

  test('the billing details show on invoices issued after they were set, never on those issued before', async () => {
    const all = await invoices(acc.fr);
    const renewal = all.find((i) => i.kind === 'renewal' && i.status === 'paid');
    const purchase = all.find((i) => i.kind === 'purchase');
    const after = pdfText((await getPdf(renewal.document_url)).bytes);
    for (const want of ['Acme SAS', '5 avenue Foch', '75116 Paris', 'N° TVA : FR98765432109']) assert.ok(after.includes(want), `${want}:\n${after}`);
    const before = pdfText((await getPdf(purchase.document_url)).bytes);
    assert.ok(!before.includes('Acme SAS') && !before.includes('FR98765432109'), before);
  });

  test('the receipt e-mail links the invoice\'s PDF with no login', async () => {
    const [mail] = await t.svc.ctx.db.query<{ body_text: string; dedupe_key: string }>(
      `SELECT body_text, dedupe_key FROM notifications WHERE account_id = $1 AND template = 'renewal_succeeded' ORDER BY created_at DESC LIMIT 1`,
      [acc.fr],
    );
    const invoiceId = mail.dedupe_key.split(':')[1];
    assert.match(mail.body_text, /Télécharger ma facture \(PDF\)/);
    const links = [...mail.body_text.matchAll(/https?:\/\/\S+\/portal\/links\/rl_[A-Za-z0-9_-]+/g)].map((m) => m[0]);
    let opened = false;
    for (const link of links) {
      const r = await fetch(link, { redirect: 'manual' });
      if (r.headers.get('location') !== `/portal/invoices/${invoiceId}/pdf`) continue;
      const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const pdf = await fetch(t.url + r.headers.get('location'), { headers: { cookie } });
      assert.equal(pdf.status, 200);
      assert.equal(pdf.headers.get('content-type'), 'application/pdf');
      const text = pdfText(Buffer.from(await pdf.arrayBuffer()));
      const [inv] = (await invoices(acc.fr)).filter((i) => i.id === invoiceId);
      assert.ok(text.includes(inv.number), text);
      opened = true;
    }
    assert.ok(opened, `no link of the receipt lands on its invoice's PDF: ${links.join(', ')}`);
  });

  test('the console\'s account page links each issued invoice\'s PDF; a purchase voided unissued says so', async () => {
    const login = await fetch(`${t.url}/console/login`);
    let cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())?.[1] ?? '';
    const ok = await fetch(`${t.url}/console/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams({ _csrf: csrf, key: ADMIN_KEY }).toString() });
    assert.equal(ok.status, 303);
    cookie = ok.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const [inv] = await invoices(acc.fr);
    const page = await (await fetch(`${t.url}/console/accounts/${acc.fr}`, { headers: { cookie } })).text();
    assert.match(page, new RegExp(`<a href="/console/invoices/${inv.id}/pdf" download="${inv.number}.pdf"><span class="mono">${inv.number}</span> \\(PDF\\)</a>`));
    const pdf = await fetch(`${t.url}/console/invoices/${inv.id}/pdf`, { headers: { cookie } });
    assert.equal(pdf.status, 200);
    assert.ok(Buffer.from(await pdf.arrayBuffer()).equals((await getPdf(inv.document_url)).bytes));
    const declined = await (await fetch(`${t.url}/console/accounts/${acc.declined}`, { headers: { cookie } })).text();
    assert.match(declined, /Not issued: no number, no document\./);
  });
});
