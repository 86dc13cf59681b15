// What a command refuses (core/errors.ts): the kind the edges map to a status, the stable code,
// the message, and the field errors a form shows beside each field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandError, ERROR_KINDS, invalidFields } from '../../src/core/errors.ts';

test('a refusal carries its kind, code, message and extra details, and is an Error', () => {
  const e = new CommandError('conflict', 'already_subscribed', 'The account already has a subscription.', { subscription_id: 'sub_1' });
  assert.ok(e instanceof Error);
  assert.deepEqual([e.kind, e.code, e.message], ['conflict', 'already_subscribed', 'The account already has a subscription.']);
  assert.deepEqual(e.extra, { subscription_id: 'sub_1' });
  assert.deepEqual(new CommandError('not_found', 'not_found', 'No such account.').extra, {}, 'no details: none');
  assert.deepEqual(ERROR_KINDS, ['invalid', 'forbidden', 'not_found', 'conflict', 'rate_limited', 'payment_failed', 'unavailable']);
});

test('field errors are the list in extra.errors, and none when there is no such list', () => {
  const errors = [{ field: 'retry_schedule', message: 'must rise' }];
  assert.deepEqual(new CommandError('invalid', 'invalid_policy', 'Invalid policy.', { errors }).fields, errors);
  assert.deepEqual(new CommandError('invalid', 'invalid_policy', 'Invalid policy.').fields, []);
  assert.deepEqual(new CommandError('invalid', 'invalid_policy', 'Invalid policy.', { errors: 'must rise' }).fields, []);
});

test('bad input is refused as invalid, with one problem code and one error per field', () => {
  const errors = [
    { field: 'grace_days', message: 'must be a whole number of days from 1 to 60' },
    { field: 'retry_schedule', message: 'must rise' },
  ];
  const e = invalidFields('invalid_policy', 'The policy is not valid.', errors);
  assert.ok(e instanceof CommandError);
  assert.deepEqual([e.kind, e.code, e.message], ['invalid', 'invalid_policy', 'The policy is not valid.']);
  assert.deepEqual(e.fields, errors);
  assert.deepEqual(e.extra, { errors });
});
