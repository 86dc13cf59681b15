// Issue 16 item 10: one process per PGlite data directory. The lock file names its owner; a second
// opener (another process, or the same one) is refused with that name; a lock whose process died
// (kill -9) is taken over; `renewd` commands say so and exit 1.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import path from 'node:path';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from '../../src/store/data-dir-lock.ts';
import { openPglite } from '../../src/store/db.ts';

describe('PGlite data directory lock', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'renewd-lock-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const dir = (name: string) => path.join(root, name);
  const owner = (d: string) => JSON.parse(readFileSync(path.join(d, LOCK_FILE), 'utf8'));

  test('the lock names its owner; a second taker is refused with that name; released, it is free again', () => {
    const d = dir('a');
    const release = lockDataDir(d, 'start');
    assert.equal(owner(d).pid, process.pid);
    assert.equal(owner(d).command, 'start');
    assert.throws(
      () => lockDataDir(d, 'verify'),
      (err: unknown) =>
        err instanceof DataDirLockedError &&
        err.message.includes(`is in use by another renewd process (pid ${process.pid} on ${hostname()}, "start"`) &&
        err.message.includes('use PostgreSQL (DATABASE_URL)'),
    );
    release();
    release(); // idempotent
    assert.equal(existsSync(path.join(d, LOCK_FILE)), false);
    lockDataDir(d)();
  });

  test('a lock left by a process killed with SIGKILL is taken over', async () => {
    const d = dir('b');
    const child = spawn(
      process.execPath,
      ['--no-deprecation', '--input-type=module', '-e', `const m = await import(${JSON.stringify(path.resolve('src/store/data-dir-lock.ts'))}); m.lockDataDir(${JSON.stringify(d)}, 'worker'); console.log('locked'); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => child.stdout!.on('data', (c) => String(c).includes('locked') && resolve()));
    assert.equal(owner(d).pid, child.pid);
    assert.throws(() => lockDataDir(d), DataDirLockedError);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    assert.equal(owner(d).pid, child.pid, 'the dead process left its lock');
    const release = lockDataDir(d, 'start');
    assert.equal(owner(d).pid, process.pid);
    release();
  });

  test('a lock from another machine (a shared disk) is taken as held', () => {
    const d = dir('c');
    lockDataDir(d)();
    writeFileSync(path.join(d, LOCK_FILE), JSON.stringify({ pid: 1, host: 'other-host', command: 'start', started_at: '2026-01-01T00:00:00Z' }));
    assert.throws(() => lockDataDir(d), /pid 1 on other-host, "start"/);
  });

  test('openPglite on a directory in use is refused; after close it opens', { timeout: 120_000 }, async () => {
    const d = dir('pglite');
    const db = await openPglite(d);
    try {
      await assert.rejects(openPglite(d), DataDirLockedError);
      assert.equal((await db.query<{ x: number }>('SELECT 1 AS x'))[0].x, 1, 'the owner is not disturbed');
    } finally {
      await db.close();
    }
    assert.equal(existsSync(path.join(d, LOCK_FILE)), false);
    const again = await openPglite(d);
    await again.close();
  });

  test('renewd start says what PGlite is for; renewd verify on its directory names it and exits 1', { timeout: 180_000 }, async () => {
    const d = dir('start');
    const env = { ...process.env, RENEWD_DATA_DIR: d, DATABASE_URL: '', PORT: '0', RENEWD_SANDBOX_PORT: '0', RENEWD_SEED: '0', RENEWD_ADMIN_KEY: 'rk_test_lock_admin_key_0123456789' };
    const server = spawn(process.execPath, ['--no-deprecation', 'src/cli/main.ts', 'start', '--demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stdout!.on('data', (c) => (out += c));
    server.stderr!.on('data', (c) => (out += c));
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on('data', () => out.includes('admin key') && resolve());
        void exited.then(() => reject(new Error(`renewd start exited:\n${out}`)));
      });
      assert.match(out, /database {10}PGlite in .* — embedded, for evaluation and small installs: survives a\n {20}process crash, not a power loss; production: PostgreSQL \(DATABASE_URL\)/);
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
        execFile(process.execPath, ['--no-deprecation', 'src/cli/main.ts', 'verify'], { env }, (err, _o, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr })),
      );
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`in use by another renewd process \\(pid ${server.pid} on [^,]+, "start --demo"`));
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
    assert.equal(existsSync(path.join(d, LOCK_FILE)), false, 'a clean stop releases the lock');
  });
});
