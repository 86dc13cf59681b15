// The e-mails' no-login links, for operators: revoke all of a customer's links (and the portal
// sessions open now), e.g. when the customer's mailbox or a forwarded e-mail is compromised. The
// links themselves are opened by the pages (web/links.ts); the rules are in engine/links.ts.
import type { RoutePlugin } from '../route-plugin.ts';
import { requireAdmin } from '../auth.ts';
import { CustomerLinks } from '../../engine/links.ts';
import { adminSecurity, idParam, problemResponses } from '../schemas.ts';

const revokedOut = {
  type: 'object',
  additionalProperties: false,
  required: ['account_id', 'links_revoked', 'portal_sessions_revoked'],
  properties: {
    account_id: { type: 'string', example: 'acct_Qm1x0fK2p9sLw8Tz' },
    links_revoked: { type: 'integer', minimum: 0, description: 'e-mail links that stopped working now (already revoked ones are not counted)' },
    portal_sessions_revoked: { type: 'integer', minimum: 0, description: 'portal sessions that were active and stopped working now (signed-in pages included)' },
  },
  example: { account_id: 'acct_Qm1x0fK2p9sLw8Tz', links_revoked: 5, portal_sessions_revoked: 1 },
} as const;

export const linkRoutes: RoutePlugin = async (app, { ctx }) => {
  const links = new CustomerLinks(ctx.db, ctx.clock, ctx.publicUrl);

  app.post('/v1/accounts/:id/links/revoke', {
    preValidation: requireAdmin,
    schema: {
      tags: ['portal sessions'],
      summary: "Revoke all of a customer's e-mail links and active portal sessions",
      description:
        'Every no-login link of the account\'s e-mails (GET /portal/links/{token}) stops working at once, and so do its active portal ' +
        'sessions (API tokens and signed-in pages). A revoked link shows the customer a page that offers a new link, sent to the address ' +
        'on file. Revoking again changes nothing (counts 0).',
      security: adminSecurity,
      params: idParam,
      response: { 200: revokedOut, ...problemResponses },
    },
  }, async (req) => links.revokeAll(req.params.id));
};
