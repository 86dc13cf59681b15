// Issue 17 item 6: the README runs as written. Every `sh` block is run by bash, in order, against a
// fresh `renewd start` (the real command, as a child process, on its own PostgreSQL database so the
// `renewd keys` lines can run while the server does), or is marked
// `<!-- readme-test: skip: why -->` on the line above it. The only change made to a block is the
// port: the README's 127.0.0.1:8080 becomes the port this test's server listens on. And every
// command's --help (and -h) prints the usage and exits 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { freePort } from '../helpers/service.ts';
import { appendSuiteLog } from '../helpers/suite-log.ts';

interface Block {
  line: number;
  code: string;
  skip: string | null;
}

/** The README's sh blocks, each with its skip reason (null: run it). */
export function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```sh') continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    assert.ok(end > i, `README.md:${i + 1}: an sh block that never ends`);
    const marker = /^<!-- readme-test: skip: (.+?) -->$/.exec(lines[i - 1]?.trim() ?? '');
    out.push({ line: i + 1, code: lines.slice(i + 1, end).join('\n'), skip: marker ? marker[1] : null });
    i = end;
  }
  return out;
}

const ADMIN_KEY = 'rk_readme_test_admin_key_0123456789abcdef';
let tdb: TestDb;
let server: ChildProcess;
let port: number;
let env: NodeJS.ProcessEnv;

function bash(code: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-euo', 'pipefail', '-c', code], { env, cwd: process.cwd(), timeout: 120_000 }, (err, stdout, stderr) => {
      // What the block printed, not the block itself: the README's commands carry test card numbers,
      // and the suite's log grep holds every log to having none.
      appendSuiteLog('readme-blocks', `${stdout}${stderr}`);
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  tdb = await createTestDatabase('postgres', { migrate: false });
  port = await freePort();
  env = {
    ...process.env,
    DATABASE_URL: tdb.url!,
    PORT: String(port),
    RENEWD_SANDBOX_PORT: String(await freePort()),
    RENEWD_GATEWAY: 'sandbox',
    RENEWD_ADMIN_KEY: ADMIN_KEY,
    RENEWD_WEBHOOK_ALLOW_PRIVATE: '1',
    RENEWD_TEST_CLOCK: '',
    RENEWD_TEST_CLOCK_START: '',
    LOG_LEVEL: 'warn',
  };
  server = spawn(process.execPath, ['--no-deprecation', 'bin/renewd.js', 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stdout!.on('data', (b) => (output += b));
  server.stderr!.on('data', (b) => (output += b));
  // Started once it answers (polling a child process's port: the only wait here is for its start).
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/openapi.json`).then((r) => r.ok, () => false);
    if (ok) break;
    assert.ok(i < 600 && server.exitCode === null, `renewd start did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  server?.kill('SIGTERM');
  await new Promise((r) => (server?.exitCode !== null ? r(null) : server.once('exit', r)));
  await tdb?.drop();
});

test('every sh block of README.md runs as written against a fresh renewd start (or says why not)', { timeout: 600_000 }, async () => {
  const blocks = shellBlocks(readFileSync('README.md', 'utf8'));
  assert.ok(blocks.filter((b) => !b.skip).length >= 3, 'the README has runnable blocks');
  for (const b of blocks) {
    if (b.skip) {
      assert.ok(b.skip.length > 10, `README.md:${b.line}: a skipped block says why`);
      continue;
    }
    assert.match(b.code, /127\.0\.0\.1:8080|npx renewd/, `README.md:${b.line}: a block runs against the service or the command`);
    const r = await bash(b.code.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`));
    assert.equal(r.code, 0, `README.md:${b.line} failed (exit ${r.code}):\n${b.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  // What the blocks did is there: the README's account is on its plan and paid.
  const acme = (await tdb.db.query<{ id: string }>(`SELECT id FROM accounts WHERE email = 'billing@acme.example.fr'`))[0];
  assert.ok(acme, 'the README created its account');
  const sub = (await tdb.db.query<{ plan_id: string; status: string }>('SELECT plan_id, status FROM subscriptions WHERE account_id = $1', [acme.id]))[0];
  assert.deepEqual(sub, { plan_id: 'team', status: 'active' });
  const keys = await tdb.db.query<{ name: string; revoked_at: Date | null }>(`SELECT name, revoked_at FROM admin_keys WHERE name = 'billing-sync job'`);
  assert.equal(keys.length, 1);
  assert.ok(keys[0].revoked_at, 'the README revoked the key it made');
});

test('renewd --help, -h, help and every command with --help print the usage and exit 0', { timeout: 300_000 }, async () => {
  const commands = ['start', 'worker', 'migrate', 'seed', 'clock', 'sandbox', 'keys', 'verify', 'policy'];
  for (const args of [['--help'], ['-h'], ['help'], ...commands.flatMap((c) => [[c, '--help'], [c, '-h']])]) {
    const r = await bash(`node --no-deprecation bin/renewd.js ${args.join(' ')}`);
    assert.equal(r.code, 0, `renewd ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stdout, /^renewd — subscription renewals and payment recovery/, `renewd ${args.join(' ')}`);
    for (const c of commands) assert.ok(r.stdout.includes(`renewd ${c}`), `the usage names ${c}`);
  }
});
