// Invoice and credit-note documents as PDF (issue 23), drawn with pdfkit from stored data only:
// the texts in the buyer's language (the `doc.*` keys of core/messages, 7 languages), money and
// dates with Intl in the buyer's locale and time zone as recorded at issue. The same data gives
// the same bytes: the PDF's creation date (and so its file ID) is the document's issue time,
// never the time it is rendered, and the embedded font (DejaVu Sans: every letter of the seven
// languages, which the PDF standard fonts lack) is subset the same way each time.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import PDFDocument from 'pdfkit';
import { splitTax } from '../core/documents.ts';
import { numberFormat } from '../core/intl.ts';
import type { CreditNoteRow, InvoiceDocumentData } from '../store/documents.ts';
import { formatMessage, type MessageKey } from '../core/messages/index.ts';
import { cardLabel, formatDate, formatMoney, resolveLocale } from './templates.ts';

let fonts: { regular: Buffer; bold: Buffer } | null = null;
function loadFonts() {
  fonts ??= {
    regular: readFileSync(fileURLToPath(new URL('./fonts/DejaVuSans.ttf', import.meta.url))),
    bold: readFileSync(fileURLToPath(new URL('./fonts/DejaVuSans-Bold.ttf', import.meta.url))),
  };
  return fonts;
}

type Buyer = InvoiceDocumentData['issued']['buyer'];

function texts(buyer: Buyer) {
  const { locale, language } = resolveLocale(buyer.locale);
  const tz = buyer.time_zone || 'UTC';
  return {
    locale,
    t(key: MessageKey, vars: Record<string, string> = {}) {
      return formatMessage(language, locale, key, vars, () => '');
    },
    money: (amount: number, currency: string) => formatMoney(amount, currency, locale),
    date: (d: Date) => formatDate(d, locale, tz),
    percent: (bp: number) => numberFormat(locale, { style: 'percent', maximumFractionDigits: 2 }).format(bp / 10_000),
  };
}

interface Line {
  text: string;
  detail?: string;
  amount: number;
}

const A4 = { width: 595.28, height: 841.89 };
const M = 50; // margin
const W = A4.width - 2 * M;

/** Draws one document: header, parties, lines, totals, then the status lines. Returns the PDF bytes. */
function draw(o: {
  title: string;
  number: string;
  issuedAt: Date;
  seller: InvoiceDocumentData['issued']['seller'];
  buyer: Buyer;
  lines: Line[];
  currency: string;
  taxRateBp: number;
  totalLabel: string;
  status: string[];
}): Promise<Buffer> {
  const tx = texts(o.buyer);
  const f = loadFonts();
  const doc = new PDFDocument({
    size: 'A4',
    margin: M,
    // Stored data only: the creation date (which the file ID is computed from) is the issue time.
    info: { Title: `${o.title} ${o.number}`, Subject: o.number, Author: o.seller.name, Creator: 'renewd', Producer: 'renewd', CreationDate: o.issuedAt },
    lang: tx.locale,
    displayTitle: true,
  });
  doc.registerFont('regular', f.regular);
  doc.registerFont('bold', f.bold);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  // Header: title left; number and date right.
  doc.font('bold').fontSize(22).text(o.title, M, M, { width: W / 2 });
  doc.font('regular').fontSize(10);
  const right = M + W / 2;
  doc.text(`${tx.t('doc.number')}: ${o.number}`, right, M + 4, { width: W / 2, align: 'right' });
  doc.text(`${tx.t('doc.issued_on')}: ${tx.date(o.issuedAt)}`, right, doc.y + 2, { width: W / 2, align: 'right' });

  // Parties: the seller left, the buyer right.
  const top = M + 70;
  const party = (x: number, label: string, name: string, extra: (string | null)[]) => {
    doc.font('bold').fontSize(9).fillColor('#555555').text(label.toUpperCase(), x, top, { width: W / 2 - 10 });
    doc.font('bold').fontSize(11).fillColor('#000000').text(name, x, doc.y + 4, { width: W / 2 - 10 });
    doc.font('regular').fontSize(10);
    for (const line of extra) if (line) doc.text(line, x, doc.y + 1, { width: W / 2 - 10 });
    return doc.y;
  };
  const sellerEnd = party(M, tx.t('doc.seller'), o.seller.name, [...(o.seller.address?.split('\n') ?? []), o.seller.vat_id ? tx.t('doc.vat_id', { vat_id: o.seller.vat_id }) : null]);
  const buyerEnd = party(right, tx.t('doc.buyer'), o.buyer.name, [...(o.buyer.address?.split('\n') ?? []), o.buyer.email, o.buyer.vat_id ? tx.t('doc.vat_id', { vat_id: o.buyer.vat_id }) : null]);

  // Lines.
  let y = Math.max(sellerEnd, buyerEnd) + 30;
  const amountW = 120;
  doc.font('bold').fontSize(10).text(tx.t('doc.description'), M, y, { width: W - amountW });
  doc.text(tx.t('doc.amount'), M + W - amountW, y, { width: amountW, align: 'right' });
  y = doc.y + 4;
  doc.moveTo(M, y).lineTo(M + W, y).lineWidth(0.8).stroke();
  y += 8;
  for (const l of o.lines) {
    doc.font('regular').fontSize(10).text(l.text, M, y, { width: W - amountW - 10 });
    const afterText = doc.y;
    doc.text(tx.money(l.amount, o.currency), M + W - amountW, y, { width: amountW, align: 'right' });
    y = afterText;
    if (l.detail) {
      doc.fontSize(9).fillColor('#555555').text(l.detail, M, y + 1, { width: W - amountW - 10 });
      doc.fillColor('#000000');
      y = doc.y;
    }
    y += 8;
  }
  doc.moveTo(M, y).lineTo(M + W, y).lineWidth(0.5).stroke();
  y += 8;

  // Totals: prices include the tax; the rate is the one recorded at issue.
  const total = o.lines.reduce((s, l) => s + l.amount, 0);
  const sign = total < 0 ? -1 : 1;
  const { net, tax } = splitTax(Math.abs(total), o.taxRateBp);
  const row = (label: string, amount: number, bold = false) => {
    doc.font(bold ? 'bold' : 'regular').fontSize(bold ? 12 : 10);
    doc.text(label, M + W / 2, y, { width: W / 2 - amountW });
    doc.text(tx.money(amount, o.currency), M + W - amountW, y, { width: amountW, align: 'right' });
    y = doc.y + 4;
  };
  row(tx.t('doc.net'), sign * net);
  row(tx.t('doc.tax', { rate: tx.percent(o.taxRateBp) }), sign * tax);
  row(o.totalLabel, total, true);

  // Status: paid (date, card), due, uncollectible, cancelled.
  y += 16;
  doc.font('regular').fontSize(10);
  for (const s of o.status) {
    doc.text(s, M, y, { width: W });
    y = doc.y + 4;
  }
  doc.fontSize(8).fillColor('#555555').text(tx.t('doc.prices_include_tax'), M, A4.height - M - 12, { width: W, lineBreak: false });
  doc.end();
  return done;
}

/** The invoice's lines: its plan for its period, or a proration's two parts (new plan's share, credit for the old one). */
function invoiceLines(d: InvoiceDocumentData, tx: ReturnType<typeof texts>): Line[] {
  const period = tx.t('doc.line.period', { start: tx.date(d.period_start), end: tx.date(d.period_end) });
  const plan_name = d.issued.plan_name;
  if (d.kind === 'proration' && d.proration) {
    const lines: Line[] = [{ text: tx.t('doc.line.proration', { plan_name }), detail: period, amount: d.proration.new_share }];
    if (d.proration.credit > 0) lines.push({ text: tx.t('doc.line.credit', { plan_name: d.proration.from_plan_name ?? '' }), detail: period, amount: -d.proration.credit });
    // The parts add up to what was charged; anything else is shown as the charge alone.
    if (lines.reduce((s, l) => s + l.amount, 0) === d.amount) return lines;
    return [{ text: tx.t('doc.line.proration', { plan_name }), detail: period, amount: d.amount }];
  }
  const interval = tx.t(d.interval === 'year' ? 'doc.interval.year' : 'doc.interval.month');
  return [{ text: tx.t('doc.line.subscription', { plan_name, interval }), detail: period, amount: d.amount }];
}

/** The PDF of an issued invoice. */
export function renderInvoicePdf(d: InvoiceDocumentData): Promise<Buffer> {
  const tx = texts(d.issued.buyer);
  const status: string[] = [];
  if (d.status === 'paid' && d.paid_at) {
    const card = d.card ? cardLabel(d.card.brand ?? undefined, d.card.last4 ?? undefined) : undefined;
    status.push(card ? tx.t('doc.paid', { date: tx.date(d.paid_at), card }) : tx.t('doc.paid_no_card', { date: tx.date(d.paid_at) }));
  } else if (d.status === 'past_due' || d.status === 'open') status.push(tx.t('doc.due'));
  else if (d.status === 'uncollectible') status.push(tx.t('doc.uncollectible'));
  for (const cn of d.credit_notes) status.push(tx.t('doc.cancelled', { number: cn.number, date: tx.date(cn.created_at) }));
  return draw({
    title: tx.t('doc.invoice'),
    number: d.number,
    issuedAt: d.finalized_at,
    seller: d.issued.seller,
    buyer: d.issued.buyer,
    lines: invoiceLines(d, tx),
    currency: d.currency,
    taxRateBp: d.issued.tax_rate_bp,
    totalLabel: tx.t('doc.total'),
    status,
  });
}

/** The PDF of a credit note: the invoice's lines, negated, and what it cancels and why. */
export function renderCreditNotePdf(note: CreditNoteRow & { issued: InvoiceDocumentData['issued'] }, invoice: InvoiceDocumentData): Promise<Buffer> {
  const tx = texts(note.issued.buyer);
  const lines = invoiceLines(invoice, tx).map((l) => ({ ...l, amount: -l.amount }));
  const credited = note.amount === invoice.amount ? lines : [{ text: invoiceLines(invoice, tx)[0].text, amount: -note.amount }];
  const reason = (['canceled', 'plan_changed'] as const).find((r) => r === note.reason);
  return draw({
    title: tx.t('doc.credit_note'),
    number: note.number,
    issuedAt: note.created_at,
    seller: note.issued.seller,
    buyer: note.issued.buyer,
    lines: credited,
    currency: note.currency,
    taxRateBp: note.issued.tax_rate_bp,
    totalLabel: tx.t('doc.credited'),
    status: [tx.t('doc.credit.for', { number: invoice.number, date: tx.date(invoice.finalized_at) }), tx.t(reason ? `doc.credit.reason.${reason}` : 'doc.credit.reason.voided')],
  });
}
