// Issue 17, item 4: lists used to stop silently (GET /v1/notifications at 50 rows). Every list
// answers {data, has_more} and pages the same way — `limit` and `starting_after` (the id of the
// last item of the previous page) — and the document says so for every list.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, type TestService } from '../helpers/service.ts';
import { problemOf } from './helpers.ts';
import { insertNotification } from '../../src/store/outbox.ts';

describe('lists page the same way', () => {
  let t: TestService;
  let account: string;

  /** Every item of a list, page by page with `limit`, and the page sizes seen. */
  async function walk(path: string, limit: number) {
    const ids: string[] = [];
    const sizes: number[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 500; pages++) {
      const sep = path.includes('?') ? '&' : '?';
      const r = await t.api('GET', `${path}${sep}limit=${limit}${after ? `&starting_after=${after}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(typeof r.body.has_more, 'boolean');
      ids.push(...r.body.data.map((x: any) => x.id));
      sizes.push(r.body.data.length);
      if (!r.body.has_more) return { ids, sizes };
      assert.equal(r.body.data.length, limit, 'a page before the last is full');
      after = r.body.data[r.body.data.length - 1].id;
    }
    throw new Error('no last page');
  }

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    account = await subscribedAccount(t);
    for (let i = 0; i < 4; i++) await subscribedAccount(t);
    // Two renewals: three invoices on the account.
    await t.advance(31);
    await t.advance(31);
    // 130 e-mails for the account, many at the same instant (the keyset must not lose or repeat any).
    const now = t.svc.ctx.clock.now();
    for (let i = 0; i < 120; i++)
      await insertNotification(t.svc.ctx.db, {
        id: `ntf_page_${String(i).padStart(3, '0')}`,
        account_id: account,
        template: 'receipt',
        locale: 'fr-FR',
        to: 'billing@acme.example',
        subject: `n° ${i}`,
        text: 'x',
        html: '<p>x</p>',
        dedupe_key: `page-${i}`,
        now: new Date(now.getTime() - Math.floor(i / 10) * 1000),
      });
  });
  after(() => t?.close());

  test('GET /v1/notifications goes beyond 50 rows: pages of limit, has_more until the last, each e-mail once', async () => {
    const whole = await t.api('GET', `/v1/notifications?account_id=${account}&limit=1000`);
    const all = whole.body.data.map((n: any) => n.id);
    assert.ok(all.length > 120, `${all.length}`);
    assert.equal(whole.body.has_more, false);
    const first = await t.api('GET', `/v1/notifications?account_id=${account}`);
    assert.deepEqual([first.body.data.length, first.body.has_more], [100, true], 'default limit 100, and it says there is more');
    for (const limit of [7, 50]) {
      const { ids, sizes } = await walk(`/v1/notifications?account_id=${account}`, limit);
      assert.deepEqual(ids, all, `limit ${limit}: the same e-mails in the same order`);
      assert.ok(sizes.length > 2);
    }
    // The former cursor name still works.
    const before = await t.api('GET', `/v1/notifications?account_id=${account}&limit=5&before=${all[4]}`);
    assert.deepEqual(before.body.data.map((n: any) => n.id), all.slice(5, 10));
  });

  test('accounts and invoices page the same way; so does every other list', async () => {
    const accounts = (await t.api('GET', '/v1/accounts?limit=1000')).body.data.map((a: any) => a.id);
    assert.equal(accounts.length, 5);
    assert.deepEqual((await walk('/v1/accounts', 2)).ids, accounts);
    assert.deepEqual((await walk('/v1/accounts?status=active', 1)).ids.length, 5);
    const invoices = (await t.api('GET', `/v1/accounts/${account}/invoices`)).body.data.map((i: any) => i.id);
    assert.equal(invoices.length, 3);
    const { ids, sizes } = await walk(`/v1/accounts/${account}/invoices`, 2);
    assert.deepEqual([ids, sizes], [invoices, [2, 1]]);
    for (const path of ['/v1/plans', '/v1/admin-keys', '/v1/webhook-endpoints', `/v1/accounts/${account}/portal-sessions`, '/v1/help-requests', `/v1/accounts/${account}/help-requests`]) {
      const whole = (await t.api('GET', path)).body.data.map((x: any) => x.id);
      assert.deepEqual((await walk(path, 1)).ids, whole, path);
    }
    // An id that is not in the list: an empty page; a limit out of range: 400.
    assert.deepEqual((await t.api('GET', '/v1/accounts?starting_after=acct_none')).body, { data: [], has_more: false });
    problemOf(await t.api('GET', '/v1/accounts?limit=0'), 400, 'validation_error');
    problemOf(await t.api('GET', '/v1/notifications?limit=1001'), 400, 'validation_error');
  });

  test('the document describes every list with limit, starting_after and has_more', async () => {
    const doc = (await t.api('GET', '/openapi.json', undefined, null)).body;
    const lists: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      const op = item.get;
      const schema = op?.responses?.['200']?.content?.['application/json']?.schema;
      if (schema?.properties?.data?.type !== 'array') continue;
      lists.push(path);
      const q = new Set(op.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name));
      assert.ok(q.has('limit') && q.has('starting_after'), `${path}: limit and starting_after`);
      assert.deepEqual(schema.required, ['data', 'has_more'], path);
    }
    assert.ok(lists.length >= 10, lists.join(', '));
  });
});
