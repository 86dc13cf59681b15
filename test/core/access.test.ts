// Paid access (core/machine.ts accessOf): derived from the subscription's status and plan, never stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessOf } from '../../src/core/machine.ts';

const PAID = { free: false };
const FREE = { free: true };

test('paid features while active on a paid plan or past due (grace); otherwise the free plan', () => {
  assert.deepEqual(accessOf({ status: 'active', plan_id: 'pro' }, PAID, 'free'), { plan_id: 'pro', paid: true, reason: 'active' });
  assert.deepEqual(accessOf({ status: 'past_due', plan_id: 'pro' }, PAID, 'free'), { plan_id: 'pro', paid: true, reason: 'grace' });
  for (const status of ['canceled', 'downgraded', 'incomplete'] as const) {
    assert.deepEqual(accessOf({ status, plan_id: 'pro' }, PAID, 'free'), { plan_id: 'free', paid: false, reason: 'free' }, status);
  }
});

test('active on a free plan: no paid features, and the plan shown is the subscription\'s own free plan (not necessarily the default one)', () => {
  assert.deepEqual(accessOf({ status: 'active', plan_id: 'nonprofit' }, FREE, 'free'), { plan_id: 'nonprofit', paid: false, reason: 'free' });
  assert.deepEqual(accessOf({ status: 'active', plan_id: 'free' }, FREE, 'free'), { plan_id: 'free', paid: false, reason: 'free' });
});
