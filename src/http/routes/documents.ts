// Invoice and credit-note documents (issue 23): the PDF of an issued invoice, credit notes and their
// PDFs. The operator's key or the account's own portal token (another account's: 404).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RoutePlugin } from '../route-plugin.ts';
import { canSee, requireAnyone } from '../auth.ts';
import { amount, anyoneSecurity, currency, dateTime, idParam, problemResponses } from '../schemas.ts';
import { CommandError } from '../../core/errors.ts';
import { creditNote, creditNotePdf, invoicePdf, type PdfDocument } from '../../engine/documents.ts';

const pdfResponse = {
  200: {
    description: 'The document as a PDF (the same bytes every time: drawn from the data recorded when it was issued).',
    content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } },
  },
} as const;

export const creditNoteOut = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string', example: 'cn_Zx8…' },
    number: { type: 'string', example: 'RNC-2026-000001' },
    invoice_id: { type: 'string' },
    account_id: { type: 'string' },
    amount,
    currency,
    reason: { type: 'string', description: 'why the invoice was cancelled: canceled (the subscription, in grace), plan_changed (in grace: a new invoice replaces it)' },
    created_at: dateTime,
  },
} as const;

const billingDetailsOut = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: ['string', 'null'], description: "the name on the account's documents (null: the account's name)" },
    address: { type: ['string', 'null'], description: 'the address, one line per part (\\n between lines)' },
    vat_id: { type: ['string', 'null'] },
  },
} as const;

const billingDetailsBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: ['string', 'null'], maxLength: 200 },
    address: { type: ['string', 'null'], maxLength: 500 },
    vat_id: { type: ['string', 'null'], maxLength: 32 },
  },
  example: { name: 'Acme SAS', address: '1 rue de la Paix\n75002 Paris', vat_id: 'FR12345678901' },
} as const;

function sendPdf(reply: FastifyReply, d: PdfDocument) {
  // inline: the browser shows it, and its own download button keeps the number as the file name.
  return reply
    .type('application/pdf')
    .header('content-disposition', `inline; filename="${d.filename}"`)
    .header('cache-control', 'private, no-store')
    .send(d.pdf);
}

export const documentRoutes: RoutePlugin = async (app, { ctx }) => {
  const seer = (req: FastifyRequest) => (accountId: string) => canSee(req, accountId);

  app.get('/v1/invoices/:id/pdf', {
    preValidation: requireAnyone,
    schema: {
      tags: ['purchase history'],
      summary: 'The invoice document (PDF)',
      description:
        'An invoice is issued, with its number from a gapless series (RENEWD_INVOICE_PREFIX-YEAR-000001), once it is paid or past due; ' +
        'its PDF, in the account\'s language and currency, shows the seller, the buyer, the lines, the tax and the payment. ' +
        'An invoice never issued (a purchase voided when its charge was declined, one being paid now): 409 invoice_not_issued.',
      security: anyoneSecurity,
      params: idParam,
      response: { ...pdfResponse, ...problemResponses, 409: { $ref: 'Problem#' } },
    },
  }, async (req, reply) => sendPdf(reply, await invoicePdf(ctx.db, req.params.id, seer(req))));

  app.get('/v1/credit-notes/:id', {
    preValidation: requireAnyone,
    schema: {
      tags: ['purchase history'],
      summary: 'A credit note (it cancels an issued invoice; also listed with the invoice in the purchase history)',
      security: anyoneSecurity,
      params: idParam,
      response: { 200: creditNoteOut, ...problemResponses },
    },
  }, async (req) => creditNote(ctx.db, req.params.id, seer(req)));

  app.get('/v1/credit-notes/:id/pdf', {
    preValidation: requireAnyone,
    schema: {
      tags: ['purchase history'],
      summary: 'The credit note document (PDF)',
      security: anyoneSecurity,
      params: idParam,
      response: { ...pdfResponse, ...problemResponses },
    },
  }, async (req, reply) => sendPdf(reply, await creditNotePdf(ctx.db, req.params.id, seer(req))));

  app.get('/v1/accounts/:id/billing-details', {
    preValidation: requireAnyone,
    schema: {
      tags: ['billing information'],
      summary: "The name, address and VAT id the account's documents show",
      security: anyoneSecurity,
      params: idParam,
      response: { 200: billingDetailsOut, ...problemResponses },
    },
  }, async (req) => {
    if (!canSee(req, req.params.id)) throw new CommandError('not_found', 'not_found', `no account ${req.params.id}`);
    return ctx.commands.billingDetails(req.params.id);
  });

  app.put('/v1/accounts/:id/billing-details', {
    preValidation: requireAnyone,
    schema: {
      tags: ['billing information'],
      summary: "Set the name, address and VAT id of the account's next documents",
      description: 'The whole set (a field left out or blank is none). Invoices issued before keep the details they were issued with.',
      security: anyoneSecurity,
      params: idParam,
      body: billingDetailsBody,
      response: { 200: billingDetailsOut, ...problemResponses },
    },
  }, async (req) => {
    if (!canSee(req, req.params.id)) throw new CommandError('not_found', 'not_found', `no account ${req.params.id}`);
    return ctx.commands.setBillingDetails(req.params.id, req.body ?? {}, req.principal?.kind === 'customer' ? 'customer' : 'operator');
  });
};
