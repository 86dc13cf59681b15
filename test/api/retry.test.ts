// Issue 5, Retry through customer tokens, on the PostgreSQL server: every availability rule
// (not past due, domain zone, payment-method type, attempt in flight, per-day limit, network cap,
// card that must change), the result e-mailed, and full recoveries by Retry and by a card update.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, card, CARDS, type TestService } from '../helpers/service.ts';
import { CommandError } from '../../src/core/errors.ts';
import { newId } from '../../src/store/ids.ts';
import { charges, latestInvoice, portalToken, problemOf, scriptNextCharges, templates } from './helpers.ts';

describe('Retry and recovery through customer tokens (PostgreSQL)', () => {
  let t: TestService;
  const acc: Record<string, string> = {};

  before(async () => {
    t = await startTestService({ engine: 'postgres' });
    await createPlans(t);
    acc.active = await subscribedAccount(t);
    for (const k of ['zone', 'pmType', 'inFlight', 'limit', 'cap', 'byRetry']) {
      acc[k] = await subscribedAccount(t, { later: CARDS.insufficient_funds, ...(k === 'zone' ? { domain_zone: 'de', locale: 'de-DE', time_zone: 'Europe/Berlin' } : {}) });
    }
    acc.lost = await subscribedAccount(t, { later: CARDS.lost });
    acc.expired = await subscribedAccount(t, { later: CARDS.expired });
    await t.advance(31); // the renewals fail: every account but `active` is past due
  });
  after(() => t?.close());

  const retry = (invoiceId: string, token: string) => t.api('POST', `/v1/invoices/${invoiceId}/retry`, undefined, token);

  test('the failed renewals are past due, and Retry is offered', async () => {
    for (const k of ['zone', 'pmType', 'inFlight', 'limit', 'cap', 'byRetry']) {
      const inv = await latestInvoice(t, acc[k]);
      assert.equal(inv.status, 'past_due', k);
      assert.deepEqual(inv.retry, { available: true, reason: null }, k);
    }
  });

  test('not past due: a paid invoice offers no Retry, and pressing it answers 409 invoice_not_past_due', async () => {
    const tok = await portalToken(t, acc.active);
    const inv = (await t.api('GET', `/v1/accounts/${acc.active}/invoices`, undefined, tok)).body.data[0];
    assert.equal(inv.status, 'paid');
    assert.deepEqual(inv.retry, { available: false, reason: 'invoice_not_past_due' });
    const r = await retry(inv.id, tok);
    problemOf(r, 409, 'retry_unavailable');
    assert.equal(r.body.reason, 'invoice_not_past_due');
    assert.ok(r.body.detail.length > 0);
  });

  test('domain zone excluded by PUT /v1/dunning-policy manual_retry.disabled_domain_zones', async () => {
    const put = await t.api('PUT', '/v1/dunning-policy', { manual_retry: { disabled_domain_zones: ['de'] } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    try {
      const tok = await portalToken(t, acc.zone);
      const inv = await latestInvoice(t, acc.zone);
      assert.deepEqual(inv.retry, { available: false, reason: 'domain_zone_excluded' });
      const r = await retry(inv.id, tok);
      problemOf(r, 409, 'retry_unavailable');
      assert.equal(r.body.reason, 'domain_zone_excluded');
      // Another zone is not affected.
      assert.deepEqual((await latestInvoice(t, acc.limit)).retry, { available: true, reason: null });
      assert.equal((await latestInvoice(t, acc.zone)).attempts.filter((a) => a.trigger === 'customer_retry').length, 0);
    } finally {
      assert.equal((await t.api('PUT', '/v1/dunning-policy', {})).status, 200);
    }
    assert.deepEqual((await latestInvoice(t, acc.zone)).retry, { available: true, reason: null });
  });

  test('payment-method type excluded by manual_retry.disabled_payment_methods', async () => {
    assert.equal((await t.api('PUT', '/v1/dunning-policy', { manual_retry: { disabled_payment_methods: ['card'] } })).status, 200);
    try {
      const tok = await portalToken(t, acc.pmType);
      const inv = await latestInvoice(t, acc.pmType);
      assert.deepEqual(inv.retry, { available: false, reason: 'payment_method_excluded' });
      const r = await retry(inv.id, tok);
      problemOf(r, 409, 'retry_unavailable');
      assert.equal(r.body.reason, 'payment_method_excluded');
    } finally {
      assert.equal((await t.api('PUT', '/v1/dunning-policy', {})).status, 200);
    }
  });

  test('attempt in flight: the purchase history says so, Retry answers 409 (HTTP and commands)', async () => {
    const inv = await latestInvoice(t, acc.inFlight);
    const db = t.svc.ctx.db;
    const [pm] = await db.query<{ id: string }>(`SELECT id FROM payment_methods WHERE account_id = $1 AND status = 'active'`, [acc.inFlight]);
    const [{ n }] = await db.query<{ n: number }>('SELECT max(number)::int AS n FROM payment_attempts WHERE invoice_id = $1', [inv.id]);
    // An attempt committed before its gateway call, whose answer has not come back yet.
    const attemptId = newId('att');
    await db.query(
      `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, amount, currency, created_at)
       VALUES ($1, $2, $3, $4, $5, 'scheduled', $6, 'pending', $7, 'EUR', $8)`,
      [attemptId, inv.id, acc.inFlight, pm.id, n + 1, `test-in-flight:${inv.id}`, inv.amount, await t.now()],
    );
    try {
      const tok = await portalToken(t, acc.inFlight);
      assert.deepEqual((await latestInvoice(t, acc.inFlight)).retry, { available: false, reason: 'attempt_in_flight' });
      const r = await retry(inv.id, tok);
      problemOf(r, 409, 'retry_unavailable');
      assert.equal(r.body.reason, 'attempt_in_flight');
      await assert.rejects(t.svc.ctx.commands.retry(inv.id, 'customer_retry'), (e: unknown) => e instanceof CommandError && e.kind === 'conflict' && e.extra.reason === 'attempt_in_flight');
      assert.equal((await charges(t, acc.inFlight)).length, 1); // only the purchase: nothing charged
    } finally {
      await db.query('DELETE FROM payment_attempts WHERE id = $1', [attemptId]);
    }
  });

  test('rate limit: three Retries a day, each answered and e-mailed; the fourth is 409 rate_limited', async () => {
    const tok = await portalToken(t, acc.limit);
    const inv = await latestInvoice(t, acc.limit);
    for (let i = 0; i < 3; i++) {
      const r = await retry(inv.id, tok);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { outcome: 'declined', reason: 'insufficient_funds', invoice_status: 'past_due' });
    }
    const fourth = await retry(inv.id, tok);
    problemOf(fourth, 409, 'retry_unavailable');
    assert.equal(fourth.body.reason, 'rate_limited');
    const after = await latestInvoice(t, acc.limit);
    assert.deepEqual(after.retry, { available: false, reason: 'rate_limited' });
    assert.equal(after.attempts.filter((a) => a.trigger === 'customer_retry').length, 3);
    // Each result was e-mailed as well as shown.
    assert.equal((await templates(t, acc.limit)).filter((x) => x === 'retry_failed').length, 3);
  });

  test('network cap: a card at its decline cap cannot be retried (409 network_cap)', async () => {
    assert.equal((await t.api('PUT', '/v1/dunning-policy', { caps: { declines_per_card_24h: 1 } })).status, 200);
    try {
      const tok = await portalToken(t, acc.cap);
      const inv = await latestInvoice(t, acc.cap);
      assert.deepEqual(inv.retry, { available: false, reason: 'network_cap' });
      const r = await retry(inv.id, tok);
      problemOf(r, 409, 'retry_unavailable');
      assert.equal(r.body.reason, 'network_cap');
    } finally {
      assert.equal((await t.api('PUT', '/v1/dunning-policy', {})).status, 200);
    }
  });

  test('a lost card and an expired card need a new payment method; a card update then recovers the invoice', async () => {
    for (const [k, reason] of [['lost', 'declined_by_bank'], ['expired', 'card_expired_or_inactive']] as const) {
      const id = acc[k];
      const tok = await portalToken(t, id);
      const inv = await latestInvoice(t, id);
      assert.equal(inv.status, 'past_due');
      assert.equal(inv.attempts[0].reason, reason, k);
      assert.deepEqual(inv.retry, { available: false, reason: 'needs_new_payment_method' }, k);
      const r = await retry(inv.id, tok);
      problemOf(r, 409, 'retry_unavailable');
      assert.equal(r.body.reason, 'needs_new_payment_method');
      assert.equal((await charges(t, id)).length, 1, k);

      // Full recovery by card update, with the customer's token.
      const put = await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok), tok);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.last4, '4242');
      assert.deepEqual(put.body.attempt, { outcome: 'succeeded', reason: null });
      assert.equal((await latestInvoice(t, id)).status, 'paid');
      const sub = (await t.api('GET', `/v1/accounts/${id}/subscription`, undefined, tok)).body;
      assert.equal(sub.status, 'active');
      assert.equal(sub.grace_ends_at, null);
      assert.equal((await t.api('GET', `/v1/accounts/${id}/access`, undefined, tok)).body.reason, 'active');
      const moved = await charges(t, id);
      assert.equal(moved.length, 2, k); // the purchase and the recovered renewal, once
      assert.equal(moved.filter((c) => c.metadata.renewd_invoice === inv.id).length, 1);
      assert.ok((await templates(t, id)).includes('retry_succeeded'), k);
    }
  });

  test('full recovery by Retry: the customer presses Retry once funds are back; paid, e-mailed, charged once', async () => {
    const id = acc.byRetry;
    const tok = await portalToken(t, id);
    const inv = await latestInvoice(t, id);
    await scriptNextCharges(t, id, 'succeed');
    const r = await retry(inv.id, tok);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { outcome: 'succeeded', reason: null, invoice_status: 'paid' });
    const after = await latestInvoice(t, id);
    assert.equal(after.status, 'paid');
    assert.equal(after.attempts.at(-1).trigger, 'customer_retry');
    assert.deepEqual(after.retry, { available: false, reason: 'invoice_not_past_due' });
    assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`, undefined, tok)).body.status, 'active');
    assert.ok((await templates(t, id)).includes('retry_succeeded'));
    assert.equal((await charges(t, id)).filter((c) => c.metadata.renewd_invoice === inv.id).length, 1);
    // Pressing it again changes nothing.
    const again = await retry(inv.id, tok);
    problemOf(again, 409, 'retry_unavailable');
    assert.equal(again.body.reason, 'invoice_not_past_due');
    assert.equal((await charges(t, id)).length, 2);
  });

  test('the per-day limit is a rolling day: a day later the customer may retry again', async () => {
    await t.advance(1.01);
    const tok = await portalToken(t, acc.limit);
    const inv = await latestInvoice(t, acc.limit);
    assert.equal(inv.status, 'past_due');
    assert.deepEqual(inv.retry, { available: true, reason: null });
    const r = await retry(inv.id, tok);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.outcome, 'declined');
  });
});
