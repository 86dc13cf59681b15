// The engine: claims due subscriptions in batches (FOR UPDATE SKIP LOCKED on next_action_at),
// steps the state machine, writes the result with its events and e-mails in one transaction,
// and only then calls the gateway — concurrently, outside any transaction — and applies answers.
// Any number of engines in any number of processes can share one PostgreSQL.
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '../core/clock.ts';
import type { DeclineReason, Plan } from '../core/types.ts';
import { AUTHENTICATION_TRIGGER, AUTHENTICATION_WINDOW_MS, step, type Refusal, type AttemptState, type BillingState, type ChargeOutcome, type Effect, type MachineEvent, type StepResult } from '../core/machine.ts';
import { classifyDecline } from '../core/declines.ts';
import type { Db, Queryable } from '../store/db.ts';
import { insertEvents, insertOutbox, loadStates, saveSteps, type OutboxRow, type SubscriptionRecord } from '../store/billing.ts';
import { gatewayRefsOf, lockAccountOfSubscription, type GatewayRefs } from '../store/accounts.ts';
import { claimDueSubscriptions, lockSubscription, lockSubscriptionsOfInvoices } from '../store/subscriptions.ts';
import { attemptById } from '../store/invoices.ts';
import { wakeSubscriptionsWithLostAttempts } from '../store/janitor.ts';
import { newId } from '../store/ids.ts';
import type { ChargeResult, Gateway } from '../gateway/types.ts';
import type { Logger } from '../lib/log.ts';
import { createPoller, type Poller } from '../lib/poller.ts';
import { mapPool } from '../lib/pool.ts';
import { renderEmail, type EmailContext } from '../notify/templates.ts';
import type { NewLinkRow } from '../store/links.ts';
import { linksForEmail, storeLinks } from './links.ts';
import { documentChanges } from '../core/documents.ts';
import { finalizeInvoices, issueCreditNotes, type IssueSettings } from '../store/documents.ts';
import { evaluateIncidents } from './incidents.ts';

/** Documents as numbered when the operator configured nothing (config.ts reads the real ones). */
export const DEFAULT_ISSUE_SETTINGS: IssueSettings = {
  invoicePrefix: 'RNW',
  creditNotePrefix: 'RNC',
  seller: { name: 'renewd', address: null, vat_id: null },
  taxRateBp: 0,
};

export interface EngineOptions {
  db: Db;
  gateway: Gateway;
  clock: Clock;
  /** Subscriptions claimed per transaction. */
  batchSize?: number;
  /** Gateway calls in flight at once, per engine. */
  concurrency?: number;
  /** How long a claimed attempt may stay unanswered before it is reconciled. */
  attemptLeaseMs?: number;
  /** Base URL of the customer pages (`${publicUrl}/portal`). */
  portalUrl?: string;
  /** Base URL of the service, for the no-login links in e-mails (`${publicUrl}/portal/links/<token>`); from portalUrl when not given. */
  publicUrl?: string;
  /** Where the gateway sends the customer back after authenticating (default `${portalUrl}/authenticate/return`). */
  authenticationReturnUrl?: string;
  /** How long an authentication attempt waits for the customer before it is canceled at the gateway. */
  authenticationWindowMs?: number;
  /** Called with the number of renewals finished, for progress displays. */
  onProgress?: (n: number) => void;
  /** Where the polling loop (start) logs its failures. */
  logger?: Logger;
  /** Clock time between two janitor passes (default: half the lease). */
  janitorIntervalMs?: number;
  /** Number series, seller and tax rate recorded on the documents this engine finalizes. */
  documents?: IssueSettings;
  /** Where an incident's opening is mailed (RENEWD_OPERATOR_EMAIL). */
  operatorEmail?: string;
  /** Clock time between two incident evaluations (default 1 minute; core/incidents.ts). */
  incidentIntervalMs?: number;
}

export interface DispatchResult {
  state: BillingState;
  /** The attempt the event caused, after its answer was applied (null when none was made). */
  attempt: AttemptState | null;
  /** A cancel or resume the state did not allow (nothing was written). */
  refused?: Refusal | null;
  /** An authentication attempt waiting for the customer: the issuer's page to send them to. */
  redirect_url?: string | null;
  /** The precondition left the event out (nothing was written). */
  skipped?: boolean;
}

export interface DispatchOptions {
  /** Checked on the state as locked, before the event: false leaves the event out. */
  precondition?: (state: BillingState) => boolean;
  /**
   * Work of the command in the same transaction, under the same locks (rows under the subscription,
   * e.g. a help request): `prepare` runs on the locked state before the event (false: the event is
   * left out, `skipped`, but what prepare wrote stays), `after` once the step is written, with the
   * state it left. A throw in either rolls everything back.
   */
  prepare?: (q: Queryable, state: BillingState) => Promise<boolean>;
  after?: (q: Queryable, state: BillingState) => Promise<void>;
  /** Run in the transaction once the locks are held, before the state is loaded: false leaves the event out. */
  claim?: (q: Queryable) => Promise<boolean>;
}

type GatewayEffect = Extract<Effect, { type: 'charge' | 'reconcile' | 'authenticate' }>;
type Answer = ChargeResult & { redirect_url?: string | null };

export class Engine {
  readonly db: Db;
  readonly gateway: Gateway;
  readonly clock: Clock;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly portalUrl: string;
  readonly publicUrl: string;
  /** Set once at start-up when the service's address is known only after it listens. */
  authenticationReturnUrl: string;
  readonly authenticationWindowMs: number;
  readonly documents: IssueSettings;
  private poller: Poller | null = null;
  private stopping = false;
  /** Clock time of the janitor's last pass (none yet: the first drain runs it, e.g. a worker's start after a kill). */
  private janitorAt = -Infinity;
  readonly janitorIntervalMs: number;

  private opts: EngineOptions;
  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.db = opts.db;
    this.gateway = opts.gateway;
    this.clock = opts.clock;
    this.batchSize = opts.batchSize ?? 200;
    this.concurrency = opts.concurrency ?? 64;
    this.leaseMs = opts.attemptLeaseMs ?? 2 * 60_000;
    this.portalUrl = opts.portalUrl ?? 'http://127.0.0.1:8080/portal';
    this.publicUrl = opts.publicUrl ?? this.portalUrl.replace(/\/portal\/?$/, '');
    this.authenticationReturnUrl = opts.authenticationReturnUrl ?? `${this.portalUrl}/authenticate/return`;
    this.authenticationWindowMs = opts.authenticationWindowMs ?? AUTHENTICATION_WINDOW_MS;
    this.janitorIntervalMs = opts.janitorIntervalMs ?? this.leaseMs / 2;
    this.documents = opts.documents ?? DEFAULT_ISSUE_SETTINGS;
  }

  /**
   * The janitor: an attempt left pending or unknown past its lease is reconciled by the tick of its
   * subscription — but only if that subscription is ever due again. One whose next_action_at was
   * lost (a restore, a manual edit, a bug) would keep a charge that may have landed at the gateway
   * unsettled for ever, the invoice neither paid nor retried. This pass makes such subscriptions
   * due now, so the next claim looks their attempts up by idempotency key and settles them.
   * Answers how many it woke.
   */
  async janitor(): Promise<number> {
    const now = this.clock.now();
    this.janitorAt = now.getTime();
    const woken = await wakeSubscriptionsWithLostAttempts(this.db, now, {
      leaseMs: this.leaseMs,
      authenticationLeaseMs: Math.max(this.authenticationWindowMs, this.leaseMs),
      authenticationTrigger: AUTHENTICATION_TRIGGER,
    });
    if (woken.length) this.opts.logger?.warn({ subscriptions: woken.slice(0, 20), count: woken.length }, 'janitor: attempts in flight past their lease on subscriptions not due; made due to be reconciled by key');
    return woken.length;
  }

  /** The janitor, when its interval of clock time has passed since its last pass (or the clock went back). */
  private async janitorIfDue() {
    const now = this.clock.now().getTime();
    if (now - this.janitorAt >= this.janitorIntervalMs || now < this.janitorAt) await this.janitor();
  }

  /** Clock time of the last incident evaluation. */
  private incidentsAt = -Infinity;
  /** Opens and closes incidents (engine/incidents.ts) when their interval of clock time has passed. */
  async incidentsIfDue() {
    const now = this.clock.now().getTime();
    if (now - this.incidentsAt < (this.opts.incidentIntervalMs ?? 60_000) && now >= this.incidentsAt) return;
    this.incidentsAt = now;
    await evaluateIncidents(this, { operatorEmail: this.opts.operatorEmail, logger: this.opts.logger });
  }

  /** Claims one batch of due subscriptions and carries it through. Returns how many were claimed. */
  async runBatch(): Promise<number> {
    const now = this.clock.now();
    const { claimed, charges, refs, saved } = await this.db.tx(async (q) => {
      const rows = await claimDueSubscriptions(q, now, this.batchSize);
      if (rows.length === 0) return { claimed: 0, charges: [] as Effect[], refs: undefined, saved: undefined };
      const states = await loadStates(q, rows, now);
      const steps = states.map((before) => ({ before, result: this.step(before, { type: 'tick' }, now) }));
      await this.persist(q, steps, now);
      return { claimed: rows.length, charges: steps.flatMap((s) => gatewayEffects(s.result)), refs: gatewayRefs(states), saved: savedStates(steps) };
    });
    if (charges.length) await this.settle(charges, refs, saved);
    return claimed;
  }

  /** Runs batches until nothing is due at the clock's current time. */
  async drain(): Promise<number> {
    await this.janitorIfDue();
    let total = 0;
    for (;;) {
      const n = await this.runBatch();
      total += n;
      if (n === 0) break;
    }
    // After the batches, so their failures count at once.
    await this.incidentsIfDue();
    return total;
  }

  /**
   * Runs several batches at once so gateway latency overlaps: each batch claims its own rows
   * (SKIP LOCKED), so `parallel` batches in flight behave like that many workers.
   */
  async drainParallel(parallel: number): Promise<number> {
    await this.janitorIfDue();
    let total = 0;
    const lane = async () => {
      for (;;) {
        if (this.stopping) return;
        const n = await this.runBatch();
        total += n;
        if (n === 0) return;
      }
    };
    await Promise.all(Array.from({ length: parallel }, lane));
    if (!this.stopping) await this.incidentsIfDue();
    return total;
  }

  /**
   * A customer's or operator's action on one subscription, carried through to the gateway's answer.
   * Locks the account, then the subscription (the lock order, docs/ARCHITECTURE.md), so concurrent
   * actions on one account take turns; the time is read once both are held. `precondition`, checked
   * on the locked state, may leave the event out (nothing written: `skipped`).
   */
  async dispatch(subscriptionId: string, event: MachineEvent, opts: DispatchOptions = {}): Promise<DispatchResult> {
    const { result, charges, skipped } = await this.db.tx(async (q) => {
      await lockAccountOfSubscription(q, subscriptionId);
      const sub = await lockSubscription(q, subscriptionId);
      if (!sub) throw new Error(`no subscription ${subscriptionId}`);
      const now = this.clock.now();
      const claimed = opts.claim ? await opts.claim(q) : true;
      const [before] = await loadStates(q, [sub], now);
      if (!claimed || (opts.precondition && !opts.precondition(before))) return { result: null, charges: [], skipped: before };
      if (opts.prepare && !(await opts.prepare(q, before))) {
        await opts.after?.(q, before);
        return { result: null, charges: [], skipped: before };
      }
      const result = this.step(before, event, now);
      if (result.refused) return { result, charges: [] };
      await this.persist(q, [{ before, result }], now);
      await opts.after?.(q, result.state);
      return { result, charges: gatewayEffects(result) };
    });
    if (!result) return { state: skipped!, attempt: null, skipped: true };
    if (result.refused) return { state: result.state, attempt: null, refused: result.refused };
    if (charges.length === 0) return { state: result.state, attempt: null };
    const applied = await this.settle(charges);
    const got = applied.get(subscriptionId);
    if (got?.attempt) return got;
    // The answer was applied by another path first (a gateway event, a reconcile): read the attempt as it stands.
    const made = (charges[0] as GatewayEffect).attempt;
    return { state: got?.state ?? result.state, attempt: (await attemptById(this.db, made.id)) ?? made, redirect_url: got?.redirect_url ?? null };
  }

  /**
   * Applies an answer learned outside the engine's own call (a gateway event, the customer's return
   * from the issuer's page) to its attempt, under the subscription's lock. An attempt already
   * settled is left alone (the machine applies a result once).
   */
  async applyGatewayAnswer(attempt: AttemptState, result: ChargeResult): Promise<AttemptState | null> {
    await this.applyAnswers([{ attempt, result }]);
    return attemptById(this.db, attempt.id);
  }

  /**
   * Performs charges/reconciliations concurrently, then applies every answer in batched transactions.
   * `refs`: gateway references of the payment methods, already read with the batch (saves a query per charge).
   */
  private async settle(effects: Effect[], refs?: Map<string, GatewayRefs>, saved?: Map<string, BillingState>): Promise<Map<string, DispatchResult>> {
    const answers = await mapPool(effects as GatewayEffect[], this.concurrency, async (e) => ({
      attempt: e.attempt,
      result: await this.callGateway(e, refs),
    }));
    const out = new Map<string, DispatchResult>();
    for (let i = 0; i < answers.length; i += this.batchSize) {
      const chunk = answers.slice(i, i + this.batchSize);
      const more = await this.applyAnswers(chunk, saved);
      for (const [k, v] of more) out.set(k, v);
    }
    return out;
  }

  private async callGateway(e: GatewayEffect, known?: Map<string, GatewayRefs>): Promise<Answer> {
    const req = await this.chargeRequest(e.attempt, known);
    if (!req) return unknownResult('no gateway customer or payment method reference');
    if (e.type === 'authenticate') return this.gateway.startAuthentication({ ...req, return_url: this.authenticationReturnUrl });
    if (e.type === 'reconcile' && e.attempt.trigger === AUTHENTICATION_TRIGGER) return this.reconcileAuthentication(e.attempt, req);
    if (e.type === 'reconcile') {
      const found = await this.gateway.lookup(req).catch(() => undefined);
      if (found === undefined) return unknownResult('lookup failed');
      if (found) return found;
      // Nothing was created under this key: the same key makes charging now safe (at most once).
      const again = await this.gateway.charge(req);
      // The key replays an error stored by its first request (Stripe keeps even a 5xx for 24 h),
      // so that request has finished, and the lookup shows it charged nothing: the key can never
      // charge now. End the attempt as a technical failure; dunning retries with a new key.
      // Only once the lease has expired, and only if a second lookup, made now that the first
      // request is known to have finished, still finds nothing (the first lookup may have run while
      // that request was still charging and then stored a 5xx "after" the money moved).
      if (again.outcome === 'unknown' && again.replayed_error && e.attempt.created_at.getTime() + this.leaseMs <= this.clock.now().getTime()) {
        const after = await this.gateway.lookup(req).catch(() => undefined);
        if (after === null) return notChargedResult(again);
        if (after) return after;
      }
      return again;
    }
    return this.gateway.charge(req);
  }

  /**
   * An authentication attempt left open: before its window ends only its state is read (the
   * customer may still be on the issuer's page); after, a PaymentIntent still waiting for the
   * customer is canceled at the gateway (so it can never succeed unseen) and the attempt ends as a
   * failed authentication. Never charges: with nothing at the gateway, nothing was charged.
   */
  private async reconcileAuthentication(a: AttemptState, req: NonNullable<Awaited<ReturnType<Engine['chargeRequest']>>>): Promise<ChargeResult> {
    const found = await this.gateway.lookup(req).catch(() => undefined);
    if (found === undefined) return unknownResult('lookup failed');
    const over = a.created_at.getTime() + Math.max(this.authenticationWindowMs, this.leaseMs) <= this.clock.now().getTime();
    if (found === null) return over ? authenticationFailed(null, 'The authentication never reached the gateway; nothing was charged.') : unknownResult('not at the gateway yet');
    if (found.outcome === 'succeeded' || found.outcome === 'declined' || !over) return found;
    const ref = found.gateway_ref ?? a.gateway_ref;
    if (!ref) return unknownResult('no gateway reference to cancel');
    const after = await this.gateway.cancelAuthentication(ref).catch(() => undefined);
    if (!after) return unknownResult('cancel failed');
    if (after.outcome === 'succeeded') return after; // completed just before the cancel
    return authenticationFailed(ref, `The customer did not complete authentication within ${Math.round(this.authenticationWindowMs / 60_000)} minutes; the payment was canceled.`);
  }

  private refCache = new Map<string, GatewayRefs>();

  private async chargeRequest(a: AttemptState, known?: Map<string, GatewayRefs>) {
    let refs = known?.get(a.payment_method_id ?? '') ?? this.refCache.get(a.payment_method_id ?? '');
    if (!refs) {
      refs = (await gatewayRefsOf(this.db, a.payment_method_id)) ?? undefined;
      if (!refs) return null;
      if (this.refCache.size > 10_000) this.refCache.clear(); // bounded memory on billing day
      this.refCache.set(a.payment_method_id!, refs);
    }
    return {
      ...refs,
      amount: a.amount,
      currency: a.currency,
      idempotency_key: a.idempotency_key,
      description: `renewd invoice ${a.invoice_id}`,
      metadata: { renewd_invoice: a.invoice_id, renewd_attempt: a.id },
      // Only the billing day's own attempts wait their turn; one a customer made is served first.
      lane: a.trigger === 'scheduled' ? ('billing' as const) : ('customer' as const),
    };
  }

  /**
   * Applies gateway answers. `saved`: the states the claim wrote, by subscription. A state is used
   * again only if its subscription row, now locked, is exactly as the claim left it (same version,
   * same columns): every write of a subscription, its invoices or its attempts goes through a step,
   * which bumps the version, and a column changed without one (auto_renew, a rescheduled
   * next_action_at) differs. Any other row is read afresh. Saves the second state load of a batch.
   */
  private async applyAnswers(chunk: { attempt: AttemptState; result: Answer }[], saved?: Map<string, BillingState>): Promise<Map<string, DispatchResult>> {
    const { out, next } = await this.applyAnswersOnce(chunk, saved);
    // An answer can start the next attempt at once (a card saved while the old one was being
    // charged is tried as soon as that answer is in): it is charged here, not left to its lease.
    // Each caller keeps the answer to its own attempt.
    if (next.length > 0) for (const [k, v] of await this.settle(next)) if (!out.has(k)) out.set(k, v);
    return out;
  }

  private async applyAnswersOnce(chunk: { attempt: AttemptState; result: Answer }[], saved?: Map<string, BillingState>): Promise<{ out: Map<string, DispatchResult>; next: Effect[] }> {
    return this.db.tx(async (q) => {
      const invIds = chunk.map((c) => c.attempt.invoice_id);
      // Locked in id order so concurrent appliers never deadlock; the time is read once they are held.
      const subs = await lockSubscriptionsOfInvoices(q, invIds);
      const now = this.clock.now();
      const reused: BillingState[] = [];
      const changed: SubscriptionRecord[] = [];
      for (const r of subs) {
        const s = saved?.get(r.id);
        if (s && isDeepStrictEqual(s.subscription, r)) reused.push(s); // dates compare by instant
        else changed.push(r);
      }
      const states = reused.concat(await loadStates(q, changed, now));
      const byInvoice = new Map(states.filter((s) => s.invoice).map((s) => [s.invoice!.id, s]));
      const steps: { before: BillingState; result: StepResult }[] = [];
      const out = new Map<string, DispatchResult>();
      for (const { attempt, result } of chunk) {
        const before = byInvoice.get(attempt.invoice_id);
        if (!before) continue; // invoice no longer collecting (already settled): nothing to apply
        const r = this.step(before, { type: 'charge_result', attempt_id: attempt.id, result: toOutcome(result) }, now);
        steps.push({ before, result: r });
        const applied = r.changed_attempts.find((a) => a.id === attempt.id) ?? null;
        out.set(before.subscription.id, { state: r.state, attempt: applied, redirect_url: result.redirect_url ?? null });
      }
      await this.persist(q, steps, now);
      this.opts.onProgress?.(steps.length);
      return { out, next: steps.flatMap((s) => gatewayEffects(s.result)) };
    });
  }

  private step(before: BillingState, event: MachineEvent, now: Date): StepResult {
    return step(before, event, now, { newId, attemptLeaseMs: this.leaseMs, authenticationWindowMs: this.authenticationWindowMs });
  }

  private async persist(q: Queryable, steps: { before: BillingState; result: StepResult }[], now: Date) {
    await saveSteps(q, steps, now);
    // The batch's e-mails, rendered here and written to the outbox in one statement (same rows and
    // rules as notify/outbox.ts enqueueEmail, without a round trip per e-mail inside the transaction).
    // Each e-mail's no-login links (one per way out it names) are minted here and written with one
    // statement too (engine/links.ts): a token, a hash and a row per link, no query per e-mail.
    const emails: OutboxRow[] = [];
    const links: NewLinkRow[] = [];
    for (const { result } of steps) {
      for (const e of result.effects) {
        if (e.type !== 'email') continue;
        const to = result.state.account.email;
        if (!e.dedupe_key) throw new RangeError('an e-mail needs a dedupe key');
        if (!to) throw new RangeError('an e-mail needs a recipient');
        const issued = linksForEmail(this.publicUrl, result.state, e.template, e.data, now);
        for (const r of issued.rows) links.push(r);
        const mail = renderEmail(e.template, emailContext(result.state, e.data, issued.urls));
        emails.push({ id: newId('ntf'), account_id: result.state.account.id, template: e.template, locale: mail.locale, to, subject: mail.subject, text: mail.text, html: mail.html, dedupe_key: e.dedupe_key });
      }
    }
    await storeLinks(q, links, now);
    await insertOutbox(q, emails, now);
    await this.issueDocuments(q, steps, now);
  }

  /**
   * Numbers the invoices the batch finalized and issues credit notes for the issued invoices it
   * voided, last in the transaction: the series rows they lock are every worker's turn, so they
   * are held from here to the commit only (the numbers are gapless because that lock is held).
   */
  private async issueDocuments(q: Queryable, steps: { before: BillingState; result: StepResult }[], now: Date) {
    const finalized: string[] = [];
    const credited: { invoice_id: string; reason: string }[] = [];
    const subOf = new Map<string, string>();
    for (const { before, result } of steps) {
      const c = documentChanges(before.invoice, result.updated_invoice, result.created_invoice);
      finalized.push(...c.finalized);
      for (const id of c.credited) {
        const voided = result.effects.find((e) => e.type === 'event' && e.event_type === 'invoice.voided' && e.data.invoice_id === id);
        credited.push({ invoice_id: id, reason: voided?.type === 'event' ? String(voided.data.reason ?? 'voided') : 'voided' });
        subOf.set(id, result.state.subscription.id);
      }
    }
    if (finalized.length === 0 && credited.length === 0) return;
    const numbered = await finalizeInvoices(q, finalized, this.documents, now);
    const notes = await issueCreditNotes(q, credited, this.documents, now, newId);
    await insertEvents(q, [
      ...numbered.map((i) => ({ account_id: i.account_id, subscription_id: i.subscription_id, invoice_id: i.id, type: 'invoice.finalized', data: { invoice_id: i.id, number: i.number, amount: i.amount, currency: i.currency } })),
      ...notes.map((n) => ({ account_id: n.account_id, subscription_id: subOf.get(n.invoice_id) ?? null, invoice_id: n.invoice_id, type: 'credit_note.created', data: { credit_note_id: n.id, number: n.number, invoice_id: n.invoice_id, amount: n.amount, currency: n.currency, reason: n.reason } })),
    ], now);
  }

  /** Polls for due work every intervalMs until stop(). */
  start(intervalMs = 1000) {
    if (this.poller?.polling) return; // already polling: one loop per engine
    this.stopping = false;
    this.poller = createPoller({ name: 'engine', intervalMs, tick: () => this.drainParallel(2), logger: this.opts.logger });
    this.poller.start();
  }

  /** Stops claiming; work already claimed runs to its end (its attempts are committed either way). */
  async stop() {
    this.stopping = true;
    await this.poller?.stop();
  }
}

/** Gateway references of the states' current payment methods (loadStates reads the full account and card rows). */
function gatewayRefs(states: BillingState[]): Map<string, GatewayRefs> {
  const out = new Map<string, GatewayRefs>();
  for (const s of states) {
    const customer_ref = s.account.gateway_customer_ref;
    const pm = s.payment_method;
    if (pm?.gateway_ref && customer_ref) out.set(pm.id, { customer_ref, payment_method_ref: pm.gateway_ref });
  }
  return out;
}

/** The states a batch's steps wrote, as the database now holds them (saveSteps bumped each version). */
function savedStates(steps: { before: BillingState; result: StepResult }[]): Map<string, BillingState> {
  return new Map(
    steps.map(({ before, result }) => [
      before.subscription.id,
      { ...result.state, subscription: { ...result.state.subscription, version: before.subscription.version + 1 } },
    ]),
  );
}

function gatewayEffects(r: StepResult): Effect[] {
  return r.effects.filter((e) => e.type === 'charge' || e.type === 'reconcile' || e.type === 'authenticate');
}

/** An authentication that failed or was abandoned: a decline that waits for the customer again. */
function authenticationFailed(ref: string | null, message: string): ChargeResult {
  return { outcome: 'declined', gateway_ref: ref, reason: 'authentication_required', retry_class: 'customer', raw: { code: 'payment_intent_authentication_failure', message }, retry_after_ms: null };
}

function notChargedResult(r: ChargeResult): ChargeResult {
  const raw = { code: 'processing_error', message: `Not charged (verified by lookup): ${r.raw.message ?? 'gateway error'}` };
  const c = classifyDecline(raw);
  return { outcome: 'declined', gateway_ref: r.gateway_ref, reason: c.reason, retry_class: c.retry_class, raw, retry_after_ms: c.retry_after_ms };
}

function unknownResult(message: string): ChargeResult {
  return { outcome: 'unknown', gateway_ref: null, reason: null, retry_class: null, raw: { message }, retry_after_ms: null };
}

export function toOutcome(r: ChargeResult): ChargeOutcome {
  return {
    outcome: r.outcome,
    reason: r.reason,
    retry_class: r.retry_class,
    raw_code: r.raw.decline_code ?? r.raw.code ?? null,
    network_code: r.raw.network_decline_code ?? null,
    advice_code: r.raw.network_advice_code ?? r.raw.advice_code ?? null,
    gateway_ref: r.gateway_ref,
    retry_after_ms: r.retry_after_ms,
  };
}

function emailContext(s: BillingState, data: Record<string, unknown>, links: EmailContext['links']): EmailContext {
  // A payment made with the backup card (core/backup.ts): the receipt names that card.
  const backup = data.paid_with ? s.backup?.payment_method : undefined;
  const pm = backup ?? s.payment_method;
  const dateOf = (v: unknown) => (v instanceof Date ? v : typeof v === 'string' ? new Date(v) : undefined);
  return {
    locale: s.account.locale,
    time_zone: s.account.time_zone,
    account_name: s.account.name,
    links,
    plan_name: (data.plan_name as string | undefined) ?? s.plan.name,
    amount: (data.amount as number | undefined) ?? s.invoice?.amount,
    currency: (data.currency as string | undefined) ?? s.invoice?.currency ?? s.account.currency,
    period_end: dateOf(data.period_end) ?? s.subscription.current_period_end,
    access_until: dateOf(data.access_until),
    change_at: dateOf(data.change_at),
    paid_amount: data.paid_amount as number | undefined,
    grace_ends_at: dateOf(data.grace_ends_at) ?? s.subscription.grace_ends_at ?? undefined,
    next_retry_at: s.subscription.next_retry_at,
    next_retry_why: s.subscription.next_retry_why,
    downgrade_paused_until: s.subscription.grace_paused_at ? s.subscription.grace_ends_at : null,
    reason: (data.reason as DeclineReason | null | undefined) ?? undefined,
    days_left: data.days_left as number | undefined,
    card_brand: pm?.brand ?? undefined,
    card_last4: pm?.last4 ?? undefined,
    exp_month: pm?.exp_month ?? undefined,
    exp_year: pm?.exp_year ?? undefined,
    paid_with_backup: backup ? true : undefined,
    invoice_id: (data.invoice_id as string | undefined) ?? undefined,
    outcome: data.outcome as EmailContext['outcome'],
  };
}

export type { Plan };
