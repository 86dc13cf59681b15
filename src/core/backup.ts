// A backup card (#18 item 5). A customer may save a second card with their consent; when the main
// card fails in a way that says it will not work soon (a decline of class 'never' or 'customer',
// authentication aside: that one needs the customer on-session) or has failed the policy's
// `backup_after_failures` times for an invoice, the next attempt is on the backup: at once for the
// former, at the main card's next slot for the latter. The backup is charged at most once per
// invoice, only with the consent recorded when it was saved, within its own per-card caps and the
// invoice's automatic attempts; its own decline sends the invoice back to waiting for the customer.
import type { AttemptOutcome, PaymentMethod } from './types.ts';
import { type AttemptView, type DunningPolicy, type RetryPlan, applyCaps, automaticAttempts, effectiveClass, givenBack } from './dunning.ts';

export interface BackupCard {
  payment_method: PaymentMethod;
  /** When the customer agreed that this card is charged if the main one fails; null: it never is. */
  consent_at: Date | null;
  /** Attempts on this card in the last 30 days (any invoice): its own network caps. */
  card_attempts: { at: Date; outcome: AttemptOutcome }[];
}

/** A retry plan that may name the backup card. */
export type CardPlan = RetryPlan & { backup: boolean };

export interface BackupPlanInput {
  policy: DunningPolicy;
  /** This invoice's attempts, oldest first. */
  attempts: AttemptView[];
  primary_id: string | null;
  /** The main card's details: a backup that is the same card (brand, last 4, expiry) is never used (its caps are the main card's). */
  primary_card?: Pick<PaymentMethod, 'brand' | 'last4' | 'exp_month' | 'exp_year'> | null;
  backup: BackupCard | null | undefined;
  /** The main card's own plan (planRetry). */
  primary_plan: RetryPlan;
  grace_ends_at: Date;
  now: Date;
}

const FAILED: readonly AttemptOutcome[] = ['declined', 'requires_action'];

/**
 * Whether the main card's failures on this invoice call for the backup: 'now' after a decline that
 * says the card will not work soon, 'next_slot' once it has failed the policy's number of times.
 */
export function primaryGivesUp(policy: DunningPolicy, attempts: AttemptView[], primaryId: string): 'now' | 'next_slot' | null {
  // A failure given back to an incident (the gateway or bank was down) is not the main card's.
  const failed = attempts.filter((a) => a.payment_method_id === primaryId && FAILED.includes(a.outcome) && !givenBack(policy, a));
  const last = failed[failed.length - 1];
  if (!last) return null;
  const cls = effectiveClass(policy, last);
  if ((cls === 'never' || cls === 'customer') && last.reason !== 'authentication_required' && last.outcome !== 'requires_action') return 'now';
  if (failed.length >= policy.backup_after_failures) return 'next_slot';
  return null;
}

/** The same card saved twice (the networks count attempts per card, not per saved copy). */
export function sameCard(a: Pick<PaymentMethod, 'brand' | 'last4' | 'exp_month' | 'exp_year'>, b: Pick<PaymentMethod, 'brand' | 'last4' | 'exp_month' | 'exp_year'>): boolean {
  return !!a.last4 && a.brand === b.brand && a.last4 === b.last4 && a.exp_month === b.exp_month && a.exp_year === b.exp_year;
}

/** Whether the backup may ever be charged: saved with consent, and not the main card itself. */
export function backupUsable(backup: BackupCard | null | undefined, primaryId: string | null, primary?: BackupPlanInput['primary_card']): backup is BackupCard {
  return !!backup && !!backup.consent_at && !!primaryId && backup.payment_method.id !== primaryId && !(primary && sameCard(primary, backup.payment_method));
}

/** The next attempt of a past-due invoice: the main card's plan, or the backup's turn. */
export function planWithBackup(i: BackupPlanInput): CardPlan {
  const primary: CardPlan = { ...i.primary_plan, backup: false };
  const b = i.backup;
  if (!backupUsable(b, i.primary_id, i.primary_card)) return primary;
  const onBackup = i.attempts.filter((a) => a.payment_method_id === b.payment_method.id);
  if (onBackup.length > 0) {
    // Used once for this invoice. Its decline being the invoice's latest attempt, the invoice waits
    // for the customer (a new card, Retry); after that, the main card's plan applies again.
    const last = i.attempts[i.attempts.length - 1];
    return last?.payment_method_id === b.payment_method.id ? { at: null, why: 'waiting_for_customer', backup: false } : primary;
  }
  if (automaticAttempts(i.policy, i.attempts) >= i.policy.max_automatic_attempts) return primary;
  const when = primaryGivesUp(i.policy, i.attempts, i.primary_id!);
  if (!when) return primary;
  const wanted = when === 'now' ? i.now : i.primary_plan.at;
  if (!wanted) return primary;
  const at = applyCaps(i.policy, b.card_attempts, new Date(Math.max(wanted.getTime(), i.now.getTime())));
  if (at.getTime() >= i.grace_ends_at.getTime()) return primary;
  return { at, why: 'backup_card', backup: true };
}
