// What people and integrators can do, as functions over the store, the engine and the gateway.
// HTTP handlers, the CLI and the demo seed all call these; none of them writes SQL of its own.
import { creditNoteView, documentsOfInvoices } from './documents.ts';
import type { Account, Interval, PaymentMethod, Plan, PaymentMethodType } from '../core/types.ts';
import { RETRY_DATE_REFUSALS, accessOf, isRateLimited, pendingCancel, toView, type AttemptState, type CancelAt, type CancelBy } from '../core/machine.ts';
import { retryAvailability, type RetryDateRefusal, type RetryUnavailable } from '../core/dunning.ts';
import { isKnownCurrency, minimumCharge } from '../core/money.ts';
import { isValidTimeZone, DAY, daysInMonth, fromWall } from '../core/time.ts';
import type { Db } from '../store/db.ts';
import { accessReader } from '../store/access.ts';
import { eventsOfAccount, insertEvents, loadPlans, loadPolicies, loadStates, policyFor } from '../store/billing.ts';
import { accountById, activePaymentMethodOf, billingDetailsOf, setBillingDetails, type BillingDetails, insertAccount, insertPaymentMethod, listAccounts, lockAccount, retireActivePaymentMethod } from '../store/accounts.ts';
import { freePlanId, insertPlan, planExists, setPlanArchived } from '../store/plans.ts';
import { insertSubscription, lockSubscription, setAutoRenew, subscriptionOfAccount, subscriptionOfInvoice } from '../store/subscriptions.ts';
import { attemptsOfAccount, customerRetriesSince, invoiceById, invoicesOfAccount } from '../store/invoices.ts';
import { newId } from '../store/ids.ts';
import { CardRejectedError, PaymentMethodRefusedError, type CardInput, type PaymentMethodDetails } from '../gateway/types.ts';
import type { Engine } from './engine.ts';
import { CommandError } from '../core/errors.ts';
import { mapConflicts } from './conflicts.ts';

export class Commands {
  readonly db: Db;
  readonly engine: Engine;
  constructor(
    db: Db,
    engine: Engine,
  ) {
    this.db = db;
    this.engine = engine;
    this.readAccess = accessReader(db);
  }

  private readonly readAccess: ReturnType<typeof accessReader>;

  get clock() {
    return this.engine.clock;
  }
  get gateway() {
    return this.engine.gateway;
  }

  // ---- plans ----
  async createPlan(input: { id: string; name: string; free?: boolean; prices: { currency: string; interval: Interval; amount: number }[] }): Promise<Plan> {
    for (const p of input.prices) {
      if (!isKnownCurrency(p.currency)) throw new CommandError('invalid', 'unknown_currency', `"${p.currency}" is not an ISO 4217 currency code`);
    }
    const small = input.prices.findIndex((p) => p.amount < minimumCharge(p.currency));
    if (small >= 0) {
      // A price the gateway would refuse to charge (amount_too_small) would fail every renewal.
      const p = input.prices[small]!;
      const message = `${p.amount} is below the smallest amount card gateways charge in ${p.currency} (${minimumCharge(p.currency)} minor units)`;
      throw new CommandError('invalid', 'price_below_minimum', message, { errors: [{ field: `/prices/${small}/amount`, message }] });
    }
    const keys = new Set(input.prices.map((p) => `${p.currency}/${p.interval}`));
    if (keys.size !== input.prices.length) throw new CommandError('invalid', 'duplicate_price', 'two prices for the same currency and interval');
    if (!input.free && input.prices.length === 0) throw new CommandError('invalid', 'no_price', 'a paid plan needs at least one price');
    // Two creations of one id (or of two free plans) at once both pass the checks: the constraint refuses the later.
    return mapConflicts(() => this.db.tx(async (q) => {
      if (await planExists(q, input.id)) throw new CommandError('conflict', 'plan_exists', `plan "${input.id}" already exists`);
      if (input.free) {
        const f = await freePlanId(q);
        if (f) throw new CommandError('conflict', 'free_plan_exists', `plan "${f}" is already the free plan`);
      }
      const plan = { id: input.id, name: input.name, free: !!input.free, prices: input.prices, archived: false };
      await insertPlan(q, plan, this.clock.now());
      return plan;
    }));
  }

  async listPlans(): Promise<Plan[]> {
    return [...(await loadPlans(this.db)).values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * The plans a customer may see: the free plan, and the paid ones on offer (not archived) with their
   * prices in the account's currency only.
   */
  async plansFor(accountId: string): Promise<Plan[]> {
    const account = await this.requireAccount(accountId);
    return (await this.listPlans())
      .filter((p) => !p.archived)
      .map(({ archived: _, ...p }) => ({ ...p, prices: p.prices.filter((x) => x.currency === account.currency) }))
      .filter((p) => p.free || p.prices.length > 0);
  }

  /**
   * Archives a paid plan (or puts it back on offer): an archived plan is no longer bought, restored
   * or changed to, and customers no longer see it; subscriptions already on it keep renewing at its
   * price, and a change to it scheduled before it was archived still applies at the period end.
   * Idempotent. Unknown plan: not_found; the free plan: conflict (every account falls back to it).
   */
  async archivePlan(id: string, archived = true): Promise<Plan> {
    await this.db.tx(async (q) => {
      const free = await freePlanId(q);
      if (archived && free === id) throw new CommandError('conflict', 'free_plan_not_archivable', `plan "${id}" is the free plan: accounts fall back to it, it cannot be archived`);
      if (!(await setPlanArchived(q, id, archived, this.clock.now()))) throw new CommandError('not_found', 'unknown_plan', `no plan ${id}`);
    });
    return (await loadPlans(this.db)).get(id)!;
  }

  private static archived(plan: Plan) {
    return new CommandError('conflict', 'plan_archived', `plan ${plan.id} is archived: it is no longer offered; choose another plan`, { errors: [{ field: 'plan_id', message: 'archived plan' }] });
  }

  // ---- accounts ----
  async createAccount(input: { name: string; email: string; locale: string; domain_zone: string; currency: string; time_zone?: string }): Promise<Account> {
    if (!isKnownCurrency(input.currency)) throw new CommandError('invalid', 'unknown_currency', `"${input.currency}" is not an ISO 4217 currency code`);
    const tz = input.time_zone ?? 'UTC';
    if (!isValidTimeZone(tz)) throw new CommandError('invalid', 'unknown_time_zone', `"${tz}" is not an IANA time zone`);
    try {
      new Intl.Locale(input.locale);
    } catch {
      throw new CommandError('invalid', 'invalid_locale', `"${input.locale}" is not a BCP 47 locale`);
    }
    const id = newId('acct');
    const now = this.clock.now();
    // The gateway customer first: if the gateway is down, nothing is written.
    const ref = await this.gateway.createCustomer({ account_id: id, email: input.email, name: input.name });
    await this.db.tx(async (q) => {
      await insertAccount(q, {
        id,
        name: input.name,
        email: input.email,
        locale: input.locale,
        domain_zone: input.domain_zone.toLowerCase(),
        currency: input.currency,
        time_zone: tz,
        gateway_customer_ref: ref,
        created_at: now,
      });
      await insertEvents(q, [{ account_id: id, type: 'account.created', data: { domain_zone: input.domain_zone } }], now);
    });
    return (await this.getAccount(id))!;
  }

  async getAccount(id: string): Promise<Account | null> {
    return accountById(this.db, id);
  }

  async requireAccount(id: string): Promise<Account> {
    const a = await this.getAccount(id);
    if (!a) throw new CommandError('not_found', 'not_found', `no account ${id}`);
    return a;
  }

  /** The name, address and VAT id the account's next documents show (issue 23). */
  async billingDetails(accountId: string): Promise<BillingDetails> {
    const d = await billingDetailsOf(this.db, accountId);
    if (!d) throw new CommandError('not_found', 'not_found', `no account ${accountId}`);
    return d;
  }

  /**
   * Sets them (the customer in Billing information, or the operator). Blank means none. Only
   * documents issued from now on show them: an issued invoice keeps the details it was issued with.
   */
  async setBillingDetails(accountId: string, input: { name?: string | null; address?: string | null; vat_id?: string | null }, by: CancelBy = 'customer'): Promise<BillingDetails> {
    const clean = (v: string | null | undefined, max: number, field: string, multiline: boolean) => {
      const s = (v ?? '').replace(/\r\n?/g, '\n').split('\n').map((l) => l.trim()).filter(Boolean).join(multiline ? '\n' : ' ');
      if (s.length > max) throw new CommandError('invalid', 'validation_error', `${field} is longer than ${max} characters`, { errors: [{ field, message: `at most ${max} characters` }] });
      // Control characters would print as boxes (or nothing) on the document.
      if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(s)) throw new CommandError('invalid', 'validation_error', `${field} has control characters`, { errors: [{ field, message: 'no control characters' }] });
      return s || null;
    };
    const d: BillingDetails = { name: clean(input.name, 200, 'name', false), address: clean(input.address, 500, 'address', true), vat_id: clean(input.vat_id, 32, 'vat_id', false) };
    if (d.address && d.address.split('\n').length > 6) throw new CommandError('invalid', 'validation_error', 'the address has more than 6 lines', { errors: [{ field: 'address', message: 'at most 6 lines' }] });
    if (d.vat_id && !/^[A-Za-z0-9][A-Za-z0-9 .\-/]*$/.test(d.vat_id)) throw new CommandError('invalid', 'validation_error', 'the VAT id may hold letters, digits, spaces, dots, dashes and slashes', { errors: [{ field: 'vat_id', message: 'letters, digits, spaces, . - /' }] });
    await this.db.tx(async (q) => {
      if (!(await lockAccount(q, accountId))) throw new CommandError('not_found', 'not_found', `no account ${accountId}`);
      await setBillingDetails(q, accountId, d);
      await insertEvents(q, [{ account_id: accountId, type: 'account.billing_details_updated', data: { by, name: d.name !== null, address: d.address !== null, vat_id: d.vat_id !== null } }], this.clock.now());
    });
    return d;
  }

  async listAccounts(opts: { limit?: number; status?: string; starting_after?: string } = {}) {
    return listAccounts(this.db, { status: opts.status ?? null, limit: opts.limit ?? 100, starting_after: opts.starting_after ?? null });
  }

  // ---- payment methods ----
  async getPaymentMethod(accountId: string): Promise<PaymentMethod | null> {
    return activePaymentMethodOf(this.db, accountId);
  }

  /**
   * Replaces the account's payment method. While an invoice is past due this makes an attempt at
   * once; the answer carries its outcome. The card itself never reaches the database or a log.
   * `card` (sandbox only: raw test cards), `token` (a pm_…/tok_… made by the gateway's client-side
   * capture: attached here), or `token` with `attached` (a pm_… the gateway already attached to
   * the account's customer, e.g. by its hosted card page: saved as is).
   */
  async setPaymentMethod(accountId: string, input: { type: PaymentMethodType; card?: CardInput; token?: string; attached?: PaymentMethodDetails }) {
    const account = await this.requireAccount(accountId);
    const details = await this.attachPaymentMethod(account, input);
    const pmId = newId('pm');
    // Under the account's lock (the gateway call above is outside any transaction): card changes of
    // one account take turns, the one saved last is the active one, and each answer shows its own.
    const pm = await mapConflicts(() => this.db.tx(async (q) => {
      await lockAccount(q, accountId);
      await retireActivePaymentMethod(q, accountId);
      await insertPaymentMethod(q, {
        id: pmId,
        account_id: accountId,
        type: input.type,
        gateway_ref: details.gateway_ref,
        brand: details.brand,
        last4: details.last4,
        exp_month: details.exp_month,
        exp_year: details.exp_year,
        created_at: this.clock.now(),
      });
      return (await activePaymentMethodOf(q, accountId))!;
    }));
    const sub = await this.getSubscriptionRow(accountId);
    let attempt = null;
    // A card replaced again before its immediate retry ran makes none: the later change's retry
    // charges the card the account has (so no answer reports an attempt on a card it did not save).
    const r = sub && (await this.engine.dispatch(sub.id, { type: 'payment_method_updated' }, { precondition: (s) => s.payment_method?.id === pmId }));
    if (r && !r.skipped) attempt = r.attempt;
    else await this.db.tx((q) => insertEvents(q, [{ account_id: accountId, type: 'payment_method.updated', data: { payment_method_id: pmId } }], this.clock.now()));
    return { payment_method: pm, attempt };
  }

  /**
   * Attaches a card (sandbox raw fields, a gateway token, or one the hosted card page attached) to
   * the account's gateway customer, outside any transaction: the main card and the backup alike.
   */
  async attachPaymentMethod(account: Account, input: { card?: CardInput; token?: string; attached?: PaymentMethodDetails }): Promise<PaymentMethodDetails> {
    if (!account.gateway_customer_ref) throw new CommandError('conflict', 'no_gateway_customer', 'the account has no gateway customer');
    let details;
    try {
      // A card the gateway already attached to this customer (the hosted card page did it): saved
      // as the gateway described it, with no second attach.
      if (input.attached && input.token === input.attached.gateway_ref) details = input.attached;
      else if (input.attached) throw new CommandError('invalid', 'validation_error', 'the token must be the attached payment method');
      else if (input.card) details = await this.gateway.attachCard(account.gateway_customer_ref, input.card);
      else if (input.token) details = await this.gateway.attachToken(account.gateway_customer_ref, input.token);
      else throw new CommandError('invalid', 'validation_error', 'card or token is required');
    } catch (err) {
      if (err instanceof CardRejectedError) throw new CommandError('payment_failed', 'card_rejected', err.message, { code: err.code, decline_code: err.decline_code });
      if (err instanceof PaymentMethodRefusedError)
        throw new CommandError('invalid', 'payment_method_refused', err.message, { gateway_code: err.code, errors: [{ field: 'token', message: err.message }] });
      throw err;
    }
    return details;
  }

  // ---- subscriptions ----
  async getSubscriptionRow(accountId: string) {
    return subscriptionOfAccount(this.db, accountId);
  }

  /**
   * Buys a plan: creates the subscription, or buys back a downgraded/canceled one (a new period
   * starting now, never the gap since the old period ended), and charges the first period at once
   * through the engine (the attempt is committed with its idempotency key before the gateway call).
   * Refused, with nothing changed: an unknown plan, the free plan, no price in the account's
   * currency, no saved card, a live paid subscription (active or past due), a purchase already being
   * paid. A decline leaves the account on the free plan (the purchase invoice is voided) and fails
   * with payment_failed naming the reason.
   */
  async subscribe(input: { account_id: string; plan_id: string; interval: Interval; auto_renew?: boolean }) {
    const account = await this.requireAccount(input.account_id);
    const plans = await loadPlans(this.db);
    const plan = plans.get(input.plan_id);
    const field = (f: string, message: string) => ({ errors: [{ field: f, message }] });
    if (!plan) throw new CommandError('not_found', 'unknown_plan', `no plan ${input.plan_id}`, field('plan_id', 'unknown plan'));
    const free = [...plans.values()].find((p) => p.free);
    if (!free) throw new CommandError('conflict', 'no_free_plan', 'create the free plan first (POST /v1/plans with free: true)');
    if (plan.free)
      throw new CommandError('invalid', 'free_plan', `plan ${plan.id} is the free plan: an account is on it whenever no paid subscription is live, it is not bought`, field('plan_id', 'the free plan is not bought'));
    if (plan.archived) throw Commands.archived(plan);
    const price = plan.prices.find((p) => p.currency === account.currency && p.interval === input.interval);
    if (!price) throw new CommandError('invalid', 'no_price', `plan ${plan.id} has no ${input.interval}ly price in ${account.currency}`, field('interval', 'no price in the account currency'));
    const now = this.clock.now();
    let sub = await this.getSubscriptionRow(account.id);
    if (sub && (sub.status === 'past_due' || (sub.status === 'active' && !plans.get(sub.plan_id)?.free))) {
      throw new CommandError('conflict', 'already_subscribed', `the account already has a ${sub.status} subscription to ${sub.plan_id}`, { subscription_status: sub.status, plan_id: sub.plan_id });
    }
    if (!(await this.getPaymentMethod(account.id)))
      throw new CommandError('conflict', 'no_payment_method', 'add a card in Billing information first (PUT /v1/accounts/{id}/payment-method)');
    if (!sub) {
      const id = newId('sub');
      // Under the account's lock, looked for again: of two first purchases at once one creates the
      // subscription, and both go on to the purchase step, which lets one pay.
      await this.db.tx(async (q) => {
        await lockAccount(q, account.id);
        if (await subscriptionOfAccount(q, account.id)) return;
        await insertSubscription(q, {
          id,
          account_id: account.id,
          plan_id: free.id,
          interval: input.interval,
          auto_renew: input.auto_renew ?? true,
          status: 'incomplete',
          now,
          period_end: new Date(now.getTime() + DAY),
        });
        await insertEvents(q, [{ account_id: account.id, subscription_id: id, type: 'subscription.created', data: { plan_id: plan.id } }], now);
      });
      sub = (await this.getSubscriptionRow(account.id))!;
    }
    // A buy-back renews unless told otherwise (a canceled subscription had auto_renew off); set by
    // the purchase step itself, so a refused purchase never touches a live subscription's switch.
    const r = await this.engine.dispatch(sub.id, { type: 'purchase', plan, interval: input.interval, amount: price.amount, auto_renew: input.auto_renew ?? true });
    if (!r.attempt) {
      // The machine refused under the subscription's lock (a concurrent purchase or payment won the race).
      const st = r.state.subscription;
      if (st.status === 'past_due' || (st.status === 'active' && !plans.get(st.plan_id)?.free))
        throw new CommandError('conflict', 'already_subscribed', `the account already has a ${st.status} subscription to ${st.plan_id}`, { subscription_status: st.status, plan_id: st.plan_id });
      if (!r.state.payment_method) throw new CommandError('conflict', 'no_payment_method', 'add a card in Billing information first');
      throw new CommandError('conflict', 'purchase_in_progress', 'a purchase for this account is already being paid; look at the subscription in a moment');
    }
    if (r.attempt.outcome === 'unknown' || r.attempt.outcome === 'pending') {
      throw new CommandError('unavailable', 'payment_pending', 'the payment gateway has not answered yet; the payment is checked again by its key and the subscription starts if it went through', {
        outcome: r.attempt.outcome,
      });
    }
    if (r.attempt.outcome !== 'succeeded') {
      throw new CommandError('payment_failed', 'payment_failed', `the first payment failed: ${r.attempt.reason ?? r.attempt.outcome}`, {
        outcome: r.attempt.outcome,
        reason: r.attempt.reason,
      });
    }
    return { subscription: await this.subscriptionView(account.id), attempt: r.attempt };
  }

  /**
   * The auto-renew switch. Off on a paid subscription is a cancel (at the period end; at once while
   * past due: collection stops); on undoes a pending cancel. Anything else only records the flag.
   */
  async setAutoRenew(accountId: string, autoRenew: boolean, by: CancelBy = 'customer'): Promise<Awaited<ReturnType<Commands['subscriptionView']>>> {
    const sub = await this.getSubscriptionRow(accountId);
    if (!sub) throw new CommandError('not_found', 'not_found', 'the account has no subscription');
    const plans = await loadPlans(this.db);
    const throughMachine = (s: { status: string; plan_id: string; auto_renew: boolean }) => {
      const plan = plans.get(s.plan_id);
      const paid = (s.status === 'active' && plan && !plan.free) || s.status === 'past_due';
      // Off while past due always goes to the machine: a row left past due with auto-renew off ends now.
      return paid && (autoRenew !== s.auto_renew || (!autoRenew && s.status === 'past_due'));
    };
    if (throughMachine(sub)) {
      if (autoRenew) return this.resumeSubscription(accountId, by);
      return this.cancelSubscription(accountId, 'period_end', by);
    }
    const flagged = await this.db.tx(async (q) => {
      // The lock order (account, then subscription), as every change of the subscription; looked at
      // again under it, as a purchase paid in between makes this a cancel or resume.
      await lockAccount(q, accountId);
      const locked = await lockSubscription(q, sub.id);
      if (!locked) throw new CommandError('not_found', 'not_found', 'the account has no subscription');
      if (throughMachine(locked)) return false;
      await setAutoRenew(q, sub.id, autoRenew);
      await insertEvents(q, [{ account_id: accountId, subscription_id: sub.id, type: 'subscription.auto_renew_changed', data: { auto_renew: autoRenew } }], this.clock.now());
      return true;
    });
    if (!flagged) return this.setAutoRenew(accountId, autoRenew, by);
    return this.subscriptionView(accountId);
  }

  /**
   * Cancels the account's subscription. Past due (whatever `at`) or `at: 'now'`: collection stops at
   * once (open invoice void, no attempt, no reminder), the account moves to the free plan. Active
   * with `period_end`: the paid period runs to its end, then the free plan, no renewal charge.
   */
  async cancelSubscription(accountId: string, at: CancelAt = 'period_end', by: CancelBy = 'customer') {
    const sub = await this.getSubscriptionRow(accountId);
    if (!sub) throw new CommandError('not_found', 'not_found', 'the account has no subscription');
    const r = await this.engine.dispatch(sub.id, { type: 'cancel', at, by });
    if (r.refused) throw new CommandError('conflict', r.refused.code, r.refused.message);
    return (await this.subscriptionView(accountId))!;
  }

  /** Undoes a period-end cancel before it takes effect. */
  async resumeSubscription(accountId: string, by: CancelBy = 'customer') {
    const sub = await this.getSubscriptionRow(accountId);
    if (!sub) throw new CommandError('not_found', 'not_found', 'the account has no subscription');
    const r = await this.engine.dispatch(sub.id, { type: 'resume', by });
    if (r.refused) throw new CommandError('conflict', r.refused.code, r.refused.message);
    return (await this.subscriptionView(accountId))!;
  }

  /**
   * Changes the plan (and/or interval) of a live subscription (docs/ARCHITECTURE.md "A plan change"):
   * to a dearer price for the same interval at once, charging the prorated rest of the period (a
   * decline changes nothing and fails with payment_failed naming the reason); to a cheaper or equal
   * price, or another interval, at the period end (scheduled_change; the current plan and interval
   * again unschedules it); while past due at once, the past-due invoice replaced by one for the new
   * plan over the same period and charged now (a decline leaves it past due, grace unchanged: the
   * answer is the subscription with `attempt`).
   */
  async changePlan(accountId: string, input: { plan_id?: string; interval?: Interval }, by: CancelBy = 'customer') {
    const account = await this.requireAccount(accountId);
    const sub = await this.getSubscriptionRow(accountId);
    if (!sub) throw new CommandError('not_found', 'not_found', 'the account has no subscription');
    const plans = await loadPlans(this.db);
    // Either may be left out: it stays what the subscription has now.
    const planId = input.plan_id ?? sub.plan_id;
    const interval = input.interval ?? sub.interval;
    const plan = plans.get(planId);
    const field = (f: string, message: string) => ({ errors: [{ field: f, message }] });
    if (!plan) throw new CommandError('not_found', 'unknown_plan', `no plan ${planId}`, field('plan_id', 'unknown plan'));
    if (plan.free) throw new CommandError('invalid', 'free_plan', `plan ${plan.id} is the free plan: cancel the subscription to move to it`, field('plan_id', 'the free plan is not bought'));
    // An archived plan is not changed to; the current plan and interval again (which unschedules a
    // scheduled change) stays possible for a subscription already on it.
    if (plan.archived && !(plan.id === sub.plan_id && interval === sub.interval)) throw Commands.archived(plan);
    if (!plan.prices.some((p) => p.currency === account.currency && p.interval === interval))
      throw new CommandError('invalid', 'no_price', `plan ${plan.id} has no ${interval}ly price in ${account.currency}`, field('interval', 'no price in the account currency'));
    const r = await this.engine.dispatch(sub.id, { type: 'change_plan', plan, interval, by });
    if (r.refused) {
      const kind = r.refused.code === 'free_plan' || r.refused.code === 'no_price' ? 'invalid' : 'conflict';
      throw new CommandError(kind, r.refused.code, r.refused.message);
    }
    const a = r.attempt;
    if (a && (a.outcome === 'unknown' || a.outcome === 'pending')) {
      throw new CommandError('unavailable', 'payment_pending', 'the payment gateway has not answered yet; the payment is checked again by its key and the plan changes if it went through', { outcome: a.outcome });
    }
    // In grace as the lock found it, not as read before it: a declined proration leaves the
    // subscription active, a declined change in grace leaves it past due (or downgraded at its end).
    const inGrace = r.state.subscription.status !== 'active';
    if (a && a.outcome !== 'succeeded' && !inGrace) {
      throw new CommandError('payment_failed', 'payment_failed', `the plan change's payment failed: ${a.reason ?? a.outcome}; the plan is unchanged`, { outcome: a.outcome, reason: a.reason });
    }
    const view = (await this.subscriptionView(accountId))!;
    return { ...view, attempt: a ? { outcome: a.outcome, reason: a.reason, amount: a.amount, currency: a.currency, invoice_id: a.invoice_id } : null };
  }

  async subscriptionView(accountId: string) {
    const sub = await this.getSubscriptionRow(accountId);
    if (!sub) return null;
    const plan = (await loadPlans(this.db)).get(sub.plan_id);
    return {
      ...pendingCancel(sub, plan ?? { free: true }),
      id: sub.id,
      status: sub.status,
      plan_id: sub.plan_id,
      interval: sub.interval,
      current_period_start: sub.current_period_start,
      current_period_end: sub.current_period_end,
      grace_ends_at: sub.grace_ends_at,
      next_retry_at: sub.next_retry_at,
      next_retry_why: sub.next_retry_why,
      downgrade_paused_at: sub.grace_paused_at ?? null,
      chosen_retry_at: sub.chosen_retry_at ?? null,
      next_action: sub.next_action,
      next_action_at: sub.next_action_at,
      auto_renew: sub.auto_renew,
      scheduled_change: sub.scheduled_plan_id ? { plan_id: sub.scheduled_plan_id, interval: sub.scheduled_interval, at: sub.current_period_end } : null,
    };
  }

  /** The hot path of integrators (checked on every page view of the SaaS): one indexed read, shared by concurrent checks. */
  async access(accountId: string) {
    const r = await this.readAccess(accountId);
    if (!r) throw new CommandError('not_found', 'not_found', `no account ${accountId}`);
    if (!r.status) return { plan_id: r.free_plan_id ?? null, paid: false, reason: 'free' as const, until: null };
    const a = accessOf({ status: r.status, plan_id: r.plan_id! }, { free: !!r.free }, (r.free_plan_id ?? r.plan_id)!);
    return { ...a, until: a.reason === 'grace' ? r.grace_ends_at : a.reason === 'active' ? r.current_period_end : null };
  }

  // ---- purchase history ----
  async invoices(accountId: string) {
    const account = await this.requireAccount(accountId);
    const invoices = await invoicesOfAccount(this.db, accountId);
    const atts = await attemptsOfAccount(this.db, accountId);
    const docs = await documentsOfInvoices(this.db, invoices.map((i) => i.id));
    const byInv = new Map<string, AttemptState[]>();
    for (const a of atts) byInv.set(a.invoice_id, [...(byInv.get(a.invoice_id) ?? []), a]);
    const data = [];
    for (const inv of invoices) {
      data.push({
        id: inv.id,
        status: inv.status,
        kind: inv.kind,
        plan_id: inv.plan_id,
        amount: inv.amount,
        currency: inv.currency,
        period_start: inv.period_start,
        period_end: inv.period_end,
        created_at: inv.created_at,
        paid_at: inv.paid_at,
        // Issued (paid or past due): its legal number and its PDF; a cancelled one has its credit notes.
        number: docs.number(inv.id),
        document_url: docs.number(inv.id) ? `/v1/invoices/${inv.id}/pdf` : null,
        credit_notes: docs.creditNotes(inv.id).map((n) => ({ ...creditNoteView(n), document_url: `/v1/credit-notes/${n.id}/pdf` })),
        attempts: (byInv.get(inv.id) ?? []).map((x) => ({
          id: x.id,
          number: x.number,
          at: x.created_at,
          trigger: x.trigger,
          outcome: x.outcome,
          reason: x.reason,
          retry_class: x.retry_class,
          payment_method_id: x.payment_method_id,
        })),
        retry: inv.status === 'past_due' ? await this.retryStatus(account, inv.id) : { available: false, reason: 'invoice_not_past_due' as RetryUnavailable },
      });
    }
    return data;
  }

  async getInvoice(invoiceId: string) {
    return invoiceById(this.db, invoiceId);
  }

  /** Whether Retry works for this invoice now, and if not, why. */
  async retryStatus(account: Account, invoiceId: string) {
    const now = this.clock.now();
    const sub = await subscriptionOfInvoice(this.db, invoiceId);
    const inv = await this.getInvoice(invoiceId);
    if (!sub || !inv) throw new CommandError('not_found', 'not_found', `no invoice ${invoiceId}`);
    const [state] = await loadStates(this.db, [sub], now);
    const manual = await customerRetriesSince(this.db, account.id, new Date(now.getTime() - DAY));
    const policy = policyFor(await loadPolicies(this.db), inv.plan_id, account.domain_zone);
    return retryAvailability({
      policy,
      invoice_status: inv.status,
      domain_zone: account.domain_zone,
      payment_method: state.payment_method,
      // An attempt only waiting for the gateway's rate limit is not in flight: Retry makes it now.
      in_flight: state.attempts.some((a) => (a.outcome === 'pending' && !isRateLimited(a)) || a.outcome === 'unknown'),
      manual_retries_last_24h: manual,
      card_attempts: state.card_attempts,
      attempts: state.invoice?.id === invoiceId ? state.attempts.map(toView) : [],
      now,
    });
  }

  /** The customer's (or operator's) Retry: one attempt now, answered with its outcome. */
  async retry(invoiceId: string, trigger: 'customer_retry' | 'operator' = 'customer_retry') {
    const inv = await this.getInvoice(invoiceId);
    if (!inv) throw new CommandError('not_found', 'not_found', `no invoice ${invoiceId}`);
    const account = (await this.getAccount(inv.account_id))!;
    const status = await this.retryStatus(account, invoiceId);
    if (!status.available) throw new CommandError('conflict', `retry_unavailable`, retryMessage(status.reason), { reason: status.reason });
    const r = await this.engine.dispatch(inv.subscription_id, { type: 'retry_requested', trigger });
    if (!r.attempt) {
      // Refused under the lock: another attempt (a concurrent Retry, card update or the schedule) got
      // there first. Say why as it stands now (paid, limit reached, or that attempt still running).
      const again = await this.retryStatus(account, invoiceId);
      const reason = again.available ? 'attempt_in_flight' : again.reason;
      throw new CommandError('conflict', 'retry_unavailable', retryMessage(reason), { reason });
    }
    return { outcome: r.attempt.outcome, reason: r.attempt.reason, invoice_status: (await this.getInvoice(invoiceId))!.status };
  }

  /**
   * The customer chooses the day of the next attempt in grace ("after my payday"): `date` is a day
   * of the account's calendar (YYYY-MM-DD), the attempt is made at RETRY_DATE_HOUR there. The
   * machine plans it (next_retry_why `customer_chosen`) or refuses: 409 retry_date_unavailable with
   * `reason` (core/machine.ts RETRY_DATE_REFUSALS). Answers the plan as it stands.
   */
  async chooseRetryDate(invoiceId: string, date: string, by: CancelBy = 'customer') {
    const inv = await this.getInvoice(invoiceId);
    if (!inv) throw new CommandError('not_found', 'not_found', `no invoice ${invoiceId}`);
    const account = await this.requireAccount(inv.account_id);
    const at = retryDateInstant(date, account.time_zone);
    if (!at) throw new CommandError('invalid', 'validation_error', `"${date}" is not a day (YYYY-MM-DD)`, { errors: [{ field: 'date', message: 'must be a day of the calendar, YYYY-MM-DD' }] });
    const refuse = (reason: RetryDateRefusal) => new CommandError('conflict', 'retry_date_unavailable', RETRY_DATE_REFUSALS[reason], { reason });
    const r = await this.engine.dispatch(inv.subscription_id, { type: 'retry_date_chosen', at, by }, {
      // The invoice being collected, as the lock finds it (it may have been paid or replaced meanwhile).
      precondition: (state) => state.invoice?.id === invoiceId,
    });
    if (r.skipped) throw refuse('invoice_not_past_due');
    if (r.refused) throw refuse(r.refused.code as RetryDateRefusal);
    const sub = r.state.subscription;
    return { invoice_id: invoiceId, date, at, next_retry_at: sub.next_retry_at, next_retry_why: sub.next_retry_why, grace_ends_at: sub.grace_ends_at };
  }

  // ---- timeline ----
  async timeline(accountId: string, limit = 200) {
    await this.requireAccount(accountId);
    const events = await eventsOfAccount(this.db, accountId, limit);
    const sub = await this.subscriptionView(accountId);
    return {
      events,
      next: sub && sub.next_action_at ? { action: sub.next_action, at: sub.next_action_at, retry_why: sub.next_retry_why } : null,
    };
  }
}

/** The local hour of the day a customer-chosen attempt is made (funds paid overnight are there by then). */
export const RETRY_DATE_HOUR = 10;

/** A day of the account's calendar (YYYY-MM-DD) → the instant of its attempt; null when not a day. */
export function retryDateInstant(date: string, timeZone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return fromWall({ year, month, day, hour: RETRY_DATE_HOUR, minute: 0, second: 0, ms: 0 }, timeZone);
}

// The API's problem detail per reason (the `reason` code goes along). The customer pages word the
// same codes in every locale themselves (web/i18n).
const RETRY_UNAVAILABLE_DETAIL: Record<RetryUnavailable, string> = {
  invoice_not_past_due: 'This invoice is not awaiting payment.',
  manual_retry_disabled: 'Retrying payments by hand is turned off.',
  domain_zone_excluded: "Retry is not available for your domain zone; we'll keep retrying automatically, or update your billing information.",
  payment_method_excluded: "Retry is not available for this payment method; we'll keep retrying automatically, or update your billing information.",
  no_payment_method: 'Add a payment method in Billing information first.',
  attempt_in_flight: 'A payment attempt is already in progress.',
  rate_limited: 'You have retried too many times today; try again tomorrow.',
  network_cap: 'The card network limits how often this card can be tried; try again later.',
  needs_new_payment_method: 'The bank refused this card in a way retrying will not fix; please update your billing information.',
};

function retryMessage(reason: RetryUnavailable): string {
  return RETRY_UNAVAILABLE_DETAIL[reason];
}
