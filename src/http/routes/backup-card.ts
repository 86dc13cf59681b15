// The customer's backup card (#18 item 5): PUT/GET/DELETE /v1/accounts/{id}/backup-payment-method.
// Saved only with the customer's consent; charged when the main card fails in a way that says it
// will not work soon, or after the policy's backup_after_failures (core/backup.ts).
import type { RoutePlugin } from '../route-plugin.ts';
import { canSee, requireAnyone } from '../auth.ts';
import { CommandError } from '../../core/errors.ts';
import { BACKUP_CONSENT_TEXT, backupCardOf, removeBackupCard, setBackupCard } from '../../engine/backup-card.ts';
import { ATTEMPT_OUTCOMES } from '../../core/types.ts';
import { anyoneSecurity, dateTime, idParam, newCardMembers, problemResponses, readOnlyMembers, savedCardMembers, splitReadOnly } from '../schemas.ts';

const backupOut = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', 'role', 'brand', 'last4', 'exp_month', 'exp_year', 'consent_at', 'consent_text'],
  properties: {
    id: { type: 'string' },
    ...savedCardMembers,
    role: { type: 'string', enum: ['backup'] },
    consent_at: { ...dateTime, description: 'when the customer agreed that this card is charged if the main one fails' },
    consent_text: { type: 'string', description: 'the sentence they agreed to' },
  },
} as const;

/** What GET answers besides `type`: taken back and ignored by the PUT (a round trip changes nothing). */
const backupReadOnly = readOnlyMembers(backupOut.properties, ['type']);

const backupBody = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    ...newCardMembers,
    consent: { type: 'boolean', description: `must be true with a new card: the customer agrees to "${BACKUP_CONSENT_TEXT}"` },
    ...backupReadOnly,
  },
  example: { type: 'card', token: 'pm_1Abc', consent: true },
} as const;

type Backup = NonNullable<Awaited<ReturnType<typeof backupCardOf>>>;
const view = (b: Backup) => ({
  id: b.payment_method.id,
  type: b.payment_method.type,
  role: 'backup' as const,
  brand: b.payment_method.brand,
  last4: b.payment_method.last4,
  exp_month: b.payment_method.exp_month,
  exp_year: b.payment_method.exp_year,
  consent_at: b.consent_at.toISOString(),
  consent_text: b.consent_text,
});

export const backupCardRoutes: RoutePlugin = async (app, { ctx }) => {
  const see = (req: Parameters<typeof canSee>[0], id: string) => {
    if (!canSee(req, id)) throw new CommandError('not_found', 'not_found', `no account ${id}`);
  };

  app.put('/v1/accounts/:id/backup-payment-method', {
    preValidation: requireAnyone,
    schema: {
      tags: ['billing information'],
      summary: 'Save the backup card (charged when the main card fails), with the customer\'s consent',
      description:
        `\`consent: true\` is required (400 consent_required otherwise): the customer agrees to "${BACKUP_CONSENT_TEXT}". The same card rules as PUT …/payment-method ` +
        '(raw `card` fields on the sandbox gateway only, else 400 raw_card_data_not_accepted; a refused card 402 card_rejected; the customer\'s limits, 429). ' +
        'A new backup replaces the previous one; the main card stays. The backup is charged once per invoice, within its own caps, when the main card\'s decline says it will not work soon ' +
        '(expired, lost, closed, do not retry; not authentication) — at once — or after the policy\'s `backup_after_failures`, at the next scheduled retry. ' +
        'Saved while an invoice is past due and due on it now, it is charged at once: `attempt` carries the outcome. ' +
        'The answer of GET …/backup-payment-method sent back as it is (its read-only members, no `card` or `token`) changes nothing and answers the backup on file.',
      security: anyoneSecurity,
      params: idParam,
      body: backupBody,
      response: {
        200: { ...backupOut, required: [...backupOut.required, 'attempt'], properties: { ...backupOut.properties, attempt: { anyOf: [{ type: 'object', additionalProperties: true, properties: { outcome: { type: 'string', enum: ATTEMPT_OUTCOMES }, reason: { type: ['string', 'null'] } } }, { type: 'null' }] } } },
        ...problemResponses,
        402: { $ref: 'Problem#' },
        429: { $ref: 'Problem#' },
      },
    },
    config: { idempotent: true },
  }, async (req) => {
    const { id } = req.params;
    see(req, id);
    const body = req.body;
    if (!body.card && !body.token) {
      // The answer of GET sent back (read-only members, no new card): nothing changes.
      const { roundTrip } = splitReadOnly(body, backupReadOnly);
      const b = roundTrip ? await backupCardOf(ctx, id) : null;
      if (!b) throw new CommandError('invalid', 'validation_error', 'send either card (sandbox) or token, with consent: true');
      return { ...view(b), attempt: null };
    }
    const r = await setBackupCard(ctx, id, body, req.principal?.kind === 'customer' ? 'customer' : 'operator');
    return { ...view(r.backup), attempt: r.attempt ? { outcome: r.attempt.outcome, reason: r.attempt.reason } : null };
  });

  app.get('/v1/accounts/:id/backup-payment-method', {
    preValidation: requireAnyone,
    schema: { tags: ['billing information'], summary: 'The backup card (404 when none)', security: anyoneSecurity, params: idParam, response: { 200: backupOut, ...problemResponses } },
  }, async (req) => {
    const { id } = req.params;
    see(req, id);
    const b = await backupCardOf(ctx, id);
    if (!b) throw new CommandError('not_found', 'not_found', 'no backup card');
    return view(b);
  });

  app.delete('/v1/accounts/:id/backup-payment-method', {
    preValidation: requireAnyone,
    schema: { tags: ['billing information'], summary: 'Remove the backup card (it is never charged again)', security: anyoneSecurity, params: idParam, response: { 204: { type: 'null' }, ...problemResponses } },
    config: { idempotent: true },
  }, async (req, reply) => {
    const { id } = req.params;
    see(req, id);
    await removeBackupCard(ctx, id);
    return reply.code(204).send();
  });
};
