// The console's pages without a browser: the views are functions of their data, and the field
// errors of a refused command land on the form's fields. The help page loads the names of its
// accounts in one query (store/stats.ts accountNames), on both engines.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CommandError, invalidFields } from '../../src/core/errors.ts';
import { accountNames } from '../../src/store/stats.ts';
import { refusal } from '../../src/web/console/policy.ts';
import { refusedFields } from '../../src/web/console/webhooks.ts';
import { helpView } from '../../src/web/console/help.ts';
import { describeEvent } from '../../src/web/console/account.ts';
import type { HelpRequestView } from '../../src/web/deps.ts';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { startTestService, createPlans, subscribedAccount, CARDS, ADMIN_KEY, type TestService } from '../helpers/service.ts';
import { formClient } from '../helpers/forms.ts';
import { charges } from '../api/helpers.ts';
import { prorate } from '../../src/core/proration.ts';

describe('console pages', () => {
  test('the policy command’s field errors go to the form fields; the rest is general', () => {
    const values = { grace_days: '0', retry_schedule: '1, 3, 2', 'caps.attempts_per_card_30d': '40' };
    const err = invalidFields('invalid_policy', 'the default policy is not valid', [
      { field: 'grace_days', message: 'must be a whole number of days from 1 to 60' },
      { field: 'retry_schedule[2]', message: 'must be in increasing order' },
      { field: 'caps.attempts_per_card_30d', message: "must be from 1 to 20 (Visa's limit)" },
      { field: 'decline_rules.nope', message: 'unknown decline reason "nope"' },
      { field: 'final_action', message: 'must be "downgrade"' },
    ]);
    const { fieldErrors, general } = refusal(err, values);
    assert.deepEqual(fieldErrors, {
      grace_days: 'must be a whole number of days from 1 to 60',
      retry_schedule: '[2]: must be in increasing order',
      'caps.attempts_per_card_30d': "must be from 1 to 20 (Visa's limit)",
      'decline_rules.nope': 'unknown decline reason "nope"',
    });
    assert.deepEqual(general, ['final_action must be "downgrade"']);
    // A refusal without fields: its message.
    assert.deepEqual(refusal(new CommandError('invalid', 'invalid_policy', 'not valid'), values), { fieldErrors: {}, general: ['not valid'] });
  });

  test('the webhook command’s field errors go to the form fields, as sentences', () => {
    const err = invalidFields('validation_error', 'invalid endpoint', [
      { field: 'url', message: 'only http and https URLs can receive webhooks' },
      { field: 'event_types', message: '"Renewals!" is not an event type' },
    ]);
    assert.deepEqual(refusedFields(err), { url: 'Only http and https URLs can receive webhooks', event_types: '"Renewals!" is not an event type' });
    assert.equal(refusedFields(new CommandError('not_found', 'not_found', 'no such endpoint')), null);
    assert.equal(refusedFields(new Error('database down')), null);
  });

  test('the timeline explains the raw codes of a failed attempt; an unknown code is shown as it came', () => {
    const line = describeEvent('payment_attempt.failed', {
      number: 2,
      outcome: 'declined',
      reason: 'insufficient_funds',
      retry_class: 'later',
      raw_code: 'card_velocity_exceeded',
      network_code: '51',
      advice_code: '26',
    }).value;
    assert.match(line, /Attempt #2 declined<\/strong>: Insufficient funds /);
    assert.match(
      line,
      /\(card_velocity_exceeded: balance, credit limit or amount limit exceeded; network 51: insufficient funds \/ over credit limit \(category 2\); advice 26: retry after 2 days; class later\)/,
    );
    // A Stripe advice code, and codes renewd does not know: the code alone.
    const other = describeEvent('payment_attempt.failed', { number: 1, outcome: 'declined', reason: 'declined_by_bank', retry_class: 'never', raw_code: 'brand_new_code', network_code: 'Z9', advice_code: 'do_not_try_again' }).value;
    assert.match(other, /\(brand_new_code; network Z9; advice do_not_try_again: do not try again \(hard stop\); class never\)/);
    assert.match(describeEvent('payment_attempt.failed', { number: 3, outcome: 'declined', reason: 'issuer_unavailable', retry_class: 'soon', raw_code: 'issuer_not_available' }).value, /\(issuer_not_available: issuer could not be reached; class soon\)/);
  });

  test('the help page names each request’s account, or shows its id', () => {
    const h = (id: string, account_id: string): HelpRequestView => ({
      id,
      account_id,
      invoice_id: 'inv_1',
      message: 'Why?',
      status: 'open',
      answer: null,
      created_at: new Date('2026-01-01T00:00:00Z'),
      answered_at: null,
      closed_at: null,
    });
    const page = helpView({ list: [h('hr_1', 'acct_a'), h('hr_2', 'acct_gone')], names: new Map([['acct_a', 'Acme & Co']]), status: 'open', fieldErrors: {} }, 'csrf').value;
    assert.match(page, /<a href="\/console\/accounts\/acct_a">Acme &amp; Co<\/a>/);
    assert.match(page, /<a href="\/console\/accounts\/acct_gone">acct_gone<\/a>/);
  });
});

for (const engine of ENGINES) {
  describe(`accountNames on ${engine}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDatabase(engine);
      for (const [id, name] of [['acct_1', 'One'], ['acct_2', 'Two'], ['acct_3', 'Three']])
        await t.db.query(
          `INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, created_at) VALUES ($1, $2, 'a@example.com', 'en-GB', 'uk', 'GBP', 'Europe/London', now())`,
          [id, name],
        );
    });
    after(() => t.drop());

    test('names by id in one query; unknown ids are left out', async () => {
      const names = await accountNames(t.db, ['acct_2', 'acct_1', 'acct_2', 'acct_x']);
      assert.deepEqual([...names].sort(), [['acct_1', 'One'], ['acct_2', 'Two']]);
      assert.equal((await accountNames(t.db, [])).size, 0);
    });
  });
}

// The operator changes a customer's plan on the account page (plain HTTP, the console's session and
// CSRF token): the same command as PATCH …/subscription, its outcome as the page's flash.
describe('console: the operator changes a customer’s plan', () => {
  let t: TestService;
  let cookie = '';
  before(async () => {
    t = await startTestService();
    await createPlans(t);
    for (const p of [
      { id: 'biz', name: 'Business', prices: [{ currency: 'EUR', interval: 'month', amount: 7900 }] },
      { id: 'old', name: 'Old', prices: [{ currency: 'EUR', interval: 'month', amount: 4900 }] },
      { id: 'usd_only', name: 'US', prices: [{ currency: 'USD', interval: 'month', amount: 100 }] },
    ])
      assert.equal((await t.api('POST', '/v1/plans', p)).status, 201);
    const ok = await signIn(ADMIN_KEY);
    assert.equal(ok.status, 303);
    cookie = ok.cookie;
  });
  after(() => t?.close());

  const { get, post, csrfOf, signIn } = formClient(() => t.url);
  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
  /** Posts the plan form from the account page and returns the page it leads back to. */
  async function change(id: string, choice: string) {
    const page = await get(`/console/accounts/${id}`, cookie);
    assert.equal(page.status, 200);
    const r = await post(`/console/accounts/${id}/plan`, { choice, _csrf: await csrfOf(page) }, cookie);
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), `/console/accounts/${id}`);
    return (await get(`/console/accounts/${id}`, cookie)).text();
  }

  test('the form lists the paid plans on offer in the account currency; without the CSRF token nothing changes', async () => {
    await t.api('POST', '/v1/plans/old/archive');
    const id = await subscribedAccount(t);
    const page = await (await get(`/console/accounts/${id}`, cookie)).text();
    const options = [...page.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(options, ['biz:month', 'pro:month', 'pro:year']); // not free, not archived, not USD-only
    assert.match(page, /<option value="pro:month" selected>Pro — €29\.00\/month \(current\)<\/option>/);
    assert.match(page, /<form method="post" action="\/console\/accounts\/[^"]+\/plan"[^>]*><input type="hidden" name="_csrf"/);
    assert.equal((await post(`/console/accounts/${id}/plan`, { choice: 'biz:month' }, cookie)).status, 403);
    assert.equal((await post(`/console/accounts/${id}/plan`, { choice: 'biz:month', _csrf: 'wrong' }, cookie)).status, 403);
    assert.equal((await sub(id)).plan_id, 'pro');
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900]);
  });

  test('dearer: applied now with the prorated amount charged; cheaper: scheduled at the period end; again: dropped', async () => {
    const id = await subscribedAccount(t);
    await t.advance(10);
    const s0 = await sub(id);
    const expected = prorate({ oldAmount: 2900, newAmount: 7900, periodStart: new Date(s0.current_period_start), periodEnd: new Date(s0.current_period_end), at: await t.now() });
    let page = await change(id, 'biz:month');
    const amount = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR' }).format(expected.charge / 100);
    assert.ok(page.includes(`Plan changed now to Business (monthly); ${amount} prorated charged.`), page.match(/class="flash[^<]*<[^<]*/)?.[0]);
    assert.equal((await sub(id)).plan_id, 'biz');
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900, expected.charge]);
    page = await change(id, 'pro:year');
    assert.match(page, /Plan change scheduled: Pro \(yearly\) from [^;]+; nothing charged now\./);
    assert.deepEqual([(await sub(id)).plan_id, (await sub(id)).scheduled_change?.plan_id], ['biz', 'pro']);
    page = await change(id, 'biz:month');
    assert.match(page, /Scheduled change dropped: the subscription stays on Business\./);
    assert.equal((await sub(id)).scheduled_change, null);
  });

  test('declined: the reason, and the plan is unchanged; refused (an archived plan, the same plan): the reason', async () => {
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    let page = await change(id, 'biz:month');
    assert.match(page, /Declined \(Insufficient funds\): the plan is unchanged\./);
    assert.equal((await sub(id)).plan_id, 'pro');
    page = await change(id, 'old:month');
    assert.match(page, /Refused: plan old is archived/);
    page = await change(id, 'pro:month');
    assert.match(page, /Refused: /);
    assert.equal((await sub(id)).plan_id, 'pro');
    assert.deepEqual((await charges(t, id)).map((c) => c.amount), [2900]);
  });
});
