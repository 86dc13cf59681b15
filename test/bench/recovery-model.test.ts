// The recovery benchmark's behaviour model (bench/recovery-model.ts) is pure and seeded: the same
// seed gives the same population and the same answers, and each decline cause behaves as documented.
// (The benchmark itself is not a test: `npm run bench -- --only recovery`.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actsOnEmail, CAUSE_MIX, CAUSES, draw, outcomeAt, paydays, population, timeline, type Customer } from '../../bench/recovery-model.ts';
import { checkCaps } from '../../bench/lib/network-caps.ts';

const SEED = 42;
const DAY = 86_400_000;
const failedAt = new Date('2028-01-10T09:00:00Z');
const to = new Date(failedAt.getTime() + 31 * DAY);
const of = (cause: Customer['cause'], n = 3000) => population(n, SEED).filter((c) => c.cause === cause);

test('the population and every draw are the same for the same seed, and differ for another', () => {
  assert.deepEqual(population(500, SEED), population(500, SEED));
  assert.notDeepEqual(population(500, SEED), population(500, SEED + 1));
  const c = population(50, SEED)[7];
  assert.deepEqual(timeline(c, SEED, failedAt, to), timeline(c, SEED, failedAt, to));
  const u = Array.from({ length: 10_000 }, (_, i) => draw(SEED, i, 'x'));
  assert.ok(u.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(u.reduce((a, b) => a + b, 0) / u.length - 0.5) < 0.02);
});

test('the mix of causes follows CAUSE_MIX', () => {
  const pop = population(20_000, SEED);
  for (const c of CAUSES) assert.ok(Math.abs(pop.filter((p) => p.cause === c).length / pop.length - CAUSE_MIX[c]) < 0.015, c);
});

test('every timeline starts with the decline of the renewal itself', () => {
  for (const c of population(2000, SEED)) assert.notEqual(outcomeAt(timeline(c, SEED, failedAt, to), failedAt), 'succeed', `${c.cause} #${c.index}`);
});

test('insufficient funds clears only from a payday on (1st, 15th, month end or the irregular day)', () => {
  let cleared = 0;
  const customers = of('insufficient_funds');
  for (const c of customers) {
    const segs = timeline(c, SEED, failedAt, to);
    const days = paydays(c, SEED, failedAt, to).map((d) => d.getTime());
    for (const s of segs.slice(0, -1)) {
      if (s.outcome !== 'insufficient_funds') continue;
      // each change from a decline to money on the account happens within 8 h of a payday
      const start = s.until!.getTime();
      assert.ok(days.some((p) => start >= p && start < p + 8 * 3_600_000), `#${c.index}: funds at ${s.until!.toISOString()}, paydays ${days.map((d) => new Date(d).toISOString())}`);
      cleared++;
    }
    if (c.payPattern === 'semi_monthly') assert.deepEqual(days.map((d) => new Date(d).getUTCDate()), [15, 1].slice(0, days.length));
  }
  assert.ok(cleared > customers.length / 2);
  // and the money does not stay: a month on, some of the cleared cards decline again
  assert.ok(customers.some((c) => timeline(c, SEED, failedAt, to).some((s, i, all) => s.outcome === 'succeed' && all[i + 1]?.outcome === 'insufficient_funds')));
});

test('a lost or expired card never pays again; only its customer acting (after an e-mail) helps', () => {
  for (const cause of ['lost_card', 'expired_card'] as const) {
    const customers = of(cause);
    for (const c of customers) {
      const segs = timeline(c, SEED, failedAt, to);
      assert.deepEqual(segs, [{ outcome: cause === 'lost_card' ? 'lost_card' : 'expired_card', until: null }]);
      assert.equal(outcomeAt(segs, new Date(failedAt.getTime() + 365 * DAY)), segs[0].outcome);
    }
    const acts = customers.filter((c) => [1, 2, 3].some((k) => actsOnEmail(c, SEED, k, failedAt)));
    assert.ok(acts.length > 0 && acts.length < customers.length);
    for (const c of acts)
      for (const k of [1, 2, 3]) {
        const at = actsOnEmail(c, SEED, k, failedAt);
        if (at) assert.ok(at.getTime() >= failedAt.getTime() + 3_600_000 && at.getTime() <= failedAt.getTime() + 72 * 3_600_000);
      }
  }
  for (const c of of('insufficient_funds').slice(0, 100)) assert.equal(actsOnEmail(c, SEED, 1, failedAt), null);
});

test('a reached credit limit clears at the statement date, for good', () => {
  for (const c of of('credit_limit')) {
    const segs = timeline(c, SEED, failedAt, to);
    if (segs.length === 1) continue; // the statement is not paid
    assert.equal(segs.length, 2);
    const at = segs[0].until!;
    const statement = at.getUTCDate() >= c.statementDay ? new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), c.statementDay)) : new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, c.statementDay));
    assert.ok(at.getTime() - statement.getTime() <= 2 * DAY + 1, `#${c.index}: ${at.toISOString()} vs day ${c.statementDay}`);
    assert.equal(segs[1].outcome, 'succeed');
  }
});

test('issuer outages come in windows and the card pays between them', () => {
  for (const c of of('issuer_outage')) {
    const segs = timeline(c, SEED, failedAt, to);
    assert.equal(segs.at(-1)!.outcome, 'succeed');
    assert.ok(segs[0].until!.getTime() - failedAt.getTime() <= 48 * 3_600_000 + 1);
    segs.forEach((s, i) => i > 0 && assert.notEqual(s.outcome, segs[i - 1].outcome));
  }
});

test('the cap check counts declines per card in 24 h, reattempts in 30 days, and anything after a do-not-try-again', () => {
  const pi = (pm: string, hours: number, ok: boolean, advice: string | null = null) => ({
    payment_method: pm,
    created: 1_800_000_000 + hours * 3600,
    status: ok ? 'succeeded' : 'requires_payment_method',
    last_payment_error: ok ? null : { decline_code: 'x', advice_code: advice },
  });
  const fine = checkCaps([...Array.from({ length: 10 }, (_, i) => pi('pm_a', i, false)), pi('pm_a', 30, true)]);
  assert.equal(fine.maxDeclines24h, 10);
  assert.deepEqual(fine.breaches, []);
  assert.equal(checkCaps(Array.from({ length: 11 }, (_, i) => pi('pm_a', i, false))).breaches.length, 1);
  assert.equal(checkCaps(Array.from({ length: 22 }, (_, i) => pi('pm_b', i * 30, false))).maxReattempts30d, 21);
  const never = checkCaps([pi('pm_c', 0, false, 'do_not_try_again'), pi('pm_c', 48, false)]);
  assert.equal(never.afterNeverRetry, 1);
  assert.equal(never.breaches.length, 1);
});

test('the anchors run without payment incidents (they have no outage-aware grace); renewd with its default', async () => {
  const { policies } = await import('../../bench/scenarios/recovery.ts');
  const { mergePolicy, DEFAULT_POLICY, validatePolicy } = await import('../../src/core/dunning.ts');
  for (const grace of [14, 28]) {
    for (const p of policies(grace)) {
      const merged = mergePolicy(DEFAULT_POLICY, p.override);
      assert.equal(merged.incidents.enabled, p.id === 'renewd', p.id);
      assert.deepEqual({ ...merged.incidents, enabled: true }, DEFAULT_POLICY.incidents, `${p.id}: only enabled differs`);
      assert.deepEqual(validatePolicy(merged), [], p.id);
    }
  }
});
