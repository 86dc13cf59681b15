// Issue 15 item 3: buying back after a downgrade (or a cancel) with the customer's own portal
// token. A new period starts at the purchase (never the gap since the old period ended), the first
// charge is immediate, a decline leaves the account on the free plan, and bad input changes nothing.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '../../src/lib/crypto.ts';
import { startTestService, createPlans, subscribedAccount, card, CARDS, type TestService } from '../helpers/service.ts';
import { charges, portalToken, problemOf } from './helpers.ts';
import { periodOf } from '../../src/core/period.ts';
import { verifyInvariants } from '../../src/engine/verify.ts';

describe('buy back after a downgrade, with a portal token (PGlite)', () => {
  let t: TestService;
  const acc: Record<string, string> = {};
  // Portal sessions expire (the test clock moves days at a time): a fresh token for each call.
  const tk = (k: string) => portalToken(t, acc[k]);

  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
  const access = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/access`)).body;
  const invoices = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/invoices`)).body.data as any[];
  const buy = (id: string, token: string | undefined, plan_id = 'pro', interval = 'month') => t.api('POST', '/v1/subscriptions', { account_id: id, plan_id, interval }, token);
  const liveSubs = async () =>
    (await t.svc.ctx.db.query<{ account_id: string; n: number }>(
      `SELECT account_id, count(*)::int AS n FROM subscriptions s JOIN plans p ON p.id = s.plan_id
        WHERE s.status = 'past_due' OR (s.status = 'active' AND NOT p.free) GROUP BY account_id`,
    ));
  const snapshot = async () =>
    (await t.svc.ctx.db.query<any>(
      `SELECT (SELECT json_agg(s ORDER BY id) FROM subscriptions s) AS subs, (SELECT count(*) FROM invoices)::int AS invoices, (SELECT count(*) FROM payment_attempts)::int AS attempts`,
    ))[0];

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    for (const p of [
      { id: 'business', name: 'Business', prices: [{ currency: 'EUR', interval: 'month', amount: 7900 }, { currency: 'USD', interval: 'month', amount: 8900 }] },
      { id: 'usd_only', name: 'USD only', prices: [{ currency: 'USD', interval: 'month', amount: 1000 }] },
    ]) {
      const r = await t.api('POST', '/v1/plans', p);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    // Accounts whose renewal fails (insufficient funds) and ends in a downgrade, one active, one canceled.
    for (const k of ['restored', 'declined', 'admin', 'other']) acc[k] = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    acc.active = await subscribedAccount(t);
    acc.canceled = await subscribedAccount(t);
    assert.equal((await t.api('PATCH', `/v1/accounts/${acc.canceled}/subscription`, { auto_renew: false })).status, 200);
    await t.advance(31); // Feb 28: the renewals fail (past due), the canceled one ends
    await t.advance(15); // grace (14 days) ended: downgraded
    acc.pastDue = await subscribedAccount(t, { later: CARDS.insufficient_funds });
  });
  after(() => t?.close());

  test('the accounts are where the scenario needs them', async () => {
    for (const k of ['restored', 'declined', 'admin', 'other']) {
      const s = await sub(acc[k]);
      assert.deepEqual([s.status, s.plan_id], ['downgraded', 'free'], k);
    }
    assert.deepEqual([(await sub(acc.canceled)).status, (await sub(acc.canceled)).plan_id], ['canceled', 'free']);
    // The downgrade e-mail says how to come back and links straight to the Restore section.
    const [mail] = await t.svc.ctx.db.query<{ body_text: string }>(`SELECT body_text FROM notifications WHERE account_id = $1 AND template = 'downgraded'`, [acc.restored]);
    // (a no-login link of purpose restore, which lands on /portal#restore: engine/links.ts)
    const token = /\/portal\/links\/(rl_[A-Za-z0-9_-]{32})/.exec(mail.body_text)?.[1];
    assert.ok(token, 'a no-login link');
    const [link] = await t.svc.ctx.db.query<{ purpose: string }>('SELECT purpose FROM customer_links WHERE token_hash = $1', [sha256(token)]);
    assert.equal(link.purpose, 'restore');
    assert.match(mail.body_text, /« Rétablir Pro »/); // fr-FR, the button's own words
    assert.equal((await sub(acc.active)).status, 'active');
  });

  test('GET /v1/plans with a portal token: the plans, with only the prices in the account currency', async () => {
    const r = await t.api('GET', '/v1/plans', undefined, await tk('restored'));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const byId = new Map(r.body.data.map((p: any) => [p.id, p]));
    assert.deepEqual([...byId.keys()].sort(), ['business', 'free', 'pro']); // usd_only has no EUR price
    assert.deepEqual((byId.get('pro') as any).prices, [
      { currency: 'EUR', interval: 'month', amount: 2900 },
      { currency: 'EUR', interval: 'year', amount: 29000 },
    ]);
    // The operator still sees every plan and price; no token at all is 401.
    const all = await t.api('GET', '/v1/plans');
    assert.equal(all.body.data.find((p: any) => p.id === 'pro').prices.length, 4);
    assert.ok(all.body.data.some((p: any) => p.id === 'usd_only'));
    assert.equal((await t.api('GET', '/v1/plans', undefined, null)).status, 401);
  });

  test('buy back with the own token after a downgrade: paid, active, a new period from now, charged once', async () => {
    const id = acc.restored;
    assert.equal((await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok), await tk('restored'))).status, 200);
    const before = await charges(t, id);
    const now = await t.now();
    const r = await buy(id, await tk('restored'));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const p = periodOf(now, 0, 'month', 'Europe/Paris');
    assert.deepEqual([r.body.status, r.body.plan_id, r.body.interval, r.body.auto_renew], ['active', 'pro', 'month', true]);
    assert.equal(r.body.current_period_start, now.toISOString());
    assert.equal(r.body.current_period_end, p.end.toISOString());
    assert.deepEqual(await access(id), { plan_id: 'pro', paid: true, reason: 'active', until: p.end.toISOString() });
    const after = await charges(t, id);
    assert.equal(after.length, before.length + 1);
    const [inv] = await invoices(id);
    assert.deepEqual([inv.kind, inv.status, inv.amount, inv.period_start, inv.attempts.length, inv.attempts[0].trigger], ['purchase', 'paid', 2900, now.toISOString(), 1, 'initial']);
    // The unpaid renewal of the old period stays closed: it is never charged.
    assert.ok((await invoices(id)).some((i) => i.kind === 'renewal' && i.status === 'uncollectible'));
    assert.deepEqual(await liveSubs().then((l) => l.filter((x) => x.account_id === id).map((x) => x.n)), [1]);
  });

  test('a declined card: 402 with the reason, still on the free plan, no live subscription, nothing left open', async () => {
    const id = acc.declined; // still the insufficient-funds card
    const r = await buy(id, await tk('declined'));
    problemOf(r, 402, 'payment_failed');
    assert.equal(r.body.reason, 'insufficient_funds');
    const s = await sub(id);
    assert.deepEqual([s.status, s.plan_id, s.next_action_at], ['downgraded', 'free', null]);
    assert.deepEqual(await access(id), { plan_id: 'free', paid: false, reason: 'free', until: null });
    const [inv] = await invoices(id);
    assert.deepEqual([inv.kind, inv.status, inv.attempts[0].outcome], ['purchase', 'void', 'declined']);
    assert.equal((await invoices(id)).filter((i) => i.status === 'open' || i.status === 'past_due').length, 0);
    assert.equal((await liveSubs()).filter((x) => x.account_id === id).length, 0);
    // Nothing is scheduled for it: the clock moving on charges nothing more.
    const n = (await t.svc.ctx.db.query<any>('SELECT count(*)::int AS n FROM payment_attempts WHERE account_id = $1', [id]))[0].n;
    await t.advance(3);
    assert.equal((await t.svc.ctx.db.query<any>('SELECT count(*)::int AS n FROM payment_attempts WHERE account_id = $1', [id]))[0].n, n);
    // A good card then buys it back.
    assert.equal((await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok), await tk('declined'))).status, 200);
    assert.equal((await buy(id, await tk('declined'), 'business')).status, 201);
    assert.deepEqual([(await sub(id)).status, (await sub(id)).plan_id], ['active', 'business']);
  });

  test('another account’s id with a customer token: 404, and nothing changes', async () => {
    const before = await snapshot();
    const r = await buy(acc.other, await tk('restored'));
    problemOf(r, 404, 'not_found');
    assert.deepEqual(await snapshot(), before);
    assert.equal((await sub(acc.other)).status, 'downgraded');
  });

  test('the admin key still buys back any account', async () => {
    assert.equal((await t.api('PUT', `/v1/accounts/${acc.admin}/payment-method`, card(CARDS.ok))).status, 200);
    const r = await buy(acc.admin, undefined);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.status, 'active');
  });

  test('after a cancel (auto-renew off): bought back, and it renews again', async () => {
    const r = await buy(acc.canceled, await tk('canceled'), 'pro', 'year');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual([r.body.status, r.body.plan_id, r.body.interval, r.body.auto_renew], ['active', 'pro', 'year', true]);
  });

  test('a live subscription (active or past due): 409 already_subscribed, nothing changes', async () => {
    await t.advance(31); // acc.pastDue's renewal fails
    assert.equal((await sub(acc.pastDue)).status, 'past_due');
    for (const k of ['active', 'pastDue']) {
      const before = await snapshot();
      const r = await buy(acc[k], await tk(k), 'business');
      problemOf(r, 409, 'already_subscribed');
      assert.deepEqual(await snapshot(), before, k);
    }
  });

  test('bad input: unknown plan, the free plan, no price in the account currency, no card — a problem, nothing changes', async () => {
    const id = acc.other;
    const before = await snapshot();
    problemOf(await buy(id, await tk('other'), 'nope'), 404, 'unknown_plan');
    problemOf(await buy(id, await tk('other'), 'free'), 400, 'free_plan');
    problemOf(await buy(id, await tk('other'), 'usd_only'), 400, 'no_price');
    problemOf(await buy(id, await tk('other'), 'business', 'year'), 400, 'no_price');
    problemOf(await t.api('POST', '/v1/subscriptions', { account_id: id, plan_id: 'pro' }, await tk('other')), 400, 'validation_error');
    assert.deepEqual(await snapshot(), before);
    // An account with no card at all.
    const fresh = (await t.api('POST', '/v1/accounts', { name: 'N', email: 'n@example.com', locale: 'en', domain_zone: 'com', currency: 'EUR' })).body.id;
    problemOf(await buy(fresh, await portalToken(t, fresh)), 409, 'no_payment_method');
    assert.equal((await t.api('GET', `/v1/accounts/${fresh}/subscription`)).status, 404);
  });

  test('no answer from the gateway: 503 payment_pending, a second press is 409 purchase_in_progress, the charge is reconciled by its key', async () => {
    const id = acc.other;
    assert.equal((await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok), await tk('other'))).status, 200);
    const before = await charges(t, id);
    // The sandbox charges, then answers 500: the outcome is unknown to renewd.
    assert.equal((await t.sandbox('POST', '/_sandbox/faults', { errors: { next: 1, phase: 'after' } })).status, 200);
    const r = await buy(id, await tk('other'));
    problemOf(r, 503, 'payment_pending');
    // Pressed again while the first is unsettled: refused, no second charge.
    problemOf(await buy(id, await tk('other')), 409, 'purchase_in_progress');
    assert.equal((await invoices(id)).filter((i) => i.kind === 'purchase' && i.status === 'open').length, 1);
    // The engine looks the charge up by its key after the lease: paid once, active.
    await t.api('POST', '/v1/test-clock/advance', { hours: 0.1 });
    const s = await sub(id);
    assert.deepEqual([s.status, s.plan_id], ['active', 'pro']);
    assert.equal((await charges(t, id)).length, before.length + 1);
    assert.equal((await liveSubs()).filter((x) => x.account_id === id).length, 1);
  });

  test('restored: the next renewal follows the new period, no charge for the gap, and verify finds nothing', async () => {
    const id = acc.restored;
    const buyBack = (await invoices(id)).find((i) => i.kind === 'purchase' && i.status === 'paid' && i.period_start > '2026-03-01')!;
    if ((await t.now()).toISOString() < buyBack.period_end) await t.advanceTo(buyBack.period_end);
    const invs = await invoices(id);
    assert.ok(invs.some((i) => i.kind === 'renewal' && i.status === 'paid' && i.period_start === buyBack.period_end), JSON.stringify(invs));
    // The gap: from the end of the last paid period before the downgrade to the buy-back.
    const gapStart = '2026-02-28T09:00:00.000Z';
    const paid = invs.filter((i) => i.status === 'paid');
    for (const i of paid) assert.ok(i.period_end <= gapStart || i.period_start >= buyBack.period_start, `charged for the gap: ${JSON.stringify(i)}`);
    // Money that moved at the PSP is exactly the paid invoices.
    assert.deepEqual((await charges(t, id)).map((c) => c.amount).sort(), paid.map((i) => i.amount).sort());
    const report = await verifyInvariants(t.svc.ctx.db, await t.now());
    assert.deepEqual(report.violations, []);
  });
});
