// The dunning policy as data: the default, and overrides per plan or per domain zone.
// A change re-plans pending retries at once (every past-due subscription is woken up).
import type { RoutePlugin } from '../route-plugin.ts';
import { requireAdmin } from '../auth.ts';
import { DEFAULT_POLICY, FINAL_ACTIONS } from '../../core/dunning.ts';
import { DECLINE_REASONS, PM_TYPES, RETRY_CLASSES } from '../../core/types.ts';
import { readOverride, readPolicies, removeOverride, savePolicy } from '../../engine/policy.ts';
import { adminSecurity, problemResponses } from '../schemas.ts';

const days = { type: 'array', maxItems: 50, items: { type: 'number' } } as const;
const policyProps = {
  grace_days: { type: 'integer' },
  retry_schedule: { ...days, description: 'days after the failed renewal at which funds/limit declines are retried' },
  technical_retry_hours: { ...days, description: 'hours after a technical decline for quick retries' },
  reminder_days: { ...days, description: 'days before grace ends when the customer is reminded' },
  max_automatic_attempts: { type: 'integer' },
  decline_rules: {
    type: 'object',
    description: `per decline reason (${DECLINE_REASONS.join(', ')}): a retry class (${RETRY_CLASSES.join(', ')})`,
    propertyNames: { enum: DECLINE_REASONS },
    additionalProperties: { type: 'string', enum: RETRY_CLASSES },
  },
  caps: {
    type: 'object',
    additionalProperties: false,
    properties: { attempts_per_card_30d: { type: 'integer' }, declines_per_card_24h: { type: 'integer' } },
  },
  manual_retry: {
    type: 'object',
    additionalProperties: false,
    properties: {
      enabled: { type: 'boolean' },
      disabled_domain_zones: { type: 'array', maxItems: 500, items: { type: 'string', maxLength: 63 } },
      disabled_payment_methods: { type: 'array', maxItems: 10, items: { type: 'string', enum: PM_TYPES } },
      max_per_day: { type: 'integer' },
    },
  },
  final_action: { type: 'string', enum: FINAL_ACTIONS },
} as const;

const policyBody = { type: 'object', additionalProperties: false, properties: policyProps, example: DEFAULT_POLICY } as const;
const scopeParam = {
  type: 'object',
  required: ['scope'],
  properties: { scope: { type: 'string', pattern: '^(plan|zone):[A-Za-z0-9_-]{1,64}$', description: 'plan:<plan id> or zone:<domain zone>' } },
} as const;

export const policyRoutes: RoutePlugin = async (app, { ctx }) => {
  app.get('/v1/dunning-policy', {
    preValidation: requireAdmin,
    schema: { tags: ['dunning policy'], summary: 'The default dunning policy and its overrides', security: adminSecurity },
  }, async () => {
    const { policy, overrides } = await readPolicies(ctx);
    return { ...policy, overrides };
  });

  app.put('/v1/dunning-policy', {
    preValidation: requireAdmin,
    schema: {
      tags: ['dunning policy'],
      summary: 'Replace the default dunning policy (fields left out keep the built-in default)',
      security: adminSecurity,
      body: policyBody,
      response: { ...problemResponses },
    },
  }, async (req) => {
    await savePolicy(ctx, 'default', req.body);
    const { policy, overrides } = await readPolicies(ctx);
    return { ...policy, overrides };
  });

  app.get('/v1/dunning-policy/overrides/:scope', {
    preValidation: requireAdmin,
    schema: { tags: ['dunning policy'], summary: 'An override for a plan or a domain zone', security: adminSecurity, params: scopeParam },
  }, async (req) => {
    const { scope } = req.params;
    return readOverride(ctx, scope);
  });

  app.put('/v1/dunning-policy/overrides/:scope', {
    preValidation: requireAdmin,
    schema: { tags: ['dunning policy'], summary: 'Set the override for a plan (plan:<id>) or domain zone (zone:<zone>)', security: adminSecurity, params: scopeParam, body: policyBody },
  }, async (req) => {
    const { scope } = req.params;
    await savePolicy(ctx, scope, req.body);
    return readOverride(ctx, scope);
  });

  app.delete('/v1/dunning-policy/overrides/:scope', {
    preValidation: requireAdmin,
    schema: { tags: ['dunning policy'], summary: 'Remove an override', description: '404 not_found when the scope has no override (also for the later of two removals at once).', security: adminSecurity, params: scopeParam, response: { 204: { type: 'null', description: 'Removed' }, 404: { $ref: 'Problem#' } } },
  }, async (req, reply) => {
    const { scope } = req.params;
    await removeOverride(ctx, scope);
    return reply.code(204).send();
  });
};
