// Issue 21: concurrent writes (run on PostgreSQL and on PGlite by postgres.test.ts and pglite.test.ts). For every operation of /openapi.json that
// changes state, N calls at once on one account (operator and customer mixed where both may call),
// and pairs of different operations racing on one past-due account (card update, Retry, cancel, plan
// change, help request, clock advance, the worker's scheduled retry). Every answer is one clear,
// documented answer (never a 5xx; an error is problem+json); the state afterwards is one a serial
// run leaves (each pair is also run in both serial orders on twin accounts, and the raced account
// must match one of them); and renewd verify, with the sandbox's list of charges, finds nothing.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, card, CARDS, T0, type TestService } from '../helpers/service.ts';
import type { Engine } from '../helpers/db.ts';
import { portalToken, scriptNextCharges, latestInvoice } from '../api/helpers.ts';
import Stripe from 'stripe';
import { verifyInvariants } from '../../src/engine/verify.ts';
import { assertClearAnswer, documentedStatuses, stateChangingOperations, summary, tally, type Answer } from './helpers.ts';

const N = 8;
const MIN = 60_000;

type PairOp = 'card' | 'retry' | 'cancel' | 'plan' | 'help' | 'clock' | 'worker';
const COMMAND_OPS: PairOp[] = ['card', 'retry', 'cancel', 'plan', 'help'];
/** Every pair of different operations; those with the clock or the worker need the account's scheduled retry due. */
const PAIR_OPS: PairOp[] = [...COMMAND_OPS, 'clock', 'worker'];
const PAIRS: [PairOp, PairOp][] = PAIR_OPS.flatMap((a, i) => PAIR_OPS.slice(i + 1).map((b): [PairOp, PairOp] => [a, b]));
const timed = (p: [PairOp, PairOp]) => p.includes('clock') || p.includes('worker');
/** A refusal that says another payment or change of the account was under way: send it again later. */
const BUSY = new Set(['change_in_progress', 'purchase_in_progress', 'payment_method_update_in_progress', 'concurrent_update']);
const busy = (r: Answer) => r.status === 409 && (BUSY.has(r.body.code) || (r.body.code === 'retry_unavailable' && r.body.reason === 'attempt_in_flight'));

/** The whole matrix on one database engine. */
export function raceMatrix(engine: Engine) {
  describe(`concurrent writes (${engine})`, () => {
    let t: TestService;
    let doc: Map<string, Set<number>>;
    const covered = new Set<string>();
    /** Accounts by role, created before the billing day. */
    const acc: Record<string, string> = {};
    /** Three accounts per pair: serial a→b, serial b→a, raced. */
    const pairAccounts = new Map<string, [string, string, string]>();
    const tokens = new Map<string, string>();

    /** One call, checked to be a clear, documented answer. `op` is "METHOD /path/{template}". */
    async function call(op: string, path: string, body?: unknown, auth?: string | null, headers?: Record<string, string>): Promise<Answer> {
      covered.add(op);
      const r = await t.api(op.split(' ')[0], path, body, auth, headers);
      const a = { ...r, op };
      assertClearAnswer(doc, a);
      return a;
    }
    const all = (n: number, f: (i: number) => Promise<Answer>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));
    const token = async (id: string) => {
      if (!tokens.has(id)) tokens.set(id, await portalToken(t, id));
      return tokens.get(id)!;
    };
    /** Operator on even calls, the customer on odd ones. */
    const caller = async (id: string, i: number) => (i % 2 ? await token(id) : undefined);
    const events = async (id: string, type: string) => ((await t.api('GET', `/v1/accounts/${id}/timeline`)).body.events as any[]).filter((e) => e.type === type).length;

    before(async () => {
      // The gateway's events are signed with a secret the test knows (the sandbox's own stay off).
      t = await startTestService({ engine, config: { stripeWebhookSecret: 'whsec_matrix_tests_only' } });
      doc = await documentedStatuses(t);
      await createPlans(t);
      assert.equal((await t.api('POST', '/v1/plans', { id: 'biz', name: 'Business', prices: [{ currency: 'EUR', interval: 'month', amount: 9900 }] })).status, 201);
      const grace = () => subscribedAccount(t, { later: CARDS.insufficient_funds });
      await Promise.all([
        ...['card', 'retryOk', 'retryDeclined', 'help', 'retryDate', 'backup'].map(async (k) => (acc[k] = await grace())),
        // A card whose issuer asks for authentication: its renewal needs the customer (3-D Secure).
        (async () => (acc.auth = await subscribedAccount(t, { later: CARDS.auth_always })))(),
        ...['plan', 'autoRenew', 'cancel', 'resume'].map(async (k) => (acc[k] = await subscribedAccount(t))),
        ...PAIRS.filter((p) => !timed(p)).map(async (p) => pairAccounts.set(p.join('×'), [await grace(), await grace(), await grace()])),
      ]);
      // The pairs with the worker or the clock: each account in its own 10-minute slot, so its
      // scheduled retry falls due at its own instant and the others' stay ahead.
      let slot = 0;
      for (const p of PAIRS.filter(timed)) {
        const ids: string[] = [];
        for (let j = 0; j < 3; j++) {
          // Nothing is due while the accounts are made: moving the clock runs nothing.
          t.svc.ctx.testClock!.set(new Date(Date.parse(T0) + ++slot * 10 * MIN));
          ids.push(await grace());
        }
        pairAccounts.set(p.join('×'), ids as [string, string, string]);
      }
      // The renewals: the failing cards put their accounts in grace, the others renew.
      const ends = await Promise.all([...Object.values(acc), ...[...pairAccounts.values()].flat()].map(async (id) => Date.parse((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.current_period_end)));
      await t.advanceTo(new Date(Math.max(...ends) + 30 * MIN));
    });
    after(() => t?.close());

    // ---- N calls of one operation on one account ----

    test('card updates × N on an account in grace: all saved, each answer shows its own card, one immediate retry charges', async () => {
      const id = acc.card;
      const rs = await all(N, async (i) => call('PUT /v1/accounts/{id}/payment-method', `/v1/accounts/${id}/payment-method`, { type: 'card', card: { number: CARDS.ok, exp_month: i + 1, exp_year: 2031, cvc: '123' } }, await caller(id, i)));
      assert.deepEqual(tally(rs), { 200: N });
      rs.forEach((r, i) => assert.equal(r.body.exp_month, i + 1, 'an answer shows the card its own request saved'));
      const attempts = rs.filter((r) => r.body.attempt);
      assert.equal(attempts.length, 1, JSON.stringify(rs.map((r) => r.body.attempt)));
      assert.equal(attempts[0].body.attempt.outcome, 'succeeded');
      const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
      assert.equal(sub.status, 'active');
      const pm = (await t.api('GET', `/v1/accounts/${id}/payment-method`)).body;
      assert.ok(pm.exp_month >= 1 && pm.exp_month <= N, 'the card on file is one of those sent');
    });

    test('Retry × N that succeeds: one 200, every other press 409 retry_unavailable', async () => {
      const id = acc.retryOk;
      const inv = await latestInvoice(t, id);
      await scriptNextCharges(t, id, 'succeed');
      const rs = await all(N, async (i) => call('POST /v1/invoices/{id}/retry', `/v1/invoices/${inv.id}/retry`, undefined, await caller(id, i)));
      const ok = rs.filter((r) => r.status === 200);
      assert.equal(ok.length, 1, JSON.stringify(tally(rs)));
      assert.equal(ok[0].body.outcome, 'succeeded');
      for (const r of rs.filter((r) => r.status !== 200)) {
        assert.equal(r.status, 409);
        assert.ok(['invoice_not_past_due', 'attempt_in_flight'].includes(r.body.reason), r.body.reason);
      }
      assert.equal((await latestInvoice(t, id)).status, 'paid');
    });

    test('Retry × N that declines: each 200 is one attempt, the customer stays within max_per_day', async () => {
      const id = acc.retryDeclined;
      const inv = await latestInvoice(t, id);
      const before = inv.attempts.length;
      const rs = await all(N, async (i) => call('POST /v1/invoices/{id}/retry', `/v1/invoices/${inv.id}/retry`, undefined, await caller(id, i)));
      const ok = rs.filter((r) => r.status === 200);
      assert.ok(ok.length >= 1, JSON.stringify(tally(rs)));
      for (const r of ok) assert.equal(r.body.outcome, 'declined');
      for (const r of rs.filter((r) => r.status !== 200)) assert.equal(r.body.code, 'retry_unavailable');
      const after = await latestInvoice(t, id);
      assert.equal(after.attempts.length - before, ok.length, 'one attempt per 200, none for a refusal');
      assert.ok(after.attempts.filter((a) => a.trigger === 'customer_retry').length <= 3, 'max_per_day (3) holds under the race');
      assert.equal(after.status, 'past_due');
    });

    test('help requests × N: the customer limit (5 a day) holds exactly, the operator is not limited', async () => {
      const id = acc.help;
      const inv = await latestInvoice(t, id);
      const tok = await token(id);
      const rs = await all(N, (i) => call('POST /v1/invoices/{id}/help-requests', `/v1/invoices/${inv.id}/help-requests`, { message: `help ${i}` }, i < 6 ? tok : undefined));
      assert.deepEqual(tally(rs), { 201: 7, '429 rate_limited': 1 });
      const list = (await t.api('GET', `/v1/help-requests?account_id=${id}`)).body.data;
      assert.equal(list.length, 7);
      // The operator answers and closes them at once: each answer 200, or 409 once closed.
      const h = list[0].id;
      const rs2 = await all(N, (i) =>
        i % 2 ? call('POST /v1/help-requests/{id}/close', `/v1/help-requests/${h}/close`, {}) : call('POST /v1/help-requests/{id}/answer', `/v1/help-requests/${h}/answer`, { answer: `answer ${i}` }),
      );
      for (const r of rs2) assert.ok(r.status === 200 || (r.status === 409 && r.op.endsWith('/answer')), JSON.stringify(tally(rs2)));
      assert.equal((await t.api('GET', `/v1/help-requests/${h}`)).body.status, 'closed');
    });

    test('retry date × N (days in and out of grace): each 200 or 409 retry_date_unavailable; one of the 200s is the plan', async () => {
      const id = acc.retryDate;
      const inv = await latestInvoice(t, id);
      const now = (await t.now()).getTime();
      // Days 2..5 ahead are in grace; day 40 is after it.
      const day = (i: number) => new Date(now + (i % 4 === 3 ? 40 : 2 + (i % 4)) * 86_400_000).toISOString().slice(0, 10);
      const rs = await all(N, async (i) => call('POST /v1/invoices/{id}/retry-date', `/v1/invoices/${inv.id}/retry-date`, { date: day(i) }, await caller(id, i)));
      const ok = rs.filter((r) => r.status === 200);
      assert.equal(ok.length, N - N / 4, JSON.stringify(tally(rs)));
      for (const r of rs.filter((r) => r.status !== 200)) assert.equal(r.body.reason, 'outside_grace');
      const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
      assert.equal(sub.next_retry_why, 'customer_chosen');
      assert.ok(ok.some((r) => r.body.at === sub.chosen_retry_at && r.body.at === sub.next_retry_at), JSON.stringify(sub));
    });

    test('plan change × N to a dearer plan: one 200 with the prorated charge, the rest 409', async () => {
      const id = acc.plan;
      const rs = await all(N, async (i) => call('PATCH /v1/accounts/{id}/subscription', `/v1/accounts/${id}/subscription`, { plan_id: 'biz' }, await caller(id, i)));
      assert.equal(rs.filter((r) => r.status === 200).length, 1, JSON.stringify(tally(rs)));
      for (const r of rs.filter((r) => r.status !== 200)) assert.ok(['same_plan', 'change_in_progress'].includes(r.body.code), r.body.code);
      assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.plan_id, 'biz');
      const inv = (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data as any[];
      assert.equal(inv.filter((i) => i.kind === 'proration' && i.status === 'paid').length, 1);
    });

    test('auto-renew off × N: all 200, one cancel scheduled', async () => {
      const id = acc.autoRenew;
      const rs = await all(N, async (i) => call('PATCH /v1/accounts/{id}/subscription', `/v1/accounts/${id}/subscription`, { auto_renew: false }, await caller(id, i)));
      assert.deepEqual(tally(rs), { 200: N });
      const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
      assert.equal(sub.auto_renew, false);
      assert.equal(sub.cancel_at_period_end, true);
      assert.equal(await events(id, 'subscription.cancel_scheduled'), 1);
    });

    test('cancel × N (now and period end mixed): canceled once, the rest 409 already_canceled', async () => {
      const id = acc.cancel;
      const rs = await all(N, async (i) => call('POST /v1/accounts/{id}/subscription/cancel', `/v1/accounts/${id}/subscription/cancel`, { at: i % 2 ? 'now' : 'period_end' }, await caller(id, i)));
      for (const r of rs) assert.ok(r.status === 200 || r.body.code === 'already_canceled', JSON.stringify(tally(rs)));
      assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'canceled');
      assert.equal(await events(id, 'subscription.canceled'), 1);
    });

    test('resume × N after a period-end cancel: one 200, the rest 409 no_pending_cancel', async () => {
      const id = acc.resume;
      assert.equal((await t.api('POST', `/v1/accounts/${id}/subscription/cancel`, { at: 'period_end' })).status, 200);
      const rs = await all(N, async (i) => call('POST /v1/accounts/{id}/subscription/resume', `/v1/accounts/${id}/subscription/resume`, undefined, await caller(id, i)));
      assert.deepEqual(tally(rs), { 200: 1, '409 no_pending_cancel': N - 1 });
      assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.auto_renew, true);
    });

    test('first purchase × N: one 201 and one charge, the rest 409', async () => {
      const id = (await call('POST /v1/accounts', '/v1/accounts', { name: 'Buyer', email: 'b@buyer.example', locale: 'en-GB', domain_zone: 'uk', currency: 'EUR' })).body.id;
      assert.equal((await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok))).status, 200);
      const rs = await all(N, async (i) => call('POST /v1/subscriptions', '/v1/subscriptions', { account_id: id, plan_id: 'pro', interval: 'month' }, await caller(id, i)));
      assert.equal(rs.filter((r) => r.status === 201).length, 1, JSON.stringify(tally(rs)));
      for (const r of rs.filter((r) => r.status !== 201)) assert.ok(['already_subscribed', 'purchase_in_progress'].includes(r.body.code), r.body.code);
      assert.match(await summary(t, id), /"charged":2900/);
    });

    test('operator objects × N: plans, archive, accounts, portal sessions, webhook endpoints', async () => {
      const plan = { id: 'team', name: 'Team', prices: [{ currency: 'EUR', interval: 'month', amount: 4900 }] };
      assert.deepEqual(tally(await all(N, () => call('POST /v1/plans', '/v1/plans', plan))), { 201: 1, '409 plan_exists': N - 1 });
      assert.deepEqual(tally(await all(N, (i) => call('POST /v1/plans', '/v1/plans', { id: `free${i}`, name: 'Free', free: true, prices: [] }))), { '409 free_plan_exists': N });
      assert.deepEqual(tally(await all(N, () => call('POST /v1/plans/{id}/archive', '/v1/plans/team/archive'))), { 200: N });
      assert.deepEqual(tally(await all(N, () => call('POST /v1/plans/{id}/unarchive', '/v1/plans/team/unarchive'))), { 200: N });
      const accounts = await all(N, (i) => call('POST /v1/accounts', '/v1/accounts', { name: `A${i}`, email: `a${i}@x.example`, locale: 'de-DE', domain_zone: 'de', currency: 'EUR' }));
      assert.equal(new Set(accounts.map((a) => a.body.id)).size, N);
      const id = acc.plan;
      const sessions = await all(N, () => call('POST /v1/accounts/{id}/portal-sessions', `/v1/accounts/${id}/portal-sessions`, {}));
      assert.deepEqual(tally(sessions), { 201: N });
      const victim = sessions[0].body.id;
      const rs = await all(N, (i) => call('DELETE /v1/portal-sessions/{id}', `/v1/portal-sessions/${victim}`, undefined, i % 2 ? sessions[1].body.token : undefined));
      assert.deepEqual(tally(rs), { 200: N });
      const endpoints = await all(N, (i) => call('POST /v1/webhook-endpoints', '/v1/webhook-endpoints', { url: `http://127.0.0.1:9/hook${i}`, event_types: ['*'] }));
      assert.deepEqual(tally(endpoints), { 201: N });
      const ep = endpoints[0].body.id;
      assert.deepEqual(tally(await all(N, (i) => call('PATCH /v1/webhook-endpoints/{id}', `/v1/webhook-endpoints/${ep}`, { status: i % 2 ? 'enabled' : 'disabled' }))), { 200: N });
      assert.deepEqual(tally(await all(N, () => call('DELETE /v1/webhook-endpoints/{id}', `/v1/webhook-endpoints/${ep}`))), { 204: 1, '404 not_found': N - 1 });
      for (const e of endpoints.slice(1)) await t.api('DELETE', `/v1/webhook-endpoints/${e.body.id}`);
    });

    test('authentication sessions × N on an invoice that needs it: one 201, the rest 409 while it is open', async () => {
      const id = acc.auth;
      const inv = await latestInvoice(t, id);
      assert.equal(inv.status, 'past_due');
      const rs = await all(N, async (i) => call('POST /v1/invoices/{id}/authentication-sessions', `/v1/invoices/${inv.id}/authentication-sessions`, undefined, await caller(id, i)));
      assert.equal(rs.filter((r) => r.status === 201).length, 1, JSON.stringify(tally(rs)));
      for (const r of rs.filter((r) => r.status !== 201)) assert.ok(['attempt_in_flight', 'authentication_not_needed'].includes(r.body.code), r.body.code);
      const after = await latestInvoice(t, id);
      assert.equal(after.attempts.filter((a: any) => a.trigger === 'customer_authentication').length, 1, 'one authentication attempt');
    });

    test('the same gateway event delivered N times at once: processed once', async () => {
      const id = acc.card;
      const pm = (await t.api('GET', `/v1/accounts/${id}/payment-method`)).body;
      const created = Math.floor((await t.now()).getTime() / 1000);
      const payload = JSON.stringify({ id: 'evt_matrix_1', object: 'event', api_version: '2026-01-28.clover', created, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type: 'payment_method.automatically_updated', data: { object: { id: pm.gateway_ref ?? 'pm_unknown', object: 'payment_method', type: 'card', card: { brand: 'visa', last4: '4242', exp_month: 11, exp_year: 2033 } } } });
      const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_matrix_tests_only', timestamp: created });
      const rs = await all(N, () => call('POST /v1/gateway-events', '/v1/gateway-events', payload, null, { 'stripe-signature': signature }));
      const fresh = rs.filter((r) => r.status === 200 && r.body.duplicate === false);
      assert.equal(fresh.length, 1, JSON.stringify(rs.map((r) => [r.status, r.body.duplicate ?? r.body.code])));
      for (const r of rs) assert.ok(r.status === 200 || (r.status === 409 && r.body.code === 'event_in_progress'), JSON.stringify(tally(rs)));
    });

    test('card setup sessions × N (operator and customer): each its own hosted page', async () => {
      const id = acc.plan;
      const rs = await all(N, async (i) => call('POST /v1/accounts/{id}/card-setup-sessions', `/v1/accounts/${id}/card-setup-sessions`, {}, await caller(id, i)));
      assert.deepEqual(tally(rs), { 201: N });
      assert.equal(new Set(rs.map((r) => r.body.id)).size, N);
    });

    test('links revoke, e-mail re-queue and admin keys × N: each a clear answer, done once', async () => {
      const id = acc.plan;
      assert.deepEqual(tally(await all(N, () => call('POST /v1/accounts/{id}/links/revoke', `/v1/accounts/${id}/links/revoke`, {}))), { 200: N });
      const mail = (await t.api('GET', `/v1/notifications?account_id=${id}`)).body.data[0];
      for (const r of await all(N, () => call('POST /v1/notifications/{id}/requeue', `/v1/notifications/${mail.id}/requeue`, {}))) assert.ok(r.status === 200 || r.body.code === 'not_requeueable', JSON.stringify(r.body));
      assert.deepEqual(tally(await all(N, () => call('POST /v1/notifications/requeue-kept', '/v1/notifications/requeue-kept', {}))), { 200: N });
      const keys = await all(N, (i) => call('POST /v1/admin-keys', '/v1/admin-keys', { name: `ops ${i}` }));
      assert.deepEqual(tally(keys), { 201: N });
      const victim = keys[0].body.id;
      assert.deepEqual(tally(await all(N, () => call('DELETE /v1/admin-keys/{id}', `/v1/admin-keys/${victim}`))), { 200: N });
      assert.equal((await t.api('GET', '/v1/accounts', undefined, keys[0].body.key)).status, 401);
    });

    // ---- pairs of different operations on one past-due account ----

    async function runOp(op: PairOp, id: string, who: 'customer' | 'operator', inv: string, retryAt: string): Promise<Answer | null> {
      const auth = who === 'customer' ? await token(id) : undefined;
      switch (op) {
        case 'card':
          return call('PUT /v1/accounts/{id}/payment-method', `/v1/accounts/${id}/payment-method`, card(CARDS.ok), auth);
        case 'retry':
          return call('POST /v1/invoices/{id}/retry', `/v1/invoices/${inv}/retry`, undefined, auth);
        case 'cancel':
          return call('POST /v1/accounts/{id}/subscription/cancel', `/v1/accounts/${id}/subscription/cancel`, { at: 'now' }, auth);
        case 'plan':
          return call('PATCH /v1/accounts/{id}/subscription', `/v1/accounts/${id}/subscription`, { plan_id: 'biz' }, auth);
        case 'help':
          return call('POST /v1/invoices/{id}/help-requests', `/v1/invoices/${inv}/help-requests`, { message: 'my payment?' }, auth);
        case 'clock':
          return call('POST /v1/test-clock/advance', '/v1/test-clock/advance', { to: retryAt });
        case 'worker':
          // The worker's poll: claims what is due (FOR UPDATE SKIP LOCKED) and charges it.
          await t.svc.ctx.engine.drainParallel(2);
          return null;
      }
    }

    for (const pair of PAIRS) {
      const [a, b] = pair;
      test(`${a} × ${b} on an account in grace: the raced account ends as one of the two serial orders leaves it`, async () => {
        const ids = pairAccounts.get(pair.join('×'))!;
        const outcomes: string[] = [];
        for (const [k, id] of ids.entries()) {
          const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
          assert.equal(sub.status, 'past_due');
          const inv = (await latestInvoice(t, id)).id;
          const retryAt = sub.next_action_at as string;
          // The worker runs what is due by now: the clock stands at the account's scheduled retry.
          if (pair.includes('worker')) t.svc.ctx.testClock!.set(new Date(retryAt));
          const run = (op: PairOp) => runOp(op, id, op === a ? 'customer' : 'operator', inv, retryAt);
          if (k === 0) for (const op of pair) await run(op);
          else if (k === 1) for (const op of [b, a]) await run(op);
          else {
            const answers = await Promise.all(pair.map(run));
            // "Busy, try again in a moment": the client does what the problem says, once the other is done.
            for (const [i, r] of answers.entries()) if (r && busy(r)) await run(pair[i]);
          }
          outcomes.push(await summary(t, id));
        }
        const [ab, ba, raced] = outcomes;
        assert.ok(raced === ab || raced === ba, `raced:\n${raced}\nserial ${a}→${b}:\n${ab}\nserial ${b}→${a}:\n${ba}`);
      });
    }

    test('billing details × N (issue 23): each saved whole under the account lock, the last one saved is in force', async () => {
      const id = acc.help;
      const sent = Array.from({ length: N }, (_, i) => ({ name: `Acme ${i}`, address: `${i} rue de la Paix\n75002 Paris`, vat_id: `FR${String(i).padStart(11, '0')}` }));
      // A token of its own: the pairs before moved the clock past the cached ones' lifetime.
      const tok = await portalToken(t, id);
      const rs = await all(N, (i) => call('PUT /v1/accounts/{id}/billing-details', `/v1/accounts/${id}/billing-details`, sent[i], i % 2 ? tok : undefined));
      assert.deepEqual(tally(rs), { 200: N });
      rs.forEach((r, i) => assert.deepEqual(r.body, sent[i], 'each answer shows what its own request saved'));
      const now = (await t.api('GET', `/v1/accounts/${id}/billing-details`)).body;
      assert.ok(sent.some((x) => JSON.stringify(x) === JSON.stringify(now)), `never a mix of two requests: ${JSON.stringify(now)}`);
      assert.equal(await events(id, 'account.billing_details_updated'), N);
    });

    test('backup card saves × N then removals × N (issue 18 item 5): each answer its own card, one backup on file, at most one charge', async () => {
      const id = acc.backup;
      const tok = await portalToken(t, id);
      const rs = await all(N, (i) =>
        call('PUT /v1/accounts/{id}/backup-payment-method', `/v1/accounts/${id}/backup-payment-method`, { type: 'card', card: { number: CARDS.ok, exp_month: i + 1, exp_year: 2032, cvc: '123' }, consent: true }, i % 2 ? tok : undefined),
      );
      assert.deepEqual(tally(rs), { 200: N });
      rs.forEach((r, i) => assert.equal(r.body.exp_month, i + 1, 'an answer shows the card its own request saved'));
      assert.ok(rs.filter((r) => r.body.attempt).length <= 1, 'at most one backup charge for the invoice');
      const on = (await t.api('GET', `/v1/accounts/${id}/backup-payment-method`)).body;
      assert.ok(on.exp_month >= 1 && on.exp_month <= N);
      assert.equal(await events(id, 'payment_method.backup_saved'), N);
      const ds = await all(N, (i) => call('DELETE /v1/accounts/{id}/backup-payment-method', `/v1/accounts/${id}/backup-payment-method`, undefined, i % 2 ? tok : undefined));
      assert.deepEqual(tally(ds), { 204: N });
      assert.equal((await t.api('GET', `/v1/accounts/${id}/backup-payment-method`)).status, 404);
      assert.equal(await events(id, 'payment_method.backup_removed'), 1, 'removed once');
    });

    // ---- operations on everything: the policy, the clock ----

    test('dunning policy × N: each saved and re-planned, the last one saved is in force', async () => {
      const rs = await all(N, (i) => call('PUT /v1/dunning-policy', '/v1/dunning-policy', { manual_retry: { max_per_day: 3 + i } }));
      assert.deepEqual(tally(rs), { 200: N });
      const now = (await t.api('GET', '/v1/dunning-policy')).body.manual_retry.max_per_day;
      assert.ok(now >= 3 && now < 3 + N);
      const scope = '/v1/dunning-policy/overrides/zone:fr';
      assert.deepEqual(tally(await all(N, (i) => call('PUT /v1/dunning-policy/overrides/{scope}', scope, { manual_retry: { max_per_day: 1 + i } }))), { 200: N });
      assert.deepEqual(tally(await all(N, () => call('DELETE /v1/dunning-policy/overrides/{scope}', scope))), { 204: 1, '404 not_found': N - 1 });
    });

    test('clock advance × N: one after the other, the clock moves N hours', async () => {
      const from = await t.now();
      assert.deepEqual(tally(await all(N, () => call('POST /v1/test-clock/advance', '/v1/test-clock/advance', { hours: 1 }))), { 200: N });
      assert.equal((await t.now()).getTime() - from.getTime(), N * 60 * MIN);
    });

    test('every state-changing operation of /openapi.json was raced', () => {
      const missing = stateChangingOperations(doc).filter((op) => !covered.has(op));
      assert.deepEqual(missing, [], 'add these operations to the matrix');
    });

    test('renewd verify, with the sandbox’s charges: no violation', async () => {
      const charges = (await t.sandbox('GET', '/_sandbox/charges')).body.data;
      const report = await verifyInvariants(t.svc.ctx.db, await t.now(), { charges });
      assert.deepEqual(report.violations, []);
      assert.equal(report.checked.gateway_charges, report.checked.paid_invoices);
    });
  });
}
