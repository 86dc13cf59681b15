// npm test: every test/**/*.test.ts through Node's test runner (TypeScript by Node's own type stripping).
// Files run in parallel processes; each gets its own database, so they never collide.
// Extra arguments narrow the run: `npm test -- test/core` runs the files under test/core.
// Then the secrets grep (scripts/log-grep.mjs) searches the log output of the whole run: what the
// runner printed and the trace-level logs of every service the tests started. A secret fails the run.
import './runtime.mjs';
import { globSync, readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { findSecrets, isTestTitle } from './log-grep.mjs';

const filters = process.argv.slice(2);
const files = globSync('test/**/*.test.ts')
  .filter((f) => filters.length === 0 || filters.some((x) => f.startsWith(x.replace(/^\.\//, ''))))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const logDir = mkdtempSync(join(tmpdir(), 'renewd-test-logs-'));
const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', ...files],
  {
    stdio: ['inherit', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'test', RENEWD_TEST_LOG_DIR: logDir, ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : {}) },
  },
);
const printed = [];
child.stdout.on('data', (d) => {
  printed.push(d);
  process.stdout.write(d);
});
child.stderr.on('data', (d) => {
  printed.push(d);
  process.stderr.write(d);
});
const status = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));

// The secrets grep over everything the suite logged.
// eslint-disable-next-line no-control-regex
const output = Buffer.concat(printed).toString('utf8').replace(/\x1b\[[0-9;]*m/g, '');
const found = findSecrets(output, 'test output', isTestTitle);
let logLines = 0;
const logFiles = readdirSync(logDir);
for (const f of logFiles) {
  const text = readFileSync(join(logDir, f), 'utf8');
  logLines += text.split('\n').length - 1;
  found.push(...findSecrets(text, f));
}
rmSync(logDir, { recursive: true, force: true });
const outLines = output.split('\n').length - 1;
console.log(
  `log grep: ${outLines} lines of test output and ${logLines} service log lines (level trace, ${logFiles.length} files) searched for card numbers, CVCs, admin keys, portal tokens, gateway keys: ${found.length ? `${found.length} FOUND` : 'none'}`,
);
for (const x of found.slice(0, 50)) console.log(`  ${x}`);
process.exit(status !== 0 ? status : found.length ? 1 : 0);
