// Plans, accounts, billing information, subscriptions, access, purchase history, Retry, timeline.
import type { FastifyRequest } from 'fastify';
import type { RoutePlugin } from '../route-plugin.ts';
import { canSee, requireAdmin, requireAnyone } from '../auth.ts';
import { CommandError } from '../../core/errors.ts';
import { ATTEMPT_OUTCOMES, ATTEMPT_TRIGGERS, INVOICE_KINDS, INVOICE_STATUSES, RETRY_CLASSES, SUBSCRIPTION_STATUSES } from '../../core/types.ts';
import { adminSecurity, amount, anyoneSecurity, currency, dateTime, idParam, interval, nullableDateTime, listOut, notFoundResponse, pageIn, pageLimit, pageOf, pageQuery, problemResponses, readOnlyMembers, splitReadOnly, newCardMembers, savedCardMembers } from '../schemas.ts';
import { RATE_LIMITS } from '../../engine/limits.ts';
import { RETRY_DATE_HOUR } from '../../engine/commands.ts';
import { changePaymentMethod } from '../../engine/payment-method.ts';
import { CANCEL_AT } from '../../core/machine.ts';

const planBody = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_-]*$' },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    free: { type: 'boolean', description: 'the free plan (one per installation): where a downgrade or a cancel leads; create it before any paid subscription (else 409 no_free_plan)' },
    prices: {
      type: 'array',
      maxItems: 50,
      description: 'one per (currency, interval); a paid plan needs at least one (400 no_price), the free plan none (leave it out)',
      items: { type: 'object', additionalProperties: false, required: ['currency', 'interval', 'amount'], properties: { currency, interval, amount } },
    },
  },
  example: { id: 'pro', name: 'Pro', prices: [{ currency: 'EUR', interval: 'month', amount: 2900 }] },
} as const;

const accountBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'email', 'locale', 'domain_zone', 'currency'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    email: { type: 'string', format: 'email', maxLength: 254 },
    locale: { type: 'string', minLength: 2, maxLength: 35, pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$' },
    domain_zone: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9-]+$' },
    currency,
    time_zone: { type: 'string', minLength: 1, maxLength: 64 },
  },
  example: { name: 'Acme', email: 'billing@acme.example.fr', locale: 'fr-FR', domain_zone: 'fr', currency: 'EUR', time_zone: 'Europe/Paris' },
} as const;

const accountOut = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    email: { type: 'string' },
    locale: { type: 'string' },
    domain_zone: { type: 'string' },
    currency: { type: 'string' },
    time_zone: { type: 'string' },
    created_at: dateTime,
  },
} as const;

const paymentMethodOut = {
  type: 'object',
  additionalProperties: true,
  properties: savedCardMembers,
} as const;

/** What GET …/payment-method answers besides `type`: taken back and ignored by the PUT. */
const paymentMethodReadOnly = readOnlyMembers(paymentMethodOut.properties, ['type']);

const paymentMethodBody = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    ...newCardMembers,
    ...paymentMethodReadOnly,
  },
  example: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2030, cvc: '123' } },
} as const;


const subscriptionOut = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: SUBSCRIPTION_STATUSES },
    plan_id: { type: 'string' },
    interval,
    current_period_start: dateTime,
    current_period_end: dateTime,
    grace_ends_at: nullableDateTime,
    next_retry_at: nullableDateTime,
    next_retry_why: { type: ['string', 'null'], description: 'why the next retry is then (the decline it answers; customer_chosen: the day the customer chose with POST /v1/invoices/{id}/retry-date)' },
    downgrade_paused_at: { ...nullableDateTime, description: 'since when a help request on the past-due invoice waits for an answer: the downgrade is paused meanwhile (grace_ends_at is then the downgrade if nobody answers, at most the policy\'s help_pause_days later); the answer restarts the clock with the time that was left' },
    chosen_retry_at: { ...nullableDateTime, description: 'the next attempt as the customer chose it (POST /v1/invoices/{id}/retry-date), until it is made' },
    next_action: { type: ['string', 'null'], description: 'what the engine does next for this subscription' },
    next_action_at: nullableDateTime,
    auto_renew: { type: 'boolean' },
    cancel_at_period_end: { type: 'boolean', description: 'a cancel is pending: the subscription ends at cancel_at (or, while past due, as soon as the payment in flight is answered)' },
    cancel_at: { ...nullableDateTime, description: 'when a pending cancel takes effect (the end of the paid period)' },
    scheduled_change: {
      type: ['object', 'null'],
      description: 'a plan change waiting for the period end (a cheaper plan or another interval); PATCH the current plan and interval to cancel it',
      properties: { plan_id: { type: 'string' }, interval: { type: 'string' }, at: dateTime },
    },
  },
} as const;

/** What GET …/subscription answers besides the members a PATCH changes: taken back and ignored. */
const subscriptionReadOnly = readOnlyMembers(subscriptionOut.properties, ['plan_id', 'interval', 'auto_renew']);

const attemptOut = {
  type: 'object',
  additionalProperties: true,
  properties: {
    outcome: { type: 'string', enum: ATTEMPT_OUTCOMES },
    reason: { type: ['string', 'null'] },
  },
} as const;

const planOut = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    free: { type: 'boolean' },
    archived: { type: 'boolean', description: 'Operator only: archived plans are no longer offered (portal tokens do not see them).' },
    prices: { type: 'array', items: { type: 'object', additionalProperties: false, properties: { currency, interval, amount } } },
  },
} as const;

const retryOut = {
  type: 'object',
  additionalProperties: false,
  required: ['available', 'reason'],
  description: 'Whether the Retry button works now; if not, why (see POST /v1/invoices/{id}/retry).',
  properties: { available: { type: 'boolean' }, reason: { type: ['string', 'null'], example: 'rate_limited' } },
} as const;

const invoiceOut = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string', example: 'inv_Zx8kP2mQ7rT4vW1y' },
    status: { type: 'string', enum: INVOICE_STATUSES },
    kind: { type: 'string', enum: INVOICE_KINDS },
    plan_id: { type: 'string' },
    amount,
    currency,
    period_start: dateTime,
    period_end: dateTime,
    created_at: dateTime,
    paid_at: nullableDateTime,
    attempts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: {
          id: { type: 'string' },
          number: { type: 'integer' },
          at: dateTime,
          trigger: { type: 'string', enum: ATTEMPT_TRIGGERS },
          outcome: { type: 'string', enum: ATTEMPT_OUTCOMES },
          reason: { type: ['string', 'null'], example: 'insufficient_funds' },
          retry_class: { type: ['string', 'null'], enum: [...RETRY_CLASSES, null] },
          payment_method_id: { type: ['string', 'null'], description: 'the card charged: the main card or the backup (GET …/backup-payment-method names it)' },
        },
      },
    },
    retry: retryOut,
  },
} as const;

/** A customer's limits on billing-information changes (the operator key is not limited). */
const pmLimits = `Customers may change it at most ${RATE_LIMITS.paymentMethodChanges.limit} times an hour, and after ${RATE_LIMITS.rejectedCards.limit} refused cards in an hour further changes wait (card-testing protection): 429 rate_limited with Retry-After.`;

export function pmView(pm: { type: string; brand: string | null; last4: string | null; exp_month: number | null; exp_year: number | null } | null) {
  return pm && { type: pm.type, brand: pm.brand, last4: pm.last4, exp_month: pm.exp_month, exp_year: pm.exp_year };
}

export const billingRoutes: RoutePlugin = async (app, { ctx }) => {
  const { commands } = ctx;
  const notFound = (what: string) => new CommandError('not_found', 'not_found', `no ${what}`);
  const seeAccount = async (req: FastifyRequest, id: string) => {
    if (!canSee(req, id)) throw notFound(`account ${id}`);
    return commands.requireAccount(id);
  };

  app.post('/v1/plans', {
    preValidation: requireAdmin,
    schema: {
      tags: ['plans'],
      summary: 'Create a plan',
      description:
        'First steps: the free plan (`{"id":"free","name":"Free","free":true}`, no prices), then the paid plans with their prices. A paid subscription needs the free plan to exist ' +
        '(409 no_free_plan): it is where a downgrade or a cancel leads. An id already taken: 409 plan_exists; a second free plan: 409 free_plan_exists.',
      security: adminSecurity,
      body: planBody,
      response: { 201: planOut, ...problemResponses, 409: { $ref: 'Problem#' } },
    },
  }, async (req, reply) => reply.code(201).send(await commands.createPlan({ ...req.body, prices: req.body.prices ?? [] })));

  for (const [action, archived] of [['archive', true], ['unarchive', false]] as const) {
    app.post<{ Params: { id: string } }>(`/v1/plans/:id/${action}`, {
      preValidation: requireAdmin,
      schema: {
        tags: ['plans'],
        summary: archived ? 'Archive a plan' : 'Put an archived plan back on offer',
        description: archived
          ? 'An archived plan is no longer bought, restored or changed to (409 plan_archived) and is hidden from portal tokens; subscriptions already on it keep renewing at its price, and a change to it scheduled before it was archived still applies. Idempotent. The free plan cannot be archived (409).'
          : 'Customers may buy it and change to it again. Idempotent.',
        security: adminSecurity,
        params: idParam,
        response: { 200: planOut, ...problemResponses, 409: { $ref: 'Problem#' } },
      },
    }, async (req) => commands.archivePlan(req.params.id, archived));
  }

  app.get('/v1/plans', {
    preValidation: requireAnyone,
    schema: {
      tags: ['plans'],
      summary: 'List plans',
      description: 'With a portal token: the plans the customer may buy (not archived), with only the prices in the account’s currency (and the free plan). The operator sees every plan with `archived`.',
      security: anyoneSecurity,
      querystring: { type: 'object', additionalProperties: false, properties: pageQuery },
      response: { 200: listOut(planOut), ...problemResponses },
    },
  }, async (req) => {
    const p = req.principal;
    return pageIn(p?.kind !== 'customer' ? await commands.listPlans() : await commands.plansFor(p.account_id), req.query);
  });

  app.post('/v1/accounts', {
    preValidation: requireAdmin,
    schema: { tags: ['accounts'], summary: 'Create an account', security: adminSecurity, body: accountBody, response: { 201: accountOut, ...problemResponses } },
  }, async (req, reply) => reply.code(201).send(await commands.createAccount(req.body)));

  app.get('/v1/accounts', {
    preValidation: requireAdmin,
    schema: {
      tags: ['accounts'],
      summary: 'List accounts with their subscription status, newest first',
      security: adminSecurity,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { status: { type: 'string', enum: SUBSCRIPTION_STATUSES }, ...pageQuery },
        example: { status: 'past_due', limit: '100' },
      },
      response: { 200: listOut({ ...accountOut, properties: { ...accountOut.properties, subscription_status: { type: ['string', 'null'] }, plan_id: { type: ['string', 'null'] }, grace_ends_at: nullableDateTime } }), ...problemResponses },
    },
  }, async (req) => {
    const q = req.query;
    const limit = pageLimit(q.limit);
    return pageOf(await commands.listAccounts({ status: q.status, limit: limit + 1, starting_after: q.starting_after }), limit);
  });

  app.get('/v1/accounts/:id', {
    preValidation: requireAnyone,
    schema: { tags: ['accounts'], summary: 'An account', security: anyoneSecurity, params: idParam, response: { 200: accountOut, ...problemResponses } },
  }, async (req) => seeAccount(req, req.params.id));

  app.put('/v1/accounts/:id/payment-method', {
    preValidation: requireAnyone,
    schema: {
      tags: ['billing information'],
      summary: 'Replace the payment method (sandbox: card fields; real gateway: token)',
      description:
        `While an invoice of the account is past due, this makes a payment attempt at once; \`attempt\` carries its outcome (and it is e-mailed). A refused card answers 402 card_rejected. A token the gateway refuses (no such payment method, one attached elsewhere) answers 400 payment_method_refused with the gateway’s reason and code. ${pmLimits} ` +
        'Raw `card` fields are for the sandbox gateway only (test cards in scripts and demos): with a real gateway (RENEWD_GATEWAY=stripe) they are refused with 400 ' +
        '`raw_card_data_not_accepted` and nothing changes — card data through renewd would put the operator in PCI DSS SAQ D, and Stripe refuses raw numbers. ' +
        'Capture the card on the gateway\'s page instead: POST /v1/accounts/{id}/card-setup-sessions, or send `token` (a pm_… from Stripe.js / Elements). ' +
        'The answer of GET …/payment-method sent back as it is (its read-only members, no `card` or `token`) changes nothing and answers the card on file.',
      security: anyoneSecurity,
      params: idParam,
      body: paymentMethodBody,
      response: { 200: { ...paymentMethodOut, properties: { ...paymentMethodOut.properties, attempt: { anyOf: [attemptOut, { type: 'null' }] } } }, ...problemResponses, 402: { $ref: 'Problem#' }, 429: { $ref: 'Problem#' } },
    },
    config: { idempotent: true },
  }, async (req, reply) => {
    const { id } = req.params;
    await seeAccount(req, id);
    const body = req.body;
    if (!body.card && !body.token) {
      // The answer of GET sent back (read-only members, no new card): nothing changes.
      const { roundTrip } = splitReadOnly(body, paymentMethodReadOnly);
      const pm = roundTrip ? await commands.getPaymentMethod(id) : null;
      if (!pm) throw new CommandError('invalid', 'validation_error', 'send either card (sandbox) or token');
      return { ...pmView(pm), attempt: null };
    }
    const r = await changePaymentMethod(ctx, id, body, req.principal?.kind === 'customer' ? 'customer' : 'operator');
    return { ...pmView(r.payment_method), attempt: r.attempt ? { outcome: r.attempt.outcome, reason: r.attempt.reason } : null };
  });

  app.get('/v1/accounts/:id/payment-method', {
    preValidation: requireAnyone,
    schema: { tags: ['billing information'], summary: 'The current payment method', security: anyoneSecurity, params: idParam, response: { 200: paymentMethodOut, ...problemResponses } },
  }, async (req) => {
    const { id } = req.params;
    await seeAccount(req, id);
    const pm = await commands.getPaymentMethod(id);
    if (!pm) throw notFound('payment method');
    return pmView(pm);
  });

  app.post('/v1/subscriptions', {
    preValidation: requireAnyone,
    schema: {
      tags: ['subscriptions'],
      summary: 'Subscribe an account to a plan, or buy it back after a downgrade or cancel; charges the first period',
      description:
        'A customer (portal token) may buy for their own account only (another account: 404). The new period starts now and is charged at once with the saved card. ' +
        'Refused with nothing changed: unknown plan (404 unknown_plan), the free plan (400 free_plan), no price in the account currency (400 no_price), ' +
        'a live subscription (409 already_subscribed), no card (409 no_payment_method), a purchase already being paid (409 purchase_in_progress). ' +
        'A decline answers 402 payment_failed with `reason`, and the account stays on the free plan.',
      security: anyoneSecurity,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['account_id', 'plan_id', 'interval'],
        properties: { account_id: idParam.properties.id, plan_id: { type: 'string', minLength: 1, maxLength: 64 }, interval, auto_renew: { type: 'boolean' } },
        example: { account_id: 'acct_Qm1x0fK2p9sLw8Tz', plan_id: 'pro', interval: 'month' },
      },
      response: { 201: subscriptionOut, ...problemResponses, ...notFoundResponse, 402: { $ref: 'Problem#' }, 409: { $ref: 'Problem#' }, 503: { $ref: 'Problem#' } },
    },
    config: { idempotent: true },
  }, async (req, reply) => {
    await seeAccount(req, req.body.account_id);
    const r = await commands.subscribe(req.body);
    return reply.code(201).send(r.subscription);
  });

  app.get('/v1/accounts/:id/subscription', {
    preValidation: requireAnyone,
    schema: { tags: ['subscriptions'], summary: 'The account’s subscription', security: anyoneSecurity, params: idParam, response: { 200: subscriptionOut, ...problemResponses } },
  }, async (req) => {
    const { id } = req.params;
    await seeAccount(req, id);
    const s = await commands.subscriptionView(id);
    if (!s) throw notFound('subscription');
    return s;
  });

  app.patch('/v1/accounts/:id/subscription', {
    preValidation: requireAnyone,
    schema: {
      tags: ['subscriptions'],
      summary: 'Change the plan or interval, or turn auto-renewal on or off',
      description:
        'Either `auto_renew`, or `plan_id` and/or `interval` (not both kinds in one request). A plan change: to a dearer price for the same interval, at once, ' +
        'with a prorated charge for the rest of the period (each plan\'s share of the remaining time rounded down to a minor unit; a decline answers 402 payment_failed with `reason` and nothing changes); ' +
        'to a cheaper or equal price, or to another interval, at the period end (`scheduled_change`; PATCH the current plan and interval to cancel it); ' +
        'while past due, at once: the past-due invoice is voided and replaced by one for the new plan over the same period, charged now (`attempt` says how it went; grace_ends_at never moves). ' +
        'Refused with nothing changed: unknown plan (404 unknown_plan), the free plan (400 free_plan), no price in the account currency (400 no_price), the same plan and interval (409 same_plan), ' +
        'a canceled or downgraded subscription (409 not_subscribed: buy a plan instead), a pending cancel (409 cancel_pending), a payment in progress (409 change_in_progress), ' +
        'another interval while past due (409 interval_change_in_grace), no card (409 no_payment_method). ' +
        'The answer of GET …/subscription may be sent back, edited or not: its read-only members are ignored, and then members equal to the current values change nothing ' +
        '(an unchanged answer answers the subscription as it is; to cancel a scheduled change, send only `plan_id` and `interval`).',
      security: anyoneSecurity,
      params: idParam,
      body: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: { auto_renew: { type: 'boolean' }, plan_id: { type: 'string', minLength: 1, maxLength: 64 }, interval, ...subscriptionReadOnly },
        example: { plan_id: 'business' },
      },
      response: { 200: subscriptionOut, ...problemResponses, 402: { $ref: 'Problem#' }, 409: { $ref: 'Problem#' }, 503: { $ref: 'Problem#' } },
    },
    config: { idempotent: true },
  }, async (req) => {
    const { id } = req.params;
    await seeAccount(req, id);
    const by = req.principal?.kind === 'customer' ? 'customer' : 'operator';
    const { roundTrip, writable: b } = splitReadOnly(req.body, subscriptionReadOnly);
    if (roundTrip) {
      // An answer sent back: what equals the subscription now is not a change.
      const now = await commands.subscriptionView(id);
      if (!now) throw notFound('subscription');
      if (b.auto_renew === now.auto_renew) delete b.auto_renew;
      if ((b.plan_id ?? now.plan_id) === now.plan_id && (b.interval ?? now.interval) === now.interval) {
        delete b.plan_id;
        delete b.interval;
      }
      if (b.auto_renew === undefined && b.plan_id === undefined && b.interval === undefined) return now;
    }
    const change = b.plan_id !== undefined || b.interval !== undefined;
    if (change && b.auto_renew !== undefined)
      throw new CommandError('invalid', 'validation_error', 'change the plan and the auto-renew switch in separate requests', { errors: [{ field: 'auto_renew', message: 'not with plan_id or interval' }] });
    if (change) return commands.changePlan(id, { plan_id: b.plan_id, interval: b.interval }, by);
    return commands.setAutoRenew(id, b.auto_renew!, by);
  });

  // ---- cancel and resume ----
  app.post('/v1/accounts/:id/subscription/cancel', {
    preValidation: requireAnyone,
    schema: {
      tags: ['subscriptions'],
      summary: 'Cancel the subscription (at the period end, or now)',
      description:
        'Active: `period_end` (the default) keeps the paid features until the paid period ends, then the free plan with no renewal charge; `now` moves to the free plan at once (no refund of the rest of the period). ' +
        'Past due: any cancel stops collection at once: the open invoice is voided, no more attempts or reminders, the free plan. ' +
        'A payment already at the gateway is answered first: declined, the cancel takes effect; succeeded, the payment is kept and the subscription ends at the end of the period it paid. ' +
        '409 already_canceled when there is nothing left to cancel.',
      security: anyoneSecurity,
      params: idParam,
      body: { type: ['object', 'null'], additionalProperties: false, properties: { at: { type: 'string', enum: CANCEL_AT } }, example: { at: 'period_end' } },
      response: { 200: subscriptionOut, ...problemResponses, 409: { $ref: 'Problem#' } },
    },
  }, async (req) => {
    const { id } = req.params;
    await seeAccount(req, id);
    return commands.cancelSubscription(id, req.body?.at ?? 'period_end', req.principal?.kind === 'customer' ? 'customer' : 'operator');
  });

  app.post('/v1/accounts/:id/subscription/resume', {
    preValidation: requireAnyone,
    schema: {
      tags: ['subscriptions'],
      summary: 'Undo a period-end cancel before it takes effect',
      description: '409 cancel_took_effect once the cancel has taken effect (buy the plan again instead); 409 no_pending_cancel when no cancel is pending.',
      security: anyoneSecurity,
      params: idParam,
      response: { 200: subscriptionOut, ...problemResponses, 409: { $ref: 'Problem#' } },
    },
  }, async (req) => {
    const { id } = req.params;
    await seeAccount(req, id);
    return commands.resumeSubscription(id, req.principal?.kind === 'customer' ? 'customer' : 'operator');
  });

  app.get('/v1/accounts/:id/access', {
    preValidation: requireAnyone,
    schema: {
      tags: ['subscriptions'],
      summary: 'Whether the account has paid features now (active or in grace)',
      security: anyoneSecurity,
      params: idParam,
      response: {
        200: {
          type: 'object',
          properties: { plan_id: { type: ['string', 'null'] }, paid: { type: 'boolean' }, reason: { type: 'string', enum: ['active', 'grace', 'free'] }, until: nullableDateTime },
        },
        ...problemResponses,
      },
    },
  }, async (req) => {
    const { id } = req.params;
    if (!canSee(req, id)) throw notFound(`account ${id}`);
    return commands.access(id);
  });

  app.get('/v1/accounts/:id/invoices', {
    preValidation: requireAnyone,
    schema: {
      tags: ['purchase history'],
      summary: 'Purchase history: invoices (newest first), attempts and whether Retry is available',
      security: anyoneSecurity,
      params: idParam,
      querystring: { type: 'object', additionalProperties: false, properties: pageQuery },
      response: { 200: listOut(invoiceOut), ...problemResponses },
    },
  }, async (req) => {
    const { id } = req.params;
    await seeAccount(req, id);
    return pageIn(await commands.invoices(id), req.query);
  });

  app.post('/v1/invoices/:id/retry', {
    preValidation: requireAnyone,
    schema: {
      tags: ['purchase history'],
      summary: 'Retry the payment of a past-due invoice now',
      description:
        'One payment attempt now; the answer carries its outcome, and the result is e-mailed (retry_succeeded / retry_failed). ' +
        'Not available → 409 retry_unavailable with `reason` (invoice_not_past_due, domain_zone_excluded, payment_method_excluded, attempt_in_flight, ' +
        'rate_limited (policy manual_retry.max_per_day), network_cap, needs_new_payment_method, no_payment_method, manual_retry_disabled).',
      security: anyoneSecurity,
      params: idParam,
      response: {
        200: {
          type: 'object',
          properties: {
            outcome: { type: 'string', enum: ATTEMPT_OUTCOMES },
            reason: { type: ['string', 'null'] },
            invoice_status: { type: 'string' },
          },
          example: { outcome: 'succeeded', reason: null, invoice_status: 'paid' },
        },
        ...problemResponses,
        409: { $ref: 'Problem#' },
      },
    },
    config: { idempotent: true },
  }, async (req) => {
    const { id } = req.params;
    const inv = await commands.getInvoice(id);
    if (!inv || !canSee(req, inv.account_id)) throw notFound(`invoice ${id}`);
    return commands.retry(id, req.principal?.kind === 'admin' ? 'operator' : 'customer_retry');
  });

  app.post('/v1/invoices/:id/retry-date', {
    preValidation: requireAnyone,
    schema: {
      tags: ['purchase history'],
      summary: 'Choose the day of the next attempt on a past-due invoice ("after my payday")',
      description:
        'The customer (portal token) or an operator picks a day of the account\'s calendar, in its time zone; the next attempt is made at ' +
        `${RETRY_DATE_HOUR}:00 local time that day instead of the schedule's attempts before it (next_retry_why \`customer_chosen\`, in the timeline ` +
        'as dunning.retry_date_chosen and dunning.retry_planned, and in the e-mails that name the next attempt); the schedule carries on after it. ' +
        'Refused → 409 retry_date_unavailable with `reason`: invoice_not_past_due, date_not_in_future (today or earlier), outside_grace (on or after the ' +
        'grace end; while a help request waits, the end as if answered now), network_cap (the card networks\' caps would forbid an attempt then), ' +
        'network_advice (the bank asked to wait longer), no_automatic_retry (the card is refused for good, expired, or no attempts are left). A malformed day → 400.',
      security: anyoneSecurity,
      params: idParam,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['date'],
        properties: { date: { type: 'string', format: 'date', description: 'a day of the account\'s calendar (YYYY-MM-DD)' } },
        example: { date: '2026-03-06' },
      },
      response: {
        200: {
          type: 'object',
          additionalProperties: false,
          required: ['invoice_id', 'date', 'at', 'next_retry_at', 'next_retry_why', 'grace_ends_at'],
          properties: {
            invoice_id: { type: 'string' },
            date: { type: 'string', format: 'date' },
            at: { ...dateTime, description: 'the instant of the attempt (that day, local time)' },
            next_retry_at: nullableDateTime,
            next_retry_why: { type: ['string', 'null'], example: 'customer_chosen' },
            grace_ends_at: nullableDateTime,
          },
        },
        ...problemResponses,
        409: { $ref: 'Problem#' },
      },
    },
    config: { idempotent: true },
  }, async (req) => {
    const { id } = req.params;
    const inv = await commands.getInvoice(id);
    if (!inv || !canSee(req, inv.account_id)) throw notFound(`invoice ${id}`);
    return commands.chooseRetryDate(id, req.body.date, req.principal?.kind === 'admin' ? 'operator' : 'customer');
  });

  app.get('/v1/accounts/:id/timeline', {
    preValidation: requireAdmin,
    schema: {
      tags: ['accounts'],
      summary: 'Everything that happened to the account, and what happens next',
      security: adminSecurity,
      params: idParam,
      response: {
        200: {
          type: 'object',
          properties: {
            events: { type: 'array', items: { type: 'object', additionalProperties: true, properties: { id: { type: 'integer' }, type: { type: 'string' }, invoice_id: { type: ['string', 'null'] }, data: { type: 'object', additionalProperties: true }, at: dateTime } } },
            next: { type: ['object', 'null'], additionalProperties: true },
          },
        },
        ...problemResponses,
      },
    },
  }, async (req) => commands.timeline(req.params.id));
};
