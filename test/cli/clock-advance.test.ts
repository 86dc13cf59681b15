// Issue 16 item 8: `renewd clock advance` forces the test clock on, so on a database without one
// (a real installation) it would bill renewals early. It refuses there, with a message saying why
// and a non-zero exit, and changes nothing; on a database created with a test clock it advances.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createTestDatabase } from '../helpers/db.ts';
import { saveTestClockTime, savedTestClockTime } from '../../src/store/test-clock.ts';
import { appendSuiteLog } from '../helpers/suite-log.ts';

function renewd(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--no-deprecation', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      appendSuiteLog('renewd-cli', stdout + stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('renewd clock advance: refused on a database without a test clock, allowed on one created with it', { timeout: 120_000 }, async () => {
  const tdb = await createTestDatabase('postgres');
  try {
    const env = { DATABASE_URL: tdb.url!, RENEWD_SANDBOX_PORT: '0', RENEWD_ADMIN_KEY: 'rk_test_clock_cli_admin_key_0123456789', RENEWD_TEST_CLOCK: '', RENEWD_TEST_CLOCK_START: '' };
    const settings = async () => (await tdb.db.query<{ key: string }>('SELECT key FROM settings ORDER BY key')).map((r) => r.key);
    const before = await settings();

    const refused = await renewd(['clock', 'advance', '--days', '40'], env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /renewd: this database has no test clock, so its time is the real time: advancing it would renew and charge subscriptions early/);
    assert.match(refused.stderr, /RENEWD_TEST_CLOCK=1 \(or renewd start --demo\)\. Nothing was changed\./);
    assert.equal(refused.stdout, '');
    assert.equal(await savedTestClockTime(tdb.db), null);
    assert.deepEqual(await settings(), before);
    // RENEWD_TEST_CLOCK=1 in the environment does not make a real database a test one.
    const refusedToo = await renewd(['clock', 'advance', '--days', '1'], { ...env, RENEWD_TEST_CLOCK: '1' });
    assert.notEqual(refusedToo.code, 0);
    assert.equal(await savedTestClockTime(tdb.db), null);

    // A database created with a test clock advances.
    await saveTestClockTime(tdb.db, new Date('2026-01-31T09:00:00.000Z'));
    const ok = await renewd(['clock', 'advance', '--days', '40'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^test clock now 2026-03-12T09:00:00\.000Z/);
    assert.equal((await savedTestClockTime(tdb.db))!.toISOString(), '2026-03-12T09:00:00.000Z');
  } finally {
    await tdb.drop();
  }
});
