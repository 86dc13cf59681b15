// Issue 17, item 1: what a GET answers, the matching PUT (or PATCH) takes back unchanged — the
// usual way to script or version a resource is read, edit, write. Every GET/PUT and GET/PATCH pair
// of /openapi.json is exercised: the answer sent back as it is changes nothing, and an edited one
// changes what was edited. A pair added to the document without a case here fails the first test.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, type TestService } from '../helpers/service.ts';
import { problemOf } from './helpers.ts';

/** Members an update may move by itself (when it was written), left out of "unchanged". */
const VOLATILE = new Set(['updated_at']);
const stable = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !VOLATILE.has(k)));

describe('GET → PUT/PATCH round trip', () => {
  let t: TestService;
  let account: string;
  let endpoint: string;

  /** Per document path: the concrete path to try, and an edit of the GET answer with what it must change. */
  const cases: Record<string, () => { path: string; edit: (b: any) => void; check: (after: any) => void }> = {
    '/v1/dunning-policy': () => ({
      path: '/v1/dunning-policy',
      edit: (b) => Object.assign(b, { grace_days: 20, backup_after_failures: 3 }),
      check: (a) => assert.deepEqual([a.grace_days, a.backup_after_failures], [20, 3]),
    }),
    '/v1/dunning-policy/overrides/{scope}': () => ({
      path: '/v1/dunning-policy/overrides/zone:fr',
      edit: (b) => (b.override.retry_schedule = [1, 2]),
      check: (a) => assert.deepEqual([a.override.retry_schedule, a.effective.retry_schedule], [[1, 2], [1, 2]]),
    }),
    '/v1/accounts/{id}/payment-method': () => ({
      path: `/v1/accounts/${account}/payment-method`,
      // A new card is the only edit: the rest is what the gateway says about the card on file.
      edit: (b) => (b.card = { number: '5555555555554444', exp_month: 6, exp_year: 2031, cvc: '123' }),
      check: (a) => assert.deepEqual([a.brand, a.last4, a.exp_month, a.exp_year], ['mastercard', '4444', 6, 2031]),
    }),
    '/v1/accounts/{id}/backup-payment-method': () => ({
      path: `/v1/accounts/${account}/backup-payment-method`,
      // A new card (with the customer's consent) is the only edit.
      edit: (b) => Object.assign(b, { card: { number: '5555555555554444', exp_month: 7, exp_year: 2032, cvc: '123' }, consent: true }),
      check: (a) => assert.deepEqual([a.role, a.brand, a.last4, a.exp_month, a.exp_year], ['backup', 'mastercard', '4444', 7, 2032]),
    }),
    '/v1/accounts/{id}/subscription': () => ({
      path: `/v1/accounts/${account}/subscription`,
      edit: (b) => (b.auto_renew = false),
      check: (a) => assert.deepEqual([a.auto_renew, a.cancel_at_period_end, a.status], [false, true, 'active']),
    }),
    '/v1/accounts/{id}/billing-details': () => ({
      path: `/v1/accounts/${account}/billing-details`,
      edit: (b) => Object.assign(b, { name: 'Acme SAS', vat_id: 'FR40303265045' }),
      check: (a) => assert.deepEqual([a.name, a.vat_id], ['Acme SAS', 'FR40303265045']),
    }),
    '/v1/webhook-endpoints/{id}': () => ({
      path: `/v1/webhook-endpoints/${endpoint}`,
      edit: (b) => (b.event_types = ['invoice.*']),
      check: (a) => assert.deepEqual(a.event_types, ['invoice.*']),
    }),
  };

  let pairs: { path: string; write: string }[];
  before(async () => {
    t = await startTestService();
    await createPlans(t);
    account = await subscribedAccount(t);
    const backup = await t.api('PUT', `/v1/accounts/${account}/backup-payment-method`, { type: 'card', card: { number: '4242424242424242', exp_month: 1, exp_year: 2031, cvc: '123' }, consent: true });
    assert.equal(backup.status, 200, JSON.stringify(backup.body));
    const ov = await t.api('PUT', '/v1/dunning-policy/overrides/zone:fr', { retry_schedule: [1, 3], manual_retry: { max_per_day: 1 } });
    assert.equal(ov.status, 200, JSON.stringify(ov.body));
    const ep = await t.api('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', event_types: ['*'], description: 'sync job' });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    endpoint = ep.body.id;
    const doc = (await t.api('GET', '/openapi.json', undefined, null)).body;
    pairs = Object.entries<any>(doc.paths).flatMap(([path, item]) => (item.get ? ['put', 'patch'].filter((m) => item[m]).map((m) => ({ path, write: m.toUpperCase() })) : []));
  });
  after(() => t?.close());

  test('every GET/PUT and GET/PATCH pair of the document has a case here', () => {
    assert.ok(pairs.length >= 5, JSON.stringify(pairs));
    assert.deepEqual(pairs.map((p) => p.path).filter((p) => !cases[p]), []);
  });

  test('the answer of the GET sent back unchanged is accepted and changes nothing; an edited one changes what was edited', async () => {
    for (const { path: docPath, write } of pairs) {
      const c = cases[docPath]();
      const before = await t.api('GET', c.path);
      assert.equal(before.status, 200, `${docPath}: ${JSON.stringify(before.body)}`);
      const same = await t.api(write, c.path, before.body);
      assert.equal(same.status, 200, `${write} ${docPath} unchanged: ${JSON.stringify(same.body)}`);
      const again = await t.api('GET', c.path);
      assert.deepEqual(stable(again.body), stable(before.body), `${docPath}: nothing changed`);
      const edited = structuredClone(before.body);
      c.edit(edited);
      const changed = await t.api(write, c.path, edited);
      assert.equal(changed.status, 200, `${write} ${docPath} edited: ${JSON.stringify(changed.body)}`);
      c.check((await t.api('GET', c.path)).body);
    }
  });

  test('the policy GET answer keeps its overrides when sent back; an override is either `override` or members, not both', async () => {
    const policy = (await t.api('GET', '/v1/dunning-policy')).body;
    assert.ok(policy.overrides['zone:fr'], JSON.stringify(policy));
    delete policy.overrides['zone:fr']; // read-only: removing it there removes nothing
    assert.equal((await t.api('PUT', '/v1/dunning-policy', policy)).status, 200);
    assert.ok((await t.api('GET', '/v1/dunning-policy')).body.overrides['zone:fr']);
    problemOf(await t.api('PUT', '/v1/dunning-policy/overrides/zone:fr', { override: { max_automatic_attempts: 5 }, max_automatic_attempts: 6 }), 400, 'validation_error');
    // The plain members still work as before, and unknown members are still refused.
    assert.equal((await t.api('PUT', '/v1/dunning-policy/overrides/zone:fr', { max_automatic_attempts: 6 })).body.override.max_automatic_attempts, 6);
    problemOf(await t.api('PUT', '/v1/dunning-policy', { grace_day: 6 }), 400, 'validation_error');
  });

  test('a body without a card and without read-only members is still refused; a PATCH of the plan alone still answers same_plan', async () => {
    problemOf(await t.api('PUT', `/v1/accounts/${account}/payment-method`, { type: 'card' }), 400, 'validation_error');
    const other = await subscribedAccount(t);
    const sub = (await t.api('GET', `/v1/accounts/${other}/subscription`)).body;
    problemOf(await t.api('PATCH', `/v1/accounts/${other}/subscription`, { plan_id: sub.plan_id, interval: sub.interval }), 409, 'same_plan');
  });
});
