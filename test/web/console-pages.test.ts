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
import type { HelpRequestView } from '../../src/web/deps.ts';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';

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
