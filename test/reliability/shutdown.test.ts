// Graceful shutdown of `renewd worker`, as a child process: SIGTERM while charges are in flight
// stops claiming new work, lets the claimed batches finish (every attempt answered and applied, none
// left pending), and exits 0; a new worker resumes the rest. Then the invariants hold, with the
// sandbox's own list of money moved: every renewal charged exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestDatabase } from '../helpers/db.ts';
import { createSandbox } from '../../src/sandbox/server.ts';
import { TestClock, saveTestClock } from '../../src/engine/clock.ts';
import { verifyInvariants } from '../../src/engine/verify.ts';
import { seed, rng, T0 } from '../chaos/harness.ts';
import { appendSuiteLog } from '../helpers/suite-log.ts';

const N = 80;

function startWorker(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--no-deprecation', 'src/cli/main.ts', 'worker'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function until(what: string, fn: () => Promise<boolean>, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 15));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('SIGTERM: in-flight charges finish, nothing is left pending, a restarted worker resumes', { timeout: 180_000 }, async () => {
  const tdb = await createTestDatabase('postgres', { poolMax: 4 });
  const now = new Date(T0 + 3_600_000);
  const clock = new TestClock(now);
  // Slow gateway: every call takes 200 ms, so a SIGTERM lands while charges are in flight.
  // The seed's declining cards are cards gone bad after they were saved (the sandbox refuses them at attach otherwise, as Stripe does).
  const sandbox = createSandbox({ clock, latencyMs: 200, declineOnAttach: false });
  const sandboxUrl = await sandbox.listen(0, '127.0.0.1');
  try {
    const db = tdb.db;
    await seed(db, sandbox, sandboxUrl, { subscriptions: N, slots: 1 }, rng(7));
    await saveTestClock(db, clock); // the worker's test clock starts here (renewd reads it from the database)
    const env = {
      DATABASE_URL: tdb.url!,
      RENEWD_GATEWAY: 'sandbox',
      RENEWD_SANDBOX_URL: sandboxUrl,
      RENEWD_TEST_CLOCK: '1',
      RENEWD_ADMIN_KEY: 'rk_test_shutdown_admin_key_0123456789',
      RENEWD_BATCH_SIZE: '10',
      RENEWD_CONCURRENCY: '5',
      RENEWD_WORKER_INTERVAL_MS: '50',
    };
    const count = async (sql: string) => (await db.query<{ n: number }>(sql))[0].n;
    const pending = () => count(`SELECT count(*)::int AS n FROM payment_attempts WHERE outcome = 'pending'`);
    const renewed = () => count(`SELECT count(*)::int AS n FROM invoices WHERE kind = 'renewal'`);

    const w1 = startWorker(env);
    await until('charges in flight', async () => (await pending()) > 0);
    const inFlight = await pending();
    const t = Date.now();
    w1.child.kill('SIGTERM');
    const code = await w1.exited;
    const tookMs = Date.now() - t;
    appendSuiteLog('renewd-worker', w1.output()); // for the secrets grep of npm test
    assert.equal(code, 0, `worker exit code ${code}\n${w1.output()}`);
    assert.match(w1.output(), /renewd worker running/);
    // Claimed work ran to its end: every attempt it made is answered and applied.
    assert.equal(await pending(), 0, 'attempts left pending after a graceful stop');
    const afterFirst = await renewed();
    assert.ok(afterFirst < N, `the worker should have stopped claiming (it renewed all ${N})`);
    console.log(`SIGTERM with ${inFlight} charges in flight: stopped in ${tookMs} ms, ${afterFirst}/${N} renewals done, 0 pending`);

    const w2 = startWorker(env);
    await until('the rest renewed', async () => (await renewed()) === N && (await pending()) === 0);
    await until('nothing due', async () => (await count(`SELECT count(*)::int AS n FROM subscriptions WHERE next_action_at <= '${now.toISOString()}'`)) === 0);
    w2.child.kill('SIGTERM');
    const code2 = await w2.exited;
    appendSuiteLog('renewd-worker', w2.output());
    assert.equal(code2, 0, w2.output());

    const report = await verifyInvariants(db, now, { charges: sandbox.charges() as any });
    assert.deepEqual(report.violations, []);
    assert.equal(report.checked.renewal_invoices, N);
    assert.equal(report.checked.attempts_in_flight, 0);

    // `renewd verify` on the same database agrees: checked at its test clock (not the wall clock,
    // which would call every renewal due since then a backlog), zero violations, exit 0.
    const v = await promisify(execFile)(process.execPath, ['--no-deprecation', 'src/cli/main.ts', 'verify'], { env: { ...process.env, ...env } });
    assert.match(v.stderr, new RegExp(`invariants as of ${now.toISOString()} \\(the test clock\\)`));
    assert.deepEqual(JSON.parse(v.stdout).violations, []);
  } finally {
    await sandbox.close();
    await tdb.drop();
  }
});
