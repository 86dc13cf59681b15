// Portal sessions: the operator (or the integrator's backend, with the admin key) creates a
// short-lived token for one account and sends the customer to its URL; the customer's pages then
// call the API with that token. A customer may revoke sessions of their own account (log out).
import type { RoutePlugin } from '../route-plugin.ts';
import { canSee, requireAdmin, requireAnyone } from '../auth.ts';
import { CommandError } from '../../core/errors.ts';
import { PortalSessions, PORTAL_TTL_DEFAULT_MINUTES, PORTAL_TTL_MAX_MINUTES, PORTAL_TTL_MIN_MINUTES } from '../../engine/portal.ts';
import { RATE_LIMITS, enforce } from '../../engine/limits.ts';
import { adminSecurity, anyoneSecurity, dateTime, idParam, nullableDateTime, listOut, notFoundResponse, pageIn, pageQuery, problemResponses } from '../schemas.ts';

const sessionProps = {
  id: { type: 'string', example: 'pses_3kT9bq2mXwZ1c4Rr' },
  account_id: { type: 'string', example: 'acct_Qm1x0fK2p9sLw8Tz' },
  created_at: dateTime,
  expires_at: dateTime,
  revoked_at: nullableDateTime,
  active: { type: 'boolean', description: 'neither expired nor revoked' },
} as const;

export const portalSessionOut = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'account_id', 'created_at', 'expires_at', 'revoked_at', 'active'],
  properties: sessionProps,
} as const;

const newSessionOut = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'token', 'url', 'expires_at'],
  properties: {
    ...sessionProps,
    token: { type: 'string', description: 'shown once; send as Authorization: Bearer <token>', example: 'ps_8c2bH0vKq3LmN7pR2sT9wX4yZ' },
    url: { type: 'string', description: 'the customer pages, signed in with this token', example: 'https://billing.example.com/portal?token=ps_8c2bH0vKq3LmN7pR2sT9wX4yZ' },
  },
} as const;

export const portalRoutes: RoutePlugin = async (app, { ctx }) => {
  const sessions = new PortalSessions(ctx.db, ctx.clock, ctx.publicUrl);

  app.post('/v1/accounts/:id/portal-sessions', {
    preValidation: requireAdmin,
    config: { idempotent: { refused: 'the answer shows the token once and only its hash is kept' } },
    schema: {
      tags: ['portal sessions'],
      summary: 'Create a portal session (a customer token for this account)',
      description:
        `The token is shown once (only its SHA-256 is stored). It expires after \`ttl_minutes\` (default ${PORTAL_TTL_DEFAULT_MINUTES}, ` +
        `${PORTAL_TTL_MIN_MINUTES}–${PORTAL_TTL_MAX_MINUTES}). At most ${RATE_LIMITS.portalSessions.limit} sessions per account per hour (429 rate_limited).`,
      security: adminSecurity,
      params: idParam,
      body: {
        type: ['object', 'null'],
        additionalProperties: false,
        properties: { ttl_minutes: { type: 'integer', minimum: PORTAL_TTL_MIN_MINUTES, maximum: PORTAL_TTL_MAX_MINUTES, default: PORTAL_TTL_DEFAULT_MINUTES } },
        example: { ttl_minutes: 60 },
      },
      response: { 201: newSessionOut, ...problemResponses, 429: { $ref: 'Problem#' } },
    },
  }, async (req, reply) => {
    const { id } = req.params;
    await ctx.commands.requireAccount(id);
    await enforce(ctx.db, ctx.clock, RATE_LIMITS.portalSessions, id);
    return reply.code(201).send(await sessions.create(id, { ttl_minutes: req.body?.ttl_minutes }));
  });

  app.get('/v1/accounts/:id/portal-sessions', {
    preValidation: requireAdmin,
    schema: {
      tags: ['portal sessions'],
      summary: 'The portal sessions of an account (never their tokens)',
      security: adminSecurity,
      params: idParam,
      querystring: { type: 'object', additionalProperties: false, properties: pageQuery },
      response: { 200: listOut(portalSessionOut), ...problemResponses },
    },
  }, async (req) => {
    const { id } = req.params;
    await ctx.commands.requireAccount(id);
    return pageIn(await sessions.list(id), req.query);
  });

  app.get('/v1/portal-sessions/current', {
    preValidation: requireAnyone,
    schema: {
      tags: ['portal sessions'],
      operationId: 'getCurrentPortalSession',
      summary: 'The portal session of the calling token (which account it reaches, until when)',
      security: [{ portalToken: [] }],
      response: { 200: portalSessionOut, ...problemResponses, ...notFoundResponse },
    },
  }, async (req) => {
    const p = req.principal;
    if (p?.kind !== 'customer') throw new CommandError('not_found', 'not_found', 'no portal session: this call is made with the admin key');
    return (await sessions.get(p.session_id))!;
  });

  app.delete('/v1/portal-sessions/:id', {
    preValidation: requireAnyone,
    schema: {
      tags: ['portal sessions'],
      operationId: 'revokePortalSession',
      summary: 'Revoke a portal session (its token stops working at once)',
      description: 'The operator revokes any session; a customer token revokes sessions of its own account (e.g. its own: log out). Revoking twice changes nothing.',
      security: anyoneSecurity,
      params: idParam,
      response: { 200: portalSessionOut, ...problemResponses },
    },
  }, async (req) => {
    const { id } = req.params;
    const s = await sessions.get(id);
    if (!s || !canSee(req, s.account_id)) throw new CommandError('not_found', 'not_found', `no portal session ${id}`);
    return sessions.revoke(id);
  });
};
