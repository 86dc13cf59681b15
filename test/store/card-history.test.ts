// The per-card caps (Visa's 20 reattempts in 30 days, the policy's own lower cap) hold across
// invoices only if the store hands the machine the card's whole 30-day history. Built here through
// the store on both engines: a card declined over three invoices in the last 30 days is not charged
// again, by the scheduler or by the customer's Retry, until its oldest attempt leaves the window.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
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
      await q.query(
        `INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, gateway_customer_ref, created_at)
         VALUES ('acct_1', 'A', 'a@example.com', 'fr-FR', 'fr', 'EUR', 'Europe/Paris', 'cus_x', $1)`,
        [ago(90)],
      );
      await q.query(
        `INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
         VALUES ('pm_1', 'acct_1', 'card', 'pm_x', 'visa', '4242', 12, 2030, 'active', $1)`,
        [ago(90)],
      );
      await q.query(
        `INSERT INTO subscriptions (id, account_id, plan_id, interval, status, billing_anchor, current_period_start, current_period_end, grace_ends_at, next_action_at, next_action, created_at)
         VALUES ('sub_1', 'acct_1', 'pro', 'month', 'past_due', $1, $1, $2, $3, $4, 'retry', $1)`,
        [ago(7), new Date(ago(7).getTime() + 30 * DAY), new Date(ago(7).getTime() + 14 * DAY), now],
      );
      for (const [i, h] of HISTORY.entries()) {
        const start = ago(7 + 30 * (HISTORY.length - 1 - i));
        await q.query(
          `INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, failed_at, created_at, paid_at)
           VALUES ($1, 'acct_1', 'sub_1', 'pro', 2900, 'EUR', $2, $3, $4, 'renewal', 'month', $5, $2, $6)`,
          [h.invoice, start, new Date(start.getTime() + 30 * DAY), h.paid ? 'paid' : 'past_due', ago(h.days[0]), h.paid ? ago(h.days[h.days.length - 1] - 1) : null],
        );
        for (const [n, days] of h.days.entries()) {
          await q.query(
            `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at, completed_at)
             VALUES ($1, $2, 'acct_1', 'pm_1', $3, 'scheduled', $4, 'declined', 'insufficient_funds', 'later', 2900, 'EUR', $5, $5)`,
            [`att_${h.invoice}_${n + 1}`, h.invoice, n + 1, `renewd_${h.invoice}_${n + 1}`, ago(days)],
          );
        }
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
