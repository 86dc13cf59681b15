// The invariant checker against hand-made data: a consistent store passes with zero violations,
// and each rule fails on data that breaks exactly what it guards (each case runs in a transaction
// that is rolled back, on one PGlite database).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { verifyInvariants, violationCounts, RULES, type GatewayCharge, type Rule, type VerifyOptions } from '../../src/engine/verify.ts';
import type { Queryable } from '../../src/store/db.ts';

const NOW = new Date('2026-02-10T00:00:00Z');
const t = (s: string) => new Date(s.length === 10 ? `${s}T00:00:00Z` : s);

class Rollback extends Error {}

/** Numbers the issued invoices that have no number yet (as the engine does at finalization), continuing the RNW-2026 series. */
async function numberIssued(q: Queryable) {
  await q.query(`WITH todo AS (SELECT id, row_number() OVER (ORDER BY created_at, id) + COALESCE((SELECT next - 1 FROM document_series WHERE prefix = 'RNW' AND year = 2026), 0) AS seq
                                 FROM invoices WHERE number IS NULL AND status IN ('paid', 'past_due', 'uncollectible'))
                 UPDATE invoices i SET number = 'RNW-2026-' || lpad(todo.seq::text, 6, '0'), number_prefix = 'RNW', number_year = 2026, number_seq = todo.seq,
                                       finalized_at = COALESCE(i.paid_at, i.failed_at, i.created_at)
                   FROM todo WHERE i.id = todo.id`);
  await q.query(`INSERT INTO document_series (prefix, year, next) SELECT 'RNW', 2026, max(number_seq) + 1 FROM invoices WHERE number_prefix = 'RNW' HAVING count(*) > 0
                 ON CONFLICT (prefix, year) DO UPDATE SET next = excluded.next`);
}

async function seedBaseline(q: Queryable) {
  const ins = (table: string, row: Record<string, unknown>) => {
    const cols = Object.keys(row);
    return q.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
  };
  await ins('plans', { id: 'free', name: 'Free', free: true });
  await ins('plans', { id: 'pro', name: 'Pro', free: false });
  await ins('plan_prices', { plan_id: 'pro', currency: 'EUR', interval: 'month', amount: 2900 });
  const account = (id: string) =>
    ins('accounts', { id, name: id, email: `${id}@example.com`, locale: 'en', domain_zone: 'com', currency: 'EUR', time_zone: 'UTC', gateway_customer_ref: `cus_${id}`, created_at: t('2025-11-01') });
  const pm = (id: string, account_id: string, last4: string, status = 'active') =>
    ins('payment_methods', { id, account_id, type: 'card', gateway_ref: `gw_${id}`, brand: 'visa', last4, exp_month: 12, exp_year: 2030, status, created_at: t('2025-11-01') });
  const sub = (r: Record<string, unknown>) => ins('subscriptions', { interval: 'month', auto_renew: true, created_at: t('2025-11-01'), ...r });
  const invoice = (r: Record<string, unknown>) => ins('invoices', { plan_id: 'pro', amount: 2900, currency: 'EUR', interval: 'month', ...r });
  const attempt = (r: Record<string, unknown>) =>
    ins('payment_attempts', { amount: 2900, currency: 'EUR', idempotency_key: `renewd_${r.invoice_id}_${r.number}`, ...r });
  const event = (type: string, account_id: string, subscription_id: string, invoice_id: string | null, at: string, data: Record<string, unknown> = {}) =>
    ins('events', { type, account_id, subscription_id, invoice_id, occurred_at: t(at), data: JSON.stringify({ invoice_id, ...data }) });
  const mail = (template: string, account_id: string, key: string, at: string) =>
    ins('notifications', { id: `ntf_${key}`, account_id, template, locale: 'en', to_address: `${account_id}@example.com`, subject: 's', body_text: 'b', body_html: 'b', dedupe_key: key, created_at: t(at) });

  // a: active, paid purchase then a paid renewal; next look at the renewal notice.
  await account('a');
  await pm('pm_a', 'a', '4242');
  await sub({ id: 'sub_a', account_id: 'a', plan_id: 'pro', status: 'active', billing_anchor: t('2026-01-01'), period_index: 1, current_period_start: t('2026-02-01'), current_period_end: t('2026-03-01'), next_action_at: t('2026-02-22'), next_action: 'renew' });
  await invoice({ id: 'inv_a1', account_id: 'a', subscription_id: 'sub_a', period_start: t('2026-01-01'), period_end: t('2026-02-01'), status: 'paid', kind: 'purchase', created_at: t('2026-01-01'), paid_at: t('2026-01-01') });
  await attempt({ id: 'att_a1', invoice_id: 'inv_a1', account_id: 'a', payment_method_id: 'pm_a', number: 1, trigger: 'initial', outcome: 'succeeded', created_at: t('2026-01-01'), completed_at: t('2026-01-01') });
  await event('invoice.paid', 'a', 'sub_a', 'inv_a1', '2026-01-01');
  await mail('renewal_succeeded', 'a', 'renewal_succeeded:inv_a1', '2026-01-01');
  await invoice({ id: 'inv_a2', account_id: 'a', subscription_id: 'sub_a', period_start: t('2026-02-01'), period_end: t('2026-03-01'), status: 'paid', kind: 'renewal', created_at: t('2026-02-01'), paid_at: t('2026-02-01') });
  await attempt({ id: 'att_a2', invoice_id: 'inv_a2', account_id: 'a', payment_method_id: 'pm_a', number: 1, trigger: 'scheduled', outcome: 'succeeded', created_at: t('2026-02-01'), completed_at: t('2026-02-01') });
  await event('invoice.paid', 'a', 'sub_a', 'inv_a2', '2026-02-01');
  await mail('renewal_succeeded', 'a', 'renewal_succeeded:inv_a2', '2026-02-01');

  // b: in grace after an insufficient-funds decline; next retry planned.
  await account('b');
  await pm('pm_b', 'b', '9995');
  await sub({ id: 'sub_b', account_id: 'b', plan_id: 'pro', status: 'past_due', billing_anchor: t('2026-01-01'), period_index: 0, current_period_start: t('2026-01-01'), current_period_end: t('2026-02-01'), grace_ends_at: t('2026-02-15'), next_action_at: t('2026-02-12'), next_action: 'retry' });
  await invoice({ id: 'inv_b1', account_id: 'b', subscription_id: 'sub_b', period_start: t('2026-01-01'), period_end: t('2026-02-01'), status: 'paid', kind: 'purchase', created_at: t('2026-01-01'), paid_at: t('2026-01-01') });
  await attempt({ id: 'att_b0', invoice_id: 'inv_b1', account_id: 'b', payment_method_id: 'pm_b', number: 1, trigger: 'initial', outcome: 'succeeded', created_at: t('2026-01-01'), completed_at: t('2026-01-01') });
  await event('invoice.paid', 'b', 'sub_b', 'inv_b1', '2026-01-01');
  await mail('renewal_succeeded', 'b', 'renewal_succeeded:inv_b1', '2026-01-01');
  await invoice({ id: 'inv_b2', account_id: 'b', subscription_id: 'sub_b', period_start: t('2026-02-01'), period_end: t('2026-03-01'), status: 'past_due', kind: 'renewal', failed_at: t('2026-02-01'), created_at: t('2026-02-01') });
  await attempt({ id: 'att_b1', invoice_id: 'inv_b2', account_id: 'b', payment_method_id: 'pm_b', number: 1, trigger: 'scheduled', outcome: 'declined', reason: 'insufficient_funds', retry_class: 'later', created_at: t('2026-02-01'), completed_at: t('2026-02-01') });
  await event('subscription.past_due', 'b', 'sub_b', 'inv_b2', '2026-02-01');
  await mail('renewal_failed', 'b', 'renewal_failed:inv_b2', '2026-02-01');

  // c: a lost card (never retry), grace ended, downgraded to free.
  await account('c');
  await pm('pm_c', 'c', '9987');
  await sub({ id: 'sub_c', account_id: 'c', plan_id: 'free', status: 'downgraded', billing_anchor: t('2025-12-01'), period_index: 0, current_period_start: t('2025-12-01'), current_period_end: t('2026-01-01') });
  await invoice({ id: 'inv_c1', account_id: 'c', subscription_id: 'sub_c', period_start: t('2025-12-01'), period_end: t('2026-01-01'), status: 'paid', kind: 'purchase', created_at: t('2025-12-01'), paid_at: t('2025-12-01') });
  await attempt({ id: 'att_c0', invoice_id: 'inv_c1', account_id: 'c', payment_method_id: 'pm_c', number: 1, trigger: 'initial', outcome: 'succeeded', created_at: t('2025-12-01'), completed_at: t('2025-12-01') });
  await event('invoice.paid', 'c', 'sub_c', 'inv_c1', '2025-12-01');
  await mail('renewal_succeeded', 'c', 'renewal_succeeded:inv_c1', '2025-12-01');
  await invoice({ id: 'inv_c2', account_id: 'c', subscription_id: 'sub_c', period_start: t('2026-01-01'), period_end: t('2026-02-01'), status: 'uncollectible', kind: 'renewal', failed_at: t('2026-01-01'), created_at: t('2026-01-01') });
  await attempt({ id: 'att_c1', invoice_id: 'inv_c2', account_id: 'c', payment_method_id: 'pm_c', number: 1, trigger: 'scheduled', outcome: 'declined', reason: 'declined_by_bank', retry_class: 'never', created_at: t('2026-01-01'), completed_at: t('2026-01-01') });
  await event('subscription.past_due', 'c', 'sub_c', 'inv_c2', '2026-01-01');
  await mail('renewal_failed', 'c', 'renewal_failed:inv_c2', '2026-01-01');
  await event('subscription.downgraded', 'c', 'sub_c', 'inv_c2', '2026-01-15');
  await mail('downgraded', 'c', 'downgraded:inv_c2', '2026-01-15');

  // d: a renewal charge in flight (its worker died): due now, but in flight, so not backlog.
  await account('d');
  await pm('pm_d', 'd', '4242');
  await sub({ id: 'sub_d', account_id: 'd', plan_id: 'pro', status: 'active', billing_anchor: t('2026-01-09'), period_index: 0, current_period_start: t('2026-01-09'), current_period_end: t('2026-02-09'), next_action_at: NOW, next_action: 'retry' });
  await invoice({ id: 'inv_d1', account_id: 'd', subscription_id: 'sub_d', period_start: t('2026-01-09'), period_end: t('2026-02-09'), status: 'paid', kind: 'purchase', created_at: t('2026-01-09'), paid_at: t('2026-01-09') });
  await attempt({ id: 'att_d0', invoice_id: 'inv_d1', account_id: 'd', payment_method_id: 'pm_d', number: 1, trigger: 'initial', outcome: 'succeeded', created_at: t('2026-01-09'), completed_at: t('2026-01-09') });
  await event('invoice.paid', 'd', 'sub_d', 'inv_d1', '2026-01-09');
  await mail('renewal_succeeded', 'd', 'renewal_succeeded:inv_d1', '2026-01-09');
  await invoice({ id: 'inv_d2', account_id: 'd', subscription_id: 'sub_d', period_start: t('2026-02-09'), period_end: t('2026-03-09'), status: 'open', kind: 'renewal', created_at: t('2026-02-09T23:59:00Z') });
  await attempt({ id: 'att_d1', invoice_id: 'inv_d2', account_id: 'd', payment_method_id: 'pm_d', number: 1, trigger: 'scheduled', outcome: 'pending', created_at: t('2026-02-09T23:59:00Z') });
  await numberIssued(q);
}

/** What the sandbox would list for the baseline: one charge per paid invoice, and d2's in flight. */
function baselineCharges(): GatewayCharge[] {
  return [
    ['inv_a1', 1],
    ['inv_a2', 1],
    ['inv_b1', 1],
    ['inv_c1', 1],
    ['inv_d1', 1],
    ['inv_d2', 1],
  ].map(([inv, n]) => ({ id: `pi_${inv}`, idempotency_key: `renewd_${inv}_${n}`, metadata: { renewd_invoice: inv as string }, amount: 2900, currency: 'eur', status: 'succeeded' }));
}

describe('invariant checker', () => {
  let tdb: TestDb;
  before(async () => {
    tdb = await createTestDatabase('pglite');
    await tdb.db.tx(seedBaseline);
  });
  after(() => tdb.drop());

  /** Runs the checker on the baseline changed by `mutate`, inside a transaction rolled back after. */
  async function check(mutate: (q: Queryable) => Promise<unknown>, opts: VerifyOptions = { charges: baselineCharges() }) {
    let counts: Record<string, number> = {};
    let report: Awaited<ReturnType<typeof verifyInvariants>> | undefined;
    await assert.rejects(
      tdb.db.tx(async (q) => {
        await mutate(q);
        report = await verifyInvariants(q, NOW, opts);
        counts = violationCounts(report);
        throw new Rollback();
      }),
      Rollback,
    );
    return { counts, report: report! };
  }

  const exercised = new Set<Rule>();
  function fails(rule: Rule, name: string, mutate: (q: Queryable) => Promise<unknown>, opts?: VerifyOptions) {
    exercised.add(rule);
    test(`${rule}: ${name}`, async () => {
      const { counts, report } = await check(mutate, opts);
      assert.ok(counts[rule] > 0, `expected a ${rule} violation, got ${JSON.stringify(report.violations, null, 1)}`);
      for (const v of report.violations) assert.ok(RULES.includes(v.rule as Rule), `unknown rule ${v.rule}`);
    });
  }

  test('a consistent store (with the gateway agreeing) has zero violations', async () => {
    const report = await verifyInvariants(tdb.db, NOW, { charges: baselineCharges() });
    assert.deepEqual(report.violations, []);
    assert.equal(report.checked.invoices, 8);
    assert.equal(report.checked.paid_invoices, 5);
    assert.equal(report.checked.due_subscriptions, 1); // d, in flight
    assert.equal(report.checked.gateway_charges, 6);
    assert.equal(report.checked.gateway_charges_in_flight, 1);
    // Without the gateway's list, the store-only rules still pass.
    assert.deepEqual((await verifyInvariants(tdb.db, NOW)).violations, []);
    // The gateway list can be given as the third argument directly.
    assert.deepEqual((await verifyInvariants(tdb.db, NOW, baselineCharges())).violations, []);
  });

  fails('one_success_per_invoice', 'a second succeeded attempt (database guard removed)', async (q) => {
    await q.query('DROP INDEX payment_attempts_one_success');
    await q.query(`INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, amount, currency, created_at)
                   VALUES ('att_a2b', 'inv_a2', 'a', 'pm_a', 2, 'operator', 'renewd_inv_a2_2', 'succeeded', 2900, 'EUR', '2026-02-01T00:00:00Z')`);
  });
  fails('paid_iff_succeeded', 'a paid invoice whose only attempt was declined', (q) => q.query(`UPDATE payment_attempts SET outcome = 'declined' WHERE id = 'att_a2'`));
  fails('paid_iff_succeeded', 'a succeeded attempt on an invoice still past due', (q) => q.query(`UPDATE payment_attempts SET outcome = 'succeeded', retry_class = NULL WHERE id = 'att_b1'`), {});
  fails('charge_amount', 'an attempt for another amount than its invoice', (q) => q.query(`UPDATE payment_attempts SET amount = 1 WHERE id = 'att_a2'`));

  fails('gateway_double_charge', 'the gateway charged one invoice twice', async () => {}, {
    charges: [...baselineCharges(), { id: 'pi_dup', idempotency_key: 'renewd_inv_a2_2', metadata: { renewd_invoice: 'inv_a2' }, amount: 2900, currency: 'eur' }],
  });
  fails('gateway_missing_charge', 'a paid invoice the gateway never charged', async () => {}, { charges: baselineCharges().filter((c) => c.metadata?.renewd_invoice !== 'inv_a2') });
  fails('gateway_unrecorded_charge', 'the gateway charged an invoice the store has as past due', async () => {}, {
    charges: [...baselineCharges(), { id: 'pi_b', idempotency_key: 'renewd_inv_b2_1', metadata: { renewd_invoice: 'inv_b2' }, amount: 2900, currency: 'eur' }],
  });
  fails('gateway_unrecorded_charge', 'a charge for an invoice the store does not know (invoice taken from the key)', async () => {}, {
    charges: [...baselineCharges(), { idempotency_key: 'renewd_inv_zz_1', amount: 2900 }],
  });
  fails('gateway_mismatch', 'the gateway charged another amount', async () => {}, {
    charges: baselineCharges().map((c) => (c.metadata?.renewd_invoice === 'inv_a2' ? { ...c, amount: 3000 } : c)),
  });
  test('gateway: failed charges are ignored', async () => {
    const { counts } = await check(async () => {}, { charges: [...baselineCharges(), { id: 'pi_f', idempotency_key: 'renewd_inv_b2_1', amount: 2900, status: 'requires_payment_method' }] });
    assert.deepEqual(counts, {});
  });

  fails('backlog', 'a subscription due an hour ago with nothing in flight', (q) => q.query(`UPDATE subscriptions SET next_action_at = '2026-02-09T23:00:00Z' WHERE id = 'sub_a'`));
  fails('stalled_subscription', 'a subscription in grace with nothing scheduled', (q) => q.query(`UPDATE subscriptions SET next_action_at = NULL WHERE id = 'sub_b'`));
  fails('lost_renewal', 'a period that ended with no renewal invoice and the next look in the future', (q) =>
    q.query(`UPDATE subscriptions SET current_period_end = '2026-02-05T00:00:00Z' WHERE id = 'sub_a'`),
  );
  fails('orphan_in_flight', 'an attempt in flight on a subscription nobody will look at again', (q) => q.query(`UPDATE subscriptions SET next_action_at = NULL WHERE id = 'sub_d'`));

  fails('attempt_after_downgrade', 'a new card charged for the invoice closed by the downgrade', async (q) => {
    await q.query(`UPDATE payment_methods SET status = 'replaced' WHERE id = 'pm_c'`);
    await q.query(`INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
                   VALUES ('pm_c2', 'c', 'card', 'gw', 'visa', '4444', 1, 2031, 'active', '2026-01-20T00:00:00Z')`);
    await q.query(`INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
                   VALUES ('att_c2', 'inv_c2', 'c', 'pm_c2', 2, 'payment_method_updated', 'renewd_inv_c2_2', 'declined', 'insufficient_funds', 'later', 2900, 'EUR', '2026-01-20T00:00:00Z')`);
  });
  fails('attempt_after_paid', 'an attempt on an invoice already paid', (q) =>
    q.query(`INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
             VALUES ('att_a3', 'inv_a2', 'a', 'pm_a', 2, 'scheduled', 'renewd_inv_a2_2', 'declined', 'insufficient_funds', 'later', 2900, 'EUR', '2026-02-05T00:00:00Z')`),
  );
  // Issue 15: b cancels during grace on Feb 3; nothing may be attempted on its invoices after that.
  const cancelB = async (q: Queryable) => {
    await q.query(`INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at) VALUES ('b', 'sub_b', 'inv_b2', 'invoice.created', '{}', '2026-02-01T00:00:00Z')`);
    await q.query(`UPDATE invoices SET status = 'void' WHERE id = 'inv_b2'`);
    await q.query(`UPDATE subscriptions SET status = 'canceled', plan_id = 'free', auto_renew = false, grace_ends_at = NULL, next_action_at = NULL, next_action = NULL WHERE id = 'sub_b'`);
    await q.query(`INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at) VALUES ('b', 'sub_b', 'inv_b2', 'invoice.voided', '{}', '2026-02-03T00:00:00Z')`);
    await q.query(`INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at) VALUES ('b', 'sub_b', 'inv_b2', 'subscription.canceled', '{}', '2026-02-03T00:00:00Z')`);
  };
  const attemptB = (q: Queryable, invoice: string, number: number, at: string) =>
    q.query(`INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
             VALUES ('att_${invoice}_${number}', '${invoice}', 'b', 'pm_b', ${number}, 'scheduled', 'renewd_${invoice}_${number}', 'declined', 'insufficient_funds', 'later', 2900, 'EUR', '${at}')`);
  test('attempt_after_cancel: a consistent cancel (and a purchase after it) breaks nothing', async () => {
    const { counts } = await check(async (q) => {
      await cancelB(q);
      await q.query(`INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, interval, period_start, period_end, status, kind, created_at)
                     VALUES ('inv_b3', 'b', 'sub_b', 'pro', 2900, 'EUR', 'month', '2026-02-05', '2026-03-05', 'void', 'purchase', '2026-02-05')`);
      await q.query(`INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at) VALUES ('b', 'sub_b', 'inv_b3', 'invoice.created', '{}', '2026-02-05T00:00:00Z')`);
      await attemptB(q, 'inv_b3', 1, '2026-02-05T00:00:00Z');
    });
    assert.equal(counts.attempt_after_cancel, undefined, JSON.stringify(counts));
  });
  fails('attempt_after_cancel', 'a scheduled retry on the invoice after the cancel during grace took effect', async (q) => {
    await cancelB(q);
    await q.query(`DELETE FROM events WHERE type = 'invoice.voided'`); // only the cancel is left to catch it
    await attemptB(q, 'inv_b2', 2, '2026-02-04T00:00:00Z');
  });
  fails('attempt_after_cancel', 'an attempt on a voided invoice', async (q) => {
    await q.query(`UPDATE invoices SET status = 'void' WHERE id = 'inv_b2'`);
    await q.query(`INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at) VALUES ('b', 'sub_b', 'inv_b2', 'invoice.voided', '{}', '2026-02-03T00:00:00Z')`);
    await attemptB(q, 'inv_b2', 2, '2026-02-04T00:00:00Z');
  });
  fails('retry_after_never', 'the same card charged again after a lost-card decline', (q) =>
    q.query(`INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
             VALUES ('att_c2', 'inv_c2', 'c', 'pm_c', 2, 'operator', 'renewd_inv_c2_2', 'declined', 'declined_by_bank', 'never', 2900, 'EUR', '2026-01-05T00:00:00Z')`),
  );
  test('retry_after_never: a new card after a hard decline is allowed', async () => {
    const { counts } = await check(async (q) => {
      await q.query(`INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
                     VALUES ('pm_c2', 'c', 'card', 'gw', 'visa', '4444', 1, 2031, 'replaced', '2026-01-05T00:00:00Z')`);
      await q.query(`INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
                     VALUES ('att_c2', 'inv_c2', 'c', 'pm_c2', 2, 'payment_method_updated', 'renewd_inv_c2_2', 'declined', 'insufficient_funds', 'later', 2900, 'EUR', '2026-01-05T00:00:00Z')`);
    });
    assert.deepEqual(counts, {});
  });
  fails('blind_retry', 'a scheduled retry of an expired card', async (q) => {
    await q.query(`UPDATE payment_attempts SET reason = 'card_expired_or_inactive', retry_class = 'customer' WHERE id = 'att_b1'`);
    await q.query(`INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
                   VALUES ('att_b2', 'inv_b2', 'b', 'pm_b', 2, 'scheduled', 'renewd_inv_b2_2', 'declined', 'card_expired_or_inactive', 'customer', 2900, 'EUR', '2026-02-03T00:00:00Z')`);
  });
  test('blind_retry: not when the policy reclassified the decline', async () => {
    const { counts } = await check(async (q) => {
      await q.query(`UPDATE payment_attempts SET reason = 'card_expired_or_inactive', retry_class = 'customer' WHERE id = 'att_b1'`);
      await q.query(`INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
                     VALUES ('att_b2', 'inv_b2', 'b', 'pm_b', 2, 'scheduled', 'renewd_inv_b2_2', 'declined', 'card_expired_or_inactive', 'customer', 2900, 'EUR', '2026-02-03T00:00:00Z')`);
      await q.query(`INSERT INTO dunning_policies (scope, policy, updated_at) VALUES ('default', '{"decline_rules": {"card_expired_or_inactive": "later"}}', now())`);
    });
    assert.deepEqual(counts, {});
  });

  // 20 more attempts on b's card over 20 days (half on the same card entered again): 21 in 30 days.
  fails('card_cap_30d', '21 attempts on one card in 30 days, across two entries of the same card', async (q) => {
    await q.query(`INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
                   VALUES ('pm_b2', 'b', 'card', 'gw2', 'visa', '9995', 12, 2030, 'replaced', '2026-01-01T00:00:00Z')`);
    for (let i = 2; i <= 21; i++)
      await q.query(
        `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
         VALUES ($1, 'inv_b2', 'b', $2, $3, 'scheduled', $4, 'declined', 'insufficient_funds', 'later', 2900, 'EUR', $5)`,
        [`att_b${i}`, i % 2 ? 'pm_b' : 'pm_b2', i, `renewd_inv_b2_${i}`, new Date(t('2026-01-12').getTime() + i * 86_400_000)],
      );
  });
  // b's card: the purchase on Jan 1, 19 attempts in between, one more exactly 30 days after Jan 1.
  // The windows are half-open like the planner's: (Jan 1, Jan 31] holds 20, so that passes;
  // a minute earlier, 21 attempts fall within 30 days and the cap is broken.
  const thirtyDays = (last: Date) => async (q: Queryable) => {
    await q.query(`DELETE FROM payment_attempts WHERE id = 'att_b1'`);
    for (let i = 1; i <= 20; i++)
      await q.query(
        `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
         VALUES ($1, 'inv_b2', 'b', 'pm_b', $2, 'scheduled', $3, 'declined', 'insufficient_funds', 'later', 2900, 'EUR', $4)`,
        [`att_b${i}`, i, `renewd_inv_b2_${i}`, i === 20 ? last : new Date(t('2026-01-01').getTime() + i * 1.4 * 86_400_000)],
      );
  };
  test('card_cap_30d: the 21st attempt exactly 30 days after the first is within the cap', async () => {
    const { counts } = await check(thirtyDays(t('2026-01-31')));
    assert.equal(counts.card_cap_30d, undefined);
  });
  fails('card_cap_30d', 'the 21st attempt a minute less than 30 days after the first', thirtyDays(t('2026-01-30T23:59:00Z')));
  // The policy's own cap (default 15 per saved card in 30 days), below Visa's 20.
  const policyCapCase = (n: number) => async (q: Queryable) => {
    for (let i = 2; i <= n; i++)
      await q.query(
        `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
         VALUES ($1, 'inv_b2', 'b', 'pm_b', $2, 'scheduled', $3, 'declined', 'insufficient_funds', 'later', 2900, 'EUR', $4)`,
        [`att_b${i}`, i, `renewd_inv_b2_${i}`, new Date(t('2026-01-12').getTime() + i * 86_400_000)],
      );
  };
  fails('card_cap_policy', "16 attempts on one saved card in 30 days, over the default policy's 15 (under Visa's 20)", policyCapCase(16));
  test('card_cap_policy: 15 attempts are within the default policy', async () => {
    const { counts } = await check(policyCapCase(15));
    assert.equal(counts.card_cap_policy, undefined);
  });
  test('card_cap_policy: an override that allows 18 is honoured; attempts before a policy change are not judged by it', async () => {
    const raised = await check(async (q) => {
      await policyCapCase(16)(q);
      await q.query(`INSERT INTO dunning_policies (scope, policy, updated_at) VALUES ('zone:xx', '{"caps": {"attempts_per_card_30d": 18}}', '2026-01-01T00:00:00Z')`);
    });
    assert.equal(raised.counts.card_cap_policy, undefined);
    const later = await check(async (q) => {
      await policyCapCase(16)(q);
      await q.query(`INSERT INTO dunning_policies (scope, policy, updated_at) VALUES ('default', '{"caps": {"attempts_per_card_30d": 10}}', '2026-03-01T00:00:00Z')`);
    });
    assert.equal(later.counts.card_cap_policy, undefined);
  });
  fails('card_declines_24h', '11 declines of one card within an hour', async (q) => {
    for (let i = 2; i <= 11; i++)
      await q.query(
        `INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, reason, retry_class, amount, currency, created_at)
         VALUES ($1, 'inv_b2', 'b', 'pm_b', $2, 'customer_retry', $3, 'declined', 'insufficient_funds', 'later', 2900, 'EUR', $4)`,
        [`att_b${i}`, i, `renewd_inv_b2_${i}`, new Date(t('2026-02-01').getTime() + i * 60_000)],
      );
  });

  fails('paid_event', 'a paid invoice without its invoice.paid event', (q) => q.query(`DELETE FROM events WHERE type = 'invoice.paid' AND invoice_id = 'inv_a2'`));
  fails('paid_email', 'a paid invoice without its receipt e-mail', (q) => q.query(`DELETE FROM notifications WHERE dedupe_key = 'renewal_succeeded:inv_a2'`));
  fails('paid_email', 'a receipt under the wrong template', (q) => q.query(`UPDATE notifications SET template = 'grace_ending' WHERE dedupe_key = 'renewal_succeeded:inv_a2'`));
  fails('past_due_event', 'grace started without a subscription.past_due event', (q) => q.query(`DELETE FROM events WHERE type = 'subscription.past_due' AND invoice_id = 'inv_b2'`));
  fails('past_due_email', 'grace started without the renewal_failed e-mail', (q) => q.query(`DELETE FROM notifications WHERE dedupe_key = 'renewal_failed:inv_b2'`));
  fails('downgrade_event', 'a downgrade without its event', (q) => q.query(`DELETE FROM events WHERE type = 'subscription.downgraded'`));
  fails('downgrade_email', 'a downgrade without its e-mail', (q) => q.query(`DELETE FROM notifications WHERE template = 'downgraded'`));

  fails('period_gap', 'a renewal that starts a day after the previous period ended', (q) => q.query(`UPDATE invoices SET period_start = '2026-02-02T00:00:00Z' WHERE id = 'inv_a2'`));
  fails('period_gap', 'a paid renewal after an uncollectible one (no new purchase)', async (q) => {
    await q.query(`INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, created_at, paid_at)
                   VALUES ('inv_c3', 'c', 'sub_c', 'pro', 2900, 'EUR', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', 'paid', 'renewal', 'month', '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z')`);
  });
  fails('period_overlap', 'a paid period that starts inside the previous one', (q) => q.query(`UPDATE invoices SET period_start = '2026-01-20T00:00:00Z' WHERE id = 'inv_a2'`));
  fails('current_period', "an active subscription's period that no paid invoice covers", (q) => q.query(`UPDATE subscriptions SET current_period_end = '2026-03-02T00:00:00Z' WHERE id = 'sub_a'`));
  fails('status_consistency', 'an active subscription with a past-due invoice', (q) => q.query(`UPDATE subscriptions SET status = 'active', grace_ends_at = NULL WHERE id = 'sub_b'`));
  fails('status_consistency', 'a subscription in grace without a grace end', (q) => q.query(`UPDATE subscriptions SET grace_ends_at = NULL WHERE id = 'sub_b'`));

  // ---- buying back (issue 15) ----
  /** c (downgraded on Jan 15) buys Pro back on Feb 5: a new period from the purchase, paid and told. */
  const restoreC = async (q: Queryable, periodStart = '2026-02-05T00:00:00Z', periodEnd = '2026-03-05T00:00:00Z') => {
    await q.query(`UPDATE subscriptions SET status = 'active', plan_id = 'pro', billing_anchor = $1, period_index = 0, current_period_start = $1, current_period_end = $2,
                          next_action_at = '2026-02-26T00:00:00Z', next_action = 'renew' WHERE id = 'sub_c'`, [periodStart, periodEnd]);
    await q.query(`INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, created_at, paid_at)
                   VALUES ('inv_c3', 'c', 'sub_c', 'pro', 2900, 'EUR', $1, $2, 'paid', 'purchase', 'month', '2026-02-05T00:00:00Z', '2026-02-05T00:00:00Z')`, [periodStart, periodEnd]);
    await q.query(`UPDATE payment_methods SET status = 'replaced' WHERE id = 'pm_c'`);
    await q.query(`INSERT INTO payment_methods (id, account_id, type, gateway_ref, brand, last4, exp_month, exp_year, status, created_at)
                   VALUES ('pm_c2', 'c', 'card', 'gw', 'visa', '4242', 12, 2030, 'active', '2026-02-05T00:00:00Z')`);
    await q.query(`INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, amount, currency, created_at, completed_at)
                   VALUES ('att_c3', 'inv_c3', 'c', 'pm_c2', 1, 'initial', 'renewd_inv_c3_1', 'succeeded', 2900, 'EUR', '2026-02-05T00:00:00Z', '2026-02-05T00:00:00Z')`);
    await q.query(`INSERT INTO events (type, account_id, subscription_id, invoice_id, occurred_at, data) VALUES ('invoice.paid', 'c', 'sub_c', 'inv_c3', '2026-02-05T00:00:00Z', '{}')`);
    await q.query(`INSERT INTO notifications (id, account_id, template, locale, to_address, subject, body_text, body_html, dedupe_key, created_at)
                   VALUES ('ntf_c3', 'c', 'renewal_succeeded', 'en', 'c@example.com', 's', 'b', 'b', 'renewal_succeeded:inv_c3', '2026-02-05T00:00:00Z')`);
    await numberIssued(q);
  };
  test('a buy-back after a downgrade, its period from the purchase, breaks nothing', async () => {
    const { report } = await check(restoreC, {});
    assert.deepEqual(report.violations, []);
  });
  fails('charged_for_gap', 'a buy-back charged from the old period end, before the purchase', (q) => restoreC(q, '2026-01-15T00:00:00Z', '2026-02-15T00:00:00Z'), {});
  fails('one_live_subscription', 'a second live subscription for one account (database guard removed)', async (q) => {
    await q.query('DROP INDEX subscriptions_one_per_account');
    await q.query(`INSERT INTO subscriptions (id, account_id, plan_id, interval, auto_renew, status, billing_anchor, period_index, current_period_start, current_period_end, next_action_at, next_action, created_at)
                   VALUES ('sub_a_2', 'a', 'pro', 'month', true, 'active', '2026-02-05T00:00:00Z', 0, '2026-02-05T00:00:00Z', '2026-03-05T00:00:00Z', '2026-02-26T00:00:00Z', 'renew', '2026-02-05T00:00:00Z')`);
  });
  fails('dangling_purchase', 'a purchase invoice left open with no attempt (a half-made buy-back)', (q) =>
    q.query(`INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, created_at)
             VALUES ('inv_c3', 'c', 'sub_c', 'pro', 2900, 'EUR', '2026-02-05T00:00:00Z', '2026-03-05T00:00:00Z', 'open', 'purchase', 'month', '2026-02-05T00:00:00Z')`),
  );

  // A plan change's charges: the rest of inv_a2's period (Feb 1 – Mar 1) charged again.
  const proration = (amount: number, start: string, end = '2026-03-01T00:00:00Z') => async (q: Queryable) => {
    await q.query(`INSERT INTO plans (id, name, free, created_at) VALUES ('biz', 'Business', false, '2026-01-01T00:00:00Z') ON CONFLICT DO NOTHING`);
    await q.query(`INSERT INTO plan_prices (plan_id, currency, interval, amount) VALUES ('biz', 'EUR', 'month', 7900) ON CONFLICT DO NOTHING`);
    await q.query(`INSERT INTO invoices (id, account_id, subscription_id, plan_id, amount, currency, period_start, period_end, status, kind, interval, created_at, paid_at)
                   VALUES ('inv_a3', 'a', 'sub_a', 'biz', $1, 'EUR', $2, $3, 'paid', 'proration', 'month', $2, $2)`, [amount, start, end]);
    await q.query(`INSERT INTO payment_attempts (id, invoice_id, account_id, payment_method_id, number, trigger, idempotency_key, outcome, amount, currency, created_at, completed_at)
                   VALUES ('att_a3', 'inv_a3', 'a', 'pm_a', 1, 'plan_change', 'renewd_inv_a3_1', 'succeeded', $1, 'EUR', $2, $2)`, [amount, start]);
    await q.query(`INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at) VALUES ('a', 'sub_a', 'inv_a3', 'invoice.paid', '{}', $1)`, [start]);
    await q.query(`INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at) VALUES ('a', 'sub_a', 'inv_a3', 'invoice.created', '{"kind": "proration", "from_plan_id": "pro"}', $1)`, [start]);
    await q.query(`INSERT INTO notifications (id, account_id, template, locale, to_address, subject, body_text, body_html, dedupe_key, status, attempts, next_attempt_at, created_at)
                   VALUES ('ntf_a3', 'a', 'plan_changed', 'en', 'a@example.com', 's', 't', 'h', 'plan_changed:inv_a3', 'sent', 1, $1, $1)`, [start]);
  };
  test('plan_change_charges: a proration of half the period at the half-price difference passes', async () => {
    const { counts } = await check(proration(2500, '2026-02-15T00:00:00Z'));
    assert.equal(counts.plan_change_charges, undefined);
  });
  fails('plan_change_charges', "a period charged more than the dearest plan's price (a proration billing the whole new price again)", proration(7900, '2026-02-15T00:00:00Z'));
  fails('plan_change_charges', 'a proration one cent off the proration rule', proration(2501, '2026-02-15T00:00:00Z'));
  fails('plan_change_charges', 'a proration outside any paid period', proration(100, '2026-03-01T00:00:00Z', '2026-03-15T00:00:00Z'));

  test('details are capped per rule, counts are not', async () => {
    const { counts, report } = await check((q) => q.query(`UPDATE subscriptions SET next_action_at = '2026-01-01T00:00:00Z'`), { maxDetailsPerRule: 1 });
    assert.equal(counts.backlog, 3); // a, b, c; d is in flight
    assert.equal(report.violations.filter((v) => v.rule === 'backlog').length, 2); // one detail + "… and 2 more"
    assert.equal(report.checked.violations, Object.values(counts).reduce((a, b) => a + b, 0));
  });

  // Issue 23: legal numbers without gaps, every issued invoice numbered, cancellations credited.
  fails('document_numbering', 'a number skipped (the counter moved past a number no invoice has)', (q) => q.query(`UPDATE document_series SET next = next + 1`));
  fails('document_numbering', 'a number given twice (unique index removed)', async (q) => {
    await q.query('DROP INDEX invoices_number_seq');
    await q.query('DROP INDEX invoices_number');
    await q.query(`UPDATE invoices SET number = (SELECT number FROM invoices WHERE id = 'inv_a1'), number_seq = (SELECT number_seq FROM invoices WHERE id = 'inv_a1') WHERE id = 'inv_a2'`);
  });
  fails('document_numbering', 'a paid invoice without a number', (q) => q.query(`UPDATE invoices SET number = NULL, number_seq = NULL, finalized_at = NULL WHERE id = (SELECT id FROM invoices WHERE number IS NOT NULL ORDER BY number_seq DESC LIMIT 1)`));
  fails('document_numbering', 'an issued invoice voided with no credit note', (q) => q.query(`UPDATE invoices SET status = 'void' WHERE id = 'inv_b2'`));
  test('document_numbering: an issued invoice voided with its credit note passes', async () => {
    const { counts } = await check(async (q) => {
      await q.query(`UPDATE invoices SET status = 'void' WHERE id = 'inv_b2'`);
      await q.query(`INSERT INTO credit_notes (id, number, number_prefix, number_year, number_seq, invoice_id, account_id, amount, currency, reason, issued, created_at)
                     VALUES ('cn_1', 'RNC-2026-000001', 'RNC', 2026, 1, 'inv_b2', 'b', 2900, 'EUR', 'canceled', '{}', '2026-02-03T00:00:00Z')`);
      await q.query(`INSERT INTO document_series (prefix, year, next) VALUES ('RNC', 2026, 2)`);
    }, {});
    assert.equal(counts.document_numbering, undefined);
    assert.equal(counts.credit_notes, undefined);
  });
  fails('credit_notes', 'an invoice credited for more than its amount', async (q) => {
    await q.query(`INSERT INTO credit_notes (id, number, number_prefix, number_year, number_seq, invoice_id, account_id, amount, currency, reason, issued, created_at)
                   VALUES ('cn_1', 'RNC-2026-000001', 'RNC', 2026, 1, 'inv_b2', 'b', 2901, 'EUR', 'canceled', '{}', '2026-02-03T00:00:00Z')`);
    await q.query(`INSERT INTO document_series (prefix, year, next) VALUES ('RNC', 2026, 2)`);
  });

  test('every rule has a case that makes it fail', () => {
    assert.deepEqual(RULES.filter((r) => !exercised.has(r)), []);
  });
});
