// What the store writes of the machine's steps, on both engines: saveSteps (each subscription whole,
// by version, a stale one refusing the whole batch; invoices closed before the ones replacing them
// are inserted, attempts ended before the next one starts; the steps' events), and the timeline and
// outbox statements beside it (insertEvents, eventsOfAccount, insertOutbox). Steps come from the
// real machine (src/core/machine.ts) run on states loaded by loadStates where the machine makes the
// case; otherwise they are plain StepResults.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { insertAccount, insertCard, insertInvoice, insertSubscription } from '../helpers/store-rows.ts';
import { ctx, lost, ok } from '../helpers/billing-state.ts';
import { eventsOfAccount, insertEvents, insertOutbox, loadStates, saveSteps, toAttempt, toInvoice, type OutboxRow } from '../../src/store/billing.ts';
import { step, type AttemptState, type BillingState, type ChargeOutcome, type Effect, type InvoiceState, type MachineEvent, type StepResult } from '../../src/core/machine.ts';
import type { Queryable } from '../../src/store/db.ts';
import { DAY } from '../../src/core/time.ts';

const START = new Date('2026-03-01T09:00:00Z');
const END = new Date('2026-04-01T09:00:00Z');
const NEXT_END = new Date('2026-05-01T09:00:00Z');
const CONSENT = new Date('2026-01-15T10:00:00Z');
const at = (days: number) => new Date(END.getTime() + days * DAY);

type Saved = { before: BillingState; result: StepResult };

/** A step that changes the subscription only as `sub` says (nothing else: no rows, no effects) unless told. */
function plain(before: BillingState, sub: Partial<BillingState['subscription']>, more: Partial<StepResult> = {}): Saved {
  const result: StepResult = {
    state: { ...before, subscription: { ...before.subscription, ...sub } },
    effects: [],
    created_invoice: null,
    updated_invoice: null,
    changed_attempts: [],
    refused: null,
    ...more,
  };
  return { before, result };
}

/** A Queryable that says which table each statement writes, in order ('UPDATE subscriptions', 'INSERT INTO events'…). */
function recording(q: Queryable) {
  const statements: string[] = [];
  const r: Queryable = {
    query(sql, params) {
      statements.push(/^\s*(UPDATE \w+|INSERT INTO \w+)/.exec(sql)?.[1] ?? sql.trim().slice(0, 30));
      return q.query(sql, params);
    },
  };
  return { q: r, statements };
}

/** A Queryable that refuses every statement. */
const refuses: Queryable = { query: () => Promise.reject(new Error('no statement expected')) };

/** Dates and all in an event's data, as the jsonb column gives them back. */
const json = (v: unknown) => JSON.parse(JSON.stringify(v));

for (const engine of ENGINES) {
  describe(`steps saved on ${engine}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDatabase(engine);
      await t.db.query(`INSERT INTO plans (id, name, free) VALUES ('free', 'Free', true), ('pro', 'Pro', false), ('team', 'Team', false)`);
      await t.db.query(`INSERT INTO plan_prices VALUES ('pro', 'EUR', 'month', 2900), ('pro', 'EUR', 'year', 29000), ('team', 'EUR', 'month', 9900), ('team', 'EUR', 'year', 99000)`);
    });
    after(() => t.drop());

    /** acct_<id> with a primary card pm_<id> and a backup pm_<id>_b (another card, saved with consent), subscription sub_<id> renewing at END. */
    async function customer(id: string, sub: Partial<Parameters<typeof insertSubscription>[3]> = {}) {
      await insertAccount(t.db, `acct_${id}`, { created_at: START });
      await insertCard(t.db, `pm_${id}`, `acct_${id}`, { created_at: START, role: 'primary' });
      await insertCard(t.db, `pm_${id}_b`, `acct_${id}`, { created_at: START, role: 'backup', brand: 'mastercard', consent_at: CONSENT });
      await insertSubscription(t.db, `sub_${id}`, `acct_${id}`, { start: START, end: END, next_action_at: END, next_action: 'renew', ...sub });
    }
    async function load(id: string, now = END): Promise<BillingState> {
      const [s] = await loadStates(t.db, await t.db.query('SELECT * FROM subscriptions WHERE id = $1', [`sub_${id}`]), now);
      return s;
    }
    /** The machine's step on the subscription's state as loaded now. */
    async function stepOf(id: string, ev: MachineEvent | ((s: BillingState) => MachineEvent), now: Date): Promise<Saved> {
      const before = await load(id, now);
      return { before, result: step(before, typeof ev === 'function' ? ev(before) : ev, now, ctx) };
    }
    const answer = (result: ChargeOutcome) => (s: BillingState): MachineEvent => ({ type: 'charge_result', attempt_id: s.attempts.at(-1)!.id, result });
    /** Saves in one transaction, as the engine does; returns the tables written, in order. */
    async function save(steps: Saved[], now: Date) {
      return t.db.tx(async (q) => {
        const r = recording(q);
        await saveSteps(r.q, steps, now);
        return r.statements;
      });
    }
    const invoice = async (id: string) => toInvoice((await t.db.query('SELECT * FROM invoices WHERE id = $1', [id]))[0]);
    const invoicesOf = async (id: string) => (await t.db.query('SELECT * FROM invoices WHERE subscription_id = $1 ORDER BY created_at, id', [`sub_${id}`])).map(toInvoice);
    const attemptsOf = async (invoiceId: string) => (await t.db.query('SELECT * FROM payment_attempts WHERE invoice_id = $1 ORDER BY number', [invoiceId])).map(toAttempt);
    const eventsOf = (id: string) =>
      t.db.query<{ account_id: string | null; subscription_id: string | null; invoice_id: string | null; type: string; data: unknown; occurred_at: Date }>(
        'SELECT account_id, subscription_id, invoice_id, type, data, occurred_at FROM events WHERE account_id = $1 ORDER BY id',
        [`acct_${id}`],
      );
    /** An attempt as the store loads it (loadStates adds the incident it was made in: none here). */
    const loaded = (a: AttemptState) => ({ ...a, incident_id: null });

    test("a step's subscription is written whole and loads back equal, its version one more (every field: plan, interval, auto-renew, status, anchor, period, grace, next action, retry, schedule, grace pause, chosen retry day)", async () => {
      await customer('w');
      const before = await load('w');
      const written = {
        plan_id: 'team', interval: 'year' as const, auto_renew: false, status: 'past_due' as const,
        billing_anchor: new Date('2026-02-01T09:00:00Z'), period_index: 3, current_period_start: END, current_period_end: NEXT_END,
        grace_ends_at: at(45), next_action_at: at(40), next_action: 'retry' as const, next_retry_at: at(41), next_retry_why: 'schedule',
        scheduled_plan_id: 'pro', scheduled_interval: 'month' as const,
        grace_paused_at: at(38), grace_pause_ms: 1234, grace_pause_hold_ms: 5678, chosen_retry_at: at(42),
      };
      assert.deepEqual(await save([plain(before, written)], END), ['UPDATE subscriptions'], 'a step that changes only the subscription writes only it');
      assert.deepEqual((await load('w')).subscription, { ...before.subscription, ...written, version: 1 });
    });

    test('a subscription with nothing set is written so: nulls stay null, the optional fields the core leaves out are null and the pause 0 ms', async () => {
      await customer('n', { status: 'past_due', grace_ends_at: at(14), scheduled: { plan: 'team', interval: 'year' }, grace_pause_ms: 500, grace_pause_hold_ms: 700 });
      await t.db.query(`UPDATE subscriptions SET next_retry_at = $1, next_retry_why = 'schedule', grace_paused_at = $1, chosen_retry_at = $1 WHERE id = 'sub_n'`, [at(3)]);
      const before = await load('n');
      // As the core's own states (test/helpers/billing-state.ts activeState) have them: the optional fields absent.
      const { scheduled_plan_id, scheduled_interval, grace_paused_at, grace_pause_ms, grace_pause_hold_ms, chosen_retry_at, ...rest } = before.subscription;
      assert.ok(scheduled_plan_id && scheduled_interval && grace_paused_at && grace_pause_ms && grace_pause_hold_ms && chosen_retry_at, 'every field set before');
      const cleared = { ...rest, status: 'active' as const, grace_ends_at: null, next_action_at: null, next_action: null, next_retry_at: null, next_retry_why: null };
      await save([{ before, result: { ...plain(before, {}).result, state: { ...before, subscription: cleared } } }], END);
      assert.deepEqual((await load('n')).subscription, {
        ...cleared, scheduled_plan_id: null, scheduled_interval: null, grace_paused_at: null, grace_pause_ms: 0, grace_pause_hold_ms: 0, chosen_retry_at: null, version: 1,
      });
    });

    test('a step written against a stale version is refused whole: the error counts the stale subscriptions, and nothing of the batch is written', async () => {
      for (const id of ['s1', 's2', 's3']) await customer(id);
      const steps = [await stepOf('s1', { type: 'tick' }, END), await stepOf('s2', { type: 'tick' }, END), await stepOf('s3', { type: 'tick' }, END)];
      assert.ok(steps.every((s) => s.result.created_invoice && s.result.changed_attempts.length === 1), 'each step writes an invoice and an attempt');
      // Two of them changed since they were loaded.
      await t.db.query(`UPDATE subscriptions SET version = version + 1 WHERE id IN ('sub_s2', 'sub_s3')`);
      await assert.rejects(save(steps, END), (e: Error) => {
        assert.equal(e.message, 'concurrent update of 2 subscription(s); step discarded');
        return true;
      });
      const subs = await t.db.query<{ id: string; version: number; next_action_at: Date }>(`SELECT id, version, next_action_at FROM subscriptions WHERE id IN ('sub_s1', 'sub_s2', 'sub_s3') ORDER BY id`);
      assert.deepEqual(subs, [{ id: 'sub_s1', version: 0, next_action_at: END }, { id: 'sub_s2', version: 1, next_action_at: END }, { id: 'sub_s3', version: 1, next_action_at: END }]);
      for (const id of ['s1', 's2', 's3']) {
        assert.deepEqual(await invoicesOf(id), [], id);
        assert.deepEqual(await eventsOf(id), [], id);
      }
      assert.deepEqual(await t.db.query(`SELECT id FROM payment_attempts WHERE account_id IN ('acct_s1', 'acct_s2', 'acct_s3')`), []);
    });

    test('saving no steps asks nothing of the database', async () => {
      await saveSteps(refuses, [], END);
    });

    test('a renewal: the new invoice and its pending attempt are inserted with every field, as the machine made them (statements: subscription, invoice, attempt, events)', async () => {
      await customer('r');
      const s = await stepOf('r', { type: 'tick' }, END);
      const inv = s.result.created_invoice!;
      assert.deepEqual(await save([s], END), ['UPDATE subscriptions', 'INSERT INTO invoices', 'INSERT INTO payment_attempts', 'INSERT INTO events']);
      assert.deepEqual(await invoicesOf('r'), [inv]);
      assert.deepEqual(await attemptsOf(inv.id), s.result.changed_attempts.map(loaded));
      const again = await load('r');
      assert.deepEqual(again.invoice, inv);
      assert.deepEqual(again.subscription, { ...s.result.state.subscription, version: 1 });
    });

    test('a new invoice and a new attempt are written with every field set (reminders_sent as int[], paid and failed instants, the gateway codes, the wait)', async () => {
      await customer('f');
      const before = await load('f');
      const inv: InvoiceState = {
        id: 'inv_f', account_id: 'acct_f', subscription_id: 'sub_f', plan_id: 'team', amount: 99000, currency: 'EUR', period_start: END, period_end: NEXT_END,
        status: 'paid', created_at: at(1), paid_at: at(3), kind: 'proration', interval: 'year', failed_at: at(2), reminders_sent: [7, 2],
      };
      const a: AttemptState = {
        id: 'att_f', invoice_id: 'inv_f', payment_method_id: 'pm_f_b', number: 4, trigger: 'operator', idempotency_key: 'key_f', outcome: 'declined',
        reason: 'insufficient_funds', retry_class: 'later', raw_code: 'card_declined', network_code: '51', advice_code: '02', gateway_ref: 'pi_f',
        created_at: at(2), completed_at: at(2.5), amount: 99000, currency: 'EUR', not_before: at(2.25),
      };
      await save([plain(before, {}, { created_invoice: inv, changed_attempts: [a] })], END);
      assert.deepEqual(await invoice('inv_f'), inv);
      assert.deepEqual(await attemptsOf('inv_f'), [loaded(a)]);
      const [row] = await t.db.query<{ account_id: string }>(`SELECT account_id FROM payment_attempts WHERE id = 'att_f'`);
      assert.equal(row.account_id, 'acct_f', "an attempt's account is its subscription's");
    });

    test('an answer that ends one attempt and starts the next (the main card lost, the backup charged at once) updates the first before inserting the second (payment_attempts_one_pending); the invoice is updated', async () => {
      await customer('b');
      const tick = await stepOf('b', { type: 'tick' }, END);
      await save([tick], END);
      const declined = await stepOf('b', answer({ ...lost, raw_code: 'lost_card', network_code: '41', gateway_ref: 'pi_b1' }), END);
      const [first, second] = declined.result.changed_attempts;
      assert.deepEqual([first.outcome, first.payment_method_id, second.outcome, second.payment_method_id], ['declined', 'pm_b', 'pending', 'pm_b_b'], 'the machine charges the backup at once');
      assert.equal(declined.result.updated_invoice?.status, 'past_due');
      assert.deepEqual(await save([declined], END), [
        'UPDATE subscriptions', 'UPDATE invoices', 'UPDATE payment_attempts', 'INSERT INTO payment_attempts', 'INSERT INTO events',
      ]);
      const inv = declined.result.updated_invoice!;
      assert.deepEqual(await invoice(inv.id), inv);
      assert.deepEqual(await attemptsOf(inv.id), [loaded(first), loaded(second)]);
      assert.deepEqual((await load('b')).subscription, { ...declined.result.state.subscription, version: 2 });

      // The backup pays: the invoice is closed with its paid instant, the attempt completed.
      const paid = await stepOf('b', answer({ ...ok, gateway_ref: 'pi_b2' }), at(0.01));
      await save([paid], at(0.01));
      assert.equal(paid.result.updated_invoice?.status, 'paid');
      assert.deepEqual(await invoice(inv.id), paid.result.updated_invoice);
      assert.deepEqual(await attemptsOf(inv.id), [loaded(first), loaded(paid.result.changed_attempts[0])]);
      assert.equal((await attemptsOf(inv.id))[1].gateway_ref, 'pi_b2');
    });

    test('an invoice the step closes is updated before the replacing invoice is inserted (a plan change in grace: the past-due invoice void, the new one past due with the reminders already sent)', async () => {
      await customer('g', { status: 'past_due', grace_ends_at: at(14), next_action_at: at(7), next_action: 'remind' });
      await insertInvoice(t.db, 'inv_g', 'acct_g', 'sub_g', { start: END, end: NEXT_END, status: 'past_due', failed_at: END, reminders_sent: [7] });
      const team = (s: BillingState): MachineEvent => ({ type: 'change_plan', plan: { id: 'team', name: 'Team', free: false, prices: [{ currency: 'EUR', interval: 'month', amount: 9900 }] }, interval: s.subscription.interval });
      const s = await stepOf('g', team, at(8));
      const created = s.result.created_invoice!;
      assert.deepEqual([s.result.updated_invoice?.status, created.status, created.reminders_sent], ['void', 'past_due', [7]], 'the machine voids and replaces the invoice');
      assert.deepEqual(await save([s], at(8)), ['UPDATE subscriptions', 'UPDATE invoices', 'INSERT INTO invoices', 'INSERT INTO payment_attempts', 'INSERT INTO events']);
      assert.deepEqual(await invoicesOf('g'), [s.result.updated_invoice, created]);
      assert.deepEqual(await attemptsOf(created.id), s.result.changed_attempts.map(loaded));
    });

    test("an invoice's update writes its status, failed and paid instants and reminders (as int[]); the rest of the row stays", async () => {
      await customer('u');
      await insertInvoice(t.db, 'inv_u', 'acct_u', 'sub_u', { start: END, end: NEXT_END, status: 'open' });
      const before = await load('u');
      const updated: InvoiceState = { ...before.invoice!, status: 'paid', failed_at: at(1), paid_at: at(2), reminders_sent: [7, 2], amount: 1, plan_id: 'team' };
      assert.deepEqual(await save([plain(before, {}, { updated_invoice: updated })], END), ['UPDATE subscriptions', 'UPDATE invoices']);
      assert.deepEqual(await invoice('inv_u'), { ...before.invoice!, status: 'paid', failed_at: at(1), paid_at: at(2), reminders_sent: [7, 2] });
    });

    test('an attempt already completed is not overwritten by a later update; one in flight (pending or unknown) is', async () => {
      await customer('c');
      await insertInvoice(t.db, 'inv_c', 'acct_c', 'sub_c', { start: END, end: NEXT_END, status: 'open' });
      const base = { invoice_id: 'inv_c', payment_method_id: 'pm_c', trigger: 'scheduled' as const, reason: null, retry_class: null, raw_code: null, network_code: null, advice_code: null, gateway_ref: null, created_at: END, completed_at: null, amount: 2900, currency: 'EUR', not_before: null };
      const a1: AttemptState = { ...base, id: 'att_c1', number: 1, idempotency_key: 'k_c1', outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later', completed_at: END };
      const a2: AttemptState = { ...base, id: 'att_c2', number: 2, idempotency_key: 'k_c2', outcome: 'unknown' };
      await save([plain(await load('c'), {}, { changed_attempts: [a1, a2] })], END);
      const before = await load('c');
      assert.deepEqual(before.attempts, [loaded(a1), loaded(a2)]);
      const answered = { outcome: 'succeeded' as const, reason: null, retry_class: null, raw_code: 'ok', network_code: '00', advice_code: '01', gateway_ref: 'pi_c', completed_at: at(1), not_before: at(0.5) };
      assert.deepEqual(await save([plain(before, {}, { changed_attempts: [{ ...a1, ...answered }, { ...a2, ...answered }] })], at(1)), ['UPDATE subscriptions', 'UPDATE payment_attempts']);
      assert.deepEqual(await attemptsOf('inv_c'), [loaded(a1), loaded({ ...a2, ...answered })]);
    });

    test("events carry the step's account and subscription, the invoice id from their data (null without), their type and data, and the save's time; charges and e-mails are not events", async () => {
      await customer('e1');
      await customer('e2');
      const charge = { type: 'charge', attempt: { id: 'att_x' } } as unknown as Effect;
      const mail: Effect = { type: 'email', template: 'renewal_failed', dedupe_key: 'k', data: { invoice_id: 'inv_x' } };
      const e1 = plain(await load('e1'), {}, {
        effects: [
          { type: 'event', event_type: 'invoice.created', data: { invoice_id: 'inv_e1', amount: 2900, period_start: END } },
          charge,
          mail,
          { type: 'event', event_type: 'subscription.canceled', data: { by: 'customer' } },
        ],
      });
      const e2 = plain(await load('e2'), {}, { effects: [mail, { type: 'event', event_type: 'subscription.resumed', data: { invoice_id: 'inv_e2' } }] });
      const now = at(0.5);
      assert.deepEqual(await save([e1, e2], now), ['UPDATE subscriptions', 'INSERT INTO events']);
      assert.deepEqual(await eventsOf('e1'), [
        { account_id: 'acct_e1', subscription_id: 'sub_e1', invoice_id: 'inv_e1', type: 'invoice.created', data: json({ invoice_id: 'inv_e1', amount: 2900, period_start: END }), occurred_at: now },
        { account_id: 'acct_e1', subscription_id: 'sub_e1', invoice_id: null, type: 'subscription.canceled', data: { by: 'customer' }, occurred_at: now },
      ]);
      assert.deepEqual(await eventsOf('e2'), [{ account_id: 'acct_e2', subscription_id: 'sub_e2', invoice_id: 'inv_e2', type: 'subscription.resumed', data: { invoice_id: 'inv_e2' }, occurred_at: now }]);
      // Only e-mails: no events statement.
      assert.deepEqual(await save([plain(await load('e2'), {}, { effects: [mail] })], now), ['UPDATE subscriptions']);
    });

    test('insertEvents writes each event at the given time; subscription and invoice are null unless given, the account may be null', async () => {
      await insertAccount(t.db, 'acct_ie', { created_at: START });
      const now = at(2);
      await insertEvents(t.db, [
        { account_id: 'acct_ie', type: 'help_request.closed', data: { help_request_id: 'h1' } },
        { account_id: 'acct_ie', subscription_id: 'sub_x', invoice_id: 'inv_x', type: 'customer_link.sent', data: {} },
        { account_id: null, type: 'dunning_policy.updated', data: { scope: 'default_ie' } },
      ], now);
      assert.deepEqual(await eventsOf('ie'), [
        { account_id: 'acct_ie', subscription_id: null, invoice_id: null, type: 'help_request.closed', data: { help_request_id: 'h1' }, occurred_at: now },
        { account_id: 'acct_ie', subscription_id: 'sub_x', invoice_id: 'inv_x', type: 'customer_link.sent', data: {}, occurred_at: now },
      ]);
      const none = await t.db.query(`SELECT account_id, subscription_id, invoice_id, occurred_at FROM events WHERE type = 'dunning_policy.updated' AND data->>'scope' = 'default_ie'`);
      assert.deepEqual(none, [{ account_id: null, subscription_id: null, invoice_id: null, occurred_at: now }]);
    });

    test("eventsOfAccount gives the account's events newest first, up to the limit, only that account's: id a number, the instant a Date", async () => {
      await insertAccount(t.db, 'acct_t1', { created_at: START });
      await insertAccount(t.db, 'acct_t2', { created_at: START });
      for (let i = 1; i <= 4; i++) {
        await insertEvents(t.db, [{ account_id: 'acct_t1', invoice_id: i % 2 ? `inv_t${i}` : null, type: `t.${i}`, data: { i } }], at(i));
        await insertEvents(t.db, [{ account_id: 'acct_t2', type: `other.${i}`, data: {} }], at(i));
      }
      const all = await eventsOfAccount(t.db, 'acct_t1', 10);
      assert.deepEqual(all.map(({ id, ...e }) => e), [
        { type: 't.4', invoice_id: null, data: { i: 4 }, at: at(4) },
        { type: 't.3', invoice_id: 'inv_t3', data: { i: 3 }, at: at(3) },
        { type: 't.2', invoice_id: null, data: { i: 2 }, at: at(2) },
        { type: 't.1', invoice_id: 'inv_t1', data: { i: 1 }, at: at(1) },
      ]);
      assert.ok(all.every((e) => typeof e.id === 'number' && Number.isInteger(e.id) && e.at instanceof Date));
      assert.ok(all[0].id > all[1].id && all[1].id > all[2].id && all[2].id > all[3].id);
      const [{ id: newest }] = await t.db.query<{ id: string | number }>(`SELECT max(id) AS id FROM events WHERE account_id = 'acct_t1'`);
      assert.equal(all[0].id, Number(newest));
      assert.deepEqual((await eventsOfAccount(t.db, 'acct_t1', 2)).map((e) => e.type), ['t.4', 't.3']);
      assert.deepEqual(await eventsOfAccount(t.db, 'acct_none', 10), []);
    });

    test('insertOutbox writes each e-mail pending, due now, with no attempt; a dedupe key already there writes only the new ones; an empty batch asks nothing', async () => {
      await insertAccount(t.db, 'acct_o', { created_at: START });
      const mail = (n: number, account: string | null = 'acct_o'): OutboxRow => ({
        id: `ntf_o${n}`, account_id: account, template: 'renewal_failed', locale: 'fr-FR', to: `o${n}@example.com`, subject: `S${n}`, text: `T${n}`, html: `<p>H${n}</p>`, dedupe_key: `o:${n}`,
      });
      const rows = () =>
        t.db.query(
          `SELECT id, account_id, template, locale, to_address, subject, body_text, body_html, dedupe_key, status, attempts, next_attempt_at, created_at, last_error, sent_at
             FROM notifications WHERE dedupe_key LIKE 'o:%' ORDER BY id`,
        );
      const row = (n: number, now: Date, account: string | null = 'acct_o') => ({
        id: `ntf_o${n}`, account_id: account, template: 'renewal_failed', locale: 'fr-FR', to_address: `o${n}@example.com`, subject: `S${n}`, body_text: `T${n}`,
        body_html: `<p>H${n}</p>`, dedupe_key: `o:${n}`, status: 'pending', attempts: 0, next_attempt_at: now, created_at: now, last_error: null, sent_at: null,
      });
      await insertOutbox(t.db, [mail(1), mail(2, null)], at(1));
      assert.deepEqual(await rows(), [row(1, at(1)), row(2, at(1), null)]);
      await insertOutbox(t.db, [{ ...mail(1), id: 'ntf_o1_again', subject: 'again' }, mail(3)], at(2));
      assert.deepEqual(await rows(), [row(1, at(1)), row(2, at(1), null), row(3, at(2))]);
      await insertOutbox(refuses, [], at(3));
    });
  });
}
