// Request help: a support request about one invoice that carries a snapshot of the invoice, its
// attempts and their decline reasons (what the operator needs to answer without digging), with an
// acknowledgement e-mail to the customer written in the same transaction. Operators answer (the
// answer is e-mailed) and close requests.
import type { Queryable } from '../store/db.ts';
import { insertEvents } from '../store/billing.ts';
import { accountById, activePaymentMethodOf } from '../store/accounts.ts';
import { attemptsOfInvoice, invoiceById } from '../store/invoices.ts';
import { subscriptionStanding } from '../store/subscriptions.ts';
import {
  helpRequestById,
  insertHelpRequest,
  listHelpRequests,
  lockHelpRequest,
  markHelpRequestAnswered,
  markHelpRequestClosed,
  openHelpRequestsOfInvoice,
} from '../store/help-requests.ts';
import type { BillingState } from '../core/machine.ts';
import { DAY } from '../core/time.ts';
import { newId } from '../store/ids.ts';
import { HELP_REQUEST_STATUSES, type HelpContext, type HelpRequest, type HelpRequester, type HelpRequestStatus } from '../core/types.ts';
import { enqueueEmail } from '../notify/outbox.ts';
import type { Commands } from './commands.ts';
import { CommandError } from '../core/errors.ts';
import { RATE_LIMITS, enforce } from './limits.ts';
import { linkExpiry, linksOf, mintLinks, storeLinks } from './links.ts';
import type { TemplateName } from '../core/types.ts';

export { HELP_REQUEST_STATUSES, type HelpContext, type HelpRequestStatus };
/** A help request as commands answer it. */
export type HelpRequestView = HelpRequest;
export const HELP_MESSAGE_MAX = 5000;
export const HELP_ANSWER_MAX = 10000;

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export class HelpDesk {
  readonly commands: Commands;
  /** Link to the customer pages, for e-mails. */
  readonly portalUrl: string;
  constructor(
    commands: Commands,
    /** Link to the customer pages, for e-mails. */
    portalUrl: string,
  ) {
    this.commands = commands;
    this.portalUrl = portalUrl;
  }

  /** The e-mail's no-login links (engine/links.ts), written in the caller's transaction. */
  private async links(q: Queryable, accountId: string, template: TemplateName, invoiceId: string, now: Date) {
    const publicUrl = this.portalUrl.replace(/\/portal\/?$/, '');
    const issued = mintLinks(publicUrl, accountId, linksOf(template, { invoice_id: invoiceId }), linkExpiry(template, {}, now));
    await storeLinks(q, issued.rows, now);
    return issued.urls;
  }

  get db() {
    return this.commands.db;
  }
  get clock() {
    return this.commands.clock;
  }

  /** Opens a help request about an invoice; the customer gets an acknowledgement e-mail. */
  async create(invoiceId: string, input: { message: string; requested_by: HelpRequester }): Promise<HelpRequestView> {
    const message = input.message.trim();
    if (message.length === 0) throw new CommandError('invalid', 'validation_error', 'message must not be empty');
    if (message.length > HELP_MESSAGE_MAX) throw new CommandError('invalid', 'validation_error', `message must be at most ${HELP_MESSAGE_MAX} characters`);
    const inv = await this.commands.getInvoice(invoiceId);
    if (!inv) throw new CommandError('not_found', 'not_found', `no invoice ${invoiceId}`);
    const account = await this.commands.requireAccount(inv.account_id);
    // A customer may open so many a day (the operator is not limited).
    if (input.requested_by === 'customer') await enforce(this.db, this.clock, RATE_LIMITS.helpRequests, account.id);
    // Whether Retry works now is part of what the operator needs to know.
    const retry =
      inv.status === 'past_due' ? await this.commands.retryStatus(account, inv.id) : { available: false, reason: 'invoice_not_past_due' as const };
    const id = newId('help');
    // Under the account's and subscription's locks (engine dispatch), in one transaction: the
    // request, its acknowledgement, and the pause of the downgrade while it waits (issue 18).
    const write = async (q: Queryable, state: BillingState | null) => {
      const now = this.clock.now();
      const sub = state?.subscription;
      const paused = sub?.grace_paused_at ? sub.grace_ends_at : null;
      const context = await snapshot(q, invoiceId, input.requested_by, retry);
      await insertHelpRequest(q, { id, account_id: account.id, invoice_id: invoiceId, message, context, now });
      await enqueueEmail(q, {
        account_id: account.id,
        to: account.email,
        template: 'help_request_received',
        dedupe_key: `help_request_received:${id}`,
        now,
        ctx: {
          locale: account.locale,
          time_zone: account.time_zone,
          account_name: account.name,
          links: await this.links(q, account.id, 'help_request_received', invoiceId, now),
          invoice_id: invoiceId,
          help_request_id: id,
          downgrade_paused_until: paused,
        },
      });
      await insertEvents(
        q,
        [
          {
            account_id: account.id,
            subscription_id: inv.subscription_id,
            invoice_id: invoiceId,
            type: 'help_request.created',
            data: { help_request_id: id, requested_by: input.requested_by, decline_reasons: context.decline_reasons },
          },
        ],
        now,
      );
    };
    await this.commands.engine.dispatch(inv.subscription_id, { type: 'help_requested', invoice_id: invoiceId, help_request_id: id }, {
      // The request is written first: the pause starts with a request that waits.
      prepare: async () => true,
      after: write,
    });
    return (await this.get(id))!;
  }

  async get(id: string): Promise<HelpRequestView | null> {
    return helpRequestById(this.db, id);
  }

  async list(opts: { status?: HelpRequestStatus; account_id?: string; invoice_id?: string; limit?: number; starting_after?: string } = {}): Promise<HelpRequestView[]> {
    return listHelpRequests(this.db, { status: opts.status ?? null, account_id: opts.account_id ?? null, invoice_id: opts.invoice_id ?? null, limit: opts.limit ?? 100, starting_after: opts.starting_after ?? null });
  }

  /** The operator's answer, e-mailed to the customer. A closed request cannot be answered. */
  async answer(id: string, answer: string): Promise<HelpRequestView> {
    const text = answer.trim();
    if (text.length === 0) throw new CommandError('invalid', 'validation_error', 'answer must not be empty');
    if (text.length > HELP_ANSWER_MAX) throw new CommandError('invalid', 'validation_error', `answer must be at most ${HELP_ANSWER_MAX} characters`);
    const found = await this.get(id);
    if (!found) throw new CommandError('not_found', 'not_found', `no help request ${id}`);
    await this.settle(found, async (q, r, now) => {
      if (r.status === 'closed') throw new CommandError('conflict', 'conflict', 'this help request is closed; open a new one');
      await markHelpRequestAnswered(q, id, text, now);
    }, async (q, r, state, now) => {
      const account = (await accountById(q, r.account_id))!;
      // The clock runs again: the customer sees when the downgrade now comes (if still unpaid).
      const sub = state.subscription;
      const graceEnds = sub.status === 'past_due' && state.invoice?.id === r.invoice_id && !sub.grace_paused_at ? sub.grace_ends_at : null;
      await enqueueEmail(q, {
        account_id: account.id,
        to: account.email,
        template: 'help_request_answered',
        // Each answer is its own e-mail (an operator may answer again).
        dedupe_key: `help_request_answered:${id}:${newId('ans')}`,
        now,
        ctx: {
          locale: account.locale,
          time_zone: account.time_zone,
          account_name: account.name,
          links: await this.links(q, account.id, 'help_request_answered', r.invoice_id, now),
          invoice_id: r.invoice_id,
          help_request_id: id,
          answer: text,
          grace_ends_at: graceEnds ?? undefined,
          days_left: graceEnds ? Math.max(1, Math.ceil((graceEnds.getTime() - now.getTime()) / DAY)) : undefined,
        },
      });
      await insertEvents(q, [{ account_id: account.id, invoice_id: r.invoice_id, type: 'help_request.answered', data: { help_request_id: id } }], now);
    });
    return (await this.get(id))!;
  }

  /**
   * Answers or closes a request under the account's and subscription's locks (the lock order), and
   * when no request about its invoice waits any more, lets the downgrade clock run again
   * (`help_answered`), all in one transaction. `change` runs on the locked request first.
   */
  private async settle(
    found: HelpRequest,
    change: (q: Queryable, r: HelpRequest, now: Date) => Promise<boolean | void>,
    after?: (q: Queryable, r: HelpRequest, state: BillingState, now: Date) => Promise<void>,
  ): Promise<void> {
    const inv = await this.commands.getInvoice(found.invoice_id);
    if (!inv) throw new CommandError('not_found', 'not_found', `no help request ${found.id}`);
    let locked: HelpRequest | null = null;
    await this.commands.engine.dispatch(inv.subscription_id, { type: 'help_answered', invoice_id: found.invoice_id, help_request_id: found.id }, {
      prepare: async (q) => {
        locked = await lockHelpRequest(q, found.id);
        if (!locked) throw new CommandError('not_found', 'not_found', `no help request ${found.id}`);
        if ((await change(q, locked, this.clock.now())) === false) return false;
        return (await openHelpRequestsOfInvoice(q, found.invoice_id)) === 0;
      },
      after: async (q, state) => {
        if (after) await after(q, locked!, state, this.clock.now());
      },
    });
  }

  /** Closes a request; closing a closed request changes nothing. */
  async close(id: string): Promise<HelpRequestView> {
    const found = await this.get(id);
    if (!found) throw new CommandError('not_found', 'not_found', `no help request ${id}`);
    await this.settle(found, async (q, r, now) => {
      if (r.status === 'closed') return false;
      await markHelpRequestClosed(q, id, now);
      await insertEvents(q, [{ account_id: r.account_id, invoice_id: r.invoice_id, type: 'help_request.closed', data: { help_request_id: id } }], now);
    });
    return (await this.get(id))!;
  }
}

/** The invoice, its subscription, payment method and attempts as they are now. */
async function snapshot(
  q: Queryable,
  invoiceId: string,
  requested_by: HelpRequester,
  retry: { available: boolean; reason: string | null },
): Promise<HelpContext> {
  const inv = (await invoiceById(q, invoiceId))!;
  const account = (await accountById(q, inv.account_id))!;
  const sr = await subscriptionStanding(q, inv.subscription_id);
  const pm = await activePaymentMethodOf(q, inv.account_id);
  const attempts = await attemptsOfInvoice(q, invoiceId);
  const reasons: string[] = [];
  for (const a of attempts) if (a.reason && !reasons.includes(a.reason)) reasons.push(a.reason);
  return {
    requested_by,
    account: { id: account.id, name: account.name, email: account.email, locale: account.locale, domain_zone: account.domain_zone, time_zone: account.time_zone },
    invoice: {
      id: inv.id,
      status: inv.status,
      kind: inv.kind,
      plan_id: inv.plan_id,
      amount: inv.amount,
      currency: inv.currency,
      period_start: iso(inv.period_start)!,
      period_end: iso(inv.period_end)!,
      created_at: iso(inv.created_at)!,
      paid_at: iso(inv.paid_at),
    },
    subscription: sr ? { status: sr.status, plan_id: sr.plan_id, grace_ends_at: iso(sr.grace_ends_at), next_retry_at: iso(sr.next_retry_at) } : null,
    payment_method: pm && { type: pm.type, brand: pm.brand, last4: pm.last4, exp_month: pm.exp_month, exp_year: pm.exp_year },
    attempts: attempts.map((a) => ({
      number: a.number,
      at: iso(a.created_at)!,
      trigger: a.trigger,
      outcome: a.outcome,
      reason: a.reason,
      retry_class: a.retry_class,
      raw_code: a.raw_code,
      network_code: a.network_code,
      advice_code: a.advice_code,
    })),
    decline_reasons: reasons,
    retry,
  };
}
