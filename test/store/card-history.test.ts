// The per-card caps (Visa's 20 reattempts in 30 days, the policy's own lower cap) hold across
// invoices only if the store hands the machine the card's whole 30-day history. Built here through
// the store on both engines: a card declined over three invoices in the last 30 days is not charged
// again, by the scheduler or by the customer's Retry, until its oldest attempt leaves the window.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { insertAccount, insertAttempt, insertCard, insertInvoice, insertSubscription } from '../helpers/store-rows.ts';
import { loadStates } from '../../src/store/billing.ts';
import { step } from '../../src/core/machine.ts';
import { DEFAULT_POLICY, capsAllowNow, retryAvailability } from '../../src/core/dunning.ts';
import { newId } from '../../src/store/ids.ts';
import { DAY } from '../../src/core/time.ts';

const now = new Date('2026-03-20T09:00:00Z');
const ago = (days: number) => new Date(now.getTime() - days * DAY);
const CAP = DEFAULT_POLICY.caps.attempts_per_card_30d; // 15, under Visa's 20

// Three invoices of one subscription; the card's declines spread over 28 days, CAP in all.
const HISTORY: { invoice: string; days: number[]; paid?: boolean }[] = [
  { invoice: 'inv_jan', days: [28, 27, 26, 25, 24], paid: true },
  { invoice: 'inv_feb', days: [20, 19, 18, 17, 16], paid: true },
  { invoice: 'inv_mar', days: [6, 5, 4, 3, 2] },
];

for (const engine of ENGINES) {
  describe(`card history across invoices on ${engine}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDatabase(engine);
      const q = t.db;
      await q.query(`INSERT INTO plans (id, name, free) VALUES ('free', 'Free', true), ('pro', 'Pro', false)`);
      await q.query(`INSERT INTO plan_prices VALUES ('pro', 'EUR', 'month', 2900)`);
      await insertAccount(q, 'acct_1', { created_at: ago(90) });
      await insertCard(q, 'pm_1', 'acct_1', { created_at: ago(90) });
      await insertSubscription(q, 'sub_1', 'acct_1', {
        status: 'past_due', start: ago(7), end: new Date(ago(7).getTime() + 30 * DAY), grace_ends_at: new Date(ago(7).getTime() + 14 * DAY), next_action_at: now, next_action: 'retry',
      });
      for (const [i, h] of HISTORY.entries()) {
        const start = ago(7 + 30 * (HISTORY.length - 1 - i));
        await insertInvoice(q, h.invoice, 'acct_1', 'sub_1', {
          start, end: new Date(start.getTime() + 30 * DAY), status: h.paid ? 'paid' : 'past_due', failed_at: ago(h.days[0]), paid_at: h.paid ? ago(h.days[h.days.length - 1] - 1) : null,
        });
        for (const [n, days] of h.days.entries())
          await insertAttempt(q, `att_${h.invoice}_${n + 1}`, { invoice: h.invoice, account: 'acct_1', card: 'pm_1', number: n + 1, outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later', at: ago(days) });
      }
    });
    after(() => t.drop());

    const load = async () => {
      const rows = await t.db.query('SELECT * FROM subscriptions WHERE id = $1', ['sub_1']);
      const [s] = await loadStates(t.db, rows, now);
      return s;
    };

    test('the state carries every attempt on the card in the last 30 days, whichever invoice it was for', async () => {
      const s = await load();
      assert.equal(s.invoice?.id, 'inv_mar');
      assert.equal(s.attempts.length, 5, 'the invoice being collected has its own 5 attempts');
      assert.equal(s.card_attempts.length, CAP, `the card's history holds all ${CAP} declines across the three invoices`);
      const oldest = Math.min(...s.card_attempts.map((a) => a.at.getTime()));
      assert.equal(oldest, ago(28).getTime());
    });

    test(`a card declined ${CAP} times in 30 days across three invoices is not charged again, by the scheduler or by Retry`, async () => {
      const s = await load();
      assert.equal(capsAllowNow(s.policy, s.card_attempts, now), false);
      const r = step(s, { type: 'tick' }, now, { newId });
      assert.ok(!r.effects.some((e) => e.type === 'charge'), 'no charge while the card is at its cap');
      // The next try waits until the oldest attempt leaves the 30-day window.
      const next = r.state.subscription.next_action_at;
      assert.ok(next && next.getTime() > ago(28).getTime() + 30 * DAY, `next look at ${next?.toISOString()}`);
      const retry = retryAvailability({
        policy: s.policy,
        invoice_status: 'past_due',
        domain_zone: s.account.domain_zone,
        payment_method: s.payment_method,
        in_flight: false,
        manual_retries_last_24h: 0,
        card_attempts: s.card_attempts,
        attempts: s.attempts.map((a) => ({ ...a, at: a.created_at })),
        now,
      });
      assert.deepEqual(retry, { available: false, reason: 'network_cap' });
    });

    test('once the oldest attempt is 30 days old, the card may be charged again', async () => {
      const later = new Date(ago(28).getTime() + 30 * DAY + 1000);
      const rows = await t.db.query('SELECT * FROM subscriptions WHERE id = $1', ['sub_1']);
      const [s] = await loadStates(t.db, rows, later);
      assert.equal(s.card_attempts.length, CAP - 1);
      assert.equal(capsAllowNow(s.policy, s.card_attempts, later), true);
    });
  });
}
