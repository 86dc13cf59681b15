// Issue 17: the dashboard's subscription figures add up — "N paid" is the active and the past-due
// (in grace) subscriptions, and the line under it names both, then the ones on the free plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kpisView, type DashboardData } from '../../src/web/console/dashboard.ts';

test('the paid figure is active + in grace, and both are shown under it', () => {
  const d = {
    grace: [],
    totals: [],
    byReason: [],
    byNumber: [],
    statuses: [
      { status: 'active', count: 6 },
      { status: 'past_due', count: 3 },
      { status: 'downgraded', count: 3 },
      { status: 'canceled', count: 0 },
    ],
    openHelpRequests: 0,
    weeks: [],
  } as unknown as DashboardData;
  const text = kpisView(d).value.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
  const m = /(\d+) paid (\d+) active · (\d+) in grace/.exec(text);
  assert.ok(m, text);
  assert.equal(Number(m[1]), Number(m[2]) + Number(m[3]));
  assert.deepEqual([m[1], m[2], m[3]], ['9', '6', '3']);
  assert.match(text, /on the free plan: 3 downgraded · 0 canceled/);
});
