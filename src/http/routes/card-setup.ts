// Card capture on the gateway's hosted page, for an integrator's app: POST
// /v1/accounts/{id}/card-setup-sessions opens a setup session (Stripe Checkout in setup mode, or
// the sandbox's copy) and answers its URL; the customer types the card there, never at renewd.
// The gateway sends the browser back to renewd (/portal/billing/return), which saves the card
// through the same command as PUT …/payment-method and then sends the browser to return_url.
import type { RoutePlugin } from '../route-plugin.ts';
import { canSee, requireAnyone } from '../auth.ts';
import { CommandError } from '../../core/errors.ts';
import { RATE_LIMITS } from '../../engine/limits.ts';
import { startCardSetup } from '../../engine/card-setup.ts';
import { anyoneSecurity, dateTime, idParam, problemResponses } from '../schemas.ts';

const cardSetupOut = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'url', 'expires_at'],
  properties: {
    id: { type: 'string', description: "the gateway's session id (Stripe: cs_…)", example: 'cs_test_a1b2c3' },
    url: { type: 'string', description: "the gateway's hosted card page: send the customer's browser there", example: 'https://checkout.stripe.com/c/pay/cs_test_a1b2c3' },
    expires_at: { ...dateTime, description: 'the page stops accepting a card then (24 h, as Stripe Checkout)' },
  },
} as const;

export const cardSetupRoutes: RoutePlugin = async (app, { ctx }) => {
  app.post('/v1/accounts/:id/card-setup-sessions', {
    preValidation: requireAnyone,
    schema: {
      tags: ['billing information'],
      summary: "Open the gateway's hosted card page for the account (card capture without card data at renewd)",
      description:
        "The way to change the card with a real gateway. The customer types the card on the gateway's page (Stripe Checkout in setup mode; the sandbox serves its own copy with the test cards); " +
        'the gateway attaches it to the customer and sends the browser back to renewd, which reads the session from the gateway (never from the browser), saves the card as ' +
        'PUT /v1/accounts/{id}/payment-method does (a past-due invoice is retried at once) and then sends the browser to `return_url` with `card_setup=saved|declined|paid|open|expired` ' +
        '(without return_url renewd shows the result itself). A customer token may only open its own account (another: 404) and name a return_url on this service; ' +
        `at most ${RATE_LIMITS.cardSetups.limit} pages an hour per account (429 rate_limited).`,
      security: anyoneSecurity,
      params: idParam,
      body: {
        type: ['object', 'null'],
        additionalProperties: false,
        properties: {
          return_url: { type: 'string', minLength: 1, maxLength: 2000, description: 'where the browser goes once the card is saved (absolute http(s) URL); also the cancel link' },
          purpose: { type: 'string', enum: ['primary', 'backup'], description: 'which card the page saves: the main card (default) or the backup card (PUT …/backup-payment-method explains when it is charged)' },
          consent: { type: 'boolean', description: 'with purpose backup: must be true, the customer agrees that this card is charged if the main one fails (else 400 consent_required)' },
        },
        example: { return_url: 'https://app.example.com/settings/billing' },
      },
      response: { 201: cardSetupOut, ...problemResponses, 429: { $ref: 'Problem#' }, 503: { $ref: 'Problem#' } },
    },
  }, async (req, reply) => {
    const { id } = req.params;
    if (!canSee(req, id)) throw new CommandError('not_found', 'not_found', `no account ${id}`);
    const by = req.principal?.kind === 'customer' ? 'customer' : 'operator';
    const s = await startCardSetup(ctx, id, { return_to: { to: 'api', url: req.body?.return_url ?? null }, by, purpose: req.body?.purpose, consent: req.body?.consent });
    return reply.code(201).send({ id: s.id, url: s.url, expires_at: s.expires_at });
  });
};
