// The dunning policy as data: the default, and overrides per plan or per domain zone.
// A change re-plans pending retries at once (every past-due subscription is woken up).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { requireAdmin } from '../auth.ts';
import { CommandError } from '../../engine/commands.ts';
import { DEFAULT_POLICY, mergePolicy, validatePolicy, type DunningPolicy, type PolicyOverride } from '../../core/dunning.ts';
import { DECLINE_REASONS, RETRY_CLASSES } from '../../core/types.ts';
import { insertEvents, loadPolicies } from '../../store/billing.ts';
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
    additionalProperties: { type: 'string' },
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
      disabled_payment_methods: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 32 } },
      max_per_day: { type: 'integer' },
    },
  },
  final_action: { type: 'string' },
} as const;

const policyBody = { type: 'object', additionalProperties: false, properties: policyProps, example: DEFAULT_POLICY } as const;
const scopeParam = {
  type: 'object',
  required: ['scope'],
  properties: { scope: { type: 'string', pattern: '^(plan|zone):[A-Za-z0-9_-]{1,64}$', description: 'plan:<plan id> or zone:<domain zone>' } },
} as const;

export async function policyRoutes(app: FastifyInstance, ctx: AppContext) {
  const { db, clock, engine } = ctx;

  async function current(): Promise<{ policy: DunningPolicy; overrides: Record<string, PolicyOverride> }> {
    const all = await loadPolicies(db);
    const overrides = Object.fromEntries([...all].filter(([k]) => k !== 'default'));
    return { policy: mergePolicy(DEFAULT_POLICY, all.get('default')), overrides };
  }

  async function save(scope: string, value: PolicyOverride | null) {
    const all = await loadPolicies(db);
    if (value) all.set(scope, value);
    else all.delete(scope);
    // Validate every policy that would be in force: the default, and default+each override.
    const base = mergePolicy(DEFAULT_POLICY, all.get('default'));
    const check = [['default', base] as const, ...[...all].filter(([k]) => k !== 'default').map(([k, o]) => [k, mergePolicy(base, o)] as const)];
    for (const [s, p] of check) {
      const errors = validatePolicy(p);
      if (errors.length)
        throw new CommandError(400, 'invalid_policy', `the ${s === 'default' ? 'default policy' : `policy for ${s}`} is not valid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, { errors });
    }
    const now = clock.now();
    await db.tx(async (q) => {
      if (value) {
        await q.query(
          `INSERT INTO dunning_policies (scope, policy, updated_at) VALUES ($1, $2, $3) ON CONFLICT (scope) DO UPDATE SET policy = EXCLUDED.policy, updated_at = EXCLUDED.updated_at`,
          [scope, JSON.stringify(value), now],
        );
      } else await q.query('DELETE FROM dunning_policies WHERE scope = $1', [scope]);
      // Re-plan: wake every subscription in grace now; its next tick plans with the new policy.
      await q.query(`UPDATE subscriptions SET next_action_at = $1 WHERE status = 'past_due'`, [now]);
      await insertEvents(q, [{ account_id: null, type: 'dunning_policy.updated', data: { scope, policy: value } }], now);
    });
    await engine.drain();
  }

  app.get('/v1/dunning-policy', {
    preHandler: requireAdmin,
    schema: { tags: ['dunning policy'], summary: 'The default dunning policy and its overrides', security: adminSecurity },
  }, async () => {
    const { policy, overrides } = await current();
    return { ...policy, overrides };
  });

  app.put('/v1/dunning-policy', {
    preHandler: requireAdmin,
    schema: {
      tags: ['dunning policy'],
      summary: 'Replace the default dunning policy (fields left out keep the built-in default)',
      security: adminSecurity,
      body: policyBody,
      response: { ...problemResponses },
    },
  }, async (req) => {
    await save('default', req.body as PolicyOverride);
    const { policy, overrides } = await current();
    return { ...policy, overrides };
  });

  app.get('/v1/dunning-policy/overrides/:scope', {
    preHandler: requireAdmin,
    schema: { tags: ['dunning policy'], summary: 'An override for a plan or a domain zone', security: adminSecurity, params: scopeParam },
  }, async (req) => {
    const { scope } = req.params as { scope: string };
    const { policy, overrides } = await current();
    if (!overrides[scope]) throw new CommandError(404, 'not_found', `no override for ${scope}`);
    return { scope, override: overrides[scope], effective: mergePolicy(policy, overrides[scope]) };
  });

  app.put('/v1/dunning-policy/overrides/:scope', {
    preHandler: requireAdmin,
    schema: { tags: ['dunning policy'], summary: 'Set the override for a plan (plan:<id>) or domain zone (zone:<zone>)', security: adminSecurity, params: scopeParam, body: policyBody },
  }, async (req) => {
    const { scope } = req.params as { scope: string };
    await save(scope, req.body as PolicyOverride);
    const { policy, overrides } = await current();
    return { scope, override: overrides[scope], effective: mergePolicy(policy, overrides[scope]) };
  });

  app.delete('/v1/dunning-policy/overrides/:scope', {
    preHandler: requireAdmin,
    schema: { tags: ['dunning policy'], summary: 'Remove an override', security: adminSecurity, params: scopeParam },
  }, async (req, reply) => {
    const { scope } = req.params as { scope: string };
    const { overrides } = await current();
    if (!overrides[scope]) throw new CommandError(404, 'not_found', `no override for ${scope}`);
    await save(scope, null);
    return reply.code(204).send();
  });
}
