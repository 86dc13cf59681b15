// The dunning policy as data: the default, and overrides per plan or per domain zone.
// A change re-plans pending retries at once (every past-due subscription is woken up).
import type { RoutePlugin } from '../route-plugin.ts';
import { requireAdmin } from '../auth.ts';
import { DEFAULT_POLICY, FINAL_ACTIONS, MAX_HELP_PAUSE_DAYS } from '../../core/dunning.ts';
import { DECLINE_REASONS, PM_TYPES, RETRY_CLASSES } from '../../core/types.ts';
import { readOverride, readPolicies, removeOverride, savePolicy } from '../../engine/policy.ts';
import { adminSecurity, problemResponses } from '../schemas.ts';
import { CommandError } from '../../core/errors.ts';

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
  help_pause_days: {
    type: 'integer',
    description: `days (0 to ${MAX_HELP_PAUSE_DAYS}; 0: off) the downgrade waits, at most, while a help request on a past-due invoice waits for an answer (per grace period, all requests together)`,
  },
  incidents: {
    type: 'object',
    additionalProperties: false,
    description:
      'outage-aware grace: an incident opens when technical failures in the last window_minutes are at least min_declines and ratio times ' +
      'the rate of the baseline_hours before; while open, covered invoices get no attempt; on close their grace is extended by its length ' +
      'and their retries are spread over spread_minutes',
    properties: {
      enabled: { type: 'boolean' },
      window_minutes: { type: 'integer' },
      baseline_hours: { type: 'integer' },
      min_declines: { type: 'integer' },
      ratio: { type: 'number' },
      spread_minutes: { type: 'integer' },
    },
  },
  backup_after_failures: { type: 'integer', description: "failures of the main card on an invoice after which its next scheduled retry is on the customer's backup card (with their consent), 1 to 20" },
} as const;

const policyBody = { type: 'object', additionalProperties: false, properties: policyProps, example: DEFAULT_POLICY } as const;
/** A policy as the answers show it: every member present (the built-in default fills what was left out). */
const policyOut = { type: 'object', additionalProperties: false, required: Object.keys(DEFAULT_POLICY), properties: policyProps } as const;
const scopePattern = '^(plan|zone):[A-Za-z0-9_-]{1,64}$';
const scopeParam = {
  type: 'object',
  required: ['scope'],
  properties: { scope: { type: 'string', pattern: scopePattern, description: 'plan:<plan id> or zone:<domain zone>' } },
} as const;
const overridesOut = { type: 'object', description: 'the overrides by scope (plan:<id>, zone:<zone>)', additionalProperties: policyBody } as const;

// GET → PUT round trip (issue 17): what a GET answers, the PUT takes back unchanged. The members
// only a GET has (`overrides`; `scope` and `effective` of an override) are accepted and ignored,
// so a client that reads, edits and writes a policy never has to know which ones to strip.
const defaultPolicyBody = {
  ...policyBody,
  properties: { ...policyProps, overrides: { ...overridesOut, readOnly: true, description: 'read-only (as GET answers it): accepted and ignored; change an override with PUT /v1/dunning-policy/overrides/{scope}' } },
} as const;
const defaultPolicyOut = { ...policyOut, required: [...policyOut.required, 'overrides'], properties: { ...policyProps, overrides: overridesOut } } as const;
const overrideOut = {
  type: 'object',
  additionalProperties: false,
  required: ['scope', 'override', 'effective'],
  properties: {
    scope: { type: 'string', pattern: scopePattern, example: 'zone:fr' },
    override: { ...policyBody, description: 'what this scope changes from the default policy' },
    effective: { ...policyOut, description: 'the default policy with this override: what applies to the scope' },
  },
} as const;
const overrideBody = {
  type: 'object',
  additionalProperties: false,
  description:
    'Either the override\'s members themselves, or the override as GET answers it: `{scope, override, effective}`, where `override` is saved and ' +
    '`scope` and `effective` are read-only (accepted and ignored).',
  properties: {
    ...policyProps,
    override: { ...policyBody, description: 'the override to save (the GET shape); not together with policy members at the top level' },
    scope: { type: 'string', readOnly: true, description: 'read-only: accepted and ignored (the path names the scope)' },
    effective: { type: 'object', readOnly: true, description: 'read-only: accepted and ignored' },
  },
  example: { retry_schedule: [1, 2, 4], manual_retry: { disabled_domain_zones: ['fr'] } },
} as const;

export const policyRoutes: RoutePlugin = async (app, { ctx }) => {
  app.get('/v1/dunning-policy', {
    preValidation: requireAdmin,
    schema: {
      tags: ['dunning policy'],
      summary: 'The default dunning policy and its overrides',
      description: 'PUT /v1/dunning-policy takes this answer back unchanged (`overrides` is read-only there).',
      security: adminSecurity,
      response: { 200: defaultPolicyOut, ...problemResponses },
    },
  }, async () => {
    const { policy, overrides } = await readPolicies(ctx);
    return { ...policy, overrides };
  });

  app.put('/v1/dunning-policy', {
    preValidation: requireAdmin,
    schema: {
      tags: ['dunning policy'],
      summary: 'Replace the default dunning policy (fields left out keep the built-in default)',
      description: 'The body may be the answer of GET /v1/dunning-policy as it is: its `overrides` member is accepted and ignored.',
      security: adminSecurity,
      body: defaultPolicyBody,
      response: { 200: defaultPolicyOut, ...problemResponses },
    },
  }, async (req) => {
    const { overrides: _readOnly, ...members } = req.body;
    await savePolicy(ctx, 'default', members);
    const { policy, overrides } = await readPolicies(ctx);
    return { ...policy, overrides };
  });

  app.get('/v1/dunning-policy/overrides/:scope', {
    preValidation: requireAdmin,
    schema: {
      tags: ['dunning policy'],
      summary: 'An override for a plan or a domain zone',
      description: 'The override and the policy it makes effective; 404 not_found when the scope has none. PUT takes this answer back unchanged.',
      security: adminSecurity,
      params: scopeParam,
      response: { 200: overrideOut, ...problemResponses },
    },
  }, async (req) => {
    const { scope } = req.params;
    return readOverride(ctx, scope);
  });

  app.put('/v1/dunning-policy/overrides/:scope', {
    preValidation: requireAdmin,
    schema: {
      tags: ['dunning policy'],
      summary: 'Set the override for a plan (plan:<id>) or domain zone (zone:<zone>)',
      description: overrideBody.description,
      security: adminSecurity,
      params: scopeParam,
      body: overrideBody,
      response: { 200: overrideOut, ...problemResponses },
    },
  }, async (req) => {
    const { scope } = req.params;
    const { override, scope: _scope, effective: _effective, ...members } = req.body;
    if (override !== undefined && Object.keys(members).length > 0)
      throw new CommandError('invalid', 'validation_error', 'send the override either as `override` (the GET shape) or as policy members, not both', {
        errors: Object.keys(members).map((k) => ({ field: `body/${k}`, message: 'not together with override' })),
      });
    await savePolicy(ctx, scope, override ?? members);
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
