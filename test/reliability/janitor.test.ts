// Issue 16 item 12: charges that landed at the gateway while the worker was killed are settled by
// the next worker — by the tick of an attempt past its lease, and by the janitor when the
// subscription's next_action_at was lost — and `renewd verify --gateway` then finds the store and
// the gateway's list in agreement; it reports charges with no paid invoice, paid invoices with no
// charge and amounts that differ.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startTestService, createPlans, subscribedAccount, T0, type TestService } from '../helpers/service.ts';
import { Engine } from '../../src/engine/engine.ts';
import { saveTestClock } from '../../src/engine/clock.ts';
import type { Logger } from '../../src/lib/log.ts';
import { verifyInvariants, verifyWithGateway } from '../../src/engine/verify.ts';
import type { ChargeRequest, Gateway } from '../../src/gateway/types.ts';

const N = 6;
const MINUTE = 60_000;

describe('the janitor and verify --gateway, against the sandbox', () => {
  let t: TestService;
  let subs: string[] = [];
  let accounts: string[] = [];
  before(async () => {
    t = await startTestService({ engine: 'postgres' });
    await createPlans(t);
    for (let i = 0; i < N; i++) accounts.push(await subscribedAccount(t));
    subs = (await t.svc.ctx.db.query<{ id: string }>(`SELECT id FROM subscriptions WHERE account_id = ANY($1) ORDER BY account_id`, [accounts])).map((r) => r.id);
  });
  after(() => t.close());

  test('charges landed while the worker was killed: a new worker settles every attempt, once, and verify is clean', { timeout: 120_000 }, async () => {
    const { db, testClock } = t.svc.ctx;
    const real = t.svc.ctx.engine.gateway;
    const customers = new Map((await db.query<{ id: string; gateway_customer_ref: string }>('SELECT id, gateway_customer_ref FROM accounts WHERE id = ANY($1)', [accounts])).map((r) => [r.gateway_customer_ref, r.id]));
    // The first four accounts' charges reach the gateway; the last two die before the request leaves.
    const lands = new Set(accounts.slice(0, 4));
    let arrived = 0;
    let release!: () => void;
    const all = new Promise<void>((r) => (release = r));
    // The process dies after the charges (the attempts committed first, as always), before any
    // answer is written: every call fails once all of them have got that far.
    const dying: Gateway = {
      ...real,
      async charge(req: ChargeRequest) {
        if (lands.has(customers.get(req.customer_ref)!)) await real.charge(req);
        if (++arrived === N) release();
        await all;
        throw new Error('SIGKILL');
      },
    };
    const periodEnd = new Date('2026-02-28T09:00:00Z');
    testClock!.set(periodEnd);
    const killed = new Engine({ db, gateway: dying, clock: testClock!, concurrency: N, batchSize: N });
    await assert.rejects(killed.drain(), /SIGKILL/);

    const pending = await db.query<{ id: string; subscription_id: string; idempotency_key: string }>(
      `SELECT a.id, i.subscription_id, a.idempotency_key FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id WHERE a.outcome = 'pending' ORDER BY i.subscription_id`,
    );
    assert.equal(pending.length, N, 'one renewal attempt per subscription, committed and left pending');
    assert.equal(t.svc.sandbox!.charges().length - N, 4, 'four renewals charged at the gateway (after the N purchases)');
    // Two subscriptions lost their next look (a restore from a backup, a hand-made edit…), one was
    // moved a month ahead; the others wait for the tick after the lease, as the machine left them.
    const lost = [subs[0], subs[4]];
    const far = subs[1];
    await db.query(`UPDATE subscriptions SET next_action_at = NULL WHERE id = ANY($1)`, [lost]);
    await db.query(`UPDATE subscriptions SET next_action_at = $2 WHERE id = $1`, [far, new Date(periodEnd.getTime() + 30 * 86_400_000)]);
    const before = await verifyInvariants(db, periodEnd);
    assert.deepEqual(before.violations.map((v) => v.rule).sort(), ['orphan_in_flight', 'orphan_in_flight', 'stalled_subscription', 'stalled_subscription'], JSON.stringify(before.violations));

    // A new worker starts after the lease.
    testClock!.set(new Date(periodEnd.getTime() + 3 * MINUTE));
    const warned: { count: number; subscriptions: string[] }[] = [];
    const logger = { warn: (o: { count: number; subscriptions: string[] }) => void warned.push(o), error: () => {}, info: () => {} } as unknown as Logger;
    const worker = new Engine({ db, gateway: real, clock: testClock!, concurrency: N, batchSize: N, logger });
    // Its first drain (a worker's start) runs the janitor before claiming.
    await worker.drain();
    assert.equal(warned.length, 1);
    assert.deepEqual(warned[0].subscriptions.sort(), [...lost, far].sort(), 'the janitor woke the two with no next look and the one a month ahead, not the others');
    assert.equal(await worker.janitor(), 0, 'nothing more to wake');

    const settled = await db.query<{ outcome: string }>(`SELECT outcome FROM payment_attempts WHERE id = ANY($1)`, [pending.map((p) => p.id)]);
    assert.deepEqual(settled.map((s) => s.outcome), Array(N).fill('succeeded'));
    const invoices = await db.query<{ status: string }>(`SELECT i.status FROM invoices i JOIN payment_attempts a ON a.invoice_id = i.id WHERE a.id = ANY($1)`, [pending.map((p) => p.id)]);
    assert.deepEqual(invoices.map((i) => i.status), Array(N).fill('paid'));
    // Each renewal charged exactly once: the landed ones found by key, the others charged now with the same key.
    for (const p of pending) assert.equal(t.svc.sandbox!.charges({ idempotency_key: p.idempotency_key }).length, 1, p.idempotency_key);

    const now = testClock!.now();
    await saveTestClock(db, testClock!); // where `renewd verify` finds the installation's time
    const report = await verifyWithGateway(db, now, real, { from: new Date(T0), to: now });
    assert.deepEqual(report.violations, []);
    assert.equal(report.checked.gateway_charges, 2 * N, 'the purchases and the renewals, listed from the gateway');
    assert.equal(report.checked.gateway_charges_listed, 2 * N);
  });

  test('verify --gateway reports a charge with no paid invoice, a paid invoice with no charge, an amount that differs; the list is paged', { timeout: 120_000 }, async () => {
    const { db, testClock } = t.svc.ctx;
    const real = t.svc.ctx.engine.gateway;
    const now = testClock!.now();
    const [acc] = await db.query<{ gateway_customer_ref: string; pm: string }>(
      `SELECT a.gateway_customer_ref, pm.gateway_ref AS pm FROM accounts a JOIN payment_methods pm ON pm.account_id = a.id AND pm.status = 'active' WHERE a.id = $1`,
      [accounts[5]],
    );
    // 101 charges for an invoice renewd never made: more than one page of the list (100).
    for (let i = 0; i < 101; i++)
      await real.charge({ customer_ref: acc.gateway_customer_ref, payment_method_ref: acc.pm, amount: 100, currency: 'EUR', idempotency_key: `renewd_inv_stray${i}_1` });
    // A paid invoice whose charge the gateway does not have, and one paid for another amount.
    const paid = await db.query<{ id: string }>(`SELECT id FROM invoices WHERE status = 'paid' AND kind = 'renewal' ORDER BY id LIMIT 2`);
    assert.equal(paid.length, 2);
    const missing = paid[0].id;
    const other = paid[1].id;
    await db.query(`UPDATE invoices SET amount = amount + 1 WHERE id = $1`, [other]);
    await db.query(`UPDATE payment_attempts SET amount = amount + 1 WHERE invoice_id = $1`, [other]);
    const listing: Pick<Gateway, 'listCharges'> = {
      async *listCharges(w) {
        for await (const c of real.listCharges(w)) if (c.idempotency_key && !c.idempotency_key.startsWith(`renewd_${missing}_`)) yield c;
      },
    };
    const report = await verifyWithGateway(db, now, listing, { from: new Date(T0), to: now }, { maxDetailsPerRule: 200 });
    const by = (rule: string) => report.violations.filter((v) => v.rule === rule);
    assert.equal(by('gateway_unrecorded_charge').length, 101);
    assert.match(by('gateway_unrecorded_charge')[0].detail, /the gateway charged 100 for invoice inv_stray\d+, which the store does not have/);
    assert.deepEqual(by('gateway_missing_charge').map((v) => v.detail), [`invoice ${missing} is paid in the store but the gateway has no succeeded charge for it`]);
    assert.deepEqual(by('gateway_mismatch').map((v) => v.detail), [`invoice ${other} of 2901 EUR was charged 2900 EUR at the gateway`]);
    assert.equal(report.checked.gateway_charges_listed, 2 * N + 101 - 1);

    // A window that ends before the renewals: their invoices are not expected in it.
    const early = await verifyWithGateway(db, now, real, { from: new Date(T0), to: new Date('2026-02-01T00:00:00Z') });
    assert.equal(early.violations.filter((v) => v.rule === 'gateway_missing_charge').length, 0, JSON.stringify(early.violations.slice(0, 3)));
    assert.equal(early.checked.gateway_charges_listed, N, 'only the purchases were made in that window (the list honours created bounds)');
  });

  test('renewd verify --gateway: the CLI lists the sandbox\'s charges (RENEWD_SANDBOX_URL) at the test clock and exits 1 on those violations', { timeout: 60_000 }, async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--no-deprecation', 'src/cli/main.ts', 'verify', '--gateway'],
        { env: { ...process.env, DATABASE_URL: t.dbUrl!, RENEWD_GATEWAY: 'sandbox', RENEWD_SANDBOX_URL: t.sandboxUrl, STRIPE_API_KEY: '' }, timeout: 50_000, maxBuffer: 10 * 1024 * 1024 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 1, r.stderr);
    const now = t.svc.ctx.testClock!.now().toISOString();
    assert.match(r.stderr, new RegExp(`invariants as of ${now} \\(the test clock\\)`));
    assert.match(r.stderr, new RegExp(`the charges of the sandbox PSP at ${t.sandboxUrl} created ${new Date(Date.parse(now) - 30 * 86_400_000).toISOString()} – ${now}`));
    const report = JSON.parse(r.stdout) as { checked: Record<string, number>; violations: { rule: string }[] };
    assert.ok(report.violations.some((v) => v.rule === 'gateway_unrecorded_charge'));
    assert.ok(report.violations.some((v) => v.rule === 'gateway_mismatch'));
    assert.equal(report.checked.gateway_charges_listed, 2 * N + 101);
  });
});
