// How the console writes things: times (UTC), money, statuses as badges, decline reasons and next
// actions in words. Shared by the pages; English only (the console is for the operator).
import { formatMoney } from '../../core/money.ts';
import { html, type Html } from '../html.ts';

const dtFmt = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
/** A week's label on the dashboard's chart. */
export const dayMonth = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
export const when = (d: Date | string | null | undefined) => (d ? `${dtFmt.format(d instanceof Date ? d : new Date(d))} UTC` : '—');
export const money = (amount: number, currency: string | null) => (currency ? formatMoney(amount, currency, 'en-GB') : '—');
/** A code (past_due, customer_retry) in words. */
export const words = (s: unknown) => String(s ?? '').replace(/_/g, ' ');

export const REASON_LABEL: Record<string, string> = {
  credit_limit: 'Credit limit reached',
  card_expired_or_inactive: 'Card expired or inactive',
  insufficient_funds: 'Insufficient funds',
  issuer_unavailable: 'Issuer unavailable',
  payment_system_failure: 'Payment-system failure',
  authentication_required: 'Authentication required',
  declined_by_bank: 'Declined by bank',
};
export const reasonLabel = (r: string | null | undefined) => (r ? REASON_LABEL[r] ?? r : 'No payment method');

/** What the engine does next (subscriptions.next_action), in words. */
export const NEXT_ACTION: Record<string, string> = {
  renew: 'renewal charge',
  retry: 'automatic retry',
  remind: 'reminder e-mail (grace ending)',
  end_grace: 'grace ends: downgrade to the free plan if still unpaid',
  expire: 'period ends: move to the free plan (auto-renew off)',
};
export const NEXT_SHORT: Record<string, string> = { renew: 'renewal', retry: 'retry', remind: 'reminder', end_grace: 'grace ends', expire: 'period ends' };

const STATUS_BADGE: Record<string, string> = {
  active: 'b-ok',
  paid: 'b-ok',
  answered: 'b-ok',
  sent: 'b-ok',
  succeeded: 'b-ok',
  enabled: 'b-ok',
  past_due: 'b-warn',
  open: 'b-warn',
  pending: 'b-warn',
  declined: 'b-err',
  uncollectible: 'b-err',
  failed: 'b-err',
  downgraded: 'b-err',
  requires_action: 'b-warn',
};
export const badge = (s: string | null | undefined): Html => html`<span class="badge ${STATUS_BADGE[s ?? ''] ?? 'b-neutral'}">${(s ?? 'none').replace(/_/g, ' ')}</span>`;
