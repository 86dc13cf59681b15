// 3-D Secure / SCA: the customer authenticates a past-due invoice on the issuer's page
// (engine/authentication.ts), and the gateway's own events (engine/gateway-events.ts).
import type { RoutePlugin } from '../route-plugin.ts';
import { requireAnyone } from '../auth.ts';
import { CommandError } from '../../core/errors.ts';
import { startAuthentication } from '../../engine/authentication.ts';
import { receiveGatewayEvent } from '../../engine/gateway-events.ts';
import { anyoneSecurity, dateTime, idParam, problemResponses } from '../schemas.ts';

export const authenticationRoutes: RoutePlugin = async (app, { ctx }) => {
  app.post('/v1/invoices/:id/authentication-sessions', {
    preValidation: requireAnyone,
    schema: {
      tags: ['purchase history'],
      summary: 'Start authenticating (3-D Secure) a past-due invoice',
      description:
        'For an invoice whose last attempt failed with authentication_required: a new attempt (trigger customer_authentication), confirmed on-session ' +
        'with the gateway; send the customer to `url` (the issuer\'s page). The gateway brings them back to /portal/authenticate/return, which shows ' +
        'the result; the gateway\'s event settles it too if they never come back. Until `expires_at` the attempt waits for the customer; after, it is ' +
        'canceled at the gateway and recorded as a failed authentication. A customer (portal token) may do this for their own invoices only (another ' +
        'account: 404). Not past due awaiting authentication (paid, void, canceled, or its last failure was not authentication) → 409 ' +
        'authentication_not_needed; an attempt in flight → 409 attempt_in_flight.',
      security: anyoneSecurity,
      params: idParam,
      response: {
        201: {
          type: 'object',
          properties: {
            url: { type: 'string' },
            expires_at: dateTime,
            invoice_id: { type: 'string' },
            attempt_id: { type: 'string' },
            status: { type: 'string', enum: ['requires_action', 'succeeded'] },
          },
          example: { url: 'https://hooks.stripe.com/3d_secure_2/hosted?payment_intent=pi_3PqRsT2eZvKYlo2C', expires_at: '2026-03-01T10:30:00Z', invoice_id: 'inv_Zx8kP2mQ7rT4vW1y', attempt_id: 'att_Lp4sW9qM2xB7nC0d', status: 'requires_action' },
        },
        ...problemResponses,
        402: { $ref: 'Problem#' },
        409: { $ref: 'Problem#' },
      },
    },
  }, async (req, reply) => {
    const p = req.principal;
    const accountId = p?.kind === 'customer' ? p.account_id : null;
    const s = await startAuthentication(ctx, req.params.id, accountId);
    return reply.code(201).send(s);
  });

  // The gateway posts its events here; the signature is checked over the exact bytes it sent, so
  // this route (and only this one: the plugin's own scope) reads the body raw.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 512 * 1024 }, (_req, body, done) => done(null, body));
    scope.post('/v1/gateway-events', {
      config: { idempotent: { refused: "each gateway event is processed once by the gateway's own event id" } },
      schema: {
        tags: ['gateway events'],
        operationId: 'receiveGatewayEvent',
        summary: 'The gateway\'s own events (Stripe webhooks)',
        security: [{ gatewaySignature: [] }],
        description:
          'Point a Stripe webhook endpoint here (events payment_intent.succeeded, payment_intent.payment_failed, payment_method.automatically_updated, ' +
          'setup_intent.succeeded, checkout.session.completed) and set STRIPE_WEBHOOK_SECRET to its signing secret. Verified with ' +
          'stripe.webhooks.constructEvent (Stripe-Signature header, 5 minutes tolerance): a bad or stale signature → 400 invalid_signature and ' +
          'nothing changes. Each event id is processed once; a duplicate answers 200 with duplicate: true. The built-in sandbox sends its events here.',
        response: {
          200: {
            type: 'object',
            properties: { id: { type: 'string' }, type: { type: 'string' }, duplicate: { type: 'boolean' }, result: { type: 'string', enum: ['applied', 'ignored', 'unhandled'] } },
          },
          ...problemResponses,
          409: { $ref: 'Problem#' },
          503: { $ref: 'Problem#' },
        },
      },
    }, async (req) => {
      const body = req.body;
      if (!Buffer.isBuffer(body)) throw new CommandError('invalid', 'invalid_signature', 'the event body is missing');
      const sig = req.headers['stripe-signature'];
      return receiveGatewayEvent(ctx, body, typeof sig === 'string' ? sig : undefined);
    });
  });
};
