// Webhook endpoints for operators: register a URL for some event types, see every delivery and
// each of its attempts, enable or disable, delete. The signing secret is shown once, at creation.
import { EVENT_TYPE_PATTERN, KNOWN_EVENT_TYPES } from '../../notify/events.ts';
import type { RoutePlugin } from '../route-plugin.ts';
import { requireAdmin } from '../auth.ts';
import { CommandError } from '../../core/errors.ts';
import { WEBHOOK_RETRY_SCHEDULE_MS } from '../../notify/webhook-delivery.ts';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  updateEndpoint,
  DELIVERY_STATUSES,
  ENDPOINT_STATUSES,
} from '../../notify/webhook-endpoints.ts';
import { adminSecurity, dateTime, idParam, nullableDateTime, listOut, pageIn, pageLimit, pageOf, pageQuery, problemResponses, readOnlyMembers, splitReadOnly } from '../schemas.ts';


const eventType = { type: 'string', maxLength: 100, pattern: EVENT_TYPE_PATTERN } as const;
const eventTypes = {
  type: 'array',
  minItems: 1,
  maxItems: 100,
  items: eventType,
  description: `Event types to receive: '*' for all, a prefix such as 'invoice.*', or exact types (${KNOWN_EVENT_TYPES.join(', ')}).`,
} as const;
const url = { type: 'string', format: 'uri', maxLength: 2000, description: 'http(s) URL that receives POSTed events' } as const;
const description = { type: ['string', 'null'], maxLength: 500 } as const;

const endpointOut = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string', example: 'we_4kqN8sD2fG6jP1zX' },
    url: { type: 'string' },
    description: { type: ['string', 'null'] },
    event_types: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: ENDPOINT_STATUSES },
    consecutive_failures: { type: 'integer' },
    failing_since: { ...nullableDateTime, description: 'first failed attempt since the last success' },
    disabled_at: nullableDateTime,
    disabled_reason: { type: ['string', 'null'] },
    created_at: dateTime,
    updated_at: nullableDateTime,
  },
} as const;

/** What GET …/webhook-endpoints/{id} answers besides the members a PATCH changes: taken back and ignored. */
const endpointReadOnly = readOnlyMembers(endpointOut.properties, ['url', 'event_types', 'description', 'status']);

const createdEndpointOut = {
  ...endpointOut,
  properties: {
    ...endpointOut.properties,
    secret: { type: 'string', example: 'whsec_3yTq9LmN2vB7cX4kR8pW1sZ6', description: 'signs every delivery (Renewd-Signature); shown only now' },
  },
} as const;

const deliveryOut = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    endpoint_id: { type: 'string' },
    event_id: { type: 'string', example: 'evt_42' },
    event_type: { type: 'string' },
    status: { type: 'string', enum: DELIVERY_STATUSES },
    attempts: { type: 'integer' },
    next_attempt_at: nullableDateTime,
    last_status_code: { type: ['integer', 'null'] },
    last_error: { type: ['string', 'null'] },
    created_at: dateTime,
    delivered_at: nullableDateTime,
    attempt_log: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          attempt: { type: 'integer' },
          attempted_at: dateTime,
          status_code: { type: ['integer', 'null'] },
          error: { type: ['string', 'null'] },
          duration_ms: { type: 'integer' },
        },
      },
    },
    payload: { type: 'object', additionalProperties: true },
  },
} as const;

const schedule = WEBHOOK_RETRY_SCHEDULE_MS.map((ms) => (ms < 3_600_000 ? `${ms / 60_000}m` : `${ms / 3_600_000}h`)).join(', ');
const deliveryDoc =
  'Each event is POSTed as JSON `{id, type, created, data}` with the headers `Renewd-Event-Id` and ' +
  '`Renewd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. Any 2xx answer is a success; ' +
  `anything else is retried after ${schedule}, then the delivery fails. An endpoint that fails without a single success for 24 hours is disabled and the operator is told.`;

export const webhookRoutes: RoutePlugin = async (app, { ctx }) => {
  const { db, clock } = ctx;
  const notFound = (id: string) => new CommandError('not_found', 'not_found', `no webhook endpoint ${id}`);

  app.post('/v1/webhook-endpoints', {
    preValidation: requireAdmin,
    schema: {
      tags: ['webhooks'],
      summary: 'Register a webhook endpoint',
      description: `${deliveryDoc} The answer carries the signing secret, shown only this once.`,
      security: adminSecurity,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['url', 'event_types'],
        properties: { url, event_types: eventTypes, description },
        example: { url: 'https://example.com/renewd/webhooks', event_types: ['invoice.paid', 'subscription.*'] },
      },
      response: { 201: createdEndpointOut, ...problemResponses },
    },
  }, async (req, reply) => {
    const b = req.body;
    return reply.code(201).send(await createEndpoint(db, { ...b, now: clock.now(), targets: ctx.webhookTargets }));
  });

  app.get('/v1/webhook-endpoints', {
    preValidation: requireAdmin,
    schema: {
      tags: ['webhooks'],
      summary: 'List webhook endpoints',
      security: adminSecurity,
      querystring: { type: 'object', additionalProperties: false, properties: pageQuery },
      response: { 200: listOut(endpointOut), ...problemResponses },
    },
  }, async (req) => pageIn(await listEndpoints(db), req.query));

  app.get('/v1/webhook-endpoints/:id', {
    preValidation: requireAdmin,
    schema: { tags: ['webhooks'], summary: 'A webhook endpoint', security: adminSecurity, params: idParam, response: { 200: endpointOut, ...problemResponses } },
  }, async (req) => {
    const { id } = req.params;
    const ep = await getEndpoint(db, id);
    if (!ep) throw notFound(id);
    return ep;
  });

  app.patch('/v1/webhook-endpoints/:id', {
    preValidation: requireAdmin,
    schema: {
      tags: ['webhooks'],
      summary: 'Change a webhook endpoint, or enable / disable it',
      description:
        'Enabling clears the failure record; deliveries still pending resume, those overdue at once. The answer of GET /v1/webhook-endpoints/{id} may be sent back as it is: ' +
        'its read-only members (id, counters, dates) are accepted and ignored.',
      security: adminSecurity,
      params: idParam,
      body: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: { url, event_types: eventTypes, description, status: { type: 'string', enum: ENDPOINT_STATUSES }, ...endpointReadOnly },
        example: { status: 'enabled' },
      },
      response: { 200: endpointOut, ...problemResponses },
    },
  }, async (req) => {
    const { id } = req.params;
    const b = splitReadOnly(req.body, endpointReadOnly).writable;
    const ep = await updateEndpoint(db, id, { ...b, now: clock.now(), targets: ctx.webhookTargets });
    if (!ep) throw notFound(id);
    return ep;
  });

  app.delete('/v1/webhook-endpoints/:id', {
    preValidation: requireAdmin,
    schema: { tags: ['webhooks'], summary: 'Delete a webhook endpoint and its deliveries', security: adminSecurity, params: idParam, response: { 204: { type: 'null' }, ...problemResponses } },
  }, async (req, reply) => {
    const { id } = req.params;
    if (!(await deleteEndpoint(db, id))) throw notFound(id);
    return reply.code(204).send();
  });

  app.get('/v1/webhook-endpoints/:id/deliveries', {
    preValidation: requireAdmin,
    schema: {
      tags: ['webhooks'],
      summary: 'Deliveries to an endpoint, newest first, each with its attempts',
      description: `${deliveryDoc} Paginated as every list (limit, starting_after, has_more); \`before\` is the former name of starting_after.`,
      security: adminSecurity,
      params: idParam,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          ...pageQuery,
          before: { ...idParam.properties.id, description: 'the former name of starting_after' },
          status: { type: 'string', enum: DELIVERY_STATUSES },
          payload: { type: 'string', enum: ['true', 'false'], description: 'include the JSON sent' },
        },
      },
      response: { 200: listOut(deliveryOut), ...problemResponses },
    },
  }, async (req) => {
    const { id } = req.params;
    const q = req.query;
    const limit = pageLimit(q.limit);
    if (!(await getEndpoint(db, id))) throw notFound(id);
    return pageOf(await listDeliveries(db, id, { limit: limit + 1, before: q.starting_after ?? q.before, status: q.status, includePayload: q.payload === 'true' }), limit);
  });
};
