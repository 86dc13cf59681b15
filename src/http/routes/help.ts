// Request help (from the purchase history) and the operators' support queue.
import type { RoutePlugin } from '../route-plugin.ts';
import { canSee, requireAdmin, requireAnyone } from '../auth.ts';
import { CommandError } from '../../core/errors.ts';
import { HelpDesk, HELP_ANSWER_MAX, HELP_MESSAGE_MAX, HELP_REQUEST_STATUSES } from '../../engine/help.ts';
import { RATE_LIMITS } from '../../engine/limits.ts';
import { adminSecurity, anyoneSecurity, dateTime, idParam, nullableDateTime, listOut, pageLimit, pageOf, pageQuery, problemResponses } from '../schemas.ts';

const nullableString = { type: ['string', 'null'] } as const;

const contextOut = {
  type: 'object',
  additionalProperties: true,
  description: 'Snapshot at the time of the request: the invoice, its attempts and decline reasons, the payment method, whether Retry was available.',
  properties: {
    requested_by: { type: 'string', enum: ['customer', 'operator'] },
    account: { type: 'object', additionalProperties: true },
    invoice: { type: 'object', additionalProperties: true },
    subscription: { type: ['object', 'null'], additionalProperties: true },
    payment_method: { type: ['object', 'null'], additionalProperties: true },
    attempts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: {
          number: { type: 'integer' },
          at: dateTime,
          trigger: { type: 'string' },
          outcome: { type: 'string' },
          reason: nullableString,
          retry_class: nullableString,
          raw_code: nullableString,
          network_code: nullableString,
          advice_code: nullableString,
        },
      },
    },
    decline_reasons: { type: 'array', items: { type: 'string' } },
    retry: { type: 'object', additionalProperties: true, properties: { available: { type: 'boolean' }, reason: nullableString } },
  },
} as const;

const helpOut = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'account_id', 'invoice_id', 'message', 'status', 'created_at'],
  properties: {
    id: { type: 'string', example: 'help_V2m9c0QxT1aB7kLp' },
    account_id: { type: 'string' },
    invoice_id: { type: 'string' },
    message: { type: 'string' },
    status: { type: 'string', enum: HELP_REQUEST_STATUSES },
    answer: nullableString,
    context: contextOut,
    created_at: dateTime,
    answered_at: nullableDateTime,
    closed_at: nullableDateTime,
  },
} as const;

const helpListOut = listOut(helpOut);

export const helpRoutes: RoutePlugin = async (app, { ctx }) => {
  const desk = new HelpDesk(ctx.commands, `${ctx.publicUrl.replace(/\/+$/, '')}/portal`);
  const notFound = (what: string) => new CommandError('not_found', 'not_found', `no ${what}`);

  app.post('/v1/invoices/:id/help-requests', {
    preValidation: requireAnyone,
    config: { idempotent: true },
    schema: {
      tags: ['help requests'],
      summary: 'Request help about an invoice (from the purchase history)',
      description:
        'Opens a support request that carries the invoice, its attempts and the decline reasons; the customer gets an acknowledgement e-mail. ' +
        `Customers may open at most ${RATE_LIMITS.helpRequests.limit} a day (429 rate_limited). ` +
        'On the past-due invoice of an account in grace, the downgrade waits while the request waits for an answer, at most the dunning ' +
        'policy\'s help_pause_days (all requests of one grace together): GET …/subscription shows downgrade_paused_at, and grace_ends_at the downgrade if nobody answers.',
      security: anyoneSecurity,
      params: idParam,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['message'],
        properties: { message: { type: 'string', minLength: 1, maxLength: HELP_MESSAGE_MAX, pattern: '\\S' } },
        example: { message: 'My card was renewed last week, why did the payment fail?' },
      },
      response: {
        201: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: helpOut.properties.id, status: helpOut.properties.status, created_at: dateTime } },
        ...problemResponses,
        429: { $ref: 'Problem#' },
      },
    },
  }, async (req, reply) => {
    const { id } = req.params;
    const inv = await ctx.commands.getInvoice(id);
    if (!inv || !canSee(req, inv.account_id)) throw notFound(`invoice ${id}`);
    const customer = req.principal?.kind === 'customer';
    const h = await desk.create(id, { message: req.body.message, requested_by: customer ? 'customer' : 'operator' });
    return reply.code(201).send({ id: h.id, status: h.status, created_at: h.created_at });
  });

  app.get('/v1/help-requests', {
    preValidation: requireAdmin,
    schema: {
      tags: ['help requests'],
      summary: 'Support requests (operators), newest first',
      security: adminSecurity,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          status: { type: 'string', enum: HELP_REQUEST_STATUSES },
          account_id: idParam.properties.id,
          invoice_id: idParam.properties.id,
          ...pageQuery,
        },
        example: { status: 'open' },
      },
      response: { 200: helpListOut, ...problemResponses },
    },
  }, async (req) => {
    const q = req.query;
    const limit = pageLimit(q.limit);
    return pageOf(await desk.list({ status: q.status, account_id: q.account_id, invoice_id: q.invoice_id, limit: limit + 1, starting_after: q.starting_after }), limit);
  });

  app.get('/v1/accounts/:id/help-requests', {
    preValidation: requireAnyone,
    schema: {
      tags: ['help requests'],
      summary: 'The help requests of an account, newest first',
      security: anyoneSecurity,
      params: idParam,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { status: { type: 'string', enum: HELP_REQUEST_STATUSES }, ...pageQuery },
      },
      response: { 200: helpListOut, ...problemResponses },
    },
  }, async (req) => {
    const { id } = req.params;
    if (!canSee(req, id)) throw notFound(`account ${id}`);
    await ctx.commands.requireAccount(id);
    const q = req.query;
    const limit = pageLimit(q.limit);
    return pageOf(await desk.list({ account_id: id, status: q.status, limit: limit + 1, starting_after: q.starting_after }), limit);
  });

  app.get('/v1/help-requests/:id', {
    preValidation: requireAnyone,
    schema: {
      tags: ['help requests'],
      summary: 'A help request, with the snapshot of its invoice',
      security: anyoneSecurity,
      params: idParam,
      response: { 200: helpOut, ...problemResponses },
    },
  }, async (req) => {
    const { id } = req.params;
    const h = await desk.get(id);
    if (!h || !canSee(req, h.account_id)) throw notFound(`help request ${id}`);
    return h;
  });

  app.post('/v1/help-requests/:id/answer', {
    preValidation: requireAdmin,
    config: { idempotent: true },
    schema: {
      tags: ['help requests'],
      summary: 'Answer a help request (operators); the answer is e-mailed to the customer',
      description:
        'A request may be answered again while it is not closed (each answer is e-mailed); a closed request answers 409. ' +
        'When no other request about the invoice still waits, the answer (or a close) restarts the downgrade clock a waiting request paused: ' +
        'grace ends the time that was left when the customer asked after the answer, which the answer e-mail tells the customer.',
      security: adminSecurity,
      params: idParam,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['answer'],
        properties: { answer: { type: 'string', minLength: 1, maxLength: HELP_ANSWER_MAX, pattern: '\\S' } },
        example: { answer: 'Your bank refused the payment for insufficient funds; once funds are available, press Retry in your purchase history.' },
      },
      response: { 200: helpOut, ...problemResponses, 409: { $ref: 'Problem#' } },
    },
  }, async (req) => desk.answer(req.params.id, req.body.answer));

  app.post('/v1/help-requests/:id/close', {
    preValidation: requireAdmin,
    schema: {
      tags: ['help requests'],
      summary: 'Close a help request (operators); closing twice changes nothing',
      security: adminSecurity,
      params: idParam,
      response: { 200: helpOut, ...problemResponses },
    },
  }, async (req) => desk.close(req.params.id));
};
