// The policy backtest end to end: failed renewals recorded through the real engine (sandbox PSP,
// test clock), then backtested by the command (engine/backtest.ts), `renewd policy backtest` (a
// child process on the same PostgreSQL database) and the console page — the recorded figures are
// what was recorded, thin data is refused and said, a bad policy names its field.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DEFAULT_POLICY } from '../../src/core/dunning.ts';
import { backtestPolicy } from '../../src/engine/backtest.ts';
import { CommandError } from '../../src/core/errors.ts';
import { startTestService, createPlans, subscribedAccount, ADMIN_KEY, type TestService } from '../helpers/service.ts';
import { appendSuiteLog } from '../helpers/suite-log.ts';
import { templates } from '../api/helpers.ts';

const RECOVERED = 8;
const LOST = 16;

let t: TestService;
let dir: string;
const accounts: { id: string; recovered: boolean }[] = [];

before(async () => {
  t = await startTestService({ engine: 'postgres' });
  await createPlans(t);
  for (let i = 0; i < RECOVERED + LOST; i++) {
    const recovered = i < RECOVERED;
    const id = await subscribedAccount(t);
    // The renewal declines (insufficient funds); then the first retry succeeds, or every one declines.
    const steps = recovered ? [{ outcome: 'insufficient_funds', times: 1 }, { outcome: 'succeed', times: 1 }] : [{ outcome: 'insufficient_funds', forever: true }];
    const r = await t.sandbox('POST', '/_sandbox/scripts', { target: { account_id: id }, steps });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    accounts.push({ id, recovered });
  }
  // The renewal (day 28), its retries and the grace's end (14 days).
  await t.advance(30);
  await t.advance(20);
  dir = mkdtempSync(join(tmpdir(), 'renewd-backtest-'));
});
after(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the backtest command', () => {
  test('the recorded column is what was recorded; a policy with fewer retries is estimated to recover no more', async () => {
    const db = t.svc.ctx.db;
    const [rec] = await db.query<{ paid: number; lost: number; attempts: number; revenue: number }>(
      `SELECT count(DISTINCT i.id) FILTER (WHERE i.status = 'paid')::int AS paid, count(DISTINCT i.id) FILTER (WHERE i.status = 'uncollectible')::int AS lost,
              (SELECT count(*) FROM payment_attempts pa JOIN invoices j ON j.id = pa.invoice_id WHERE j.kind = 'renewal' AND j.failed_at IS NOT NULL)::int AS attempts,
              COALESCE(sum(i.amount) FILTER (WHERE i.status = 'paid'), 0)::int AS revenue
         FROM invoices i WHERE i.kind = 'renewal' AND i.failed_at IS NOT NULL`,
    );
    assert.deepEqual([rec.paid, rec.lost], [RECOVERED, LOST]);
    // The dunning e-mails each account got, from the outbox through the API.
    let mails = 0;
    for (const a of accounts) mails += (await templates(t, a.id)).filter((x) => ['renewal_failed', 'retry_succeeded', 'grace_ending', 'downgraded', 'retry_failed'].includes(x)).length;

    const r = await backtestPolicy(t.svc.ctx, { policy: { max_automatic_attempts: 2 }, since_days: 90 });
    assert.equal(r.replayed, RECOVERED + LOST);
    assert.equal(r.left_out_thin, 0);
    assert.equal(r.left_out_open, 0);
    assert.deepEqual(r.actual.recovered, { value: RECOVERED, low: RECOVERED, high: RECOVERED });
    assert.equal(r.actual_recovered_automatically, RECOVERED);
    assert.deepEqual(r.actual.revenue, [{ currency: 'EUR', amount: { value: rec.revenue, low: rec.revenue, high: rec.revenue } }]);
    assert.equal(rec.revenue, RECOVERED * 2900);
    assert.equal(r.actual.attempts.value, rec.attempts);
    assert.equal(r.actual.emails.value, mails);
    assert.equal(r.actual.cap_breaches, 0);
    // One retry: 8 of the 24 first retries succeeded in the record, so the estimate is 8.
    assert.ok(r.candidate && r.current);
    assert.ok(Math.abs(r.candidate.recovered.value - RECOVERED) < 1e-9, String(r.candidate.recovered.value));
    assert.ok(r.candidate.recovered.low < RECOVERED && r.candidate.recovered.high > RECOVERED);
    assert.equal(r.candidate.attempts.value, 2 * (RECOVERED + LOST));
    assert.ok(r.current.recovered.value >= r.candidate.recovered.value);
    assert.ok(r.current.attempts.value > r.candidate.attempts.value);
    const cause = r.causes.find((c) => c.cause === 'insufficient_funds')!;
    assert.equal(cause.renewals, RECOVERED + LOST);
    assert.equal(cause.insufficient_data, null);
  });

  test('attempts beyond the recorded ones are not extrapolated: the cause is left out and says why', async () => {
    const r = await backtestPolicy(t.svc.ctx, { policy: { max_automatic_attempts: 12, retry_schedule: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] }, since_days: 90 });
    assert.equal(r.candidate, null);
    assert.equal(r.current, null);
    assert.equal(r.replayed, 0);
    assert.equal(r.left_out_thin, RECOVERED + LOST);
    assert.match(r.causes.find((c) => c.cause === 'insufficient_funds')!.insufficient_data!, /attempt 8 is beyond the recorded ones \(up to attempt 7\)/);
    // A window with no failed renewal: nothing to estimate.
    const none = await backtestPolicy(t.svc.ctx, { policy: {}, since_days: 1 });
    assert.deepEqual([none.replayed, none.candidate, none.causes.length], [0, null, 0]);
    // A whole policy, every member of it (the console's form is prefilled with one), is a candidate too.
    const whole = await backtestPolicy(t.svc.ctx, { policy: structuredClone(DEFAULT_POLICY), since_days: 90 });
    assert.deepEqual(whole.candidate_policy, DEFAULT_POLICY);
  });

  test('a bad policy or window is refused with the field named', async () => {
    const refused = async (input: { policy: unknown; since_days?: number }) => {
      try {
        await backtestPolicy(t.svc.ctx, input);
      } catch (err) {
        assert.ok(err instanceof CommandError);
        assert.equal(err.kind, 'invalid');
        return err.fields.map((f) => f.field);
      }
      assert.fail('not refused');
    };
    assert.deepEqual(await refused({ policy: { retry_schedule: [3, 1] } }), ['retry_schedule[1]']);
    assert.deepEqual(await refused({ policy: { retry_sched: [1] } }), ['retry_sched']);
    assert.deepEqual(await refused({ policy: [1] }), ['policy']);
    assert.deepEqual(await refused({ policy: {}, since_days: 0 }), ['since']);
  });
});

function renewd(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, DATABASE_URL: t.dbUrl!, RENEWD_SANDBOX_PORT: '0', RENEWD_ADMIN_KEY: 'rk_test_backtest_cli_admin_key_012345678', RENEWD_TEST_CLOCK: '', RENEWD_TEST_CLOCK_START: '' };
    execFile(process.execPath, ['--no-deprecation', 'src/cli/main.ts', ...args], { env }, (err, stdout, stderr) => {
      appendSuiteLog('renewd-cli', stdout + stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('renewd policy backtest', () => {
  test('prints the comparison, every policy figure labelled an estimate, exit 0', { timeout: 120_000 }, async () => {
    const file = join(dir, 'fewer.json');
    writeFileSync(file, JSON.stringify({ max_automatic_attempts: 2 }));
    const r = await renewd(['policy', 'backtest', '--policy', file, '--since', '90d']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Policy backtest of .*fewer\.json: renewals that failed \d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d \(90 days\)/);
    assert.match(r.stdout, /ESTIMATES: every figure of a policy is an estimate/);
    const row = (label: string) => r.stdout.split('\n').find((l) => l.startsWith(label)) ?? '';
    assert.match(row('Recovered renewals'), /^Recovered renewals +8 \(8 by automatic retries\) +estimate [\d.]+ \([\d.]+–[\d.]+\) +estimate 8 \([\d.]+–[\d.]+\)$/);
    assert.match(row('Recovered revenue (EUR)'), /€232\.00 +estimate €[\d.,]+ \(.*\) +estimate €232\.00 \(/);
    for (const label of ['Recovered share', 'Attempts (the renewal charge included)', 'Dunning e-mails', 'Attempts delayed by the caps'])
      assert.equal(row(label).match(/estimate/g)?.length, 2, `${label}: ${row(label)}`);
    assert.match(r.stdout, /insufficient_funds: 24 failed renewals, \d+ automatic retries, estimated success [\d.]+ % \([\d.]+–[\d.]+ %\)/);
  });

  test('too little data: says so and gives no number; a bad file or policy: the field, exit 2', { timeout: 120_000 }, async () => {
    const more = join(dir, 'more.json');
    writeFileSync(more, JSON.stringify({ max_automatic_attempts: 12, retry_schedule: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] }));
    const thin = await renewd(['policy', 'backtest', '--policy', more]);
    assert.equal(thin.code, 0, thin.stderr);
    assert.match(thin.stdout, /No estimate: too little data/);
    assert.match(thin.stdout, /insufficient_funds: .* insufficient data, not estimated: attempt 8 is beyond the recorded ones \(up to attempt 7\)/);
    assert.doesNotMatch(thin.stdout, /estimate [\d€]/);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ grace_days: 0 }));
    const invalid = await renewd(['policy', 'backtest', '--policy', bad]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /grace_days: must be a whole number of days from 1 to 60/);
    assert.equal(invalid.stdout, '');
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{ retry_schedule: [1');
    const broken = await renewd(['policy', 'backtest', '--policy', notJson]);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /policy: is not JSON/);
    const missing = await renewd(['policy', 'backtest', '--policy', join(dir, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.json/);
    assert.equal((await renewd(['policy', 'backtest'])).code, 2);
  });
});

describe('console: /console/policy/backtest', () => {
  const get = (path: string, c?: string) => fetch(t.url + path, { redirect: 'manual', headers: c ? { cookie: c } : {} });
  const post = (path: string, form: Record<string, string>, c?: string) =>
    fetch(t.url + path, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(c ? { cookie: c } : {}) }, body: new URLSearchParams(form).toString() });
  const cookieOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrfOf = (page: string) => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

  test('linked from the policy page; the form is prefilled with the policy in force; results, thin data and refusals shown; CSRF checked', async () => {
    const form = await get('/console/login');
    const ok = await post('/console/login', { key: ADMIN_KEY, _csrf: csrfOf(await form.text()) }, cookieOf(form));
    assert.equal(ok.status, 303);
    const cookie = cookieOf(ok);
    assert.match(await (await get('/console/policy', cookie)).text(), /<a href="\/console\/policy\/backtest">Backtest a policy<\/a>/);
    const page = await (await get('/console/policy/backtest', cookie)).text();
    assert.match(page, /<textarea id="bt-policy" name="policy"[^>]*>\{\n {2}&quot;grace_days&quot;: 14,/);
    assert.match(page, /name="since" value="90"/);
    const csrf = csrfOf(page);

    const run = await post('/console/policy/backtest', { _csrf: csrf, policy: '{"max_automatic_attempts": 2}', since: '90' }, cookie);
    assert.equal(run.status, 200);
    const html = await run.text();
    assert.match(html, /<th scope="row">Recovered renewals<\/th><td>8 \(8 by automatic retries\)<\/td><td>estimate [\d.]+ \([\d.]+–[\d.]+\)<\/td><td>estimate 8 \(/);
    assert.match(html, /<th scope="col">candidate \(estimate\)<\/th>/);

    const thin = await (await post('/console/policy/backtest', { _csrf: csrf, policy: '{"max_automatic_attempts": 12, "retry_schedule": [1,2,3,4,5,6,7,8,9,10,11,12,13]}', since: '90' }, cookie)).text();
    assert.match(thin, /No estimate:<\/strong> too little data/);
    assert.match(thin, /Not estimated \(insufficient data\): Insufficient funds\./);

    const bad = await post('/console/policy/backtest', { _csrf: csrf, policy: '{"grace_days": 0}', since: '90' }, cookie);
    assert.equal(bad.status, 400);
    const badHtml = await bad.text();
    assert.match(badHtml, /<li>grace_days: must be a whole number of days from 1 to 60<\/li>/);
    assert.match(badHtml, /&quot;grace_days&quot;: 0/); // the text as typed stays in the form
    assert.doesNotMatch(badHtml, /id="bt-table"/);

    assert.equal((await post('/console/policy/backtest', { policy: '{}', since: '90' }, cookie)).status, 403);
    assert.equal((await get('/console/policy/backtest')).status, 303); // signed out: to the sign-in
  });
});
