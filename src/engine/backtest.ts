// The policy backtest command (read only), shared by `renewd policy backtest` and the console's
// /console/policy/backtest page: the candidate is an override merged onto the policy each
// recorded renewal is under now (a complete policy is an override too), validated like a save;
// the renewals that failed in the last `since_days` days are replayed under it and under the
// policy in force, beside what was recorded (core/backtest.ts).
import { backtest, type BacktestResult, type RecordedRenewal } from '../core/backtest.ts';
import { DEFAULT_POLICY, mergePolicy, validatePolicy, type DunningPolicy, type PolicyOverride } from '../core/dunning.ts';
import { invalidFields, type FieldError } from '../core/errors.ts';
import { DAY } from '../core/time.ts';
import { cardAttemptsSince, failedRenewalsSince, type FailedRenewal } from '../store/backtest.ts';
import { loadPolicies, policyFor } from '../store/policies.ts';
import type { AppContext } from './context.ts';

export const DEFAULT_SINCE_DAYS = 90;
export const MAX_SINCE_DAYS = 3650;

// Every member of a policy, as the default has them (a new member is known here without a second list).
const POLICY_KEYS = Object.keys(DEFAULT_POLICY) as readonly (keyof DunningPolicy)[];

export interface BacktestReport extends BacktestResult {
  since: Date;
  until: Date;
  since_days: number;
  /** The candidate as it applies to accounts without a plan or zone override. */
  candidate_policy: DunningPolicy;
  /** The default policy in force. */
  current_policy: DunningPolicy;
}

/** The candidate file's text, read as a policy override; a refusal names what is wrong. */
export function parsePolicyText(text: string): PolicyOverride {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidFields('invalid_policy', `the policy is not JSON: ${(err as Error).message}`, [{ field: 'policy', message: `is not JSON: ${(err as Error).message}` }]);
  }
  return checkShape(value);
}

function checkShape(value: unknown): PolicyOverride {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw invalidFields('invalid_policy', 'the policy must be a JSON object', [{ field: 'policy', message: 'must be a JSON object (a dunning policy, or the fields of it to change)' }]);
  const unknown = Object.keys(value).filter((k) => !POLICY_KEYS.includes(k as keyof DunningPolicy));
  if (unknown.length)
    throw invalidFields(
      'invalid_policy',
      `the policy has unknown fields: ${unknown.join(', ')}`,
      unknown.map((field) => ({ field, message: `is not a policy field; known: ${POLICY_KEYS.join(', ')}` })),
    );
  return value as PolicyOverride;
}

export async function backtestPolicy(ctx: Pick<AppContext, 'db' | 'clock'>, input: { policy: unknown; since_days?: number }): Promise<BacktestReport> {
  const override = checkShape(input.policy);
  const since_days = input.since_days ?? DEFAULT_SINCE_DAYS;
  if (!Number.isInteger(since_days) || since_days < 1 || since_days > MAX_SINCE_DAYS)
    throw invalidFields('invalid_backtest', `since must be a whole number of days from 1 to ${MAX_SINCE_DAYS}`, [{ field: 'since', message: `must be a whole number of days from 1 to ${MAX_SINCE_DAYS}` }]);
  const until = ctx.clock.now();
  const since = new Date(until.getTime() - since_days * DAY);
  const { policies, renewals, history } = await ctx.db.tx(async (q) => {
    const policies = await loadPolicies(q);
    const renewals = await failedRenewalsSince(q, since);
    const cards = renewals.flatMap((r) => r.attempts.map((a) => a.payment_method_id).filter((x): x is string => x !== null));
    return { policies, renewals, history: await cardAttemptsSince(q, cards, since) };
  });
  const current_policy = mergePolicy(DEFAULT_POLICY, policies.get('default'));
  const candidate_policy = mergePolicy(current_policy, override);
  refuseInvalid('the candidate policy', candidate_policy);
  // Per plan and zone: the policy in force there, and the candidate merged onto it.
  const memo = new Map<string, { current: DunningPolicy; candidate: DunningPolicy }>();
  const of = (r: RecordedRenewal) => {
    const f = r as FailedRenewal;
    const key = `${f.plan_id}\u0000${f.domain_zone}`;
    let m = memo.get(key);
    if (!m) {
      const current = policyFor(policies, f.plan_id, f.domain_zone);
      const candidate = mergePolicy(current, override);
      refuseInvalid(`the candidate policy with the overrides of plan:${f.plan_id} and zone:${f.domain_zone}`, candidate);
      m = { current, candidate };
      memo.set(key, m);
    }
    return m;
  };
  const result = backtest({ renewals, current: (r) => of(r).current, candidate: (r) => of(r).candidate, card_history: history });
  return { ...result, since, until, since_days, candidate_policy, current_policy };
}

function refuseInvalid(what: string, p: DunningPolicy) {
  const errors: FieldError[] = validatePolicy(p);
  if (errors.length) throw invalidFields('invalid_policy', `${what} is not valid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
}
