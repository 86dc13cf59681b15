// Operator keys: list, create (the key is in the answer once), revoke. The same commands as the
// console's Keys page and `renewd keys`.
import type { RoutePlugin } from '../route-plugin.ts';
import { forgetAdminKeys, requireAdmin } from '../auth.ts';
import { createAdminKey, listKeys, revokeAdminKey } from '../../engine/admin-keys.ts';
import { adminSecurity, dateTime, idParam, listOut, nullableDateTime, pageIn, pageQuery, problemResponses } from '../schemas.ts';

const keyProps = {
  id: { type: 'string', example: 'ak_3f9a1c0d2b7e' },
  name: { type: 'string', example: 'billing-sync job' },
  source: { type: 'string', enum: ['legacy', 'environment', 'generated', 'operator'], description: 'RENEWD_ADMIN_KEY (environment), the first start (generated), created by an operator, or stored before keys had names (legacy)' },
  last4: { type: ['string', 'null'], description: 'the last four characters, to tell keys apart' },
  created_at: dateTime,
  last_used_at: { ...nullableDateTime, description: 'to within about 10 seconds' },
  revoked_at: nullableDateTime,
  active: { type: 'boolean' },
} as const;

const keyOut = { type: 'object', additionalProperties: false, required: ['id', 'name', 'source', 'created_at', 'active'], properties: keyProps } as const;

export const adminKeyRoutes: RoutePlugin = async (app, { ctx }) => {
  app.get('/v1/admin-keys', {
    preValidation: requireAdmin,
    schema: {
      tags: ['admin keys'],
      summary: 'The admin keys (never the keys themselves)',
      security: adminSecurity,
      querystring: { type: 'object', additionalProperties: false, properties: pageQuery },
      response: { 200: listOut(keyOut), ...problemResponses },
    },
  }, async (req) => pageIn(await listKeys(ctx.db), req.query));

  app.post('/v1/admin-keys', {
    preValidation: requireAdmin,
    config: { idempotent: { refused: 'the answer shows the key once and only its hash is kept' } },
    schema: {
      tags: ['admin keys'],
      summary: 'Create a named admin key (shown once in the answer)',
      description: 'Only the SHA-256 of the key is stored: keep the `key` from this answer, it cannot be shown again.',
      security: adminSecurity,
      body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 64 } }, example: { name: 'billing-sync job' } },
      response: { 201: { type: 'object', additionalProperties: false, required: ['id', 'key', 'name'], properties: { ...keyProps, key: { type: 'string', description: 'shown once' } } }, ...problemResponses },
    },
  }, async (req, reply) => reply.code(201).send(await createAdminKey(ctx.db, req.body.name)));

  app.delete('/v1/admin-keys/:id', {
    preValidation: requireAdmin,
    schema: {
      tags: ['admin keys'],
      operationId: 'revokeAdminKey',
      summary: 'Revoke an admin key (it stops working at once)',
      description: 'Revoking twice changes nothing. The last active key cannot be revoked (409 last_admin_key): create its successor first.',
      security: adminSecurity,
      params: idParam,
      response: { 200: keyOut, ...problemResponses, 409: { $ref: 'Problem#' } },
    },
  }, async (req) => {
    const k = await revokeAdminKey(ctx.db, req.params.id);
    forgetAdminKeys(ctx.db);
    return k;
  });
};
