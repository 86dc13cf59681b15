// Issue 5, Idempotency-Key: the same request sent twice with the same key gets the first answer
// again (Idempotent-Replayed: true) and moves money once; the same key with another request is
// refused (422); a duplicate that arrives while the first is running gets 409.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, card, CARDS, type TestService } from '../helpers/service.ts';
import { charges, latestInvoice, portalToken, problemOf, scriptNextCharges } from './helpers.ts';

describe('Idempotency-Key', () => {
  let t: TestService;
  let past: string, past2: string, concurrent: string;

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    past = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    past2 = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    concurrent = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
  });
  after(() => t?.close());

  const key = (k: string) => ({ 'idempotency-key': k });

  test('POST /v1/subscriptions: replayed with the same key, charged once; another body with the key is 422', async () => {
    const acc = (await t.api('POST', '/v1/accounts', { name: 'Idem', email: 'idem@example.com', locale: 'en-GB', domain_zone: 'uk', currency: 'EUR' })).body.id;
    assert.equal((await t.api('PUT', `/v1/accounts/${acc}/payment-method`, card(CARDS.ok))).status, 200);
    const body = { account_id: acc, plan_id: 'pro', interval: 'month' };
    const first = await t.api('POST', '/v1/subscriptions', body, undefined, key('sub-1'));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await t.api('POST', '/v1/subscriptions', { interval: 'month', plan_id: 'pro', account_id: acc }, undefined, key('sub-1')); // same body, other order
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    const moved = await charges(t, acc);
    assert.equal(moved.length, 1);
    assert.equal(moved[0].amount, 2900);

    const other = await t.api('POST', '/v1/subscriptions', { ...body, interval: 'year' }, undefined, key('sub-1'));
    problemOf(other, 422, 'idempotency_key_reused');
    // Without the key (or with a new one) the request is made again, and refused on its merits.
    problemOf(await t.api('POST', '/v1/subscriptions', body, undefined, key('sub-2')), 409, 'already_subscribed');
    assert.equal((await charges(t, acc)).length, 1);
  });

  test('POST /v1/invoices/{id}/retry (customer): the replay answers the same without a second attempt or charge', async () => {
    const tok = await portalToken(t, past);
    const inv = await latestInvoice(t, past);
    await scriptNextCharges(t, past, 'succeed');
    const first = await t.api('POST', `/v1/invoices/${inv.id}/retry`, undefined, tok, key('retry-1'));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.outcome, 'succeeded');
    const attempts = (await latestInvoice(t, past)).attempts.length;
    for (let i = 0; i < 2; i++) {
      const replay = await t.api('POST', `/v1/invoices/${inv.id}/retry`, undefined, tok, key('retry-1'));
      assert.equal(replay.status, 200);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(replay.body, first.body);
    }
    assert.equal((await latestInvoice(t, past)).attempts.length, attempts);
    assert.equal((await charges(t, past)).filter((c) => c.metadata.renewd_invoice === inv.id).length, 1);
    // The same key on another invoice is another request.
    const purchase = (await t.api('GET', `/v1/accounts/${past}/invoices`, undefined, tok)).body.data.at(-1);
    problemOf(await t.api('POST', `/v1/invoices/${purchase.id}/retry`, undefined, tok, key('retry-1')), 422, 'idempotency_key_reused');
  });

  test('a refusal is kept and replayed too (409 retry_unavailable)', async () => {
    const tok = await portalToken(t, past);
    const purchase = (await t.api('GET', `/v1/accounts/${past}/invoices`, undefined, tok)).body.data.at(-1);
    const first = await t.api('POST', `/v1/invoices/${purchase.id}/retry`, undefined, tok, key('retry-paid'));
    problemOf(first, 409, 'retry_unavailable');
    const replay = await t.api('POST', `/v1/invoices/${purchase.id}/retry`, undefined, tok, key('retry-paid'));
    problemOf(replay, 409, 'retry_unavailable');
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.body, first.body);
  });

  test('PUT payment-method (customer): replayed without attaching the card again, whatever card is sent with the key; a token with it is 422', async () => {
    const tok = await portalToken(t, past2);
    const body = card('5555555555554444');
    const first = await t.api('PUT', `/v1/accounts/${past2}/payment-method`, body, tok, key('pm-1'));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.last4, '4444');
    const count = async () => (await t.svc.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM payment_methods WHERE account_id = $1', [past2]))[0].n;
    const n = await count();
    const replay = await t.api('PUT', `/v1/accounts/${past2}/payment-method`, body, tok, key('pm-1'));
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.body, first.body);
    assert.equal(await count(), n);
    // The card update recovered the invoice once.
    assert.equal(first.body.attempt.outcome, 'succeeded');
    assert.equal((await charges(t, past2)).length, 2);
    // Card data is not part of the fingerprint (issue 16): another card with the same key is the
    // same request, and replays the first answer (its last4 names the card saved)…
    const otherCard = await t.api('PUT', `/v1/accounts/${past2}/payment-method`, card(CARDS.ok), tok, key('pm-1'));
    assert.equal(otherCard.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(otherCard.body, first.body);
    // …while another kind of request (a token) with it is refused.
    problemOf(await t.api('PUT', `/v1/accounts/${past2}/payment-method`, { type: 'card', token: 'pm_other' }, tok, key('pm-1')), 422, 'idempotency_key_reused');
    assert.equal(await count(), n);
    // Keys belong to their caller: the operator's same key is another request.
    assert.equal((await t.api('PUT', `/v1/accounts/${past2}/payment-method`, card(CARDS.ok), undefined, key('pm-1'))).status, 200);
  });

  test('help requests: the replay gives the same id and opens nothing new', async () => {
    const tok = await portalToken(t, past2);
    const inv = (await t.api('GET', `/v1/accounts/${past2}/invoices`, undefined, tok)).body.data[0];
    const first = await t.api('POST', `/v1/invoices/${inv.id}/help-requests`, { message: 'double click' }, tok, key('help-1'));
    assert.equal(first.status, 201);
    const replay = await t.api('POST', `/v1/invoices/${inv.id}/help-requests`, { message: 'double click' }, tok, key('help-1'));
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.body.id, first.body.id);
    const mine = (await t.api('GET', `/v1/accounts/${past2}/help-requests`, undefined, tok)).body.data;
    assert.equal(mine.length, 1);
    problemOf(await t.api('POST', `/v1/invoices/${inv.id}/help-requests`, { message: 'other text' }, tok, key('help-1')), 422, 'idempotency_key_reused');
  });

  test('a duplicate sent while the first is still running gets 409, and money moves once', async () => {
    const tok = await portalToken(t, concurrent);
    const inv = await latestInvoice(t, concurrent);
    await scriptNextCharges(t, concurrent, 'succeed');
    // The gateway answers slowly, so the first request is still running when the second arrives.
    assert.equal((await t.sandbox('POST', '/_sandbox/faults', { latencyMs: 400 })).status, 200);
    try {
      const send = () => t.api('POST', `/v1/invoices/${inv.id}/retry`, undefined, tok, key('dup-1'));
      const first = send();
      const rs = await Promise.all([first, send()]);
      const statuses = rs.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 409], JSON.stringify(rs.map((r) => r.body)));
      const dup = rs.find((r) => r.status === 409)!;
      problemOf(dup, 409, 'conflict');
    } finally {
      await t.sandbox('DELETE', '/_sandbox/faults');
    }
    // Once done, the same key replays the answer.
    const replay = await t.api('POST', `/v1/invoices/${inv.id}/retry`, undefined, tok, key('dup-1'));
    assert.equal(replay.status, 200);
    assert.equal(replay.body.outcome, 'succeeded');
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal((await charges(t, concurrent)).filter((c) => c.metadata.renewd_invoice === inv.id).length, 1);
  });

  test('a malformed key is refused; the request hash is kept, never the body (no card number at rest)', async () => {
    const tok = await portalToken(t, past2);
    problemOf(await t.api('PUT', `/v1/accounts/${past2}/payment-method`, card(CARDS.ok), tok, key('x'.repeat(256))), 400, 'validation_error');
    const rows = await t.svc.ctx.db.query<{ request_hash: string; body: unknown }>('SELECT request_hash, body FROM idempotent_requests');
    assert.ok(rows.length >= 5);
    const text = JSON.stringify(rows);
    assert.ok(!text.includes('5555555555554444') && !text.includes('4242424242424242'));
    for (const r of rows) assert.match(r.request_hash, /^[0-9a-f]{64}$/);
  });

  // Issue 17, item 3: honoured on every /v1 request that changes something, or refused with a
  // clear problem where an answer cannot be kept; never silently ignored.
  test('two POST /v1/accounts with the same key create one account; POST /v1/plans and /v1/webhook-endpoints replay too', async () => {
    const count = async () => (await t.svc.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM accounts'))[0].n;
    const before = await count();
    const body = { name: 'Twice', email: 'twice@example.com', locale: 'en-GB', domain_zone: 'uk', currency: 'EUR' };
    const first = await t.api('POST', '/v1/accounts', body, undefined, key('acct-1'));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const again = await t.api('POST', '/v1/accounts', body, undefined, key('acct-1'));
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, first.body.id);
    assert.equal(await count(), before + 1);
    problemOf(await t.api('POST', '/v1/accounts', { ...body, name: 'Other' }, undefined, key('acct-1')), 422, 'idempotency_key_reused');
    // Without a key, the same body is another account (nothing says it is a retry).
    assert.notEqual((await t.api('POST', '/v1/accounts', body)).body.id, first.body.id);

    const plan = { id: 'idem-plan', name: 'Idem', prices: [{ currency: 'EUR', interval: 'month', amount: 100 }] };
    assert.equal((await t.api('POST', '/v1/plans', plan, undefined, key('plan-1'))).status, 201);
    const planAgain = await t.api('POST', '/v1/plans', plan, undefined, key('plan-1'));
    assert.deepEqual([planAgain.status, planAgain.headers.get('idempotent-replayed')], [201, 'true']);
    problemOf(await t.api('POST', '/v1/plans', plan), 409, 'plan_exists');

    const ep = { url: 'http://127.0.0.1:9/idem', event_types: ['*'] };
    const e1 = await t.api('POST', '/v1/webhook-endpoints', ep, undefined, key('we-1'));
    const e2 = await t.api('POST', '/v1/webhook-endpoints', ep, undefined, key('we-1'));
    assert.deepEqual([e1.status, e2.status, e2.body.id], [201, 201, e1.body.id]);
    assert.equal((await t.api('GET', '/v1/webhook-endpoints')).body.data.filter((e: any) => e.url === ep.url).length, 1);
  });

  test('refused with 400 idempotency_key_not_supported where the answer shows a secret once, or the gateway deduplicates; documented per operation', async () => {
    const refused = await t.api('POST', `/v1/accounts/${past}/portal-sessions`, {}, undefined, key('ps-1'));
    problemOf(refused, 400, 'idempotency_key_not_supported');
    assert.match(refused.body.detail, /token once/);
    problemOf(await t.api('POST', '/v1/admin-keys', { name: 'idem' }, undefined, key('ak-1')), 400, 'idempotency_key_not_supported');
    assert.equal((await t.api('GET', '/v1/admin-keys')).body.data.filter((k: any) => k.name === 'idem').length, 0);
    // Without the key they work as ever.
    assert.equal((await t.api('POST', `/v1/accounts/${past}/portal-sessions`, {})).status, 201);

    const doc = (await t.api('GET', '/openapi.json', undefined, null)).body;
    const refusedOps: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths))
      for (const [method, op] of Object.entries<any>(item)) {
        if (method === 'get') continue;
        const h = op.parameters?.find((p: any) => p.in === 'header' && p.name === 'idempotency-key');
        assert.ok(h, `${method} ${path}: Idempotency-Key documented`);
        if (/Not supported here/.test(h.description ?? h.schema?.description ?? '')) refusedOps.push(`${method.toUpperCase()} ${path}`);
        else assert.ok(op.responses['422'], `${method} ${path}: 422 idempotency_key_reused`);
      }
    assert.deepEqual(refusedOps.sort(), ['POST /v1/accounts/{id}/portal-sessions', 'POST /v1/admin-keys', 'POST /v1/gateway-events']);
  });
});
